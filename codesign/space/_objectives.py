"""The objectives and budgets (a cost metric <= a limit) of a space file.

Costs are a pure function of the configuration, so every constraint is checked before
training: a config over budget is recorded with its costs and never trained. A column name
is `val_accuracy` for accuracy and `<cost_model>.<metric>` for a cost, the naming of the
trial tables.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from codesign.errors import CodesignError, reject_unknown
from codesign.objective import (
    ACCURACY,
    ACCURACY_NAMES,
    DIRECTIONS,
    Objective,
    cost_objective,
    split_cost_column,
)
from codesign.space._choice import yaml_number


@dataclass(frozen=True)
class Constraint:
    """A budget: the cost metric must not exceed `limit`."""

    cost_model: str
    metric: str
    limit: float

    @property
    def column(self) -> str:
        return f"{self.cost_model}.{self.metric}"

    def violation(self, costs: dict[str, dict[str, float]]) -> float:
        """Relative excess over the budget: <= 0 is feasible (Optuna's constraint sign)."""
        value = float(costs[self.cost_model][self.metric])
        scale = abs(self.limit) if self.limit else 1.0
        return (value - self.limit) / scale


def parse_objectives(raw: Any, where: str) -> list[Objective]:
    if not isinstance(raw, list) or not raw:
        raise CodesignError(
            f"{where}: 'objectives' must be a non-empty list, e.g. [accuracy, generic.bops]"
        )
    objectives = [_objective(item, f"{where}: objectives[{i}]") for i, item in enumerate(raw)]
    columns = [o.column for o in objectives]
    if len(set(columns)) != len(columns):
        raise CodesignError(f"{where}: objectives {columns} repeat a column; list each once")
    if ACCURACY not in columns:
        raise CodesignError(f"{where}: objectives must include accuracy; add '- accuracy'")
    return objectives


def _objective(item: Any, where: str) -> Objective:
    if isinstance(item, str):
        if item in ACCURACY_NAMES:
            return Objective(metric=ACCURACY, direction="max")
        return cost_objective(item, where=where)
    if not isinstance(item, dict):
        raise CodesignError(
            f"{where}: write 'accuracy', 'model.metric' or {{cost: model.metric, direction: min}}"
        )
    reject_unknown(item, {"cost", "cost_model", "metric", "direction"}, where, "key")
    direction = item.get("direction")
    if direction is not None and direction not in DIRECTIONS:
        raise CodesignError(f"{where}: direction {direction!r}; use 'max' or 'min'")
    model, metric = _cost_of(item, where)
    if model is None:
        if direction not in (None, "max"):
            raise CodesignError(f"{where}: accuracy is maximised; drop 'direction: min'")
        return Objective(metric=ACCURACY, direction="max")
    return Objective(metric=metric, direction=direction or "min", cost_model=model)


def parse_constraints(raw: Any, where: str) -> list[Constraint]:
    if raw is None:
        return []
    if not isinstance(raw, list):
        raise CodesignError(
            f"{where}: 'constraints' must be a list, e.g. [{{cost: generic.bops, max: 1.0e6}}]"
        )
    constraints = []
    for i, item in enumerate(raw):
        here = f"{where}: constraints[{i}]"
        if not isinstance(item, dict):
            raise CodesignError(f"{here}: write {{cost: model.metric, max: LIMIT}}")
        reject_unknown(item, {"cost", "cost_model", "metric", "max"}, here, "key")
        model, metric = _cost_of(item, here)
        if model is None:
            raise CodesignError(
                f"{here}: accuracy is known only after training; budgets apply to costs"
            )
        limit = yaml_number(item.get("max"))
        if isinstance(limit, bool) or not isinstance(limit, int | float):
            raise CodesignError(f"{here}: 'max' must be a number (the budget), got {limit!r}")
        if not math.isfinite(limit):
            raise CodesignError(f"{here}: 'max' must be a finite number, got {limit!r}")
        constraints.append(Constraint(cost_model=model, metric=metric, limit=float(limit)))
    return constraints


def _cost_of(item: dict[str, Any], where: str) -> tuple[str | None, str]:
    """(cost model, metric) named by `cost` or `cost_model` + `metric`; (None, ACCURACY) for
    the accuracy."""
    if "cost" in item:
        if "cost_model" in item or "metric" in item:
            raise CodesignError(f"{where}: give either 'cost' or 'cost_model' + 'metric'")
        return split_cost_column(item["cost"], where)
    metric = item.get("metric")
    if not isinstance(metric, str):
        raise CodesignError(f"{where}: missing 'metric' (or 'cost: model.metric')")
    if metric in ACCURACY_NAMES and "cost_model" not in item:
        return None, ACCURACY
    model = item.get("cost_model")
    if not isinstance(model, str) or not model:
        raise CodesignError(f"{where}: missing 'cost_model' for metric '{metric}'")
    return model, metric
