"""The `onnx` format: standard ONNX with QuantizeLinear / DequantizeLinear (QDQ).

Input activations: Clip to the grid's range (when the grid is narrower than its container),
QuantizeLinear to uint8 / int8 (uint16 / int16 above 8 bits), DequantizeLinear. Weights:
integer initializers (int4 where onnxruntime runs 4-bit DequantizeLinear, else int8, int16)
with their scale per tensor or per output channel, then DequantizeLinear. Batch norm is folded
into each conv's weight scale and bias, so onnxruntime sees the DQ - Conv - Q pattern it
fuses into integer kernels. Binary activations (sign) are GreaterOrEqual + Where; weights whose
codes fit no integer type (power-of-two beyond 5 bits) are float constants of the exact values.
QuantizeLinear rounds ties to even, the PyTorch stair rounds them up: the two differ only at
inputs exactly halfway between levels.
"""

from __future__ import annotations

import functools
from typing import Any

import numpy as np

from codesign.deploy._tensors import ActivationGrid, WeightCodes
from codesign.deploy._writer import GraphWriter

OPSET = 21
# (name, onnx.TensorProto type, lo, hi), smallest first.
_SIGNED = [("int4", 22, -8, 7), ("int8", 3, -128, 127), ("int16", 5, -32768, 32767)]
_UNSIGNED = [("uint8", 2, 0, 255), ("uint16", 4, 0, 65535)]


class QDQDialect:
    name = "onnx"
    fold_batchnorm = True

    def opset_imports(self) -> list[Any]:
        from onnx import helper

        return [helper.make_opsetid("", OPSET)]

    def activation(self, g: GraphWriter, x: str, grid: ActivationGrid, layer: str
                   ) -> tuple[str, str]:
        base = f"{layer}.input"
        if grid.binary:
            ge = g.node("GreaterOrEqual", [x, g.const(f"{base}.zero", np.float32(0))], base)
            levels = [g.const(f"{base}.{k}", np.float32(v * grid.eps))
                      for k, v in (("plus", 1.0), ("minus", -1.0))]
            return g.node("Where", [ge, *levels], base), "binary (GreaterOrEqual + Where)"
        name, elem, lo, hi = _container(grid.lo, grid.hi, _UNSIGNED if grid.lo >= 0 else _SIGNED,
                                        allow_int4=False)
        if (lo, hi) != (grid.lo, grid.hi):
            bounds = [g.const(f"{base}.{k}", np.float32(v * grid.eps))
                      for k, v in (("min", grid.lo), ("max", grid.hi))]
            x = g.node("Clip", [x, *bounds], base)
        scale = g.const(f"{base}.scale", np.float32(grid.eps))
        zero = g.const(f"{base}.zero_point", np.zeros((), dtype=np.int64), elem_type=elem)
        q = g.node("QuantizeLinear", [x, scale, zero], f"{base}.q")
        out = g.node("DequantizeLinear", [q, scale, zero], f"{base}.dq")
        clip = "" if (lo, hi) == (grid.lo, grid.hi) else f" + Clip [{grid.lo}, {grid.hi}]"
        return out, f"{name}{clip}"

    def weight(self, g: GraphWriter, codes: WeightCodes, layer: str, op: str
               ) -> tuple[str, str]:
        base = f"{layer}.weight"
        lo, hi = codes.code_range
        fit = _container(lo, hi, _SIGNED, allow_int4=int4_supported())
        if fit is None:
            value = g.const(base, codes.values().astype(np.float32))
            return value, f"float32 (exact {codes.fmt}{codes.bits} values)"
        name, elem, _, _ = fit
        per_channel = codes.scale.ndim == 1
        q = g.const(f"{base}.q", codes.codes, elem_type=elem)
        scale = g.const(f"{base}.scale", codes.scale.astype(np.float32))
        zero_shape = codes.scale.shape
        zero = g.const(f"{base}.zero_point", np.zeros(zero_shape, dtype=np.int64), elem_type=elem)
        attrs: dict[str, Any] = {"axis": 0} if per_channel else {}
        out = g.node("DequantizeLinear", [q, scale, zero], base, **attrs)
        return out, f"{name} {'per-channel' if per_channel else 'per-tensor'}"

    def kernel(self, weight: str, activation: str) -> str:
        if weight.startswith("int8") and activation.split(" ")[0] in ("int8", "uint8"):
            return "int8 (QLinearConv / QGemm / MatMulInteger after fusion)"
        return "float (DequantizeLinear, then the float op)"


def _container(lo: int, hi: int, table: list[tuple[str, int, int, int]], allow_int4: bool
               ) -> Any:
    for name, elem, c_lo, c_hi in table:
        if name == "int4" and not allow_int4:
            continue
        if c_lo <= lo and hi <= c_hi:
            return name, elem, c_lo, c_hi
    return None


@functools.cache
def int4_supported() -> bool:
    """Whether the installed onnx and onnxruntime run a per-channel int4 DequantizeLinear."""
    try:
        import onnxruntime as ort
        from onnx import TensorProto, helper

        w = helper.make_tensor("w", TensorProto.INT4, [2, 2], [-8, 7, 1, -1])
        s = helper.make_tensor("s", TensorProto.FLOAT, [2], [0.5, 0.25])
        z = helper.make_tensor("z", TensorProto.INT4, [2], [0, 0])
        node = helper.make_node("DequantizeLinear", ["w", "s", "z"], ["y"], axis=0)
        graph = helper.make_graph([node], "probe", [],
                                  [helper.make_tensor_value_info("y", TensorProto.FLOAT, [2, 2])],
                                  initializer=[w, s, z])
        model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)])
        model.ir_version = 10
        session = ort.InferenceSession(model.SerializeToString(),
                                       providers=["CPUExecutionProvider"])
        out = session.run(None, {})[0]
        return bool(np.array_equal(out, np.array([[-4.0, 3.5], [0.25, -0.25]], np.float32)))
    except Exception:
        return False
