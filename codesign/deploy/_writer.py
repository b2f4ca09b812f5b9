"""A small ONNX graph builder: nodes, constants and unique names, then one `ModelProto`."""

from __future__ import annotations

from typing import Any

import numpy as np


class GraphWriter:
    """Accumulates nodes and initializers; every name it hands out is unique."""

    def __init__(self) -> None:
        self.nodes: list[Any] = []
        self.initializers: list[Any] = []
        self._taken: set[str] = set()

    def fresh(self, base: str) -> str:
        base = base.replace("/", ".") or "t"
        name, n = base, 1
        while name in self._taken:
            n += 1
            name = f"{base}_{n}"
        self._taken.add(name)
        return name

    def const(self, base: str, value: np.ndarray, elem_type: int | None = None) -> str:
        """An initializer; `elem_type` (an onnx.TensorProto type) packs 4-bit / 16-bit ints."""
        from onnx import helper, numpy_helper

        name = self.fresh(base)
        if elem_type is None:
            self.initializers.append(numpy_helper.from_array(np.asarray(value), name))
        else:
            flat = np.asarray(value).reshape(-1).tolist()
            self.initializers.append(
                helper.make_tensor(name, elem_type, list(np.shape(value)), flat)
            )
        return name

    def node(self, op: str, inputs: list[str], base: str, domain: str = "",
             **attrs: Any) -> str:
        """Append one node with one output; returns the output's name."""
        from onnx import helper

        out = self.fresh(base)
        self.nodes.append(helper.make_node(
            op, inputs, [out], name=self.fresh(f"{base}.{op}"), domain=domain, **attrs))
        return out
