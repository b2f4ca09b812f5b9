"""What both Pareto figures (PNG and HTML) draw, computed once from the trial table.

Layout: accuracy (see `accuracy_objective`) on the vertical axis, one panel per other
objective on the horizontal axis, the panels laid out as a grid (`grid_shape`). In every
panel: dominated trials in grey, trials on the front (over all objectives) highlighted, the
staircase of the panel's own two-objective front (the best accuracy reachable at each cost),
the knee (over all objectives) starred, the budget on the panel's cost as a vertical line, and
trials over budget (costed, never trained, so without an accuracy) as hollow marks at their
cost in a strip under the panel, never inside the accuracy range.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from codesign.errors import CodesignError
from codesign.pareto import Objective, as_objectives, feasible_rows, non_dominated_mask
from codesign.report._tables import (
    accuracy_objective,
    layer_precisions,
    report_frame,
)

# Colours of both figures.
DOMINATED_COLOUR = "#b0b0b0"
FRONT_COLOUR = "#1f5fbf"
KNEE_COLOUR = "#d62728"
OVER_BUDGET_COLOUR = "#ff7f0e"
FLOAT_COLOUR = "#2ca02c"
BUDGET_COLOUR = "#7f3f00"
# Span (max / min) beyond which a positive axis is drawn on a log scale: a decade.
_LOG_SPAN = 10.0
OVER_BUDGET_LABEL = "over budget (not trained)"


@dataclass(frozen=True)
class Panel:
    """One cost axis: the rows to draw in each role, each sorted for drawing."""

    y: Objective
    x: Objective
    dominated: pd.DataFrame
    front: pd.DataFrame
    staircase: pd.DataFrame
    knee: pd.DataFrame
    over_budget: pd.DataFrame
    log_x: bool
    log_y: bool
    budget: float | None = None


def build_panels(
    df: pd.DataFrame, objectives: Iterable[Any], budgets: Mapping[str, float] | None = None
) -> list[Panel]:
    """Panels of the Pareto figure; `budgets` (column -> limit) draws each panel's budget.
    `CodesignError` unless there are two objectives or more (accuracy and a cost)."""
    parsed = as_objectives(objectives)
    if len(parsed) < 2:
        raise CodesignError(
            f"a Pareto figure needs two objectives or more, got {[str(o) for o in parsed]}; "
            "add a cost such as generic.bops:min"
        )
    frame = report_frame(df, parsed)
    y = accuracy_objective(parsed)
    ranked = frame[frame["pareto_rank"].notna().to_numpy()]
    over_budget = frame[~feasible_rows(frame)]
    panels = []
    for x in (o for o in parsed if o != y):
        values = ranked[[y.column, x.column]].to_numpy(dtype=float)
        on_pair_front = non_dominated_mask(values, [y.direction, x.direction])
        staircase = ranked[on_pair_front].sort_values(
            [x.column, y.column], ascending=[x.direction == "min", y.direction == "min"]
        )
        budget = (budgets or {}).get(x.column)
        costs = [ranked[x.column], over_budget[x.column]]
        if budget is not None:
            costs.append(pd.Series([budget]))
        panels.append(
            Panel(
                y=y,
                x=x,
                dominated=ranked[~ranked["on_front"]],
                front=ranked[ranked["on_front"]],
                staircase=staircase,
                knee=ranked[ranked["knee"]],
                over_budget=over_budget[over_budget[x.column].notna()],
                log_x=_wants_log(pd.concat(costs)),
                log_y=_wants_log(ranked[y.column]),
                budget=budget,
            )
        )
    return panels


def _wants_log(values: pd.Series) -> bool:
    numbers = pd.to_numeric(values, errors="coerce").dropna().to_numpy(dtype=float)
    if len(numbers) == 0 or (numbers <= 0).any():
        return False
    return bool(numbers.max() / numbers.min() > _LOG_SPAN)


def grid_shape(panels: int) -> tuple[int, int]:
    """Rows and columns of the panel grid: at most three panels side by side, two when
    that makes a square (four panels are 2x2, not a 1x4 strip)."""
    cols = 1 if panels == 1 else 2 if panels in (2, 4) else 3
    return math.ceil(panels / cols), cols


def hover_text(row: pd.Series, columns: list[str], layers: dict[str, dict[str, str]]) -> str:
    """Lines shown when pointing at a trial: its number, scores, and the weight and
    activation precision of each layer by name."""
    lines = [f"trial {row.get('number', '?')}"]
    for column in columns:
        value = row.get(column)
        if value is not None and not (isinstance(value, float) and np.isnan(value)):
            lines.append(f"{column}: {value:.4g}" if isinstance(value, float) else
                         f"{column}: {value}")
    for layer, (w, a) in layer_precisions(row, layers).items():
        lines.append(f"{layer}: w {w}, a {a}")
    return "<br>".join(lines)
