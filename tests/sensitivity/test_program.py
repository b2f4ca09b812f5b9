"""The integer program's choice equals the brute-force optimum on small spaces."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest

from codesign.sensitivity import Budget, least_sensitive, spread_budgets


def _brute_force(sensitivity, budgets, exclude=()):
    best, best_choice = math.inf, None
    for choice in itertools.product(*(range(len(s)) for s in sensitivity)):
        ok = list(choice) not in [list(e) for e in exclude]
        for budget in budgets:
            picked = [c[i] for c, i in zip(budget.costs, choice, strict=True)]
            total = sum(picked) if budget.additive else max(picked)
            ok &= total <= budget.limit
        value = sum(s[i] for s, i in zip(sensitivity, choice, strict=True))
        if ok and value < best:
            best, best_choice = value, list(choice)
    return best_choice


@pytest.mark.parametrize("seed", range(6))
def test_choice_equals_brute_force(seed):
    rng = np.random.default_rng(seed)
    sizes = rng.integers(2, 6, size=4)
    sensitivity = [rng.random(n) for n in sizes]
    costs = tuple(rng.random(n) * 10 for n in sizes)
    sizes_b = tuple(rng.random(n) * 3 for n in sizes)
    cheapest = sum(c.min() for c in costs)
    budgets = [Budget(costs, cheapest + rng.random() * 10),
               Budget(sizes_b, float(rng.uniform(1.5, 3.0)), additive=False)]
    assert least_sensitive(sensitivity, budgets) == _brute_force(sensitivity, budgets)


@pytest.mark.parametrize("seed", range(4))
def test_excluded_configurations_give_the_brute_force_runner_up(seed):
    rng = np.random.default_rng(100 + seed)
    sizes = rng.integers(2, 5, size=3)
    sensitivity = [rng.random(n) for n in sizes]
    costs = tuple(rng.random(n) * 10 for n in sizes)
    budgets = [Budget(costs, float(sum(c.max() for c in costs)))]  # every choice fits
    best = least_sensitive(sensitivity, budgets)
    second = least_sensitive(sensitivity, budgets, exclude=[best])
    assert second != best
    assert second == _brute_force(sensitivity, budgets, exclude=[best])
    third = least_sensitive(sensitivity, budgets, exclude=[best, second])
    assert third == _brute_force(sensitivity, budgets, exclude=[best, second])


def test_refused_options_are_never_picked_and_impossible_budgets_give_none():
    sensitivity = [np.array([0.0, 5.0]), np.array([0.0, 1.0])]
    costs = (np.array([math.inf, 1.0]), np.array([1.0, 1.0]))
    assert least_sensitive(sensitivity, [Budget(costs, 10.0)]) == [1, 0]
    assert least_sensitive(sensitivity, [Budget(costs, 1.5)]) is None


def test_budgets_are_spread_strictly_inside_on_a_log_scale():
    budgets = spread_budgets(1.0, 1000.0, 2)
    assert budgets == pytest.approx([10.0, 100.0])
    assert spread_budgets(5.0, 5.0, 3) == []
