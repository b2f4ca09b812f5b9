"""Pareto dominance: the non-dominated mask and non-dominated sorting (ranks).

Point a dominates b when a is no worse in every objective and strictly better in at least one.
Identical points do not dominate each other, so every copy of a Pareto-optimal point is on the
front (two configurations with the same scores are equally good answers). Rows with a NaN in
any objective are not comparable: they are never on the front and get rank -1.
Exact and vectorised: O(n^2 d) comparisons in blocks, adequate for thousands of trials.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from codesign.pareto._objective import to_minimisation

# Elements per block of the pairwise comparison: bounds memory to a few tens of MB.
_BLOCK_ELEMENTS = 4_000_000


def non_dominated_mask(values: Any, directions: Sequence[str] | None = None) -> np.ndarray:
    """Boolean mask of the rows of `values` (n points x d objectives) that no other row
    dominates. `directions` gives `"max"`/`"min"` per column (default: all `"min"`).
    NaN rows are False."""
    points = to_minimisation(values, directions)
    valid = ~np.isnan(points).any(axis=1)
    mask = np.zeros(len(points), dtype=bool)
    candidates = points[valid]
    dominated = np.zeros(len(candidates), dtype=bool)
    for start, stop in _blocks(len(candidates), candidates.shape[1]):
        dominated[start:stop] = _dominators(candidates, candidates[start:stop]).any(axis=1)
    mask[valid] = ~dominated
    return mask


def pareto_ranks(values: Any, directions: Sequence[str] | None = None) -> np.ndarray:
    """Non-dominated sorting: rank 0 is the Pareto front, rank 1 the front once rank 0 is
    removed, and so on (NSGA-II's fronts, counted from 0). NaN rows get -1."""
    points = to_minimisation(values, directions)
    valid = np.flatnonzero(~np.isnan(points).any(axis=1))
    ranks = np.full(len(points), -1, dtype=np.int64)
    candidates = points[valid]
    n = len(candidates)
    # dominates[i, j]: candidate i dominates candidate j.
    dominates = np.zeros((n, n), dtype=bool)
    for start, stop in _blocks(n, candidates.shape[1]):
        dominates[:, start:stop] = _dominators(candidates, candidates[start:stop]).T
    remaining = dominates.sum(axis=0)
    unranked = np.ones(n, dtype=bool)
    rank = 0
    while unranked.any():
        front = unranked & (remaining == 0)
        ranks[valid[front]] = rank
        unranked &= ~front
        remaining -= dominates[front].sum(axis=0)
        rank += 1
    return ranks


def _dominators(points: np.ndarray, block: np.ndarray) -> np.ndarray:
    """[i, j] is True when points[j] dominates block[i] (minimisation form)."""
    no_worse = np.all(points[None, :, :] <= block[:, None, :], axis=2)
    better = np.any(points[None, :, :] < block[:, None, :], axis=2)
    return np.logical_and(no_worse, better)


def _blocks(n: int, d: int) -> list[tuple[int, int]]:
    size = max(1, _BLOCK_ELEMENTS // max(1, n * d))
    return [(start, min(n, start + size)) for start in range(0, n, size)]
