"""Conversion of a float torch model into its quantized form, addressed by module name.

A layer name is the name `model.named_modules()` gives a Conv1d, Conv2d or Linear of the float
model.
Conversion keeps every name, so the same key addresses the layer in the float model, the
quantized model and the cost tables. Layers absent from the config stay float; the first and
last layers are configured like any other.
"""

from __future__ import annotations

import copy
from collections.abc import Callable

from torch import nn

from codesign.config import TrialConfig
from codesign.errors import CodesignError
from codesign.nn._layers import QuantConv1d, QuantConv2d, QuantLayer, QuantLinear
from codesign.quant import Quantizer

QUANTIZABLE = (nn.Conv1d, nn.Conv2d, nn.Linear)
# The quantized twin's constructor from each float layer type (exact types only).
_QUANTIZED: dict[type[nn.Module], Callable[..., nn.Module]] = {
    nn.Conv1d: QuantConv1d.from_float,
    nn.Conv2d: QuantConv2d.from_float,
    nn.Linear: QuantLinear.from_float,
}
_LISTED_NAMES = 8


def quantizable_layers(model: nn.Module) -> list[str]:
    """Names of the Conv1d, Conv2d and Linear modules (quantized or not) in registration order."""
    return [name for name, module in model.named_modules() if isinstance(module, QUANTIZABLE)]


def convert(model: nn.Module, cfg: TrialConfig, per_channel: bool = False) -> nn.Module:
    """A quantized copy of `model`: every layer named in `cfg.layers` becomes a QuantConv1d,
    QuantConv2d or QuantLinear with the quantizers of its `LayerQuant` and `cfg.anneal`.

    `per_channel` gives weights one quantum per output channel. The float model is not
    modified. Raises CodesignError for a name that is not a conv / linear layer of the model.
    """
    names = quantizable_layers(model)
    _check_names(model, cfg, names)
    quantized = copy.deepcopy(model)
    for name, quant in cfg.layers.items():
        float_layer = quantized.get_submodule(name)
        if isinstance(float_layer, QuantLayer):
            raise CodesignError(
                f"layer '{name}' is already quantized; convert the float model instead"
            )
        quantize = _QUANTIZED.get(type(float_layer))
        if quantize is None:
            raise CodesignError(
                f"layer '{name}' is a {type(float_layer).__name__}, a subclass of a quantizable "
                "layer that conversion cannot copy safely; leave it out of the config's layers"
            )
        try:
            layer = quantize(float_layer, quant, cfg.anneal, per_channel)
        except CodesignError as err:
            raise CodesignError(f"layer '{name}': {err}") from None
        if not name:  # the model is a single layer
            return layer
        parent_name, _, child = name.rpartition(".")
        setattr(quantized.get_submodule(parent_name), child, layer)
    return quantized


def layer_quantizers(model: nn.Module) -> list[list[Quantizer]]:
    """The quantizers of every quantized layer in registration order (l = 0 nearest the input,
    for the usual models), for `AnnealingController`. Layers whose quantizers are all float
    are left out, so L counts the layers that really anneal."""
    layers = []
    for module in model.modules():
        if isinstance(module, QuantLayer):
            quantizers = module.quantizers()
            if quantizers:
                layers.append(quantizers)
    return layers


def _check_names(model: nn.Module, cfg: TrialConfig, valid: list[str]) -> None:
    known = set(valid)
    modules = dict(model.named_modules())
    for name in cfg.layers:
        if name in known:
            continue
        shown = ", ".join(valid[:_LISTED_NAMES])
        more = f", ... ({len(valid)} in all)" if len(valid) > _LISTED_NAMES else ""
        if name in modules:
            what = f"'{name}' is a {type(modules[name]).__name__}, not a Conv1d, Conv2d or Linear"
        else:
            what = f"unknown layer '{name}'"
        raise CodesignError(
            f"{what} in the config's layers of model '{cfg.model}'; "
            f"quantizable layers are: {shown}{more}"
        )
