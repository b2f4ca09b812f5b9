"""Zero-mean noise distributions of ANA: CDF, PDF, default scale and support radius.

Formulas are in docs/design.md, "ANA". `radius(s)` bounds the support that matters: beyond it
the CDF is 0 or 1 (exactly for the bounded noises, to below `TAIL` for the others), which is what
lets the ANA op evaluate a fixed window of thresholds instead of all of them.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import torch

from codesign._registry import Registry

TAIL = 1e-6

_SQRT2 = math.sqrt(2.0)
_INV_SQRT_2PI = 1.0 / math.sqrt(2.0 * math.pi)

Fn = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]


@dataclass(frozen=True)
class Noise:
    """A noise shape: `cdf(z, s)` and `pdf(z, s)` for s > 0, with z and s in steps of the grid
    (the grid's index domain, `Grid.index_map`)."""

    name: str
    cdf: Fn
    pdf: Fn
    default_beta_s: float
    radius_per_s: float
    description: str

    def radius(self, s: float) -> float:
        """Half-width of the support that matters at scale `s`."""
        return self.radius_per_s * s


NOISES: Registry[Noise] = Registry("noise")


def _add(noise: Noise) -> None:
    NOISES.add(noise.name, noise, noise.description)


def _uniform_cdf(z: torch.Tensor, s: torch.Tensor) -> torch.Tensor:
    return ((z / s + 1.0) * 0.5).clamp(0.0, 1.0)


def _uniform_pdf(z: torch.Tensor, s: torch.Tensor) -> torch.Tensor:
    # Half-open support [-s, s): adjacent thresholds one unit apart never both count at s = 0.5.
    return ((z >= -s) & (z < s)).to(z.dtype) / (2.0 * s)


def _triangular_cdf(z: torch.Tensor, s: torch.Tensor) -> torch.Tensor:
    r = (z.abs() / s).clamp(max=1.0)
    return 0.5 * (1.0 + torch.sign(z) * r * (2.0 - r))


def _triangular_pdf(z: torch.Tensor, s: torch.Tensor) -> torch.Tensor:
    return (1.0 - z.abs() / s).clamp(min=0.0) / s


def _normal_cdf(z: torch.Tensor, s: torch.Tensor) -> torch.Tensor:
    return 0.5 * (1.0 + torch.erf(z / (s * _SQRT2)))


def _normal_pdf(z: torch.Tensor, s: torch.Tensor) -> torch.Tensor:
    r = z / s
    return torch.exp(-0.5 * r * r) * (_INV_SQRT_2PI / s)


def _logistic_cdf(z: torch.Tensor, s: torch.Tensor) -> torch.Tensor:
    return torch.sigmoid(z / s)


def _logistic_pdf(z: torch.Tensor, s: torch.Tensor) -> torch.Tensor:
    f = torch.sigmoid(z / s)
    return f * (1.0 - f) / s


# Radii: bounded noises end at s; normal tail 1 - Phi(5) = 3e-7; logistic tail exp(-14) = 8e-7.
_add(Noise("uniform", _uniform_cdf, _uniform_pdf, 0.5, 1.0, "uniform on [-s, s]"))
_add(Noise("triangular", _triangular_cdf, _triangular_pdf, 0.5, 1.0, "triangular on [-s, s]"))
_add(Noise("normal", _normal_cdf, _normal_pdf, 0.2551, 5.0, "normal with std s"))
_add(Noise("logistic", _logistic_cdf, _logistic_pdf, 0.1365, 14.0, "logistic with scale s"))


def default_beta_s(noise: str) -> float:
    """The scale that puts the noise mass inside +-0.5 (docs/design.md, "ANA")."""
    return NOISES.get(noise).default_beta_s
