"""Pareto-aware early stopping: end a trial that cannot reach the front at its cost.

Costs are known before training, so while a trial trains the only unknown is its final
accuracy. After each epoch the trial's accuracy is extrapolated optimistically (its best
hard-quantized validation accuracy plus its best recent per-epoch gain for every epoch left,
at most 1); if a finished trial already costs no more on every cost objective and is strictly
more accurate than that bound, this trial cannot end on the front, and it stops. It keeps its
best checkpoint and accuracy (status STOPPED). Optuna does not prune multi-objective
studies and ASHA ignores costs; this rule uses them.

No trial stops before its annealing window ends: until the noise is gone the hard-quantized
accuracy of an ANA network can sit far below where it ends.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from codesign.record import Key

if TYPE_CHECKING:
    import optuna

    from codesign.objective import Objective

# Epochs of validation history whose best gain is extrapolated.
GAIN_WINDOW = 2
# Accuracies are ratios of counts whose float sums differ in the last bits; closer than this
# is a tie, never "strictly more accurate".
ACCURACY_TIE = 1e-9


def optimistic_accuracy(history: list[float], epochs_left: int) -> float:
    """Best accuracy so far plus the best per-epoch gain of the last epochs, per epoch left."""
    if not history:
        return 1.0
    recent = history[-(GAIN_WINDOW + 1):]
    gain = max([b - a for a, b in zip(recent, recent[1:], strict=False)] + [0.0])
    return min(1.0, max(history) + gain * epochs_left)


def dominating_trial(
    finished: list[tuple[int, float, list[float]]], costs: list[float], accuracy_bound: float
) -> tuple[int, float] | None:
    """The first finished (number, accuracy, costs) that costs no more on every cost (all
    minimised) and is strictly more accurate than `accuracy_bound`, or None."""
    for number, accuracy, their_costs in finished:
        if accuracy > accuracy_bound + ACCURACY_TIE and all(
            t <= c for t, c in zip(their_costs, costs, strict=True)
        ):
            return number, accuracy
    return None


@dataclass
class ParetoStopper:
    """The `on_epoch` callback of one trial: True (stop) once the trial is out of reach."""

    study: optuna.Study
    objectives: list[Objective]
    costs: dict[str, dict[str, float]]
    epochs: int
    first_epoch: int
    reason: str | None = None

    def __post_init__(self) -> None:
        self._history: list[float] = []

    def __call__(self, metrics: dict[str, Any]) -> bool:
        self._history.append(float(metrics["val_accuracy"]))
        epoch = int(metrics["epoch"])
        if epoch < self.first_epoch or epoch >= self.epochs:
            return False
        bound = optimistic_accuracy(self._history, self.epochs - epoch)
        mine = self._cost_vector(self.costs)
        if mine is None:
            return False
        found = dominating_trial(self._finished(), mine, bound)
        if found is None:
            return False
        number, accuracy = found
        self.reason = (
            f"pareto: stopped after epoch {epoch}: at most {bound:.4f} accuracy reachable, trial "
            f"{number} has {accuracy:.4f} at no higher cost"
        )
        return True

    def _cost_vector(self, costs: dict[str, Any] | None) -> list[float] | None:
        values = []
        for objective in self.objectives:
            if objective.is_accuracy:
                continue
            value = objective.cost_in(costs)
            if value is None or not math.isfinite(value) or objective.direction != "min":
                return None
            values.append(float(value))
        return values

    def _finished(self) -> list[tuple[int, float, list[float]]]:
        from optuna.trial import TrialState

        rows = []
        for trial in self.study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,)):
            attrs = trial.user_attrs
            accuracy = attrs.get(Key.VAL_ACCURACY)
            if accuracy is None or not attrs.get(Key.FEASIBLE, False):
                continue
            costs = self._cost_vector(attrs.get(Key.COSTS))
            if costs is not None:
                rows.append((trial.number, float(accuracy), costs))
        return rows


def first_epoch(epochs: int, anneal_end: float) -> int:
    """The first epoch whose end lies past the annealing window."""
    return max(1, math.ceil(anneal_end * epochs))
