"""Pareto maths against brute force, hand counts, inclusion-exclusion and Monte Carlo."""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest

from codesign.errors import CodesignError
from codesign.pareto import (
    Objective,
    as_objectives,
    front_hypervolume,
    hypervolume,
    knee_index,
    non_dominated_mask,
    pareto_frame,
    pareto_ranks,
    reference_point,
    sort_front,
)

# ---- brute-force references ------------------------------------------------------------


def brute_dominates(a, b, directions) -> bool:
    better = [(x > y) if d == "max" else (x < y) for x, y, d in zip(a, b, directions, strict=True)]
    worse = [(x < y) if d == "max" else (x > y) for x, y, d in zip(a, b, directions, strict=True)]
    return any(better) and not any(worse)


def brute_ranks(points, directions) -> list[int]:
    rows = [i for i, p in enumerate(points) if not any(np.isnan(p))]
    ranks = [-1] * len(points)
    rank = 0
    while rows:
        front = [
            i for i in rows
            if not any(brute_dominates(points[j], points[i], directions) for j in rows)
        ]
        for i in front:
            ranks[i] = rank
        rows = [i for i in rows if i not in front]
        rank += 1
    return ranks


def union_volume(points: np.ndarray, ref: np.ndarray) -> float:
    """Exact volume of the union of boxes [p, ref] by inclusion-exclusion (minimisation)."""
    total = 0.0
    for k in range(1, len(points) + 1):
        for subset in itertools.combinations(range(len(points)), k):
            corner = points[list(subset)].max(axis=0)
            total += (-1) ** (k + 1) * np.prod(np.clip(ref - corner, 0, None))
    return total


def random_points(rng, n, d, levels=None):
    if levels is None:
        return rng.random((n, d))
    return rng.integers(0, levels, size=(n, d)).astype(float)


# ---- dominance and sorting ---------------------------------------------------------------


@pytest.mark.parametrize("d", [1, 2, 3, 4, 5])
@pytest.mark.parametrize("levels", [None, 3])
def test_mask_and_ranks_match_brute_force(d, levels):
    rng = np.random.default_rng(10 * d + (levels or 0))
    points = random_points(rng, 60, d, levels)
    points[rng.choice(60, 10)] = points[rng.choice(60, 10)]  # exact duplicates
    points[rng.choice(60, 4), rng.integers(0, d)] = np.nan
    directions = list(rng.choice(["max", "min"], size=d))
    expected = brute_ranks(points, directions)
    assert pareto_ranks(points, directions).tolist() == expected
    assert non_dominated_mask(points, directions).tolist() == [r == 0 for r in expected]


def test_duplicates_share_the_front_and_nan_rows_are_excluded():
    points = [[1.0, 2.0], [1.0, 2.0], [2.0, 1.0], [2.0, 2.0], [np.nan, 0.0]]
    assert non_dominated_mask(points).tolist() == [True, True, True, False, False]
    assert pareto_ranks(points).tolist() == [0, 0, 0, 1, -1]


def test_directions_flip_dominance():
    points = [[0.9, 10.0], [0.8, 5.0], [0.7, 7.0]]
    assert non_dominated_mask(points, ["max", "min"]).tolist() == [True, True, False]
    assert non_dominated_mask(points, ["min", "max"]).tolist() == [True, False, True]


def test_large_input_is_blocked_correctly():
    rng = np.random.default_rng(0)
    points = rng.random((3000, 3))
    mask = non_dominated_mask(points)
    # A point is on the front iff no other point is <= in all and < in one coordinate.
    sample = rng.choice(3000, 40, replace=False)
    for i in sample:
        dominated = ((points <= points[i]).all(1) & (points < points[i]).any(1)).any()
        assert mask[i] == (not dominated)


# ---- hypervolume -------------------------------------------------------------------------


def test_hypervolume_2d_by_hand():
    # Staircase (1,3), (2,2), (3,1) under (4,4): columns of 3, 2 and 1 unit squares.
    assert hypervolume([[1, 3], [2, 2], [3, 1]], reference=[4, 4]) == pytest.approx(6.0)
    # Accuracy maximised, cost minimised: boxes 0.4 x 2 and 0.3 x 8 overlapping in 0.3 x 2.
    hv = hypervolume([[0.9, 10.0], [0.8, 4.0]], ["max", "min"], reference=[0.5, 12.0])
    assert hv == pytest.approx(0.8 + 2.4 - 0.6)


def test_hypervolume_3d_by_hand():
    assert hypervolume([[1, 2, 3], [3, 2, 1]], reference=[4, 4, 4]) == pytest.approx(10.0)
    # Three slabs in [0,3]^3: everything but the cube [2,3]^3 seen from the far corner,
    # i.e. 27 - 2^3 = 19.
    corners = [[0, 0, 2], [0, 2, 0], [2, 0, 0]]
    assert hypervolume(corners, reference=[3, 3, 3]) == pytest.approx(19.0)


@pytest.mark.parametrize("d", [2, 3, 4])
def test_hypervolume_equals_inclusion_exclusion(d):
    rng = np.random.default_rng(d)
    for _ in range(5):
        points = random_points(rng, 7, d, levels=4 if d > 2 else None)
        ref = np.full(d, 4.5 if d > 2 else 1.2)
        assert hypervolume(points, reference=ref) == pytest.approx(union_volume(points, ref))


@pytest.mark.parametrize("d", [3, 4])
def test_hypervolume_agrees_with_monte_carlo(d):
    rng = np.random.default_rng(100 + d)
    directions = ["max"] + ["min"] * (d - 1)
    points = rng.random((40, d)) ** 2
    ref = reference_point(points, directions)
    exact = hypervolume(points, directions, ref)
    # Sample the box between the ideal and the reference, in minimisation form.
    sign = np.array([-1.0] + [1.0] * (d - 1))
    low = (points * sign).min(axis=0)
    high = ref * sign
    samples = low + rng.random((400_000, d)) * (high - low)
    mins = points * sign
    dominated = np.zeros(len(samples), dtype=bool)
    for p in mins:
        dominated |= (samples >= p).all(axis=1)
    fraction = dominated.mean()
    box = np.prod(high - low)
    sigma = np.sqrt(fraction * (1 - fraction) / len(samples)) * box
    assert abs(exact - fraction * box) < 4 * sigma
    assert hypervolume(points, directions, ref, normalise=True) == pytest.approx(exact / box)


def test_default_reference_is_worst_plus_margin_of_range():
    points = [[0.9, 100.0], [0.5, 300.0], [0.7, 200.0]]
    ref = reference_point(points, ["max", "min"])
    assert ref == pytest.approx([0.5 - 0.1 * 0.4, 300.0 + 0.1 * 200.0])
    assert reference_point(points, ["max", "min"], margin=0.0) == pytest.approx([0.5, 300.0])
    assert hypervolume(points, ["max", "min"]) == pytest.approx(
        hypervolume(points, ["max", "min"], ref)
    )
    # A single point: the margin is taken of its magnitude.
    assert reference_point([[2.0, -4.0]]) == pytest.approx([2.2, -3.6])


def test_points_beyond_the_reference_add_nothing_and_nan_rows_are_ignored():
    inside = [[1.0, 1.0]]
    outside = [[5.0, 0.0], [0.0, 2.0], [np.nan, 0.0]]
    assert hypervolume(inside + outside, reference=[2, 2]) == pytest.approx(1.0)
    assert hypervolume(outside, reference=[2, 2]) == 0.0
    assert hypervolume(np.empty((0, 2))) == 0.0


def test_normalised_volume_ignores_units():
    rng = np.random.default_rng(3)
    points = rng.random((30, 3))
    ref = [1.1, 1.1, 1.1]
    ideal = [0.0, 0.0, 0.0]
    scaled = points * [1.0, 1e9, 1e-3]
    ref_scaled = np.array(ref) * [1.0, 1e9, 1e-3]
    a = hypervolume(points, reference=ref, normalise=True, ideal=ideal)
    b = hypervolume(scaled, reference=ref_scaled, normalise=True, ideal=ideal)
    assert a == pytest.approx(b)
    assert a == pytest.approx(hypervolume(points, reference=ref) / 1.1**3)
    assert 0.0 < a < 1.0


def test_bad_reference_is_a_user_error():
    with pytest.raises(CodesignError, match="reference point"):
        hypervolume([[1.0, 1.0]], reference=[2.0])
    with pytest.raises(CodesignError, match="not worse than the ideal"):
        hypervolume([[1.0, 1.0]], reference=[0.5, 2.0], normalise=True)


# ---- knee --------------------------------------------------------------------------------


def test_knee_of_a_hand_made_2d_front():
    # Normalised over the front: (0,1), (.1,.3), (.2,.25), (1,0); distance to x + y = 1 is
    # largest for (.1,.3). The dominated point (4, 4) is ignored.
    front = [[0.0, 10.0], [1.0, 3.0], [2.0, 2.5], [10.0, 0.0], [4.0, 4.0]]
    assert knee_index(front) == 1
    # Same front as accuracy (max) versus cost (min).
    accuracy_cost = [[1.0 - x / 10, y] for x, y in front]
    assert knee_index(accuracy_cost, ["max", "min"]) == 1


def test_knee_of_a_hand_made_3d_front():
    # Extremes span the plane x + y + z = 1; (.2,.2,.2) is farthest below it.
    points = [[1, 0, 0], [0, 1, 0], [0, 0, 1], [0.3, 0.3, 0.1], [0.2, 0.2, 0.2]]
    assert knee_index(points) == 4


def test_knee_uses_the_plane_through_the_extremes():
    # Extremes (0,1,1), (1,0,1), (.8,.8,0) span .625x + .625y + .375z = 1. (.3,.3,.7) lies
    # .3625/|n| below it and (.5,.5,.2) only .3/|n|, although the latter has the smaller sum.
    points = [[0, 1, 1], [1, 0, 1], [0.8, 0.8, 0], [0.3, 0.3, 0.7], [0.5, 0.5, 0.2]]
    assert knee_index(points) == 3


def test_knee_does_not_depend_on_units_and_handles_small_fronts():
    rng = np.random.default_rng(5)
    points = rng.random((50, 3))
    assert knee_index(points * [1e9, 1.0, 1e-3] + [5, -2, 0]) == knee_index(points)
    assert knee_index([[1.0, 2.0]]) == 0
    assert knee_index([[np.nan, 1.0]]) is None
    # Two-point front: both at distance 0; the tie goes to the one best in objective 1.
    assert knee_index([[2.0, 1.0], [1.0, 2.0]]) == 1


# ---- objectives and trial tables ------------------------------------------------------------


def test_objective_parsing():
    assert Objective.parse("generic.bops:min") == Objective("generic.bops", "min")
    assert Objective.parse("val_accuracy") == Objective("val_accuracy", "max")
    assert Objective.parse("bitfusion.latency_s") == Objective("bitfusion.latency_s", "min")
    assert as_objectives("val_accuracy:max, generic.bops") == [
        Objective("val_accuracy", "max"), Objective("generic.bops", "min")
    ]
    assert as_objectives([Objective("bops", "min", "generic")]) == [
        Objective.parse("generic.bops")
    ]
    assert str(Objective("a", "min")) == "a:min"
    with pytest.raises(CodesignError, match="direction"):
        Objective.parse("generic.bops:smallest")
    with pytest.raises(CodesignError, match="repeat"):
        as_objectives(["a:max", "a:min"])
    with pytest.raises(CodesignError, match="no objectives"):
        as_objectives([])


def test_one_accuracy_predicate_from_the_space_file_to_the_figures(tmp_path):
    """The space's objectives, the stored ones and the report's agree on which is accuracy."""
    from codesign.objective import ACCURACY, cost_objective
    from codesign.report import accuracy_objective
    from codesign.space import load_space

    space = load_space("digits_cnn")
    assert [o.is_accuracy for o in space.objectives] == [o.column == ACCURACY
                                                         for o in space.objectives]
    stored = [Objective(**o.to_dict()) for o in space.objectives]
    assert stored == space.objectives
    assert accuracy_objective(["generic.bops", "test_accuracy"]) == Objective.parse(
        "test_accuracy:max")
    assert not cost_objective("generic.bops").is_accuracy
    assert not Objective("loss", "min").is_accuracy and not Objective("loss", "min").is_cost


def trial_table() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "number": [0, 1, 2, 3, 4, 5, 6, 7],
            "state": ["COMPLETE"] * 6 + ["FAIL", "COMPLETE"],
            "val_accuracy": [0.90, 0.80, 0.95, np.nan, 0.70, 0.90, 0.99, 0.60],
            "generic.bops": [5.0, 2.0, 9.0, 1.0, 3.0, 5.0, 0.5, 0.1],
            "feasible": [True, True, True, False, True, True, True, True],
        }
    )


def test_pareto_frame_ranks_only_eligible_rows():
    df = trial_table()
    out = pareto_frame(df, ["val_accuracy:max", "generic.bops:min"])
    assert list(df.columns) == list(out.columns)[: len(df.columns)]
    # Row 3: infeasible, never trained; row 6: failed. Rows 0 and 5 tie and both stay.
    assert out["pareto_rank"].dtype == "Int64"
    assert out["pareto_rank"].isna().tolist() == [False] * 3 + [True] + [False] * 2 + [
        True, False
    ]
    assert out["on_front"].tolist() == [True, True, True, False, False, True, False, True]
    assert out.loc[4, "pareto_rank"] == 1
    assert out["knee"].sum() == 1
    assert bool(out.loc[out["knee"], "on_front"].iloc[0])
    assert "pareto_rank" not in df.columns  # pure: the input is untouched
    front = sort_front(out, ["val_accuracy:max", "generic.bops:min"])
    assert front["number"].tolist() == [2, 0, 5, 1, 7]


def test_front_hypervolume_uses_eligible_rows():
    df = trial_table()
    objectives = [Objective("val_accuracy", "max"), Objective("generic.bops", "min")]
    ok = df.drop(index=[3, 6])
    expected = hypervolume(
        ok[["val_accuracy", "generic.bops"]].to_numpy(), ["max", "min"], [0.5, 10.0]
    )
    assert front_hypervolume(df, objectives, [0.5, 10.0]) == pytest.approx(expected)


def test_missing_objective_column_names_it():
    with pytest.raises(CodesignError, match="bitfusion.latency_s"):
        pareto_frame(trial_table(), ["val_accuracy", "bitfusion.latency_s"])
