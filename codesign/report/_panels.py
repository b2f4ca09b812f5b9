"""What both Pareto figures (PNG and HTML) draw, computed once from the trial table.

Layout: accuracy (see `accuracy_objective`) on the vertical axis, one panel per other
objective on the horizontal axis. In every panel: dominated trials in grey, trials on the
front (over all objectives) highlighted, the staircase of the panel's own two-objective front
(the best accuracy reachable at each cost), the knee (over all objectives) starred, and
trials over budget (costed, never trained) as crosses along the bottom of the panel.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from codesign.errors import CodesignError
from codesign.pareto import Objective, as_objectives, feasible_rows, non_dominated_mask
from codesign.report._tables import BITS_COLUMN, accuracy_objective, report_frame

# Colours of both figures.
DOMINATED_COLOUR = "#b0b0b0"
FRONT_COLOUR = "#1f5fbf"
KNEE_COLOUR = "#d62728"
OVER_BUDGET_COLOUR = "#ff7f0e"
FLOAT_COLOUR = "#2ca02c"
# Span (max / min) beyond which a positive axis is drawn on a log scale.
_LOG_SPAN = 100.0


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


def build_panels(df: pd.DataFrame, objectives: Iterable[Any]) -> list[Panel]:
    """Panels of the Pareto figure; `CodesignError` unless there are two objectives or
    more (accuracy and at least one cost)."""
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
        panels.append(
            Panel(
                y=y,
                x=x,
                dominated=ranked[~ranked["on_front"]],
                front=ranked[ranked["on_front"]],
                staircase=staircase,
                knee=ranked[ranked["knee"]],
                over_budget=over_budget[over_budget[x.column].notna()],
                log_x=_wants_log(pd.concat([ranked[x.column], over_budget[x.column]])),
                log_y=_wants_log(ranked[y.column]),
            )
        )
    return panels


def _wants_log(values: pd.Series) -> bool:
    numbers = pd.to_numeric(values, errors="coerce").dropna().to_numpy(dtype=float)
    if len(numbers) == 0 or (numbers <= 0).any():
        return False
    return bool(numbers.max() / numbers.min() > _LOG_SPAN)


def hover_text(row: pd.Series, columns: list[str]) -> str:
    """Lines shown when pointing at a trial: its number, scores and per-layer bits."""
    lines = [f"trial {row.get('number', '?')}"]
    for column in columns:
        value = row.get(column)
        if value is not None and not (isinstance(value, float) and np.isnan(value)):
            lines.append(f"{column}: {value:.4g}" if isinstance(value, float) else
                         f"{column}: {value}")
    if row.get(BITS_COLUMN):
        lines.append(str(row[BITS_COLUMN]))
    return "<br>".join(lines)
