"""Multi-objective asynchronous successive halving (MO-ASHA, Schmucker et al. 2021).

A trial's rungs sit at epochs first * eta^k below its last epoch (eta = 3), `first` being the
first epoch past its annealing window: until the window closes its hard-quantized accuracy
says little about where it ends (on digits, trials whose window ends at 0.8 of training sit
between 0.1 and 0.5 after epoch 1 of 3 and end near 0.98; docs/benchmarks.md). From that
epoch on a trial records its best hard-quantized validation accuracy so far after every
epoch (trial user attribute `accuracy_by_epoch`, which every worker and Ray task reads from
the shared storage). At a rung it continues only if it is among the top ceil(n / eta) of the
n trials with a record at that epoch, ranked by non-dominated sorting over (accuracy there,
each cost). The front that
straddles the cut is ordered by the epsilon-net of Salinas et al. (ICLR 2021 NAS workshop),
the tie-break MO-ASHA's paper uses: start from the front's most accurate trial, then take
the trial farthest (Euclidean, objectives scaled to [0, 1] over the rung) from those already
taken. Asynchronous, stopping variant: a trial is judged once, when it arrives, against the
trials that arrived before it; the first at a rung always continues.

Costs are known before training, so a cheap trial of middling accuracy survives where a
single-objective ASHA would stop it.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from codesign.pareto import pareto_ranks, to_minimisation
from codesign.record import Key

if TYPE_CHECKING:
    import optuna

    from codesign.objective import Objective

# Reduction factor: the top 1/ETA of a rung continues.
ETA = 3


def rung_epochs(epochs: int, first: int, eta: int = ETA) -> list[int]:
    """The rungs of a trial of `epochs` epochs: first * eta^k, each before the last epoch."""
    rungs = []
    rung = max(1, first)
    while rung < epochs:
        rungs.append(rung)
        rung *= eta
    return rungs


def promotion_order(points: Any, directions: Sequence[str]) -> list[int]:
    """Row indices of `points` (n trials x d objectives, the accuracy first), best first:
    by non-dominated rank, each front in epsilon-net order."""
    values = to_minimisation(points, directions)
    ranks = pareto_ranks(values)
    low, high = values.min(axis=0), values.max(axis=0)
    scaled = (values - low) / np.where(high > low, high - low, 1.0)
    order: list[int] = []
    for rank in sorted(set(ranks.tolist())):
        members = np.flatnonzero(ranks == rank)
        order.extend(int(members[i]) for i in epsilon_net(scaled[members]))
    return order


def epsilon_net(points: np.ndarray) -> list[int]:
    """Greedy farthest-first order of `points` (minimisation form), starting from the best in
    the first column; ties go to the earlier row."""
    first = int(np.argmin(points[:, 0]))
    order = [first]
    distance = np.linalg.norm(points - points[first], axis=1)
    while len(order) < len(points):
        distance[order] = -np.inf
        chosen = int(np.argmax(distance))
        order.append(chosen)
        distance = np.minimum(distance, np.linalg.norm(points - points[chosen], axis=1))
    return order


def promotions(records: Mapping[int, Sequence[float]], directions: Sequence[str],
               eta: int = ETA) -> list[int]:
    """The trials of one rung (`{number: (accuracy, cost, ...)}`) in its top ceil(n / eta)."""
    numbers = sorted(records)
    if not numbers:
        return []
    order = promotion_order([records[n] for n in numbers], directions)
    keep = math.ceil(len(numbers) / eta)
    return sorted(numbers[i] for i in order[:keep])


@dataclass
class AshaStopper:
    """The `on_epoch` callback of one trial: record each epoch past the annealing window; at
    each rung continue only in the top 1/eta."""

    trial: optuna.Trial
    objectives: list[Objective]
    costs: dict[str, dict[str, float]]
    epochs: int
    first_epoch: int
    eta: int = ETA
    reason: str | None = None

    def __post_init__(self) -> None:
        self._best = -math.inf
        self._recorded: dict[str, float] = {}
        self._rungs = rung_epochs(self.epochs, self.first_epoch, self.eta)
        self._directions = ["max"] + [o.direction for o in self._costed]

    @property
    def _costed(self) -> list[Objective]:
        return [o for o in self.objectives if o.cost_model is not None]

    def __call__(self, metrics: dict[str, Any]) -> bool:
        self._best = max(self._best, float(metrics["val_accuracy"]))
        epoch = int(metrics["epoch"])
        mine = self._costs_of(self.costs)
        if epoch < self.first_epoch or mine is None:
            return False
        self._recorded[str(epoch)] = self._best
        self.trial.set_user_attr(Key.ACCURACY_BY_EPOCH, dict(self._recorded))
        if epoch not in self._rungs:
            return False
        records = self._rung(str(epoch))
        records[self.trial.number] = [self._best, *mine]
        kept = promotions(records, self._directions, self.eta)
        if self.trial.number in kept:
            return False
        self.reason = (
            f"asha: stopped at the rung of epoch {epoch}: accuracy {self._best:.4f} at its "
            f"costs is not in the top {len(kept)} of the {len(records)} trials there "
            f"(non-dominated rank, then epsilon-net; eta {self.eta})"
        )
        return True

    def _costs_of(self, costs: dict[str, Any] | None) -> list[float] | None:
        values = [o.cost_in(costs) for o in self._costed]
        if any(v is None or not math.isfinite(v) for v in values):
            return None
        return [float(v) for v in values if v is not None]

    def _rung(self, rung: str) -> dict[int, list[float]]:
        """{number: (accuracy, costs)} of the trials with a record at epoch `rung`."""
        from optuna.trial import TrialState

        states = (TrialState.COMPLETE, TrialState.RUNNING)
        records = {}
        for trial in self.trial.study.get_trials(deepcopy=False, states=states):
            accuracy = (trial.user_attrs.get(Key.ACCURACY_BY_EPOCH) or {}).get(rung)
            costs = self._costs_of(trial.user_attrs.get(Key.COSTS))
            if accuracy is not None and costs is not None:
                records[trial.number] = [float(accuracy), *costs]
        return records
