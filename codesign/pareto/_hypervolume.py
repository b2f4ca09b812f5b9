"""Hypervolume: the volume of objective space that a set of points dominates, up to a
reference point. One number that grows when the front moves towards the ideal or widens.

Rules (all in minimisation form, where a `max` objective is negated):
- Reference point: given in the objectives' own units and directions (e.g. accuracy 0.0,
  BOPs 1e10), or derived from the points: the worst value of each objective pushed out by
  `margin` times that objective's range (by `margin` times its magnitude, or `margin`, when
  the range is zero), so that the extreme points still add volume. A derived reference moves
  with the data: to compare runs, fix one (`reference_point` of a baseline run) and pass it.
- Points that are not strictly better than the reference in every objective add nothing.
- `normalise=True` maps each objective affinely so that the ideal point (best value of each
  objective among the points, or `ideal` if given) is 0 and the reference is 1; the result is
  then the dominated fraction of the box [ideal, reference], in [0, 1], whatever the units
  (BOPs in the 1e9 and accuracy in [0, 1] weigh alike). With a fixed `reference` and `ideal`
  normalised volumes are comparable across runs.
Exact for any number of objectives: a sweep for two, running maxima on a grid for three, and
slicing along the last objective down to three for more (Hypervolume by Slicing Objectives,
While et al. 2006). On 2 cores: 300 front points in three objectives take milliseconds, 200
in four 0.1 s, 100 in five 0.6 s; each further objective multiplies the time by the front size.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from codesign.errors import CodesignError
from codesign.pareto._dominance import non_dominated_mask
from codesign.pareto._objective import signs, to_minimisation

DEFAULT_MARGIN = 0.1
# Three objectives use an n x n grid (fast, vectorised) up to this many points, slices beyond.
_GRID_MAX_POINTS = 2048


def reference_point(
    values: Any, directions: Sequence[str] | None = None, margin: float = DEFAULT_MARGIN
) -> np.ndarray:
    """Default reference, in the objectives' own units: the worst value of each objective
    among the non-NaN rows, moved `margin` x (range of that objective) further away."""
    points = to_minimisation(values, directions)
    points = points[~np.isnan(points).any(axis=1)]
    if len(points) == 0:
        raise CodesignError("no complete point to derive a reference point from; give one")
    if margin < 0:
        raise CodesignError(f"reference margin {margin} is negative; use a margin >= 0")
    worst = points.max(axis=0)
    span = worst - points.min(axis=0)
    flat = span == 0
    span[flat] = np.where(worst[flat] != 0, np.abs(worst[flat]), 1.0)
    return (worst + margin * span) * signs(directions, points.shape[1])


def hypervolume(
    values: Any,
    directions: Sequence[str] | None = None,
    reference: Sequence[float] | np.ndarray | None = None,
    *,
    normalise: bool = False,
    ideal: Sequence[float] | np.ndarray | None = None,
    margin: float = DEFAULT_MARGIN,
) -> float:
    """Exact hypervolume of the rows of `values` (n points x d objectives; NaN rows ignored)
    with respect to `reference` (default: `reference_point(values, directions, margin)`).
    See the module docstring for the reference and normalisation rules."""
    points = to_minimisation(values, directions)
    d = points.shape[1]
    sign = signs(directions, d)
    points = points[~np.isnan(points).any(axis=1)]
    if len(points) == 0:
        return 0.0
    if reference is None:
        reference = reference_point(points, None, margin) * sign
    ref = _vector(reference, d, "reference point") * sign
    if normalise:
        best = points.min(axis=0) if ideal is None else _vector(ideal, d, "ideal point") * sign
        scale = ref - best
        if (scale <= 0).any():
            raise CodesignError(
                f"reference point {list(ref * sign)} is not worse than the ideal point "
                f"{list(best * sign)} in every objective; move the reference further out"
            )
        points = (points - best) / scale
        ref = np.ones(d)
    inside = points[(points < ref).all(axis=1)]
    if len(inside) == 0:
        return 0.0
    return float(_hv(inside[non_dominated_mask(inside)], ref))


def _vector(value: Any, d: int, what: str) -> np.ndarray:
    vector = np.asarray(value, dtype=float).reshape(-1)
    if vector.shape != (d,) or not np.isfinite(vector).all():
        raise CodesignError(
            f"{what} {list(vector)} must give one finite number per objective ({d})"
        )
    return vector


def _hv(points: np.ndarray, ref: np.ndarray) -> float:
    """Hypervolume of points strictly inside the reference box (minimisation form)."""
    d = points.shape[1]
    if d == 1:
        return float(ref[0] - points[:, 0].min())
    if d == 2:
        return _hv2(points, ref)
    if d == 3 and len(points) <= _GRID_MAX_POINTS:
        return _hv3(points, ref)
    # Slice along the last objective: between consecutive distinct values z_k < z_{k+1},
    # the dominated region's cross-section is that of the points with z <= z_k.
    order = np.argsort(points[:, -1], kind="stable")
    points = points[order]
    z = points[:, -1]
    edges = np.append(z, ref[-1])
    total = 0.0
    for k in range(len(points)):
        depth = edges[k + 1] - z[k]
        if depth <= 0:
            continue
        section = points[: k + 1, :-1]
        if d > 4:  # the 3-D grid needs no filtering; deeper slicing gains from it
            section = section[non_dominated_mask(section)]
        total += depth * _hv(section, ref[:-1])
    return total


def _hv2(points: np.ndarray, ref: np.ndarray) -> float:
    order = np.lexsort((points[:, 1], points[:, 0]))
    x, y = points[order, 0], points[order, 1]
    lowest = np.minimum.accumulate(y)
    widths = np.append(x[1:], ref[0]) - x
    return float(np.dot(widths, ref[1] - lowest))


def _hv3(points: np.ndarray, ref: np.ndarray) -> float:
    """Three objectives on the grid of the points' x and y values: over the cell between the
    i-th and (i+1)-th smallest x and the j-th and (j+1)-th smallest y, the dominated height
    is the best (ref_z - z) among points ranked <= i in x and <= j in y (running maxima)."""
    n = len(points)
    x_order = np.argsort(points[:, 0], kind="stable")
    y_order = np.argsort(points[:, 1], kind="stable")
    x_rank = np.empty(n, dtype=np.int64)
    y_rank = np.empty(n, dtype=np.int64)
    x_rank[x_order] = np.arange(n)
    y_rank[y_order] = np.arange(n)
    height = np.zeros((n, n))
    height[x_rank, y_rank] = ref[2] - points[:, 2]
    height = np.maximum.accumulate(np.maximum.accumulate(height, axis=0), axis=1)
    xs, ys = points[x_order, 0], points[y_order, 1]
    dx = np.append(xs[1:], ref[0]) - xs
    dy = np.append(ys[1:], ref[1]) - ys
    return float(dx @ height @ dy)
