"""The ANA op and quantizer against docs/design.md, "ANA": Monte Carlo, finite differences and
the full sum over thresholds as references, for every noise and forward strategy."""

import math
from collections.abc import Callable

import pytest
import torch

from codesign.config import STRATEGIES, AnnealConfig
from codesign.errors import CodesignError
from codesign.quant import (
    MIN_SCALE,
    NOISES,
    TAIL,
    ANAQuantizer,
    Grid,
    _ana,
    ana_quantize,
    binary_grid,
    default_beta_s,
    make_quantizer,
    pow2_grid,
    signed_grid,
    unsigned_grid,
)

F64 = torch.float64
# A scale per noise that spans several thresholds (windows of 2, 2, 3 and 5 thresholds a side).
SCALES = {"uniform": 1.3, "triangular": 1.3, "normal": 0.6, "logistic": 0.35}
# Windowed (integer) grids and fully summed ones, the latter with non-unit steps.
GRIDS = {"unsigned3": unsigned_grid(3), "binary": binary_grid(), "pow2_3": pow2_grid(3)}
MU = -0.3
EPS = 0.5


def truncation(noise: str) -> float:
    """What a window may drop per unit step: nothing for bounded noises, the two tails (each
    below TAIL, summed over the thresholds beyond the window) for the others."""
    return 0.0 if noise in ("uniform", "triangular") else 4 * TAIL


@pytest.fixture(autouse=True)
def eager(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CODESIGN_COMPILE", "0")


def spread(grid: Grid, n: int, seed: int = 0, margin: float = 2.0) -> torch.Tensor:
    """n float64 inputs in the real domain covering the grid and beyond both of its ends."""
    gen = torch.Generator().manual_seed(seed)
    u = torch.rand(n, dtype=F64, generator=gen) * (grid.hi - grid.lo + 2 * margin)
    return (u + grid.lo - margin) * EPS


def steps(grid: Grid) -> torch.Tensor:
    return torch.tensor(grid.levels, dtype=F64).diff()


def index(v: torch.Tensor, grid: Grid) -> tuple[torch.Tensor, torch.Tensor]:
    """phi(v) and phi'(v): the piecewise-linear map with level j at j and threshold j at
    j + 1/2, extended by its end segments; where ANA adds the noise (u - lo on integer grids)."""
    knots = torch.tensor(
        [p for pair in zip(grid.levels, grid.thresholds, strict=False) for p in pair]
        + [grid.hi],
        dtype=F64,
    )
    values = torch.arange(len(knots), dtype=F64) / 2
    segment = (torch.searchsorted(knots, v.contiguous(), right=True) - 1).clamp(0, len(knots) - 2)
    rate = (values[segment + 1] - values[segment]) / (knots[segment + 1] - knots[segment])
    return values[segment] + (v - knots[segment]) * rate, rate


def shifted(u: torch.Tensor, grid: Grid, mu: float) -> torch.Tensor:
    """z_i = phi(u) - mu - i - 1/2, one column per threshold (u - mu - t_i on integer grids)."""
    if grid.uniform:  # the same, without phi's rounding at the window's exact thresholds
        return u[..., None] - mu - torch.tensor(grid.thresholds, dtype=F64)
    thresholds = torch.arange(len(grid.thresholds), dtype=F64) + 0.5
    return index(u, grid)[0][..., None] - mu - thresholds


def noisy_stair(u: torch.Tensor, grid: Grid, mu: float, xi: torch.Tensor) -> torch.Tensor:
    """The stair with noise mu + xi added in the grid's index domain: level round(phi - mu - xi)."""
    w = index(u, grid)[0]
    j = torch.floor(w - mu - xi + 0.5).clamp(0, len(grid.levels) - 1).long()
    return torch.tensor(grid.levels, dtype=F64)[j]


def smoothed(u: torch.Tensor, grid: Grid, noise: str, mu: float, s: float) -> torch.Tensor:
    """Q~(u) = q_0 + sum_i (q_{i+1} - q_i) F(z_i), summed over every threshold."""
    cdf = NOISES.get(noise).cdf(shifted(u, grid, mu), torch.tensor(s, dtype=F64))
    return grid.levels[0] + cdf @ steps(grid)


def slope(u: torch.Tensor, grid: Grid, noise: str, mu: float, s: float) -> torch.Tensor:
    """dQ~/du = phi'(u) sum_i (q_{i+1} - q_i) f(z_i)."""
    pdf = NOISES.get(noise).pdf(shifted(u, grid, mu), torch.tensor(s, dtype=F64))
    return (pdf @ steps(grid)) * index(u, grid)[1]


def level_probabilities(u: torch.Tensor, grid: Grid, noise: str, mu: float,
                        s: float) -> torch.Tensor:
    """P(level j) = F(z_{j-1}) - F(z_j), with F(z_{-1}) = 1 and F(z_K) = 0."""
    cdf = NOISES.get(noise).cdf(shifted(u, grid, mu), torch.tensor(s, dtype=F64))
    ones, zeros = torch.ones_like(cdf[..., :1]), torch.zeros_like(cdf[..., :1])
    return torch.cat([ones, cdf], -1) - torch.cat([cdf, zeros], -1)


def quantize(x: torch.Tensor, grid: Grid, noise: str, strategy: str = "expectation",
             mu: float = MU, s: float | None = None, eps: float | torch.Tensor = EPS,
             window_s: float | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """Forward and input gradient of the op, the output gradient a ramp so that it counts."""
    x = x.clone().requires_grad_()
    eps_t = torch.as_tensor(eps, dtype=x.dtype)
    s = SCALES[noise] if s is None else s
    out = ana_quantize(x, eps_t, grid, noise, strategy, mu, s, window_s)
    ramp = torch.linspace(0.5, 1.5, x.numel(), dtype=x.dtype).reshape(x.shape)
    out.backward(ramp)
    grad = torch.zeros_like(x) if x.grad is None else x.grad
    return out.detach(), grad / ramp


@pytest.mark.parametrize("grid_name", GRIDS)
@pytest.mark.parametrize("noise", NOISES.names())
def test_expectation_is_the_monte_carlo_mean_of_the_noisy_stair(
    noise: str, grid_name: str, draw: Callable
) -> None:
    grid, s = GRIDS[grid_name], SCALES[noise]
    x = spread(grid, 24)
    out, _ = quantize(x, grid, noise)
    xi = draw(noise, s, 20_000, torch.Generator().manual_seed(3))
    noisy = noisy_stair(x[:, None] / EPS, grid, MU, xi[None, :]) * EPS
    mean, se = noisy.mean(1), noisy.std(1) / math.sqrt(xi.numel())
    # Beyond 5 standard errors, allow for tail events too rare to show up in the draws.
    unseen = 3 / xi.numel() * steps(grid).max().item() * EPS
    assert torch.all((out - mean).abs() <= 5 * se + unseen), (out - mean).abs() / se
    assert noisy.std(1).max() > 0.1 * steps(grid).min() * EPS  # the noise does move the stair


@pytest.mark.parametrize("grid_name", GRIDS)
@pytest.mark.parametrize("noise", NOISES.names())
def test_backward_of_every_strategy_is_the_derivative_of_the_expectation(
    noise: str, grid_name: str
) -> None:
    grid, s = GRIDS[grid_name], SCALES[noise]
    x = spread(grid, 200, seed=4)
    if noise == "uniform":  # F has kinks at z = +-s where finite differences are meaningless
        z = shifted(x / EPS, grid, MU)
        x = x[((z.abs() - s).abs() > 1e-3).all(-1)]
    # phi has kinks at the levels of grids with unequal steps
    levels = torch.tensor(grid.levels, dtype=F64)
    x = x[((x[:, None] / EPS - levels).abs() > 1e-3).all(-1)]
    h = 1e-6
    plus, _ = quantize(x + h, grid, noise)
    minus, _ = quantize(x - h, grid, noise)
    numeric = (plus - minus) / (2 * h)
    assert numeric.abs().max() > 0.1
    for strategy in STRATEGIES:
        _, grad = quantize(x, grid, noise, strategy)
        torch.testing.assert_close(grad, numeric, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("grid_name", GRIDS)
@pytest.mark.parametrize("noise", NOISES.names())
def test_mode_is_the_most_probable_level(noise: str, grid_name: str) -> None:
    grid, s = GRIDS[grid_name], SCALES[noise]
    x = spread(grid, 400, seed=5)
    out, _ = quantize(x, grid, noise, "mode")
    levels = torch.tensor(grid.levels, dtype=F64)
    chosen = (out[:, None] / EPS == levels).to(F64)
    assert torch.all(chosen.sum(-1) == 1)  # always a level of the grid
    p = level_probabilities(x / EPS, grid, noise, MU, s)
    assert torch.all((p * chosen).sum(-1) >= p.max(-1).values - 1e-9)


@pytest.mark.parametrize("grid_name", ["unsigned3", "pow2_3"])
@pytest.mark.parametrize("noise", NOISES.names())
def test_random_draws_follow_the_level_probabilities(noise: str, grid_name: str) -> None:
    grid, s, n = GRIDS[grid_name], SCALES[noise], 20_000
    x = spread(grid, 8, seed=6)
    torch.manual_seed(7)
    out, _ = quantize(x.repeat_interleave(n), grid, noise, "random")
    out = out.reshape(-1, n)
    expectation, _ = quantize(x, grid, noise)
    se = out.std(1) / math.sqrt(n)
    assert torch.all((out.mean(1) - expectation).abs() <= 5 * se + 1e-6)
    p = level_probabilities(x / EPS, grid, noise, MU, s)
    levels = torch.tensor(grid.levels, dtype=F64) * EPS
    frequency = (out[..., None] == levels).to(F64).mean(1)
    torch.testing.assert_close(frequency.sum(-1), torch.ones(len(x), dtype=F64))
    assert torch.all((frequency - p).abs() <= 5 * (p * (1 - p) / n).sqrt() + 1e-4)


@pytest.mark.parametrize("strategy", STRATEGIES)
@pytest.mark.parametrize("grid_name", GRIDS)
def test_zero_scale_is_exactly_the_hard_stair_with_no_gradient(grid_name: str,
                                                               strategy: str) -> None:
    grid = GRIDS[grid_name]
    x = spread(grid, 300, seed=8).float()
    for mu in (0.0, MU):
        out, grad = quantize(x, grid, "normal", strategy, mu=mu, s=0.0)
        xi = torch.zeros(1, dtype=F64)
        assert torch.equal(out, noisy_stair(x.double() / EPS, grid, mu, xi).float() * EPS)
        assert torch.equal(grad, torch.zeros_like(x))


# 8-bit integer grids: 255 thresholds, of which the window visits a handful.
GRIDS_8BIT = {"unsigned8": unsigned_grid(8), "signed8": signed_grid(8, balanced=True)}


@pytest.mark.parametrize("grid_name", GRIDS_8BIT)
@pytest.mark.parametrize("noise", NOISES.names())
def test_window_on_an_8bit_grid_equals_the_full_sum(noise: str, grid_name: str) -> None:
    grid = GRIDS_8BIT[grid_name]
    x = torch.cat([spread(grid, 2000, seed=9, margin=4.0),
                   torch.arange(grid.lo - 2, grid.hi + 2, 0.5, dtype=F64) * EPS])
    tail = truncation(noise)
    for s, window_s in [(SCALES[noise], None), (0.2 * SCALES[noise], SCALES[noise])]:
        out, grad = quantize(x, grid, noise, s=s, window_s=window_s)
        u = x / EPS
        torch.testing.assert_close(out, smoothed(u, grid, noise, MU, s) * EPS,
                                   rtol=1e-12, atol=tail * EPS + 1e-12)
        torch.testing.assert_close(grad, slope(u, grid, noise, MU, s),
                                   rtol=1e-12, atol=tail / s + 1e-12)


@pytest.mark.parametrize("noise", NOISES.names())
def test_window_with_per_channel_quanta(noise: str) -> None:
    grid = signed_grid(8, balanced=True)
    eps = torch.tensor([0.05, 0.5, 3.0], dtype=F64)
    x = spread(grid, 3 * 400, seed=10, margin=3.0).reshape(3, 20, 20) / EPS * eps.view(-1, 1, 1)
    out, grad = quantize(x, grid, noise, eps=eps)
    u = x / eps.view(-1, 1, 1)
    s, tail = SCALES[noise], truncation(noise)
    torch.testing.assert_close(out, smoothed(u, grid, noise, MU, s) * eps.view(-1, 1, 1),
                               rtol=1e-12, atol=tail * eps.max().item() + 1e-12)
    # d out / d x = eps Q~'(u) / eps
    torch.testing.assert_close(grad, slope(u, grid, noise, MU, s), rtol=1e-12,
                               atol=tail / s + 1e-12)


def test_uniform_half_step_static_mode_is_the_clipped_identity_ste() -> None:
    grid = signed_grid(3)
    x = torch.cat([spread(grid, 500, seed=11), torch.arange(grid.lo, grid.hi) * EPS])
    out, grad = quantize(x, grid, "uniform", "mode", mu=0.0, s=0.5)
    u = x / EPS
    assert torch.equal(out, grid.hard(u) * EPS)
    assert torch.equal(grad, ((u >= grid.lo) & (u <= grid.hi)).to(F64))

    anneal = AnnealConfig(noise="uniform", strategy="mode", mean="static", variance="static",
                          beta_s=0.5)
    w = torch.randn(16, 9, generator=torch.Generator().manual_seed(12)) * 2
    results = []
    for estimator, config in (("ana", anneal), ("ste", AnnealConfig())):
        q = make_quantizer("weight", "int", 3, estimator, config).train()
        q.set_annealing(0.3, 0.3, 0.5)  # static: the schedule must not matter
        w_in = w.clone().requires_grad_()
        y = q(w_in)
        y.backward(torch.ones_like(y))
        results.append((y.detach(), w_in.grad))
    (ana_out, ana_grad), (ste_out, ste_grad) = results
    assert torch.equal(ana_out, ste_out)
    assert torch.equal(ana_grad, ste_grad)
    assert 0 < ana_grad.mean() < 1


# Grids with unequal or non-unit steps, where the scale counts steps of the grid.
STEPPED = {"binary": binary_grid(), "pow2_3": pow2_grid(3), "pow2_4": pow2_grid(4)}


@pytest.mark.parametrize("grid_name", STEPPED)
@pytest.mark.parametrize("noise", NOISES.names())
def test_mode_reaches_every_level_and_becomes_the_stair(noise: str, grid_name: str) -> None:
    grid = STEPPED[grid_name]
    x = spread(grid, 20_000, seed=19, margin=0.5)
    levels = torch.tensor(grid.levels, dtype=F64)
    z = shifted(x / EPS, grid, 0.0)  # distance to every threshold, in steps of the grid
    # Static mean, the default scale: the nearest level, but within 1e-3 steps of a threshold
    # (where the tail beyond the next threshold tips the balance).
    out, _ = quantize(x, grid, noise, "mode", mu=0.0, s=default_beta_s(noise))
    assert torch.equal(torch.unique(out / EPS), levels)
    away = (z.abs() > 1e-3).all(-1)
    assert away.double().mean() > 0.99
    assert torch.equal(out[away], grid.hard(x[away] / EPS) * EPS)
    # Dynamic mean near the end of annealing: the stair but within the remaining shift.
    g = 1e-2
    out, _ = quantize(x, grid, noise, "mode", mu=-0.5 * g, s=g * g * default_beta_s(noise))
    away = (z.abs() > g).all(-1)
    assert away.double().mean() > 0.9
    assert torch.equal(out[away], grid.hard(x[away] / EPS) * EPS)


@pytest.mark.parametrize("grid_name", STEPPED)
def test_uniform_half_step_static_mode_is_the_clipped_ste_on_every_grid(grid_name: str) -> None:
    grid = STEPPED[grid_name]
    x = spread(grid, 2000, seed=20)
    out, grad = quantize(x, grid, "uniform", "mode", mu=0.0, s=0.5)
    u = x / EPS
    assert torch.equal(out, grid.hard(u) * EPS)
    inside = ((u >= grid.lo) & (u < grid.hi)).to(F64)
    assert 0.3 < inside.mean() < 0.9
    torch.testing.assert_close(grad, inside, rtol=0, atol=1e-12)


def saved_for_backward(*args: object) -> tuple[torch.Tensor, list[torch.Tensor]]:
    """`ana_quantize(*args)` and every tensor autograd saved for its backward."""
    saved: list[torch.Tensor] = []

    def pack(t: torch.Tensor) -> torch.Tensor:
        saved.append(t)
        return t

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        return ana_quantize(*args), saved


@pytest.mark.parametrize("strategy", STRATEGIES)
@pytest.mark.parametrize("grid", [unsigned_grid(8), pow2_grid(3)], ids=["window", "full"])
def test_only_the_input_is_saved_for_backward(grid: Grid, strategy: str) -> None:
    x = spread(grid, 6 * 1000, seed=13).float().reshape(6, 10, 100)
    for eps in (torch.tensor(EPS), torch.linspace(0.3, 0.8, 6)):
        x_in = x.clone().requires_grad_()
        out, saved = saved_for_backward(x_in, eps, grid, "normal", strategy, MU, 0.4)
        big = [t for t in saved if t.numel() == x.numel()]
        assert len(big) == 1 and big[0].data_ptr() == x_in.data_ptr()  # the input, no copy
        small = max(eps.numel(), len(grid.levels))  # quanta, mu, s, grid bounds or levels
        assert all(t.numel() <= small for t in saved if t is not big[0])
        out.sum().backward()
        assert x_in.grad.abs().sum() > 0


def test_a_fixed_window_keeps_one_kernel_variant_while_s_anneals() -> None:
    grid = unsigned_grid(4)
    x = spread(grid, 100, seed=14)
    quantize(x, grid, "logistic", s=0.3)
    before = len(_ana._VARIANTS)
    for s in (0.3, 0.2, 0.1, 0.01):
        out, grad = quantize(x, grid, "logistic", s=s, window_s=0.3)
        reference = smoothed(x / EPS, grid, "logistic", MU, s) * EPS
        torch.testing.assert_close(out, reference, rtol=0, atol=truncation("logistic"))
        reference = slope(x / EPS, grid, "logistic", MU, s)
        torch.testing.assert_close(grad, reference, rtol=0, atol=truncation("logistic") / s)
    assert len(_ana._VARIANTS) == before


def weights(seed: int, shape: tuple[int, ...] = (8, 3, 3, 3)) -> torch.Tensor:
    return torch.randn(shape, generator=torch.Generator().manual_seed(seed))


@pytest.mark.parametrize("noise", NOISES.names())
def test_quantizer_trains_with_its_annealed_noise_and_evaluates_the_stair(noise: str) -> None:
    anneal = AnnealConfig(noise=noise, mean="dynamic", variance="dynamic")
    q = make_quantizer("weight", "int", 4, "ana", anneal).train()
    assert isinstance(q, ANAQuantizer)
    q.set_annealing(0.5, 0.25, 0.5)
    mu, s = q.noise()
    assert (mu, s) == pytest.approx((-0.25, 0.25 * NOISES.get(noise).default_beta_s))
    w = weights(15).requires_grad_()
    out = q(w)
    u = w.detach() / q.eps
    expected = smoothed(u.double(), q.grid, noise, mu, s).float() * q.eps
    torch.testing.assert_close(out, expected, rtol=1e-5, atol=1e-5)
    out.sum().backward()
    torch.testing.assert_close(w.grad, slope(u.double(), q.grid, noise, mu, s).float(),
                               rtol=1e-4, atol=1e-4)

    hard = q.grid.hard(w.detach() / q.eps) * q.eps
    q.set_annealing(0.0, 0.0, 0.5)
    assert torch.equal(q(w).detach(), hard)
    q.set_annealing(0.5, 0.25, 0.5)
    q.eval()
    assert torch.equal(q(w).detach(), hard)
    assert torch.equal(q.hard(w.detach()), hard)


def test_activation_quantizer_with_random_forward_samples_levels() -> None:
    anneal = AnnealConfig(noise="normal", strategy="random", beta_s=0.3)
    q = make_quantizer("activation", "int", 2, "ana", anneal).train()
    x = torch.relu(weights(16, (4, 8, 8)))
    torch.manual_seed(17)
    out = q(x)
    assert q.grid.levels == (0.0, 1.0, 2.0, 3.0)  # non-negative data: unsigned
    assert torch.all(torch.isin(out / q.eps, torch.tensor(q.grid.levels)))
    assert not torch.equal(out, q.hard(x))


@pytest.mark.parametrize("grid", [signed_grid(4), binary_grid()], ids=["window", "full"])
def test_eager_and_compiled_kernels_agree(monkeypatch: pytest.MonkeyPatch, grid: Grid) -> None:
    x = spread(grid, 4096, seed=18).float()
    results = []
    for mode in ("0", "1"):
        monkeypatch.setenv("CODESIGN_COMPILE", mode)
        results.append(quantize(x, grid, "normal", eps=torch.tensor(EPS)))
    (out0, grad0), (out1, grad1) = results
    torch.testing.assert_close(out1, out0)
    torch.testing.assert_close(grad1, grad0)


@pytest.mark.parametrize(
    "kwargs, culprit",
    [
        (dict(noise="gumbel"), "unknown noise 'gumbel'; choose one of: logistic"),
        (dict(strategy="median"), "unknown forward strategy 'median'; choose one of: expect"),
        (dict(s=-0.1), "s=-0.1 is negative"),
    ],
)
def test_bad_input_names_the_culprit(kwargs: dict, culprit: str) -> None:
    args = dict(noise="normal", strategy="expectation", mu=0.0, s=0.5) | kwargs
    with pytest.raises(CodesignError, match=culprit):
        ana_quantize(torch.zeros(3), torch.tensor(1.0), unsigned_grid(2), **args)


@pytest.mark.parametrize(
    "make, culprit",
    [
        (lambda: make_quantizer("weight", "int", 4, "ana", AnnealConfig(noise="gumbel")),
         "unknown noise 'gumbel'"),
        (lambda: AnnealConfig(strategy="median"), "median"),
        (lambda: make_quantizer("weight", "int", 0, "ana", AnnealConfig()), "0 bits"),
        (lambda: make_quantizer("activation", "int", 4, "ana", AnnealConfig(), per_channel=True),
         "per-channel quanta are for weights only"),
    ],
)
def test_bad_quantizer_input_names_the_culprit(make: Callable[[], object], culprit: str) -> None:
    with pytest.raises(CodesignError, match=culprit):
        make()


@pytest.mark.parametrize("noise", NOISES.names())
@pytest.mark.parametrize("s", [1e-40, 1e-12, 2e-6])
def test_vanishing_scales_stay_finite_and_become_the_stair(noise, s):
    """High power laws anneal s through denormals; the PDF's 1/s must not turn into NaN."""
    x = torch.linspace(-2.0, 2.0, 4001, requires_grad=True)
    eps = torch.tensor(0.25)
    grid = signed_grid(3)
    out = ana_quantize(x, eps, grid, noise, "expectation", 0.0, s, default_beta_s(noise))
    out.sum().backward()
    grad = x.grad if x.grad is not None else torch.zeros_like(x)
    assert torch.isfinite(out).all() and torch.isfinite(grad).all()
    phase = (x.detach() / eps - 0.5).remainder(1.0)  # 0 at a threshold, 0.5 at a level
    away = 0.5 - (phase - 0.5).abs() > 1e-3
    hard = ana_quantize(x.detach(), eps, grid)
    torch.testing.assert_close(out.detach()[away], hard[away], rtol=0, atol=1e-5)
    if s < MIN_SCALE:
        assert grad.abs().sum() == 0
