"""One trial, the piece every backend calls: config -> costs -> budgets -> train -> record.

`run_trial` samples, costs and trains one Optuna trial and records it (`codesign.record`);
the pure parts (`score`, `constraint_values`, `within_budgets`, `objective_values`), the
failure rule (`attempt`) and the early-stop rules (`STOPPERS`: the Pareto-aware rule and
MO-ASHA) are exported for the backends, the re-scoring and the tests.
"""

from codesign.search.trial._asha import AshaStopper, epsilon_net, promotions, rung_epochs
from codesign.search.trial._early_stop import (
    ParetoStopper,
    dominating_trial,
    first_epoch,
    optimistic_accuracy,
)
from codesign.search.trial._outcome import (
    MAX_FAILURES_IN_A_ROW,
    Failure,
    attempt,
    describe_error,
    record_failure,
    this_process,
)
from codesign.search.trial._run import run_stored_trial, run_trial, trial_device
from codesign.search.trial._scoring import (
    constraint_values,
    objective_values,
    score,
    within_budgets,
)
from codesign.search.trial._stoppers import DEFAULT_STOPPER, STOPPERS, Stopper, make_stopper

__all__ = [
    "DEFAULT_STOPPER",
    "MAX_FAILURES_IN_A_ROW",
    "STOPPERS",
    "AshaStopper",
    "Failure",
    "ParetoStopper",
    "Stopper",
    "attempt",
    "constraint_values",
    "describe_error",
    "dominating_trial",
    "epsilon_net",
    "first_epoch",
    "make_stopper",
    "objective_values",
    "trial_device",
    "optimistic_accuracy",
    "promotions",
    "record_failure",
    "run_stored_trial",
    "run_trial",
    "rung_epochs",
    "score",
    "this_process",
    "within_budgets",
]
