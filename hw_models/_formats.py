"""Number formats as small integer codes, so a (configs x layers) matrix can hold them.

The codes index lookup tables: every cost model turns (format, bits) into what its hardware
sees (an integer width, a float unit, a shift, a grid) by fancy indexing, never by a Python
loop. The rules themselves live in `codesign.formats`; this module only tabulates them.
"""

from __future__ import annotations

import numpy as np

from codesign.formats import (
    FLOAT_BITS,
    GRID_KINDS,
    WEIGHT_FORMATS,
    bits_problem,
    format_for_bits,
    grid_kind,
)

# Order is part of the encoding (the weight formats, a superset of the activation ones).
FORMATS: tuple[str, ...] = WEIGHT_FORMATS
INT, BINARY, TERNARY, POW2, FLOAT = (FORMATS.index(f) for f in
                                     ("int", "binary", "ternary", "pow2", "float"))
FORMAT_CODE: dict[str, int] = {name: code for code, name in enumerate(FORMATS)}

# Widths are looked up in tables of this many entries (bits 0..32).
MAX_BITS = FLOAT_BITS


def _int_equivalent_table() -> np.ndarray:
    """Width of the integer multiplier operand that holds each (format, bits) exactly.

    binary (+-1) needs 1 bit, ternary 2; a k-bit power-of-two code spans 2^0 .. 2^-(2^(k-1)-2)
    plus sign, i.e. 2^(k-1) bits as a fixed-point integer; float has no integer equivalent
    (0 marks it).
    """
    table = np.zeros((len(FORMATS), MAX_BITS + 1), dtype=np.int64)
    bits = np.arange(MAX_BITS + 1)
    table[INT] = bits
    table[BINARY] = 1
    table[TERNARY] = 2
    table[POW2, 1:] = 2 ** (bits[1:] - 1)
    table[FLOAT] = 0
    return table


INT_EQUIVALENT_BITS = _int_equivalent_table()


def int_equivalent_bits(fmt: np.ndarray, bits: np.ndarray) -> np.ndarray:
    """Integer operand width per entry (0 where the operand is float)."""
    return INT_EQUIVALENT_BITS[fmt, np.minimum(bits, MAX_BITS)]


def format_codes(bits: np.ndarray) -> np.ndarray:
    """Format code of each bare bit-width, read by `codesign.formats.format_for_bits`."""
    codes = np.zeros(bits.shape, dtype=np.int64)
    for value in np.unique(bits):
        codes[bits == value] = FORMAT_CODE[format_for_bits(int(value))]
    return codes


GRID_CODE: dict[str, int] = {name: code for code, name in enumerate(GRID_KINDS)}


def _grid_table(role: str, signed: bool) -> np.ndarray:
    """`codesign.formats.grid_kind` code per (format code, bits); -1 where not a precision."""
    table = np.full((len(FORMATS), MAX_BITS + 1), -1, dtype=np.int64)
    for code, fmt in enumerate(FORMATS):
        for bits in range(MAX_BITS + 1):
            if bits_problem(bits, fmt) is None:
                table[code, bits] = GRID_CODE[grid_kind(role, fmt, bits, signed)]
    return table


_WEIGHT_GRIDS = _grid_table("weight", signed=True)
_ACTIVATION_GRIDS = np.stack([_grid_table("activation", signed=s) for s in (False, True)])


def weight_grids(fmt: np.ndarray, bits: np.ndarray) -> np.ndarray:
    """Grid code (into `GRID_KINDS`) each weight trains on."""
    return _WEIGHT_GRIDS[fmt, np.minimum(bits, MAX_BITS)]


def activation_grids(fmt: np.ndarray, bits: np.ndarray, unsigned: np.ndarray) -> np.ndarray:
    """Grid code each input activation trains on; `unsigned` marks non-negative inputs."""
    return _ACTIVATION_GRIDS[(~unsigned).astype(np.int64), fmt, np.minimum(bits, MAX_BITS)]
