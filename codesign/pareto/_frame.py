"""The Pareto analysis of a trial table (one row per trial, a pandas DataFrame).

Which rows compete: a row is *eligible* when its `state` (if the column exists) is COMPLETE,
its `feasible` flag (if the column exists) is true, and every objective column holds a finite
number. Infeasible trials (over a budget, never trained, no accuracy), failed, pruned or
running ones are kept in the table but never ranked.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np
import pandas as pd

from codesign.errors import CodesignError
from codesign.pareto._dominance import pareto_ranks
from codesign.pareto._hypervolume import DEFAULT_MARGIN, hypervolume
from codesign.pareto._knee import knee_index
from codesign.pareto._objective import Objective, as_objectives
from codesign.record import Key

COMPLETE = "COMPLETE"


def objective_values(df: pd.DataFrame, objectives: Iterable[Any]) -> np.ndarray:
    """(rows x objectives) float array of the objective columns, as stored (not negated).
    Raises `CodesignError` naming a missing or non-numeric column."""
    objectives = as_objectives(objectives)
    missing = [o.column for o in objectives if o.column not in df.columns]
    if missing:
        raise CodesignError(
            f"objective column(s) {missing} not in the trial table; "
            f"available: {', '.join(map(str, df.columns))}"
        )
    try:
        return df[[o.column for o in objectives]].to_numpy(dtype=float, na_value=np.nan)
    except (TypeError, ValueError):
        raise CodesignError(
            f"objective columns {[o.column for o in objectives]} must be numeric"
        ) from None


def eligible_rows(df: pd.DataFrame, objectives: Iterable[Any]) -> np.ndarray:
    """Boolean mask of the rows that take part in the Pareto analysis (module docstring)."""
    values = objective_values(df, objectives)
    mask = np.isfinite(values).all(axis=1)
    if "state" in df.columns:
        mask &= np.array([_state_name(s) == COMPLETE for s in df["state"]], dtype=bool)
    return mask & feasible_rows(df)


def feasible_rows(df: pd.DataFrame) -> np.ndarray:
    """Boolean mask of the rows whose `feasible` flag is true (bools, 0/1 or "True"/"False"
    read from a CSV; an empty cell is False); all True when the column is absent."""
    if Key.FEASIBLE not in df.columns:
        return np.ones(len(df), dtype=bool)
    return np.array([_truthy(v) for v in df[Key.FEASIBLE]], dtype=bool)


def pareto_frame(df: pd.DataFrame, objectives: Iterable[Any]) -> pd.DataFrame:
    """A copy of `df` with three columns added (replaced if present):
    `pareto_rank` (nullable Int64: 0 = front, 1 = next front, ...; <NA> when not eligible),
    `on_front` (bool: rank 0) and `knee` (bool: the knee of the front, see `knee_index`)."""
    objectives = as_objectives(objectives)
    out = df.copy()
    values = objective_values(df, objectives)
    eligible = eligible_rows(df, objectives)
    directions = [o.direction for o in objectives]
    ranks = np.full(len(df), -1, dtype=np.int64)
    ranks[eligible] = pareto_ranks(values[eligible], directions)
    out["pareto_rank"] = pd.arrays.IntegerArray(ranks, ranks < 0)
    out["on_front"] = ranks == 0
    knee = np.zeros(len(df), dtype=bool)
    eligible_positions = np.flatnonzero(eligible)
    pick = knee_index(values[eligible], directions)
    if pick is not None:
        knee[eligible_positions[pick]] = True
    out["knee"] = knee
    return out


def front_hypervolume(
    df: pd.DataFrame,
    objectives: Iterable[Any],
    reference: Sequence[float] | np.ndarray | None = None,
    *,
    normalise: bool = False,
    ideal: Sequence[float] | np.ndarray | None = None,
    margin: float = DEFAULT_MARGIN,
) -> float:
    """Hypervolume of the eligible rows of `df` (the front's, since dominated rows add
    nothing); arguments as in `hypervolume`, with `reference` in the columns' own units."""
    objectives = as_objectives(objectives)
    values = objective_values(df, objectives)[eligible_rows(df, objectives)]
    return hypervolume(
        values,
        [o.direction for o in objectives],
        reference,
        normalise=normalise,
        ideal=ideal,
        margin=margin,
    )


def sort_front(df: pd.DataFrame, objectives: Iterable[Any]) -> pd.DataFrame:
    """The front rows of a `pareto_frame` result, best first in the first objective (then
    the next ones), e.g. highest accuracy first."""
    parsed: list[Objective] = as_objectives(objectives)
    if "on_front" not in df.columns:
        df = pareto_frame(df, parsed)
    front = df[df["on_front"].astype(bool)]
    return front.sort_values(
        [o.column for o in parsed],
        ascending=[o.direction == "min" for o in parsed],
        kind="stable",
    )


def _state_name(state: Any) -> str:
    """`"COMPLETE"`, `"TrialState.COMPLETE"` or `optuna.trial.TrialState.COMPLETE` alike."""
    name = getattr(state, "name", None)
    if not isinstance(name, str):
        name = str(state)
    return name.rsplit(".", 1)[-1].upper()


def _truthy(value: Any) -> bool:
    """A `feasible` cell: bools, 0/1, "True"/"False" from a CSV; missing counts as False."""
    if isinstance(value, str):
        return value.strip().lower() in ("true", "1", "yes")
    if value is None or value is pd.NA or (isinstance(value, float) and np.isnan(value)):
        return False
    return bool(value)
