"""Quantized layers and the conversion of a float torch model into a quantized one.

`convert(model, cfg)` swaps every Conv1d / Conv2d / Linear named in `cfg.layers` for a
`QuantConv1d` / `QuantConv2d` / `QuantLinear` under the same name; `layer_quantizers` hands
their quantizers, layer by layer, to `codesign.quant.AnnealingController`.
"""

from codesign.nn._convert import QUANTIZABLE, convert, layer_quantizers, quantizable_layers
from codesign.nn._layers import QuantConv1d, QuantConv2d, QuantLayer, QuantLinear, build_quantizers

__all__ = [
    "QUANTIZABLE",
    "QuantConv1d",
    "QuantConv2d",
    "QuantLayer",
    "QuantLinear",
    "build_quantizers",
    "convert",
    "layer_quantizers",
    "quantizable_layers",
]
