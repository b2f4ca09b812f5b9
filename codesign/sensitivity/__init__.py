"""Per-layer sensitivity of a network to quantization, and the integer program that turns
it into configurations (HAWQ-V2 / V3).

`measure_sensitivity` estimates, for each layer, the Hessian trace of the loss with respect to
its weight and its input (Hutchinson's estimator, `hutchinson_traces`) and the squared error
of quantizing them at each offered precision; `least_sensitive` picks the precision of every
layer that minimises the summed sensitivity under cost budgets (scipy's `milp`). The search
uses both to queue a study's first trials (`codesign.search`, docs/design.md "Seeding").

Modules: `_hutchinson` (the trace estimator), `_measure` (traces times errors per layer),
`_program` (the integer program and its budgets).
"""

from codesign.sensitivity._hutchinson import TraceEstimate, hutchinson_traces
from codesign.sensitivity._measure import (
    ESTIMATOR,
    LayerSensitivity,
    Sensitivity,
    measure_sensitivity,
    precision_key,
)
from codesign.sensitivity._program import Budget, least_sensitive, spread_budgets

__all__ = [
    "ESTIMATOR",
    "Budget",
    "LayerSensitivity",
    "Sensitivity",
    "TraceEstimate",
    "hutchinson_traces",
    "least_sensitive",
    "measure_sensitivity",
    "precision_key",
    "spread_budgets",
]
