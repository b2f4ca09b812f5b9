"""Objectives: which column of the trial table to optimise, and in which direction.

Everything in `codesign.pareto` works in *minimisation form*: a maximised column is negated,
so "better" is always "smaller" and one dominance test serves any mix of directions.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from codesign.errors import CodesignError

DIRECTIONS = ("max", "min")


@dataclass(frozen=True)
class Objective:
    """One axis of the front: a trial-table column and whether larger (`max`) or smaller
    (`min`) is better, e.g. `Objective("val_accuracy", "max")`, `Objective("generic.bops",
    "min")`."""

    column: str
    direction: str

    def __post_init__(self) -> None:
        if not isinstance(self.column, str) or not self.column:
            raise CodesignError(f"objective column {self.column!r} is empty; name a column")
        if self.direction not in DIRECTIONS:
            raise CodesignError(
                f"objective '{self.column}': direction {self.direction!r}; use 'max' or 'min'"
            )

    @property
    def sign(self) -> float:
        """+1 for `min`, -1 for `max`: multiply a value by it to get minimisation form."""
        return 1.0 if self.direction == "min" else -1.0

    @classmethod
    def parse(cls, text: str) -> Objective:
        """`"val_accuracy:max"`, `"generic.bops:min"`; without `:direction`, a column whose
        name ends in `accuracy` is maximised and any other (a cost) is minimised."""
        if not isinstance(text, str) or not text.strip():
            raise CodesignError(
                f"objective {text!r} is empty; write 'column:max' or 'column:min'"
            )
        column, sep, direction = text.strip().rpartition(":")
        if not sep or "." in direction:  # 'zigzag:tpu_like.latency_s': the ':' is the column's
            column = text.strip()
            direction = "max" if column.endswith("accuracy") else "min"
        return cls(column.strip(), direction.strip())

    def __str__(self) -> str:
        return f"{self.column}:{self.direction}"


def as_objectives(specs: str | Objective | Iterable[Any]) -> list[Objective]:
    """Normalise objectives given as `Objective`s, strings (`"generic.bops:min"`, or one
    comma-separated string) or any object with `.column` and `.direction` attributes (such
    as `codesign.space.Objective`). Raises `CodesignError` when empty or repeated."""
    if isinstance(specs, str):
        specs = [part for part in specs.split(",") if part.strip()]
    elif isinstance(specs, Objective) or hasattr(specs, "column"):
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
    if hasattr(spec, "column") and hasattr(spec, "direction"):
        return Objective(str(spec.column), str(spec.direction))
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
