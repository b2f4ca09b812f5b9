"""Run an exported file in another runtime and compare it with the PyTorch network.

`onnx` files run in onnxruntime (CPU, full graph optimisation, so the integer kernels it
fuses are the ones measured), `qonnx` files in qonnx's executor (`execute_onnx`, which runs
the Quant nodes in numpy and every standard node in onnxruntime). Agreement is the share of
inputs whose predicted class is the same; the logit difference is the largest absolute one.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from codesign.deploy._graph import INPUT_NAME

MIN_AGREEMENT = 0.999


@dataclass(frozen=True)
class Agreement:
    """How an exported file's outputs compare with the PyTorch network's."""

    fmt: str
    inputs: int
    agreement: float
    max_logit_diff: float

    @property
    def passed(self) -> bool:
        return self.agreement >= MIN_AGREEMENT

    def line(self) -> str:
        return (f"{self.fmt:>6s}: {self.agreement:.2%} of {self.inputs} predictions agree, "
                f"largest logit difference {self.max_logit_diff:.3g}")


def run_exported(path: Path, fmt: str, inputs: np.ndarray, optimize: bool = True) -> np.ndarray:
    """The file's logits for `inputs` (float32, [N, ...]).

    `optimize` False runs an `onnx` file with onnxruntime's graph optimisations off: the
    graph exactly as written, without the integer-kernel fusion (which rounds each fused
    layer's float bias to int32 at scale s_input * s_weight)."""
    inputs = np.ascontiguousarray(inputs, dtype=np.float32)
    if fmt == "qonnx":
        from qonnx.core.onnx_exec import execute_onnx

        wrapper = qonnx_model(path, batch=len(inputs))
        out_name = wrapper.graph.output[0].name
        return np.asarray(execute_onnx(wrapper, {INPUT_NAME: inputs})[out_name])
    import onnxruntime as ort

    options = ort.SessionOptions()
    if not optimize:
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    return np.asarray(session.run(None, {INPUT_NAME: inputs})[0])


def qonnx_model(path: Path, batch: int) -> Any:
    """The QONNX file as a qonnx `ModelWrapper` with a fixed batch size and inferred shapes
    (qonnx's executor and `inference_cost` need static shapes)."""
    from qonnx.core.modelwrapper import ModelWrapper
    from qonnx.transformation.infer_shapes import InferShapes

    wrapper = ModelWrapper(str(path))
    for tensor in (*wrapper.graph.input, *wrapper.graph.output):
        tensor.type.tensor_type.shape.dim[0].dim_value = batch
    return wrapper.transform(InferShapes())


@torch.no_grad()
def torch_logits(model: nn.Module, inputs: np.ndarray, batch: int = 256) -> np.ndarray:
    model.eval()
    x = torch.from_numpy(np.asarray(inputs, dtype=np.float32))
    return torch.cat([model(x[i:i + batch]) for i in range(0, len(x), batch)]).numpy()


def compare(model: nn.Module, path: Path, fmt: str, inputs: np.ndarray) -> Agreement:
    """Agreement of the file with `model` (eval mode) on `inputs`."""
    ours = torch_logits(model, inputs)
    theirs = run_exported(path, fmt, inputs)
    agree = float((ours.argmax(1) == theirs.argmax(1)).mean())
    return Agreement(fmt, len(inputs), agree, float(np.abs(ours - theirs).max()))
