"""Objectives given in any form, and values turned into minimisation form.

Everything in `codesign.pareto` works in *minimisation form*: a maximised column is negated,
so "better" is always "smaller" and one dominance test serves any mix of directions.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np

from codesign.errors import CodesignError
from codesign.objective import DIRECTIONS, Objective


def as_objectives(specs: str | Objective | Iterable[Any]) -> list[Objective]:
    """Normalise objectives given as `Objective`s or strings (`"generic.bops:min"`, or one
    comma-separated string). Raises `CodesignError` when empty or repeated."""
    if isinstance(specs, str):
        specs = [part for part in specs.split(",") if part.strip()]
    elif isinstance(specs, Objective):
        specs = [specs]
    objectives = [_one(spec) for spec in specs]
    if not objectives:
        raise CodesignError("no objectives given; name at least one, e.g. 'val_accuracy:max'")
    columns = [o.column for o in objectives]
    if len(set(columns)) != len(columns):
        raise CodesignError(f"objectives {columns} repeat a column; list each column once")
    return objectives


def _one(spec: Any) -> Objective:
    if isinstance(spec, Objective):
        return spec
    if isinstance(spec, str):
        return Objective.parse(spec)
    raise CodesignError(
        f"objective {spec!r} is not understood; write 'column:max' or 'column:min'"
    )


def signs(directions: Sequence[str] | None, n_objectives: int) -> np.ndarray:
    """Per-column multipliers to minimisation form; `None` means every column is minimised."""
    if directions is None:
        return np.ones(n_objectives)
    if isinstance(directions, str):
        directions = [directions]
    if len(directions) != n_objectives:
        raise CodesignError(
            f"{len(directions)} direction(s) for {n_objectives} objective(s); give one each"
        )
    bad = [d for d in directions if d not in DIRECTIONS]
    if bad:
        raise CodesignError(f"direction(s) {bad} not understood; use 'max' or 'min'")
    return np.array([1.0 if d == "min" else -1.0 for d in directions])


def to_minimisation(values: Any, directions: Sequence[str] | None = None) -> np.ndarray:
    """(n, d) float array of `values` with every `max` column negated."""
    array = np.asarray(values, dtype=float)
    if array.ndim == 1:
        array = array[:, None]
    if array.ndim != 2:
        raise CodesignError(f"objective values must be a (points, objectives) table, "
                            f"got shape {array.shape}")
    return array * signs(directions, array.shape[1])
