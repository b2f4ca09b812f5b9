"""Number formats and their bit rules, and the grid each (format, bits, signedness) trains on.

The one home of these rules: the config validates with them, the space file infers formats
with them, the quantizers build their grids by `grid_kind`, and the cost models label and size
operations by the same `grid_kind`, so a cost always describes the grid that really trains.
Depends on nothing but `codesign.errors`, so `hw_models` may import it.
"""

from __future__ import annotations

from codesign.errors import CodesignError

WEIGHT_FORMATS = ("int", "binary", "ternary", "pow2", "float")
ACTIVATION_FORMATS = ("int", "binary", "float")
FLOAT_BITS = 32
MAX_INT_BITS = 16
MIN_POW2_BITS = 2
# A power-of-two grid beyond 8 bits would need magnitudes below float32's normal range.
MAX_POW2_BITS = 8
# Formats whose bit-width is implied by the format itself.
IMPLIED_BITS = {"binary": 1, "ternary": 2, "float": FLOAT_BITS}
BITS_CHOICES = f"an integer from 1 to {MAX_INT_BITS}, or {FLOAT_BITS} for float"

# The grids a quantizer can train on (see `codesign.quant.grid_for`): signed k-bit integers
# (k >= 2, balanced for weights), {-1, +1}, {0, 1}, {-1, 0, 1}, {0, +-2^-p}, or no grid.
GRID_KINDS = ("int", "sign", "zero_one", "ternary", "pow2", "float")


def implied_bits(fmt: str) -> int | None:
    """The bit-width a format fixes (binary 1, ternary 2, float 32), None where bits are free."""
    return IMPLIED_BITS.get(fmt)


def format_for_bits(bits: int) -> str:
    """The format a bare bit-width stands for: 1 binary, 32 float, anything else int."""
    if bits == 1:
        return "binary"
    if bits == FLOAT_BITS:
        return "float"
    return "int"


def bits_problem(bits: object, fmt: str) -> str | None:
    """Why `bits` cannot go with format `fmt` (a phrase ending in its fix), or None if it can."""
    implied = implied_bits(fmt)
    if implied is not None:
        if bits != implied:
            return f"format '{fmt}' has {implied} bit(s), got {bits}; set bits to {implied}"
        return None
    if not isinstance(bits, int) or isinstance(bits, bool) or not 1 <= bits <= MAX_INT_BITS:
        return (
            f"{bits!r} bits is impossible for format '{fmt}'; "
            f"use an integer from 1 to {MAX_INT_BITS}, or format 'float'"
        )
    if fmt == "pow2" and not MIN_POW2_BITS <= bits <= MAX_POW2_BITS:
        return (
            f"power-of-two weights need {MIN_POW2_BITS} to {MAX_POW2_BITS} bits, got {bits}"
        )
    return None


def check_bits(bits: object, fmt: str, what: str) -> int:
    """`bits` if format `fmt` admits it; else a `CodesignError` that starts with `what`."""
    problem = bits_problem(bits, fmt)
    if problem is not None:
        raise CodesignError(f"{what}: {problem}")
    assert isinstance(bits, int)
    return bits


def is_bits_value(bits: object) -> bool:
    """Whether `bits` is a bit-width some format admits: 1 to 16, or 32 for float."""
    return (
        isinstance(bits, int) and not isinstance(bits, bool)
        and (1 <= bits <= MAX_INT_BITS or bits == FLOAT_BITS)
    )


def grid_kind(role: str, fmt: str, bits: int, signed: bool = True) -> str:
    """Which grid a quantizer of this role, format and bits trains on (one of `GRID_KINDS`).

    Weights are always signed: a 1-bit int or binary weight is +-1. A 2-bit power-of-two
    weight has the one magnitude 2^0, so it is ternary. A 1-bit activation (int or binary) is
    +-1 when signed and {0, 1} when not (non-negative data, e.g. after a ReLU); an int
    activation of 2 or more bits is an integer grid either way.
    """
    if fmt == "pow2":
        return "ternary" if bits == MIN_POW2_BITS else "pow2"
    if fmt in ("float", "ternary"):
        return fmt
    if bits == 1:
        return "sign" if role == "weight" or signed else "zero_one"
    return "int"
