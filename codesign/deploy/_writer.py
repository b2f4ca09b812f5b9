"""A small ONNX graph builder: nodes, constants and unique names, then one `ModelProto`."""

from __future__ import annotations

from typing import Any

import numpy as np

_PACKED_4BIT = (22, 21)  # TensorProto.INT4, UINT4
_NUMPY_TYPES = {2: np.uint8, 3: np.int8, 4: np.uint16, 5: np.int16}


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

    def const(self, base: str, value: Any, elem_type: int | None = None) -> str:
        """An initializer; `elem_type` (an onnx.TensorProto type) stores integer codes as
        int4 / uint4 (two per byte), int8, uint8, int16 or uint16."""
        from onnx import TensorProto, numpy_helper

        name = self.fresh(base)
        array = np.asarray(value)
        if elem_type is None:
            self.initializers.append(numpy_helper.from_array(array, name))
        elif elem_type in _PACKED_4BIT:
            nibbles = (array.reshape(-1).astype(np.int64) & 0x0F).astype(np.uint8)
            if nibbles.size % 2:
                nibbles = np.append(nibbles, np.uint8(0))
            packed = nibbles[0::2] | (nibbles[1::2] << 4)
            tensor = TensorProto(name=name, data_type=elem_type, dims=list(array.shape),
                                 raw_data=packed.tobytes())
            self.initializers.append(tensor)
        else:
            dtype = _NUMPY_TYPES[elem_type]
            self.initializers.append(numpy_helper.from_array(array.astype(dtype), name))
        return name

    def node(self, op: str, inputs: list[str], base: str, domain: str = "",
             **attrs: Any) -> str:
        """Append one node with one output; returns the output's name."""
        from onnx import helper

        out = self.fresh(base)
        self.nodes.append(helper.make_node(
            op, inputs, [out], name=self.fresh(f"{base}.{op}"), domain=domain, **attrs))
        return out
