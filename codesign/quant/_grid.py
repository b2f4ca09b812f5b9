"""Quantization grids: the levels and thresholds of a stair function, in units of the quantum.

A grid lives in the integer domain: the real quantizer is eps * Q(x / eps)
(docs/design.md, "ANA").
Integer grids (consecutive integers, thresholds at the midpoints) are flagged `uniform`, which
lets the ANA op evaluate only a fixed window of thresholds around each input; the other grids
(binary, power-of-two, explicit levels) have few levels and are summed in full.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import torch

from codesign.errors import CodesignError
from codesign.formats import (
    ACTIVATION_FORMATS,
    MAX_INT_BITS,
    MAX_POW2_BITS,
    MIN_POW2_BITS,
    WEIGHT_FORMATS,
    bits_problem,
    grid_kind,
    implied_bits,
)

ROLES = ("weight", "activation")


@dataclass(frozen=True)
class Grid:
    """Levels q_0 < ... < q_K and thresholds t_0 < ... < t_{K-1} of a stair function."""

    levels: tuple[float, ...]
    thresholds: tuple[float, ...]
    uniform: bool = False

    def __post_init__(self) -> None:
        if len(self.levels) < 2:
            raise CodesignError(f"a grid needs at least 2 levels, got {list(self.levels)}")
        if len(self.thresholds) != len(self.levels) - 1:
            raise CodesignError(
                f"a grid of {len(self.levels)} levels needs {len(self.levels) - 1} thresholds, "
                f"got {len(self.thresholds)}"
            )
        if any(b <= a for a, b in zip(self.levels, self.levels[1:], strict=False)):
            raise CodesignError(f"grid levels must increase strictly, got {list(self.levels)}")
        if any(b <= a for a, b in zip(self.thresholds, self.thresholds[1:], strict=False)):
            raise CodesignError(f"thresholds must increase strictly, got {list(self.thresholds)}")

    @property
    def lo(self) -> float:
        return self.levels[0]

    @property
    def hi(self) -> float:
        return self.levels[-1]

    @property
    def max_abs(self) -> float:
        """Largest level magnitude: the grid covers [-max_abs, max_abs] * eps at most."""
        return max(abs(self.lo), abs(self.hi))

    @property
    def signed(self) -> bool:
        return self.lo < 0

    def index_map(self) -> tuple[tuple[float, ...], tuple[float, ...]]:
        """The map phi sending level q_j to j and threshold t_j to j + 1/2, linear in between
        and beyond the ends: (knots, slopes) with phi(u) = slopes[0] (u - knots[0])
        + sum_{j >= 1} slopes[j] relu(u - knots[j]) (slopes[j >= 1] are changes of slope).

        ANA adds its noise to phi(u), so a scale s is s steps of the grid wherever u lies: phi
        is a shift on integer grids, a local rescaling on binary, power-of-two and explicit ones.
        """
        points = [p for pair in zip(self.levels, self.thresholds, strict=False) for p in pair]
        points.append(self.hi)
        rates = [0.5 / (b - a) for a, b in zip(points, points[1:], strict=False)]
        knots, slopes = [points[0]], [rates[0]]
        for knot, before, after in zip(points[1:], rates, rates[1:], strict=False):
            if after != before:
                knots.append(knot)
                slopes.append(after - before)
        return tuple(knots), tuple(slopes)

    def hard(self, u: torch.Tensor) -> torch.Tensor:
        """The stair Q(u) = q_0 + sum_i (q_{i+1} - q_i) H(u - t_i) with H(0) = 1."""
        if self.uniform:
            return round_half_up(u).clamp_(self.lo, self.hi)
        thresholds = _constant(self.thresholds, u.dtype, u.device)
        levels = _constant(self.levels, u.dtype, u.device)
        return levels[torch.bucketize(u, thresholds, right=True)]


@functools.lru_cache(maxsize=256)
def _constant(values: tuple[float, ...], dtype: torch.dtype, device: torch.device) -> torch.Tensor:
    """`values` as a tensor, made once per device: a copy from the host at every call would
    make the host wait for the device."""
    return torch.tensor(values, dtype=dtype, device=device)


def round_half_up(u: torch.Tensor) -> torch.Tensor:
    """The nearest integer, ties upward; unlike floor(u + 0.5), exact just below a midpoint
    (in float32, 0.5 - 2^-25 + 0.5 rounds to 1)."""
    c = torch.floor(u)
    return c + (u - c >= 0.5).to(u.dtype)


def integer_grid(lo: int, hi: int) -> Grid:
    """Consecutive integers lo..hi with midpoint thresholds."""
    levels = tuple(float(q) for q in range(lo, hi + 1))
    return Grid(levels, tuple(q + 0.5 for q in levels[:-1]), uniform=True)


def unsigned_grid(bits: int) -> Grid:
    """{0, ..., 2^k - 1}."""
    _check_int_bits(bits)
    return integer_grid(0, 2**bits - 1)


def signed_grid(bits: int, balanced: bool = False) -> Grid:
    """{-2^(k-1), ..., 2^(k-1) - 1}; `balanced` drops the most negative level (symmetric)."""
    _check_int_bits(bits)
    half = 2 ** (bits - 1)
    if balanced and bits < 2:
        raise CodesignError("a balanced signed grid needs at least 2 bits; use the binary grid")
    return integer_grid(-half + (1 if balanced else 0), half - 1)


def ternary_grid() -> Grid:
    """{-1, 0, 1}."""
    return integer_grid(-1, 1)


def binary_grid() -> Grid:
    """{-1, +1} with the threshold at 0 (the sign function)."""
    return Grid((-1.0, 1.0), (0.0,))


def pow2_grid(bits: int) -> Grid:
    """{0, +-2^-p for p = 0 .. 2^(k-1) - 2}: one sign bit, the rest codes zero or an exponent."""
    if bits_problem(bits, "pow2") is not None:
        raise CodesignError(
            f"power-of-two grid: {bits!r} bits is impossible; use {MIN_POW2_BITS} to "
            f"{MAX_POW2_BITS} bits"
        )
    magnitudes = [2.0**-p for p in range(2 ** (bits - 1) - 1)]
    return explicit_grid([-m for m in magnitudes] + [0.0] + magnitudes[::-1])


def explicit_grid(levels: list[float], thresholds: list[float] | None = None) -> Grid:
    """Any strictly increasing levels; thresholds default to the midpoints between levels."""
    levels = [float(q) for q in levels]
    if thresholds is None:
        thresholds = [(a + b) / 2 for a, b in zip(levels, levels[1:], strict=False)]
    return Grid(tuple(levels), tuple(float(t) for t in thresholds))


def grid_for(role: str, fmt: str, bits: int, signed: bool = True) -> Grid | None:
    """The grid of a config format (codesign.config); None for `float` (no quantization).

    Weights: int is signed and balanced (symmetric), 1-bit int is binary. Activations: int is
    signed or unsigned as calibration decided (`signed`); a 1-bit activation is {-1, +1} when
    signed and {0, 1} when not, since the sign of non-negative data would be constant.
    """
    if role not in ROLES:
        raise CodesignError(f"unknown quantizer role '{role}'; choose one of: {', '.join(ROLES)}")
    formats = WEIGHT_FORMATS if role == "weight" else ACTIVATION_FORMATS
    if fmt not in formats:
        raise CodesignError(
            f"unknown {role} format '{fmt}'; choose one of: {', '.join(formats)}"
        )
    implied = implied_bits(fmt)
    if implied is not None and bits != implied:
        raise CodesignError(f"{role} format '{fmt}' has {implied} bit(s), got {bits}")
    kind = grid_kind(role, fmt, bits, signed)
    if kind == "float":
        return None
    if kind == "ternary":
        return ternary_grid()
    if kind == "pow2":
        return pow2_grid(bits)
    _check_int_bits(bits)
    if kind == "sign":
        return binary_grid()
    if kind == "zero_one":
        return unsigned_grid(1)
    if role == "weight":
        return signed_grid(bits, balanced=True)
    return signed_grid(bits) if signed else unsigned_grid(bits)


def _check_int_bits(bits: int) -> None:
    if bits_problem(bits, "int") is not None:
        raise CodesignError(
            f"{bits!r} bits is impossible for an integer grid; use 1 to {MAX_INT_BITS} bits"
        )
