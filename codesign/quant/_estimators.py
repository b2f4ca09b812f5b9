"""Gradient estimators that are peers of ANA behind the same `Quantizer` interface.

All work in the integer domain u = x / eps of the quantizer's grid, whose clipping range is
[q_0, q_K] (the grid's `lo`, `hi`; [-1, 1] for binary weights) and return eps times the result:

- `ste`: the clipped-identity straight-through estimator; forward Q(u), backward 1[lo <= u <= hi].
  Written directly rather than as ANA with uniform noise s = 0.5 because that equivalence holds
  on unit-step grids only (binary and power-of-two grids would get other gradients).
- `aqe` (Chen et al., IEEE JSTSP 2020): forward alpha Q(u) + (1 - alpha) u, backward
  2 alpha 1[lo <= u <= hi]; alpha = 1 - g_s / 2 goes from 1/2 (the STE's gradient) to 1 as the
  controller anneals g_s from 1 to 0.
- `mirror_descent` (Ajanthan et al., AISTATS 2021), binary weights only: the layer's weight is
  the auxiliary w~, the forward uses w = eps tanh(beta w~ / eps) and the backward hands the
  gradient at w to w~ unchanged (the numerically stable form of the mirror-descent update).
  beta grows geometrically from `BETA_START` to `BETA_END` as g_s goes from 1 to 0, the
  continuous form of multiplying beta by rho every T steps. Final weights eps sign(w~).

Evaluation is always the hard stair eps Q(x / eps) of the base class.
"""

from __future__ import annotations

import torch

from codesign.config import AnnealConfig
from codesign.errors import CodesignError
from codesign.quant._compile import Fusable, scalar
from codesign.quant._grid import Grid, round_half_up
from codesign.quant._quantizer import ESTIMATORS, Quantizer

# -- the clipped straight-through op shared by the STE and AQE ----------------------------------


def _uniform_forward(x, eps, lo, hi, alpha):  # noqa: ANN001, ANN202 - fused kernel
    u = x / eps
    q = torch.minimum(torch.maximum(round_half_up(u), lo), hi)
    return (alpha * q + (1.0 - alpha) * u) * eps


def _clipped_backward(grad, x, eps, lo, hi, gain):  # noqa: ANN001, ANN202 - fused kernel
    u = x / eps
    return grad * torch.where((u >= lo) & (u <= hi), gain, 0.0)


_FORWARD = Fusable(_uniform_forward, "straight_through_forward")
_BACKWARD = Fusable(_clipped_backward, "straight_through_backward")


class _StraightThrough(torch.autograd.Function):
    """eps (alpha Q(u) + (1 - alpha) u) forward, gain 1[lo <= u <= hi] backward."""

    @staticmethod
    def forward(ctx, x, eps, grid: Grid, alpha, gain):  # noqa: ANN001
        lo, hi = scalar(grid.lo, x), scalar(grid.hi, x)
        ctx.save_for_backward(x, eps, lo, hi, gain)
        if grid.uniform:
            return _FORWARD(x, eps, lo, hi, alpha)
        u = x / eps
        return (alpha * grid.hard(u) + (1.0 - alpha) * u) * eps

    @staticmethod
    def backward(ctx, grad):  # noqa: ANN001
        x, eps, lo, hi, gain = ctx.saved_tensors
        return _BACKWARD(grad.contiguous(), x, eps, lo, hi, gain), None, None, None, None


def straight_through(
    x: torch.Tensor, eps: torch.Tensor, grid: Grid, alpha: float = 1.0, gain: float = 1.0
) -> torch.Tensor:
    """eps (alpha Q(x/eps) + (1 - alpha) x/eps), with gradient gain * 1[lo <= x/eps <= hi].

    `eps` is 0-d or one value per leading channel of `x`. alpha = gain = 1 is the STE.
    """
    per_channel = eps.dim() > 0 and eps.numel() > 1
    flat = x.reshape(x.shape[0], -1) if per_channel else x.reshape(-1)
    eps_flat = eps.reshape(-1, 1).to(x.dtype) if per_channel else eps.reshape(()).to(x.dtype)
    alpha_t = scalar(alpha, x)
    gain_t = scalar(gain, x)
    out = _StraightThrough.apply(flat.contiguous(), eps_flat, grid, alpha_t, gain_t)
    return out.reshape(x.shape)


@ESTIMATORS.register("ste", "straight-through estimator: hard forward, clipped-identity gradient")
class STEQuantizer(Quantizer):
    """Clipped-identity STE: the stair forward, gradient 1 inside the grid's range, 0 outside.

    Ignores the annealing (it is ANA's static special case)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.grid is None:
            return x
        eps = self.quantum(x)
        if not self.training:
            return self.grid.hard(x / eps) * eps
        return straight_through(x, eps, self.grid)


@ESTIMATORS.register("aqe", "asymptotic-quantized estimator: alpha Q(x) + (1 - alpha) x")
class AQEQuantizer(Quantizer):
    """AQE (Chen et al.): a blend of the stair and the identity whose weight alpha = 1 - g_s / 2
    rises from 1/2 to 1 as the variance is annealed; gradient 2 alpha inside the grid's range."""

    @property
    def alpha(self) -> float:
        return 1.0 - 0.5 * self.g_s

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.grid is None:
            return x
        eps = self.quantum(x)
        if not self.training:
            return self.grid.hard(x / eps) * eps
        alpha = self.alpha
        return straight_through(x, eps, self.grid, alpha=alpha, gain=2.0 * alpha)


# -- mirror descent ----------------------------------------------------------------------------


class _MirrorTanh(torch.autograd.Function):
    """eps tanh(beta w~ / eps) forward; the gradient at w passed unchanged to w~."""

    @staticmethod
    def forward(ctx, w_aux, eps, beta):  # noqa: ANN001
        return torch.tanh(w_aux / eps * beta) * eps

    @staticmethod
    def backward(ctx, grad):  # noqa: ANN001
        return grad, None, None


@ESTIMATORS.register(
    "mirror_descent", "mirror descent for binary weights: w = tanh(beta w~), beta annealed up"
)
class MirrorDescentQuantizer(Quantizer):
    """Mirror descent (Ajanthan et al.) for binary weights; the layer's weight is w~.

    Weights only: a layer configured with this estimator quantizes its input activations
    with `ACTIVATION_ESTIMATOR` (see `codesign.nn.convert`).
    """

    BETA_START = 1.0
    BETA_END = 1000.0
    ACTIVATION_ESTIMATOR = "ste"

    def __init__(
        self,
        role: str,
        fmt: str,
        bits: int,
        anneal: AnnealConfig,
        per_channel: bool = False,
    ) -> None:
        if role != "weight":
            raise CodesignError(
                f"mirror descent trains weights only, not the {role} role; quantize "
                "activations with another estimator (ste, aqe or ana)"
            )
        super().__init__(role, fmt, bits, anneal, per_channel=per_channel)
        if self.grid is None or self.grid.levels != (-1.0, 1.0):
            raise CodesignError(
                f"mirror descent needs binary weights, got format '{fmt}' with {bits} bit(s); "
                "set w_format 'binary' (w_bits 1) or choose another estimator (ana, ste, aqe)"
            )

    @property
    def beta(self) -> float:
        return self.BETA_START * (self.BETA_END / self.BETA_START) ** (1.0 - self.g_s)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        eps = self.quantum(x)
        if not self.training:
            return self.grid.hard(x / eps) * eps
        beta = scalar(self.beta, x)
        return _MirrorTanh.apply(x, eps.to(x.dtype), beta)

    def extra_repr(self) -> str:
        return f"{super().extra_repr()}, beta={self.beta:.4g}"
