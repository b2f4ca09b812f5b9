"""Noise shapes of ANA: CDF and PDF against docs/design.md, "ANA", quadrature and samples."""

import math
from collections.abc import Callable

import pytest
import torch

from codesign.errors import CodesignError
from codesign.quant import NOISES, TAIL, Noise, default_beta_s

SCALES = [0.2, 0.5, 1.3]
STD_PER_S = {
    "uniform": 1 / math.sqrt(3),
    "triangular": 1 / math.sqrt(6),
    "normal": 1.0,
    "logistic": math.pi / math.sqrt(3),
}


def table_cdf(name: str, z: float, s: float) -> float:
    """F(z) as the noise table of docs/design.md writes it."""
    if name == "uniform":
        return min(max((z / s + 1) / 2, 0.0), 1.0)
    if name == "triangular":
        if abs(z) >= s:
            return 0.0 if z < 0 else 1.0
        return 0.5 * (1 + math.copysign(1.0, z) * (abs(z) / s) * (2 - abs(z) / s))
    if name == "normal":
        return 0.5 * (1 + math.erf(z / (s * math.sqrt(2))))
    return 1 / (1 + math.exp(-z / s))


def table_pdf(name: str, z: float, s: float) -> float:
    """f(z) as the noise table of docs/design.md writes it."""
    if name == "uniform":
        return (abs(z) <= s) / (2 * s)
    if name == "triangular":
        return max(0.0, 1 - abs(z) / s) / s
    if name == "normal":
        return math.exp(-0.5 * (z / s) ** 2) / (s * math.sqrt(2 * math.pi))
    f = table_cdf(name, z, s)
    return f * (1 - f) / s


def evaluate(fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor], z: torch.Tensor,
             s: float) -> torch.Tensor:
    return fn(z, torch.tensor(s, dtype=z.dtype))


def test_registry_holds_the_four_noises_of_the_design() -> None:
    assert NOISES.names() == ["logistic", "normal", "triangular", "uniform"]
    assert all(isinstance(NOISES.get(name), Noise) for name in NOISES)


@pytest.mark.parametrize("s", SCALES)
@pytest.mark.parametrize("name", NOISES.names())
def test_cdf_and_pdf_match_the_design_table(name: str, s: float) -> None:
    noise = NOISES.get(name)
    z = torch.linspace(-3 * s, 3 * s, 601, dtype=torch.float64)
    z = z[(z.abs() - s).abs() > 1e-9]  # the uniform density's edges are a matter of convention
    cdf = torch.tensor([table_cdf(name, v, s) for v in z.tolist()], dtype=torch.float64)
    pdf = torch.tensor([table_pdf(name, v, s) for v in z.tolist()], dtype=torch.float64)
    torch.testing.assert_close(evaluate(noise.cdf, z, s), cdf, rtol=1e-12, atol=1e-14)
    torch.testing.assert_close(evaluate(noise.pdf, z, s), pdf, rtol=1e-12, atol=1e-14)
    torch.testing.assert_close(evaluate(noise.cdf, z.float(), s), cdf.float())
    torch.testing.assert_close(evaluate(noise.pdf, z.float(), s), pdf.float())


@pytest.mark.parametrize("s", SCALES)
@pytest.mark.parametrize("name", NOISES.names())
def test_cdf_is_the_integral_of_the_pdf(name: str, s: float) -> None:
    noise = NOISES.get(name)
    reach = noise.radius(s) + s
    z = torch.linspace(-reach, reach, 200_001, dtype=torch.float64)
    integral = torch.cumulative_trapezoid(evaluate(noise.pdf, z, s), z)
    cdf = evaluate(noise.cdf, z, s)
    torch.testing.assert_close(integral, cdf[1:] - cdf[0], rtol=0, atol=2e-5)
    assert integral[-1].item() == pytest.approx(1.0, abs=2e-5)


@pytest.mark.parametrize("s", SCALES)
@pytest.mark.parametrize("name", NOISES.names())
def test_zero_mean_symmetry_and_the_radius_that_bounds_the_window(name: str, s: float) -> None:
    noise = NOISES.get(name)
    z = torch.linspace(-2 * noise.radius(s), 2 * noise.radius(s), 4001, dtype=torch.float64)
    cdf = evaluate(noise.cdf, z, s)
    assert torch.all(cdf.diff() >= 0)
    torch.testing.assert_close(cdf + cdf.flip(0), torch.ones_like(cdf), rtol=0, atol=1e-12)
    assert evaluate(noise.cdf, torch.zeros((), dtype=torch.float64), s).item() == 0.5
    edge = torch.tensor([-noise.radius(s), noise.radius(s)], dtype=torch.float64)
    lo, hi = evaluate(noise.cdf, edge, s).tolist()
    assert lo <= TAIL and 1 - hi <= TAIL
    # The radius is not wastefully large either: at half of it the tail is still visible.
    assert 1 - evaluate(noise.cdf, edge[1:] / 2, s).item() > TAIL


def ks_distance(samples: torch.Tensor, cdf: torch.Tensor) -> float:
    """Kolmogorov-Smirnov distance between sorted samples' empirical CDF and `cdf` there."""
    n = samples.numel()
    above = torch.arange(1, n + 1, dtype=torch.float64) / n
    return max((above - cdf).abs().max().item(), (above - 1 / n - cdf).abs().max().item())


@pytest.mark.parametrize("name", NOISES.names())
def test_draws_of_the_stated_scale_follow_the_cdf(name: str, draw: Callable) -> None:
    """s is the half-width (uniform, triangular), the std (normal), the logistic scale."""
    noise = NOISES.get(name)
    s, n = 0.7, 20_000
    samples = draw(name, s, n, torch.Generator().manual_seed(1)).sort().values
    critical = 1.95 / math.sqrt(n)  # KS, 0.1 % level
    assert ks_distance(samples, evaluate(noise.cdf, samples, s)) < critical
    assert ks_distance(samples, evaluate(noise.cdf, samples, 0.9 * s)) > critical


def inverse_cdf(noise: Noise, p: torch.Tensor, s: float) -> torch.Tensor:
    """F^-1(p) by bisection on the noise's own CDF."""
    lo = torch.full_like(p, -2 * noise.radius(s))
    hi = -lo
    for _ in range(50):
        mid = (lo + hi) / 2
        below = evaluate(noise.cdf, mid, s) < p
        lo = torch.where(below, mid, lo)
        hi = torch.where(below, hi, mid)
    return (lo + hi) / 2


@pytest.mark.parametrize("name", NOISES.names())
def test_samples_of_the_cdf_have_mean_zero_and_the_stated_spread(name: str) -> None:
    noise = NOISES.get(name)
    s, n = 0.3, 50_000
    p = torch.rand(n, dtype=torch.float64, generator=torch.Generator().manual_seed(2))
    samples = inverse_cdf(noise, p, s)
    std = STD_PER_S[name] * s
    assert abs(samples.mean().item()) < 5 * std / math.sqrt(n)
    assert samples.std().item() == pytest.approx(std, rel=0.02)
    if name in ("uniform", "triangular"):
        assert samples.abs().max().item() <= s
        assert samples.abs().max().item() > 0.95 * s


@pytest.mark.parametrize(
    "name, beta_s, mass",
    [("uniform", 0.5, 1.0), ("triangular", 0.5, 1.0), ("normal", 0.2551, 0.95),
     ("logistic", 0.1365, 0.95)],
)
def test_default_scales_put_the_noise_mass_inside_half_a_step(name: str, beta_s: float,
                                                               mass: float) -> None:
    assert default_beta_s(name) == beta_s
    edge = torch.tensor([-0.5, 0.5], dtype=torch.float64)
    lo, hi = evaluate(NOISES.get(name).cdf, edge, beta_s).tolist()
    assert hi - lo == pytest.approx(mass, abs=1e-3)


def test_unknown_noise_names_the_culprit() -> None:
    with pytest.raises(CodesignError, match="unknown noise 'gumbel'; choose one of: logistic"):
        default_beta_s("gumbel")
