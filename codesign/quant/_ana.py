"""The ANA operation (docs/design.md, "ANA") as an autograd function, and the ANA quantizer.

In the integer domain u = x / eps and with v = u - mu, the smoothed stair is
Q~(u) = q_0 + sum_i (q_{i+1} - q_i) F(v - t_i) and its derivative sum_i (q_{i+1} - q_i) f(v - t_i)
is the backward pass of every forward strategy.

Cost does not grow with the bit-width: on integer grids only the 2W thresholds nearest to v can
have 0 < F < 1, with W = ceil(noise radius at the largest s); thresholds below the window count
1, above it 0. So the forward is clamp(c - W + sum_window G_j, lo, hi) with c = round(v) and G_j
the CDF at the window's j-th threshold (1 below the grid, 0 above it), whatever the number of
levels. Grids that are not integer ranges (binary, power-of-two, explicit) have few levels and
are summed in full, after the grid's index map phi (`Grid.index_map`: level j to j, threshold j
to j + 1/2, linear in between): Q~(u) = q_0 + sum_i (q_{i+1} - q_i) F(phi(v) - i - 1/2), with
derivative phi'(v) sum_i (q_{i+1} - q_i) f(phi(v) - i - 1/2). So the scale s counts steps of the
grid on every grid (on integer grids phi is the identity): the `mode` forward reaches every
level, and uniform noise at s = 1/2 with a static variance is the clipped STE on binary and
power-of-two grids as on integer ones. The op saves only its input and recomputes everything
in the backward.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch

from codesign.config import STRATEGIES, AnnealConfig
from codesign.errors import CodesignError
from codesign.quant._compile import Fusable, scalar
from codesign.quant._grid import Grid, round_half_up
from codesign.quant._noise import NOISES, Noise, default_beta_s
from codesign.quant._quantizer import ESTIMATORS, Quantizer

Kernel = Callable[..., torch.Tensor]

# Below this scale (in quanta) the noise is the stair: only inputs within ~1e-5 quanta of a
# threshold could move, and the PDF's 1/s, annealed towards 0 by high power laws, would
# overflow float32 (inf * 0 = NaN in the backward).
MIN_SCALE = 1e-6


# -- kernels on integer grids: a window of 2W thresholds around round(v) ----------------------


def _window_kernels(noise: Noise, width: int, strategy: str) -> tuple[Kernel, Kernel]:
    cdf, pdf = noise.cdf, noise.pdf

    def survival(c: torch.Tensor, v: torch.Tensor, s: torch.Tensor, lo, hi, j: int):
        # P(level > c + j): 1 below the grid, 0 above it, the noise CDF in between.
        i = c + j
        g = cdf(v - i - 0.5, s)
        return torch.where(i < lo, 1.0, torch.where(i >= hi, 0.0, g))

    def expectation(x, eps, mu, s, lo, hi):
        v = x / eps - mu
        c = torch.floor(v + 0.5)
        acc = c - width
        for j in range(-width, width):
            acc = acc + survival(c, v, s, lo, hi, j)
        return torch.minimum(torch.maximum(acc, lo), hi) * eps

    def sample(x, eps, mu, s, lo, hi):
        v = x / eps - mu
        c = torch.floor(v + 0.5)
        r = torch.rand_like(v)
        acc = c - width
        for j in range(-width, width):
            acc = acc + (r < survival(c, v, s, lo, hi, j)).to(v.dtype)
        return torch.minimum(torch.maximum(acc, lo), hi) * eps

    def mode(x, eps, mu, s, lo, hi):
        v = x / eps - mu
        c = torch.floor(v + 0.5)
        best = c - width
        best_p = torch.full_like(v, -1.0)
        above = torch.ones_like(v)
        for k in range(-width, width + 1):
            g = survival(c, v, s, lo, hi, k) if k < width else torch.zeros_like(v)
            p = above - g
            better = p > best_p
            best = torch.where(better, c + k, best)
            best_p = torch.where(better, p, best_p)
            above = g
        return torch.minimum(torch.maximum(best, lo), hi) * eps

    def backward(grad, x, eps, mu, s, lo, hi):
        v = x / eps - mu
        c = torch.floor(v + 0.5)
        slope = torch.zeros_like(v)
        for j in range(-width, width):
            i = c + j
            inside = (i >= lo) & (i < hi)
            slope = slope + torch.where(inside, pdf(v - i - 0.5, s), 0.0)
        return grad * slope

    forward = {"expectation": expectation, "random": sample, "mode": mode}[strategy]
    return forward, backward


# -- kernels on any grid: the full sum over thresholds in the grid's index domain -------------


def _index(v: torch.Tensor, knots: torch.Tensor, bends: int) -> torch.Tensor:
    """phi(v) from the (2, bends) tensor of `Grid.index_map`."""
    w = (v - knots[0, 0]) * knots[1, 0]
    for j in range(1, bends):
        w = w + knots[1, j] * torch.relu(v - knots[0, j])
    return w


def _index_slope(v: torch.Tensor, knots: torch.Tensor, bends: int) -> torch.Tensor:
    """phi'(v), right-continuous at the knots."""
    rate = torch.zeros_like(v) + knots[1, 0]
    for j in range(1, bends):
        rate = rate + torch.where(v >= knots[0, j], knots[1, j], 0.0)
    return rate


def _full_kernels(noise: Noise, strategy: str, count: int, bends: int) -> tuple[Kernel, Kernel]:
    """Kernels summing over all `count` thresholds (unrolled, so inductor fuses them).

    The input goes through the grid's index map phi (`Grid.index_map`, `bends` knots), where
    threshold i sits at i + 1/2 and the noise of mean mu and scale s is added: both count steps
    of the grid.
    """
    cdf, pdf = noise.cdf, noise.pdf

    def expectation(x, eps, mu, s, knots, levels):
        w = _index(x / eps, knots, bends) - mu
        acc = torch.zeros_like(w) + levels[0]
        for i in range(count):
            acc = acc + (levels[i + 1] - levels[i]) * cdf(w - (i + 0.5), s)
        return acc * eps

    def sample(x, eps, mu, s, knots, levels):
        w = _index(x / eps, knots, bends) - mu
        r = torch.rand_like(w)
        acc = torch.zeros_like(w) + levels[0]
        for i in range(count):
            passed = (r < cdf(w - (i + 0.5), s)).to(w.dtype)
            acc = acc + (levels[i + 1] - levels[i]) * passed
        return acc * eps

    def mode(x, eps, mu, s, knots, levels):
        w = _index(x / eps, knots, bends) - mu
        best = torch.zeros_like(w) + levels[0]
        best_p = torch.full_like(w, -1.0)
        above = torch.ones_like(w)
        for i in range(count + 1):
            g = cdf(w - (i + 0.5), s) if i < count else torch.zeros_like(w)
            p = above - g
            better = p > best_p
            best = torch.where(better, levels[i], best)
            best_p = torch.where(better, p, best_p)
            above = g
        return best * eps

    def backward(grad, x, eps, mu, s, knots, levels):
        v = x / eps
        w = _index(v, knots, bends) - mu
        slope = torch.zeros_like(w)
        for i in range(count):
            slope = slope + (levels[i + 1] - levels[i]) * pdf(w - (i + 0.5), s)
        return grad * slope * _index_slope(v, knots, bends)

    forward = {"expectation": expectation, "random": sample, "mode": mode}[strategy]
    return forward, backward


# -- the autograd function -------------------------------------------------------------------


class _Variant:
    """Forward and backward kernels of one (grid kind, noise, strategy, window)."""

    def __init__(self, forward: Kernel, backward: Kernel, name: str) -> None:
        self.forward = Fusable(forward, f"ana_{name}_forward")
        self.backward = Fusable(backward, f"ana_{name}_backward")


_VARIANTS: dict[tuple, _Variant] = {}


def _variant(grid: Grid, noise: str, strategy: str, s: float) -> tuple[_Variant, bool]:
    shape = NOISES.get(noise)
    if strategy not in STRATEGIES:
        raise CodesignError(
            f"unknown forward strategy '{strategy}'; choose one of: {', '.join(STRATEGIES)}"
        )
    width = max(1, math.ceil(shape.radius(s) - 1e-9))
    windowed = grid.uniform
    count = len(grid.thresholds)
    bends = len(grid.index_map()[0])
    key = (windowed, noise, strategy, width) if windowed else (False, noise, strategy, count, bends)
    variant = _VARIANTS.get(key)
    if variant is None:
        if windowed:
            kernels = _window_kernels(shape, width, strategy)
            name = f"{noise}_{strategy}_w{width}"
        else:
            kernels = _full_kernels(shape, strategy, count, bends)
            name = f"{noise}_{strategy}_k{count}_b{bends}"
        variant = _VARIANTS[key] = _Variant(*kernels, name)
    return variant, windowed


class _ANAFunction(torch.autograd.Function):
    @staticmethod
    def forward(ctx, variant: _Variant, x, eps, mu, s, a, b):  # noqa: ANN001
        ctx.variant = variant
        ctx.save_for_backward(x, eps, mu, s, a, b)
        return variant.forward(x, eps, mu, s, a, b)

    @staticmethod
    def backward(ctx, grad):  # noqa: ANN001
        x, eps, mu, s, a, b = ctx.saved_tensors
        grad_x = ctx.variant.backward(grad.contiguous(), x, eps, mu, s, a, b)
        return None, grad_x, None, None, None, None, None


class _HardFunction(torch.autograd.Function):
    """The stair itself: its derivative is zero almost everywhere (s = 0, or evaluation)."""

    @staticmethod
    def forward(ctx, x, eps, mu, grid: Grid, shifted: bool):  # noqa: ANN001
        if not shifted:
            return grid.hard(x / eps - mu) * eps
        # The mean is in steps of the grid, like the noise: shift in the index domain.
        knots, levels = _grid_tensors(grid, False, x)
        w = _index(x / eps, knots, knots.shape[1]) - mu
        j = round_half_up(w).clamp_(0, len(grid.levels) - 1).long()
        return levels[j] * eps

    @staticmethod
    def backward(ctx, grad):  # noqa: ANN001
        return None, None, None, None, None


_GRID_TENSORS: dict[tuple, tuple[torch.Tensor, ...]] = {}


def _grid_tensors(grid: Grid, windowed: bool, like: torch.Tensor) -> tuple[torch.Tensor, ...]:
    key = (grid, windowed, like.dtype, like.device)
    cached = _GRID_TENSORS.get(key)
    if cached is None:
        values = ((grid.lo, grid.hi) if windowed else (grid.index_map(), grid.levels))
        cached = tuple(torch.tensor(v, dtype=like.dtype, device=like.device) for v in values)
        _GRID_TENSORS[key] = cached
    return cached


def ana_quantize(
    x: torch.Tensor,
    eps: torch.Tensor,
    grid: Grid,
    noise: str = "normal",
    strategy: str = "expectation",
    mu: float = 0.0,
    s: float = 0.0,
    window_s: float | None = None,
) -> torch.Tensor:
    """ANA of `x` on `grid` with quantum `eps` (0-d, or one per leading channel).

    s = 0 (below `MIN_SCALE`) gives the stair shifted by mu, eps Q(phi^-1(phi(x / eps) - mu)),
    with zero gradient; s > 0 the `strategy` forward and the smoothed-stair gradient. mu and s
    count steps of the grid (quanta on integer grids). Always call with s = 0, mu = 0 in
    evaluation.
    `window_s` (>= s) sizes the threshold window: pass the largest s of an annealing run so
    the window, a compile-time constant, stays the same while s shrinks.
    """
    NOISES.get(noise)
    if strategy not in STRATEGIES:
        raise CodesignError(
            f"unknown forward strategy '{strategy}'; choose one of: {', '.join(STRATEGIES)}"
        )
    if s < 0:
        raise CodesignError(f"noise scale s={s} is negative; use s >= 0")
    per_channel = eps.dim() > 0 and eps.numel() > 1
    flat = x.reshape(x.shape[0], -1) if per_channel else x.reshape(-1)
    eps_flat = eps.reshape(-1, 1).to(x.dtype) if per_channel else eps.reshape(()).to(x.dtype)
    mu_t = scalar(mu, x)
    if s < MIN_SCALE:
        shifted = mu != 0.0 and not grid.uniform
        return _HardFunction.apply(flat, eps_flat, mu_t, grid, shifted).reshape(x.shape)
    variant, windowed = _variant(grid, noise, strategy, max(s, window_s or 0.0))
    s_t = scalar(s, x)
    a, b = _grid_tensors(grid, windowed, x)
    out = _ANAFunction.apply(variant, flat.contiguous(), eps_flat, mu_t, s_t, a, b)
    return out.reshape(x.shape)


@ESTIMATORS.register("ana", "Additive Noise Annealing: smoothed stair, annealed noise")
class ANAQuantizer(Quantizer):
    """Additive Noise Annealing (Spallanzani et al.): the noise of `anneal`, annealed by
    `set_annealing`; hard stair in evaluation and once s reaches 0."""

    def __init__(
        self,
        role: str,
        fmt: str,
        bits: int,
        anneal: AnnealConfig,
        per_channel: bool = False,
    ) -> None:
        super().__init__(role, fmt, bits, anneal, per_channel=per_channel)
        NOISES.get(anneal.noise)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.grid is None:
            return x
        eps = self.quantum(x)
        if not self.training:
            return ana_quantize(x, eps, self.grid)
        mu, s = self.noise()
        anneal = self.anneal
        beta_s = anneal.beta_s if anneal.beta_s is not None else default_beta_s(anneal.noise)
        return ana_quantize(x, eps, self.grid, anneal.noise, anneal.strategy, mu, s, beta_s)
