"""Number formats as small integer codes, so a (configs x layers) matrix can hold them.

The codes index lookup tables: every cost model turns (format, bits) into what its hardware
sees (an integer width, a float unit, a shift) by fancy indexing, never by a Python loop.
"""

from __future__ import annotations

import numpy as np

from codesign.config import FLOAT_BITS

# Order is part of the encoding; append only.
FORMATS: tuple[str, ...] = ("int", "binary", "ternary", "pow2", "float")
INT, BINARY, TERNARY, POW2, FLOAT = range(len(FORMATS))
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


def format_for_bits(bits: int) -> str:
    """The format `LayerQuant.of` picks for a bare bit-width: 1 binary, 32 float, else int."""
    if bits == 1:
        return "binary"
    if bits == FLOAT_BITS:
        return "float"
    return "int"
