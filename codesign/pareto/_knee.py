"""The knee of a front: the point where giving up a little of one objective stops buying much
of the others, a sensible default pick for a user who has no budget in mind.

Rule: take the non-dominated rows, normalise each objective over them to [0, 1] (0 = best on
the front, 1 = worst; a constant objective becomes 0) in minimisation form. The extremes are,
for each objective, the front point best in it (ties: the smallest sum of the others). The knee
is the front point farthest from the hyperplane through the extremes on the side of the ideal
point (the largest signed distance; on a concave front that is the least negative one). With
two objectives the extremes are (0, 1) and (1, 0), so the knee minimises the sum of the
normalised objectives. When the extremes do not span a hyperplane whose normal points to the
ideal (coinciding extremes, degenerate fronts), the plane sum(y) = const is used instead.
Ties go to the point best in the first objective, then to the lowest row.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from codesign.pareto._dominance import non_dominated_mask
from codesign.pareto._objective import to_minimisation

_TIE = 1e-12


def knee_index(values: Any, directions: Sequence[str] | None = None) -> int | None:
    """Row index of the knee of the Pareto front of `values` (n points x d objectives; NaN
    rows ignored), or None when no row is complete. See the module docstring for the rule."""
    points = to_minimisation(values, directions)
    rows = np.flatnonzero(non_dominated_mask(points))
    if len(rows) == 0:
        return None
    front = points[rows]
    low, high = front.min(axis=0), front.max(axis=0)
    span = np.where(high > low, high - low, 1.0)
    unit = (front - low) / span
    distance = _distance_below_plane(unit)
    best = distance.max()
    tied = np.flatnonzero(distance >= best - _TIE)
    pick = tied[np.lexsort((tied, front[tied, 0]))[0]]
    return int(rows[pick])


def _distance_below_plane(unit: np.ndarray) -> np.ndarray:
    """Signed distance of each normalised point from the plane through the extremes,
    positive on the side of the ideal (the origin)."""
    d = unit.shape[1]
    totals = unit.sum(axis=1)
    extremes = np.array(
        [unit[np.lexsort((totals - unit[:, j], unit[:, j]))[0]] for j in range(d)]
    )
    normal = np.ones(d)
    if np.linalg.matrix_rank(extremes) == d:
        solved = np.linalg.solve(extremes, np.ones(d))
        if (solved > 0).all():
            normal = solved
    offset = float(np.mean(extremes @ normal))
    return (offset - unit @ normal) / np.linalg.norm(normal)
