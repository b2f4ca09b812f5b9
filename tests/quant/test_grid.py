"""Quantization grids: levels, midpoint thresholds and the hard stair (docs/design.md,
"ANA")."""

from collections.abc import Callable

import pytest
import torch

from codesign.errors import CodesignError
from codesign.quant import (
    Grid,
    binary_grid,
    explicit_grid,
    grid_for,
    pow2_grid,
    signed_grid,
    ternary_grid,
    unsigned_grid,
)

BITS = range(1, 17)


def stair(u: torch.Tensor, grid: Grid) -> torch.Tensor:
    """Q(u) = q_0 + sum_i (q_{i+1} - q_i) H(u - t_i), H(0) = 1, straight from the formula."""
    t = torch.tensor(grid.thresholds, dtype=u.dtype)
    steps = torch.tensor(grid.levels, dtype=u.dtype).diff()
    return grid.levels[0] + (u[:, None] >= t).to(u.dtype) @ steps


def assert_midpoints(grid: Grid) -> None:
    expected = [(a + b) / 2 for a, b in zip(grid.levels, grid.levels[1:], strict=False)]
    assert list(grid.thresholds) == expected


def probes(grid: Grid, dtype: torch.dtype) -> torch.Tensor:
    """Thresholds (at most 64), their two float neighbours, levels, points beyond both ends."""
    t = torch.tensor(grid.thresholds, dtype=dtype)
    t = t[torch.linspace(0, len(t) - 1, min(len(t), 64)).round().long()]
    span = grid.hi - grid.lo
    return torch.cat([
        t,
        torch.nextafter(t, torch.tensor(-torch.inf, dtype=dtype)),
        torch.nextafter(t, torch.tensor(torch.inf, dtype=dtype)),
        t - 0.5,
        torch.tensor([grid.lo - span, grid.lo - 0.3, grid.hi + 0.3, grid.hi + span], dtype=dtype),
        torch.empty(500, dtype=dtype).uniform_(grid.lo - 2, grid.hi + 2),
    ])


@pytest.mark.parametrize("bits", BITS)
def test_unsigned_levels(bits: int) -> None:
    grid = unsigned_grid(bits)
    assert grid.levels == tuple(float(q) for q in range(2**bits))
    assert_midpoints(grid)
    assert grid.uniform and not grid.signed
    assert grid.max_abs == 2**bits - 1


@pytest.mark.parametrize("bits", BITS)
def test_signed_levels(bits: int) -> None:
    grid = signed_grid(bits)
    half = 2 ** (bits - 1)
    assert grid.levels == tuple(float(q) for q in range(-half, half))
    assert len(grid.levels) == 2**bits
    assert_midpoints(grid)
    assert grid.uniform and grid.signed
    assert grid.max_abs == half


@pytest.mark.parametrize("bits", BITS[1:])
def test_balanced_signed_levels_are_symmetric(bits: int) -> None:
    grid = signed_grid(bits, balanced=True)
    half = 2 ** (bits - 1)
    assert grid.levels == tuple(float(q) for q in range(-half + 1, half))
    assert grid.lo == -grid.hi
    assert_midpoints(grid)


def test_ternary_and_binary() -> None:
    assert ternary_grid().levels == (-1.0, 0.0, 1.0)
    assert ternary_grid().thresholds == (-0.5, 0.5)
    assert binary_grid().levels == (-1.0, 1.0)
    # The sign function: threshold at 0, no zero level.
    assert binary_grid().thresholds == (0.0,)
    assert not binary_grid().uniform


@pytest.mark.parametrize("bits", range(2, 9))
def test_power_of_two_levels(bits: int) -> None:
    grid = pow2_grid(bits)
    count = 2 ** (bits - 1) - 1
    magnitudes = [2.0**-p for p in range(count)]
    assert grid.levels == tuple([-m for m in magnitudes] + [0.0] + magnitudes[::-1])
    assert len(grid.levels) == 2**bits - 1  # the code of -0 is unused
    assert grid.max_abs == 1.0
    assert_midpoints(grid)
    assert min(abs(q) for q in grid.levels if q) >= torch.finfo(torch.float32).tiny


def test_power_of_two_three_bits_by_hand() -> None:
    grid = pow2_grid(3)
    assert grid.levels == (-1.0, -0.5, -0.25, 0.0, 0.25, 0.5, 1.0)
    assert grid.thresholds == (-0.75, -0.375, -0.125, 0.125, 0.375, 0.75)


def test_explicit_levels_take_midpoints_or_given_thresholds() -> None:
    grid = explicit_grid([-2.0, 0.0, 1.0, 5.0])
    assert grid.thresholds == (-1.0, 0.5, 3.0)
    grid = explicit_grid([0.0, 1.0, 2.0], thresholds=[0.25, 1.75])
    assert grid.thresholds == (0.25, 1.75)
    u = torch.tensor([0.2, 0.25, 1.7, 1.75])
    assert torch.equal(grid.hard(u), torch.tensor([0.0, 1.0, 1.0, 2.0]))


GRIDS = {
    "unsigned1": unsigned_grid(1),
    "unsigned4": unsigned_grid(4),
    "signed1": signed_grid(1),
    "signed8": signed_grid(8),
    "balanced3": signed_grid(3, balanced=True),
    "unsigned12": unsigned_grid(12),
    "ternary": ternary_grid(),
    "binary": binary_grid(),
    "pow2_4": pow2_grid(4),
    "explicit": explicit_grid([-3.0, -0.5, 0.0, 2.0, 7.0]),
}


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("name", GRIDS)
def test_hard_stair_matches_the_formula(name: str, dtype: torch.dtype) -> None:
    grid = GRIDS[name]
    torch.manual_seed(0)
    u = probes(grid, dtype)
    assert torch.equal(grid.hard(u), stair(u, grid))
    assert grid.hard(u).dtype == dtype


@pytest.mark.parametrize("name", GRIDS)
def test_hard_stair_returns_levels_nearest_to_the_input(name: str) -> None:
    grid = GRIDS[name]
    if any(2 * t != a + b for a, b, t in zip(grid.levels, grid.levels[1:], grid.thresholds,
                                              strict=False)):
        pytest.skip("thresholds are not midpoints")
    u = torch.empty(2000, dtype=torch.float64).uniform_(grid.lo - 1, grid.hi + 1)
    levels = torch.tensor(grid.levels, dtype=torch.float64)
    nearest = levels[(u[:, None] - levels).abs().argmin(-1)]
    assert torch.equal(grid.hard(u), nearest)


def test_hard_stair_keeps_shape_and_clamps() -> None:
    grid = signed_grid(4)
    u = torch.tensor([[-100.0, -8.4, -8.6], [6.5, 7.49, 1e9]])
    assert torch.equal(grid.hard(u), torch.tensor([[-8.0, -8.0, -8.0], [7.0, 7.0, 7.0]]))


@pytest.mark.parametrize(
    "role, fmt, bits, signed, levels",
    [
        ("weight", "int", 4, True, [float(q) for q in range(-7, 8)]),
        ("weight", "int", 1, True, [-1.0, 1.0]),
        ("weight", "ternary", 2, True, [-1.0, 0.0, 1.0]),
        ("weight", "binary", 1, True, [-1.0, 1.0]),
        ("weight", "pow2", 2, True, [-1.0, 0.0, 1.0]),
        ("activation", "int", 3, True, [float(q) for q in range(-4, 4)]),
        ("activation", "int", 3, False, [float(q) for q in range(8)]),
        ("activation", "int", 1, True, [-1.0, 1.0]),
        ("activation", "int", 1, False, [0.0, 1.0]),
        ("activation", "binary", 1, False, [0.0, 1.0]),
    ],
)
def test_grid_for_config_formats(role: str, fmt: str, bits: int, signed: bool,
                                 levels: list[float]) -> None:
    assert list(grid_for(role, fmt, bits, signed).levels) == levels


def test_float_format_has_no_grid() -> None:
    assert grid_for("weight", "float", 32) is None
    assert grid_for("activation", "float", 32) is None


@pytest.mark.parametrize(
    "make, culprit",
    [
        (lambda: unsigned_grid(0), "0 bits is impossible.*1 to 16"),
        (lambda: unsigned_grid(17), "17 bits is impossible.*1 to 16"),
        (lambda: signed_grid(0), "0 bits"),
        (lambda: signed_grid(17), "17 bits"),
        (lambda: signed_grid(-3), "-3 bits"),
        (lambda: unsigned_grid(4.0), "4.0 bits"),
        (lambda: unsigned_grid(True), "True bits"),
        (lambda: signed_grid(1, balanced=True), "balanced signed grid needs at least 2 bits"),
        (lambda: pow2_grid(1), "power-of-two grid: 1 bits.*2 to 8"),
        (lambda: pow2_grid(9), "power-of-two grid: 9 bits.*2 to 8"),
        (lambda: Grid((0.0, 2.0, 1.0), (0.5, 1.5)), r"increase strictly, got \[0.0, 2.0, 1.0\]"),
        (lambda: explicit_grid([0.0, 2.0, 1.0]), r"increase strictly, got \[0.0, 2.0, 1.0\]"),
        (lambda: explicit_grid([0.0, 1.0, 1.0]), r"increase strictly, got \[0.0, 1.0, 1.0\]"),
        (lambda: explicit_grid([0.0, 1.0, 2.0], [1.5, 0.5]), r"thresholds.*\[1.5, 0.5\]"),
        (lambda: explicit_grid([0.0, 1.0, 2.0], [0.5]), "3 levels needs 2 thresholds, got 1"),
        (lambda: explicit_grid([1.0]), r"at least 2 levels, got \[1.0\]"),
        (lambda: grid_for("weight", "fp8", 8), "unknown weight format 'fp8'"),
        (lambda: grid_for("activation", "ternary", 2), "unknown activation format 'ternary'"),
        (lambda: grid_for("bias", "int", 8), "unknown quantizer role 'bias'"),
        (lambda: grid_for("weight", "ternary", 3), "'ternary' has 2 bit.*got 3"),
        (lambda: grid_for("weight", "binary", 2), "'binary' has 1 bit.*got 2"),
        (lambda: grid_for("weight", "int", 0), "0 bits"),
        (lambda: grid_for("activation", "int", 17), "17 bits"),
        (lambda: grid_for("weight", "pow2", 9), "9 bits"),
    ],
)
def test_bad_input_names_the_culprit(make: Callable[[], object], culprit: str) -> None:
    with pytest.raises(CodesignError, match=culprit):
        make()
