"""Number formats and bit rules: one home, and every place that reads bits agrees with it."""

import numpy as np
import pytest

from codesign.config import LayerQuant
from codesign.errors import CodesignError
from codesign.formats import (
    ACTIVATION_FORMATS,
    WEIGHT_FORMATS,
    bits_problem,
    format_for_bits,
    grid_kind,
    implied_bits,
    is_bits_value,
)
from codesign.quant import grid_for, pow2_grid
from codesign.space import space_from_dict
from hw_models import BitMatrix

CANDIDATES = [-1, 0, 1, 2, 8, 15, 16, 17, 31, 32, 33, 64, True, 2.0, "8"]


def test_format_from_bits_and_implied_bits():
    assert [format_for_bits(b) for b in (1, 2, 8, 16, 32)] == [
        "binary", "int", "int", "int", "float"]
    assert {f: implied_bits(f) for f in WEIGHT_FORMATS} == {
        "int": None, "binary": 1, "ternary": 2, "pow2": None, "float": 32}
    for bits in (1, 2, 8, 32):  # a bare bit-width's format always admits it
        assert bits_problem(bits, format_for_bits(bits)) is None


@pytest.mark.parametrize("bits", CANDIDATES)
def test_config_space_and_cost_models_accept_the_same_bits(bits):
    allowed = is_bits_value(bits)
    raw = {"model": "digits_cnn", "dataset": "digits", "objectives": ["accuracy"],
           "layers": {"w_bits": bits}}
    try:
        space_from_dict(raw, "test")
        space_ok = True
    except CodesignError:
        space_ok = False
    assert space_ok == allowed
    if isinstance(bits, int) and not isinstance(bits, bool):
        try:
            LayerQuant.of(bits, 8)
            config_ok = True
        except CodesignError:
            config_ok = False
        assert config_ok == allowed
        try:
            BitMatrix.from_bits(np.array([[bits]]), np.array([[8]]))
            matrix_ok = True
        except CodesignError:
            matrix_ok = False
        assert matrix_ok == allowed


@pytest.mark.parametrize("bits", [1, 2, 8, 9, 16])
def test_config_admits_exactly_the_pow2_widths_a_grid_exists_for(bits):
    try:
        pow2_grid(bits)
        grid_ok = True
    except CodesignError:
        grid_ok = False
    assert grid_ok == (2 <= bits <= 8) == (bits_problem(bits, "pow2") is None)
    if not grid_ok:
        with pytest.raises(CodesignError, match="power-of-two weights need 2 to 8 bits"):
            LayerQuant(w_bits=bits, w_format="pow2")


EXPECTED_LEVELS = {  # grid kind -> a test of the levels the quantizer really uses
    "sign": lambda levels: levels == (-1.0, 1.0),
    "zero_one": lambda levels: levels == (0.0, 1.0),
    "ternary": lambda levels: levels == (-1.0, 0.0, 1.0),
    "pow2": lambda levels: 0.0 in levels and any(q != int(q) for q in levels),
    "int": lambda levels: len(levels) >= 3 and all(q == int(q) for q in levels),
}


@pytest.mark.parametrize("role, formats", [("weight", WEIGHT_FORMATS),
                                           ("activation", ACTIVATION_FORMATS)])
def test_grid_kind_names_the_grid_a_quantizer_builds(role, formats):
    for fmt in formats:
        for bits in [*range(1, 9), 16, 32]:
            if bits_problem(bits, fmt) is not None:
                continue
            for signed in (False, True):
                kind = grid_kind(role, fmt, bits, signed)
                grid = grid_for(role, fmt, bits, signed)
                if kind == "float":
                    assert grid is None
                else:
                    assert EXPECTED_LEVELS[kind](grid.levels), (role, fmt, bits, signed, kind)
