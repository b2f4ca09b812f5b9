"""Quantizers: grids, noises, the ANA op, estimators and their annealing.

Build a quantizer with `make_quantizer(role, fmt, bits, estimator, anneal)`; every estimator
is a `Quantizer` subclass registered in `ESTIMATORS`.
"""

from codesign.quant._ana import MIN_SCALE, ANAQuantizer, ana_quantize
from codesign.quant._calibration import mse_quantum
from codesign.quant._compile import ENV_VAR as COMPILE_ENV_VAR
from codesign.quant._compile import Fusable, compile_mode
from codesign.quant._estimators import (
    AnnealedAQEQuantizer,
    AQEQuantizer,
    MirrorDescentQuantizer,
    STEQuantizer,
    straight_through,
)
from codesign.quant._grid import (
    Grid,
    binary_grid,
    explicit_grid,
    grid_for,
    integer_grid,
    pow2_grid,
    signed_grid,
    ternary_grid,
    unsigned_grid,
)
from codesign.quant._noise import NOISES, TAIL, Noise, default_beta_s
from codesign.quant._quantizer import ESTIMATORS, FloatQuantizer, Quantizer, make_quantizer
from codesign.quant._schedule import (
    AnnealingController,
    decay,
    layer_decays,
    layer_progress,
    layer_window,
)

__all__ = [
    "ANAQuantizer",
    "AQEQuantizer",
    "AnnealedAQEQuantizer",
    "AnnealingController",
    "COMPILE_ENV_VAR",
    "ESTIMATORS",
    "MIN_SCALE",
    "FloatQuantizer",
    "Fusable",
    "Grid",
    "MirrorDescentQuantizer",
    "NOISES",
    "Noise",
    "Quantizer",
    "STEQuantizer",
    "TAIL",
    "ana_quantize",
    "binary_grid",
    "compile_mode",
    "decay",
    "default_beta_s",
    "explicit_grid",
    "grid_for",
    "integer_grid",
    "layer_decays",
    "layer_progress",
    "layer_window",
    "make_quantizer",
    "mse_quantum",
    "pow2_grid",
    "signed_grid",
    "straight_through",
    "ternary_grid",
    "unsigned_grid",
]
