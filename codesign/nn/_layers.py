"""Quantized conv and linear layers: a float layer plus a weight and an input quantizer.

They subclass `nn.Conv1d` / `nn.Conv2d` / `nn.Linear`, so the parameters keep their names and
shapes, code that inspects layers by type (cost extraction, fvcore) sees the same layers, and a
state dict of the quantized model holds the float layer's entries plus the quantizers' buffers.
The stored weight is the latent float weight that training updates; the forward uses its
quantized form.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from codesign.config import AnnealConfig, LayerQuant
from codesign.errors import CodesignError
from codesign.quant import ESTIMATORS, Quantizer, make_quantizer


def build_quantizers(
    quant: LayerQuant, anneal: AnnealConfig, per_channel: bool = False
) -> tuple[Quantizer, Quantizer]:
    """(weight quantizer, input-activation quantizer) of one layer's config.

    An estimator that only handles weights (mirror descent) names, through its
    `ACTIVATION_ESTIMATOR`, the estimator its layer's input activations use instead.
    """
    a_estimator = getattr(ESTIMATORS.get(quant.estimator), "ACTIVATION_ESTIMATOR", quant.estimator)
    weight = make_quantizer(
        "weight", quant.w_format, quant.w_bits, quant.estimator, anneal, per_channel=per_channel
    )
    activation = make_quantizer("activation", quant.a_format, quant.a_bits, a_estimator, anneal)
    return weight, activation


class QuantLayer(nn.Module):
    """What every quantized layer has: `weight_quantizer`, `input_quantizer`, `quant`."""

    weight_quantizer: Quantizer
    input_quantizer: Quantizer
    quant: LayerQuant

    def quantizers(self) -> list[Quantizer]:
        """The quantizers that really quantize (float ones left out), input first."""
        return [q for q in (self.input_quantizer, self.weight_quantizer) if q.grid is not None]

    def quantized_weight(self) -> torch.Tensor:
        """The weight the forward uses (the hard quantized weight in eval mode)."""
        return self.weight_quantizer(self.weight)

    def _attach(self, quant: LayerQuant, weight_q: Quantizer, input_q: Quantizer) -> None:
        self.quant = quant
        self.weight_quantizer = weight_q
        self.input_quantizer = input_q


def _quantized_conv(cls: Any, conv: nn.Conv1d | nn.Conv2d, base: type, quant: LayerQuant,
                    anneal: AnnealConfig, per_channel: bool) -> Any:
    """A quantized copy of `conv` (parameters copied, not shared) as `cls`, a subclass of
    `base` (Conv1d or Conv2d)."""
    if type(conv) is not base:
        raise CodesignError(
            f"cannot quantize a {type(conv).__name__} as a {base.__name__}; convert float "
            "layers only"
        )
    layer = cls(
        conv.in_channels,
        conv.out_channels,
        conv.kernel_size,
        stride=conv.stride,
        padding=conv.padding,
        dilation=conv.dilation,
        groups=conv.groups,
        bias=conv.bias is not None,
        padding_mode=conv.padding_mode,
        device=conv.weight.device,
        dtype=conv.weight.dtype,
    )
    _copy_parameters(conv, layer)
    layer._attach(quant, *build_quantizers(quant, anneal, per_channel))
    return layer


class QuantConv2d(nn.Conv2d, QuantLayer):
    """`nn.Conv2d` (any groups, depthwise included) with quantized weights and inputs."""

    @classmethod
    def from_float(
        cls,
        conv: nn.Conv2d,
        quant: LayerQuant,
        anneal: AnnealConfig,
        per_channel: bool = False,
    ) -> QuantConv2d:
        """A quantized copy of `conv` (parameters copied, not shared)."""
        return _quantized_conv(cls, conv, nn.Conv2d, quant, anneal, per_channel)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self._conv_forward(
            self.input_quantizer(in_float32(x)), self.quantized_weight(), self.bias
        )

    def extra_repr(self) -> str:
        return f"{super().extra_repr()}, {_describe(self.quant)}"


class QuantConv1d(nn.Conv1d, QuantLayer):
    """`nn.Conv1d` (sequences: keyword spotting, time series) with quantized weights and
    inputs; quantized and costed like a Conv2d."""

    @classmethod
    def from_float(
        cls,
        conv: nn.Conv1d,
        quant: LayerQuant,
        anneal: AnnealConfig,
        per_channel: bool = False,
    ) -> QuantConv1d:
        """A quantized copy of `conv` (parameters copied, not shared)."""
        return _quantized_conv(cls, conv, nn.Conv1d, quant, anneal, per_channel)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self._conv_forward(
            self.input_quantizer(in_float32(x)), self.quantized_weight(), self.bias
        )

    def extra_repr(self) -> str:
        return f"{super().extra_repr()}, {_describe(self.quant)}"


class QuantLinear(nn.Linear, QuantLayer):
    """`nn.Linear` with quantized weights and inputs."""

    @classmethod
    def from_float(
        cls,
        linear: nn.Linear,
        quant: LayerQuant,
        anneal: AnnealConfig,
        per_channel: bool = False,
    ) -> QuantLinear:
        """A quantized copy of `linear` (parameters copied, not shared)."""
        if type(linear) is not nn.Linear:
            raise CodesignError(
                f"cannot quantize a {type(linear).__name__} as a Linear; convert float layers only"
            )
        layer = cls(
            linear.in_features,
            linear.out_features,
            bias=linear.bias is not None,
            device=linear.weight.device,
            dtype=linear.weight.dtype,
        )
        _copy_parameters(linear, layer)
        layer._attach(quant, *build_quantizers(quant, anneal, per_channel))
        return layer

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return nn.functional.linear(
            self.input_quantizer(in_float32(x)), self.quantized_weight(), self.bias
        )

    def extra_repr(self) -> str:
        return f"{super().extra_repr()}, {_describe(self.quant)}"


def in_float32(x: torch.Tensor) -> torch.Tensor:
    """`x` in float32 when mixed precision made it half or bfloat16: quantizers compute in
    float32, where every level of a stair up to 16 bits is exact (bfloat16 holds 8 bits)."""
    return x.float() if x.dtype in (torch.bfloat16, torch.float16) else x


def _copy_parameters(source: nn.Module, target: nn.Module) -> None:
    with torch.no_grad():
        for name, param in source.named_parameters(recurse=False):
            own = getattr(target, name)
            own.copy_(param)
            own.requires_grad_(param.requires_grad)
    target.train(source.training)


def _describe(quant: LayerQuant) -> str:
    return (
        f"w={quant.w_format}{quant.w_bits}, a={quant.a_format}{quant.a_bits}, "
        f"estimator={quant.estimator}"
    )
