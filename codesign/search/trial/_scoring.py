"""The pure part of a trial: its costs, its budgets and its objective values.

Costs are a pure function of the configuration, so all of this is known before training and
the same for every backend and for re-scoring (`codesign pareto --hw`).
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from codesign.errors import CodesignError

if TYPE_CHECKING:
    from codesign.config import TrialConfig
    from codesign.objective import Objective
    from codesign.space import SearchSpace

Costs = dict[str, dict[str, float]]


def score(cfg: TrialConfig, hw: list[str]) -> tuple[dict[str, dict[str, float]], dict[str, str]]:
    """Costs under each cost model, and the refusals (model -> reason) of models that cannot
    run the config. Pure: the same config always gives the same costs."""
    from codesign.network import config_costs
    from hw_models import get_cost_model

    costs: dict[str, dict[str, float]] = {}
    refusals: dict[str, str] = {}
    for ref in hw:
        name = get_cost_model(ref).name
        try:
            costs.update(config_costs(cfg, [ref]))
        except CodesignError as err:
            refusals[name] = str(err)
    return costs, refusals


def constraint_values(
    space: SearchSpace, costs: dict[str, dict[str, float]], refusals: dict[str, str]
) -> dict[str, float]:
    """Optuna constraint values (<= 0 feasible): relative excess over each budget, and 1 for
    every cost model that refused the config."""
    values = {f"supported.{name}": 1.0 for name in refusals}
    for constraint in space.constraints:
        if constraint.cost_model in refusals:
            continue
        values[constraint.column] = constraint.violation(costs)
    return values


def within_budgets(constraints: dict[str, float]) -> bool:
    """Feasible: every constraint value (see `constraint_values`) is <= 0."""
    return all(v <= 0 for v in constraints.values())


def objective_values(
    objectives: list[Objective], costs: Costs, accuracy: float | None
) -> list[float]:
    """The Optuna values: accuracy (0 when untrained) and each cost (worst when refused)."""
    values = []
    for objective in objectives:
        if objective.is_accuracy:
            values.append(float(accuracy) if accuracy is not None else 0.0)
            continue
        value = objective.cost_in(costs)
        if value is None or not math.isfinite(value):
            value = math.inf if objective.direction == "min" else -math.inf
        values.append(float(value))
    return values
