"""What a quantized layer computes in evaluation, as integers and scales a file can hold.

The eval-mode forward of a `QuantLayer` is conv(eps_a Q_a(x / eps_a), eps_w Q_w(w / eps_w)).
`weight_codes` and `activation_grid` read exactly the quantities that forward uses (the weight
quantum is refreshed the way an eval forward refreshes it), so every exporter builds its graph
from one description. Power-of-two levels 2^-p become integers by scaling with 2^p_max: a power
of two, so codes * (eps / 2^p_max) is bit-for-bit the float weight PyTorch uses.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from codesign.errors import CodesignError


@dataclass(frozen=True)
class WeightCodes:
    """Integer weight codes and their scale: the hard weight is codes * scale (per channel)."""

    codes: np.ndarray  # int64, the weight's shape
    scale: np.ndarray  # float32, shape [out_channels] (per channel) or [] (per tensor)
    fmt: str  # the config's weight format: int, binary, ternary, pow2
    bits: int  # the config's weight bits

    @property
    def code_range(self) -> tuple[int, int]:
        """The codes the format allows (not just those present), symmetric about zero."""
        if self.fmt == "pow2":
            return -_pow2_multiplier(self.bits), _pow2_multiplier(self.bits)
        if self.fmt in ("binary", "ternary") or self.bits == 1:
            return -1, 1
        half = 2 ** (self.bits - 1) - 1
        return -half, half

    def values(self) -> np.ndarray:
        """codes * scale in float32: the hard-quantized weight."""
        return (self.codes.astype(np.float32) * _channel_shaped(self.scale, self.codes.ndim))


@dataclass(frozen=True)
class ActivationGrid:
    """An input quantizer's stair: eps * clamp(round(x / eps), lo, hi), or eps * sign(x)."""

    eps: float
    lo: int
    hi: int
    binary: bool  # levels {-1, +1} with the threshold at 0 (x >= 0 gives +1)
    bits: int

    @property
    def signed(self) -> bool:
        return self.lo < 0


def _pow2_multiplier(bits: int) -> int:
    """2^p_max for a power-of-two grid of `bits` bits (levels 0, +-2^-p, p <= 2^(k-1) - 2)."""
    return 2 ** (2 ** (bits - 1) - 2)


def _channel_shaped(scale: np.ndarray, ndim: int) -> np.ndarray:
    return scale.reshape(-1, *([1] * (ndim - 1))) if scale.ndim else scale


@torch.no_grad()
def weight_codes(layer: Any) -> WeightCodes | None:
    """The layer's integer weights and scale, or None for float weights."""
    quantizer: Any = layer.weight_quantizer
    grid = quantizer.grid
    if grid is None:
        return None
    weight = layer.weight.detach()
    was_training = quantizer.training
    quantizer.eval()
    try:
        eps = quantizer.quantum(weight)
    finally:
        quantizer.train(was_training)
    levels = grid.hard(weight / eps)
    fmt = quantizer.fmt
    multiplier = _pow2_multiplier(quantizer.bits) if fmt == "pow2" else 1
    codes = levels * multiplier
    if not torch.equal(codes, codes.round()):
        raise CodesignError(f"{fmt} weights of {quantizer.bits} bits have non-integer levels")
    scale = eps.reshape(-1) if quantizer.per_channel else eps.reshape(())
    return WeightCodes(
        codes=codes.to(torch.int64).cpu().numpy(),
        scale=(scale.float() / multiplier).cpu().numpy().astype(np.float32),
        fmt=fmt,
        bits=quantizer.bits,
    )


def activation_grid(quantizer: Any, layer_name: str) -> ActivationGrid | None:
    """The input quantizer's stair, or None for float activations."""
    grid = quantizer.grid
    if grid is None:
        return None
    if int(quantizer.calibrations) == 0:
        raise CodesignError(
            f"layer '{layer_name}': its input quantizer was never calibrated; "
            "run the network on data once before exporting"
        )
    eps = float(quantizer.eps)
    if grid.levels == (-1.0, 1.0) and not grid.uniform:
        return ActivationGrid(eps, -1, 1, binary=True, bits=1)
    if not grid.uniform:
        raise CodesignError(
            f"layer '{layer_name}': activation grid {grid.levels} has no export"
        )
    return ActivationGrid(eps, int(grid.lo), int(grid.hi), binary=False, bits=quantizer.bits)
