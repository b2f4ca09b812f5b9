"""The integer program that picks each layer's precision: least total sensitivity under cost
budgets (HAWQ-V3's ILP), solved by scipy's `milp` (HiGHS branch and cut).

Variables x_lc in {0, 1}, one per (layer l, option c), with sum_c x_lc = 1 per layer. The
objective is sum_lc s_lc x_lc. A budget is either additive (sum_lc k_lc x_lc <= B: BOPs, model
size, any metric that is a sum over layers) or a maximum over layers (each layer's
sum_c k_lc x_lc <= B: peak activation memory), both linear in x. An option with a non-finite
cost (a cost model refuses it) is fixed to 0. An excluded configuration c* is cut off by
sum_l x_lc*_l <= L - 1 (a no-good cut), so that the program can be asked for the best
configuration other than a given one, such as a uniform baseline.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Budget:
    """Per-layer costs of every option (one array per layer) and the limit on their total;
    `additive` False: the total is the largest layer's cost."""

    costs: tuple[np.ndarray, ...]
    limit: float
    additive: bool = True


def least_sensitive(sensitivity: Sequence[np.ndarray], budgets: Sequence[Budget],
                    exclude: Sequence[Sequence[int]] = ()) -> list[int] | None:
    """The option index per layer minimising the summed sensitivity within every budget,
    other than the choices in `exclude`; None when no choice meets them."""
    from scipy.optimize import Bounds, LinearConstraint, milp  # type: ignore[import-untyped]

    sizes = [len(s) for s in sensitivity]
    starts = np.concatenate([[0], np.cumsum(sizes)])
    n = int(starts[-1])
    objective = np.concatenate([np.asarray(s, dtype=np.float64) for s in sensitivity])
    upper = np.ones(n)
    one_hot = np.zeros((len(sizes), n))
    for layer, (lo, hi) in enumerate(zip(starts[:-1], starts[1:], strict=True)):
        one_hot[layer, lo:hi] = 1.0
    rows, limits = [], []
    for budget in budgets:
        costs = np.concatenate([np.asarray(c, dtype=np.float64) for c in budget.costs])
        upper[~np.isfinite(costs)] = 0.0
        costs = np.where(np.isfinite(costs), costs, 0.0)
        if budget.additive:
            rows.append(costs)
            limits.append(budget.limit)
            continue
        for lo, hi in zip(starts[:-1], starts[1:], strict=True):
            row = np.zeros(n)
            row[lo:hi] = costs[lo:hi]
            rows.append(row)
            limits.append(budget.limit)
    for choice in exclude:
        row = np.zeros(n)
        row[starts[:-1] + np.asarray(choice)] = 1.0
        rows.append(row)
        limits.append(len(sizes) - 1.0)
    constraints = [LinearConstraint(one_hot, 1.0, 1.0)]
    if rows:
        constraints.append(LinearConstraint(np.array(rows), -np.inf, np.array(limits)))
    result = milp(objective, constraints=constraints, integrality=np.ones(n),
                  bounds=Bounds(np.zeros(n), upper))
    if not result.success:
        return None
    return [int(np.argmax(result.x[lo:hi])) for lo, hi in zip(starts[:-1], starts[1:],
                                                              strict=True)]


def spread_budgets(cheapest: float, dearest: float, count: int) -> list[float]:
    """`count` budgets strictly between the cheapest and the dearest total, evenly spaced on
    a log scale (costs of bit-widths span orders of magnitude), cheapest first."""
    if count < 1 or not 0 < cheapest < dearest:
        return []
    steps = np.arange(1, count + 1) / (count + 1)
    return [float(b) for b in cheapest * (dearest / cheapest) ** steps]
