"""Gradient estimators that are peers of ANA behind the same `Quantizer` interface.

All work in the integer domain u = x / eps of the quantizer's grid, whose clipping range is
[q_0, q_K] (the grid's `lo`, `hi`; [-1, 1] for binary weights) and return eps times the result:

- `ste`: the clipped-identity straight-through estimator; forward Q(u), backward 1[lo <= u <= hi].
  Written directly rather than as ANA with uniform noise s = 0.5, whose gradient is the same
  but for the clipping range's upper end (half-open there).
- `aqe` (Chen et al., IEEE JSTSP 2020): forward alpha Q(u) + (1 - alpha) u, backward
  2 alpha 1[lo <= u <= hi] at the paper's fixed alpha = 1/2: the STE's gradient, so a chain of
  quantizers passes the gradient back unscaled.
- `aqe_annealed`: the same with alpha = (1 + p) / 2 rising from 1/2 to 1 as the layer's
  progress p through its annealing window goes from 0 to 1, so the training forward becomes
  the stair. Its gradient gain 2 alpha = 1 + p lies in [1, 2] per quantizer and multiplies
  along a chain: (1 + p)^L through L quantizers, 2^L once their windows have closed.
- `mirror_descent` (Ajanthan et al., AISTATS 2021), binary weights only: the layer's weight is
  the auxiliary w~, the forward uses w = eps tanh(beta w~ / eps) and the backward hands the
  gradient at w to w~ unchanged (the numerically stable form of the mirror-descent update).
  The paper multiplies beta by rho > 1 every T steps; here its continuous form
  beta = BETA_START (BETA_END / BETA_START)^p, geometric in the progress p through the layer's
  window (rho = (BETA_END / BETA_START)^(T / N) over a window of N steps). Final weights
  eps sign(w~).

The progress comes from the annealing controller whatever the variance mode, so both anneal
under a static variance too. Evaluation is always the hard stair eps Q(x / eps) of the base
class.
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


@ESTIMATORS.register(
    "aqe", "asymptotic-quantized estimator: alpha Q(x) + (1 - alpha) x, alpha = 1/2 (STE gradient)"
)
class AQEQuantizer(Quantizer):
    """AQE (Chen et al.) at the paper's fixed alpha = 1/2: a blend of the stair and the
    identity in training, gradient 2 alpha = 1 inside the grid's range."""

    ALPHA = 0.5

    @property
    def alpha(self) -> float:
        return self.ALPHA

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.grid is None:
            return x
        eps = self.quantum(x)
        if not self.training:
            return self.grid.hard(x / eps) * eps
        alpha = self.alpha
        return straight_through(x, eps, self.grid, alpha=alpha, gain=2.0 * alpha)


@ESTIMATORS.register(
    "aqe_annealed", "AQE with alpha annealed from 1/2 to 1 over the window; gradient gain 1 to 2"
)
class AnnealedAQEQuantizer(AQEQuantizer):
    """AQE whose alpha = (1 + progress) / 2 reaches the stair at the end of the layer's window;
    the gradient gain 2 alpha is bounded by 2 per quantizer (2^L through L of them)."""

    @property
    def alpha(self) -> float:
        return 0.5 * (1.0 + self.progress)


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
        """Geometric in the layer's progress: BETA_START at 0, BETA_END at 1."""
        return self.BETA_START * (self.BETA_END / self.BETA_START) ** self.progress

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        eps = self.quantum(x)
        if not self.training:
            return self.stair().hard(x / eps) * eps
        beta = scalar(self.beta, x)
        return _MirrorTanh.apply(x, eps.to(x.dtype), beta)

    def extra_repr(self) -> str:
        return f"{super().extra_repr()}, beta={self.beta:.4g}"
