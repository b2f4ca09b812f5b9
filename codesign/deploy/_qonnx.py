"""The `qonnx` format: the QONNX dialect read by FINN and hls4ml.

Input activations and weights pass through `Quant` nodes (scale, zero point 0, bit width;
signed or not, narrow range for the symmetric weight grids) or `BipolarQuant` for binary
tensors; weights are stored as their float values (codes times scale), as QONNX expects.
Power-of-two weights are integers after scaling by 2^p_max, so they are written as `Quant`
of p_max + 2 bits (3-bit pow2: 4-bit codes {0, +-1, +-2, +-4}); beyond 16 bits they cannot
be. Batch norm stays a BatchNormalization node (FINN streamlines it itself). Quant rounds
ties to even (rounding_mode ROUND), the PyTorch stair rounds them up.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from codesign.deploy._tensors import ActivationGrid, WeightCodes
from codesign.deploy._writer import GraphWriter
from codesign.errors import CodesignError

OPSET = 13
DOMAIN = "qonnx.custom_op.general"
MAX_BITS = 16


class QONNXDialect:
    name = "qonnx"
    fold_batchnorm = False

    def opset_imports(self) -> list[Any]:
        from onnx import helper

        return [helper.make_opsetid("", OPSET), helper.make_opsetid(DOMAIN, 1)]

    def activation(self, g: GraphWriter, x: str, grid: ActivationGrid, layer: str
                   ) -> tuple[str, str]:
        base = f"{layer}.input"
        scale = g.const(f"{base}.scale", np.float32(grid.eps))
        if grid.binary:
            return g.node("BipolarQuant", [x, scale], base, domain=DOMAIN), "BipolarQuant"
        signed = grid.lo < 0
        out = _quant(g, x, scale, base, grid.bits, signed=signed, narrow=False)
        return out, f"Quant {'int' if signed else 'uint'}{grid.bits}"

    def weight(self, g: GraphWriter, codes: WeightCodes, layer: str, op: str
               ) -> tuple[str, str]:
        base = f"{layer}.weight"
        values = g.const(f"{base}.float", codes.values().astype(np.float32))
        scale_value = codes.scale.astype(np.float32)
        if scale_value.ndim:
            scale_value = scale_value.reshape(-1, *([1] * (codes.codes.ndim - 1)))
        scale = g.const(f"{base}.scale", scale_value)
        if codes.fmt == "binary" or (codes.fmt == "int" and codes.bits == 1):
            return g.node("BipolarQuant", [values, scale], base, domain=DOMAIN), "BipolarQuant"
        _, hi = codes.code_range
        bits = int(hi).bit_length() + 1  # signed, narrow range: +-(2^(b-1) - 1) covers hi
        if bits > MAX_BITS:
            raise CodesignError(
                f"layer '{layer}': {codes.fmt} weights of {codes.bits} bits need {bits}-bit "
                f"integer codes, more than QONNX's {MAX_BITS}; export the onnx format instead"
            )
        out = _quant(g, values, scale, base, bits, signed=True, narrow=True)
        return out, f"Quant int{bits} narrow ({codes.fmt}{codes.bits})"

    def kernel(self, weight: str, activation: str) -> str:
        return "qonnx executor (FINN / hls4ml map Quant to integer hardware)"


def _quant(g: GraphWriter, x: str, scale: str, base: str, bits: int, signed: bool,
           narrow: bool) -> str:
    zero = g.const(f"{base}.zero_point", np.float32(0))
    width = g.const(f"{base}.bit_width", np.float32(bits))
    return g.node("Quant", [x, scale, zero, width], base, domain=DOMAIN,
                  signed=int(signed), narrow=int(narrow), rounding_mode="ROUND")
