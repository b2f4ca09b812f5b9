"""The pure part of a trial: budgets as Optuna constraints, feasibility and objective values,
against hand-computed numbers."""

from __future__ import annotations

import math

import pytest

from codesign.config import LayerQuant, TrialConfig
from codesign.objective import Objective, accuracy_objective, cost_objective
from codesign.search.trial import constraint_values, objective_values, score, within_budgets
from codesign.space import space_from_dict
from codesign.testing import SMALL_SPACE

BUDGETS = [{"cost": "generic.bops", "max": 1000.0}, {"cost": "npu_int8.latency_s", "max": 2.0}]


@pytest.fixture
def space():
    return space_from_dict({**SMALL_SPACE, "constraints": BUDGETS}, source="test")


def test_constraints_are_the_relative_excess_over_each_budget(space):
    costs = {"generic": {"bops": 1500.0}, "npu_int8": {"latency_s": 1.0}}
    values = constraint_values(space, costs, refusals={})
    assert values == {"generic.bops": pytest.approx(0.5), "npu_int8.latency_s": -0.5}
    assert not within_budgets(values)
    assert within_budgets(constraint_values(space, {**costs, "generic": {"bops": 1000.0}}, {}))


def test_a_refusing_cost_model_is_one_violated_constraint_instead_of_its_budgets(space):
    values = constraint_values(space, {"generic": {"bops": 10.0}},
                               refusals={"npu_int8": "cannot run 3-bit weights"})
    assert values == {"supported.npu_int8": 1.0, "generic.bops": pytest.approx(-0.99)}
    assert not within_budgets(values)


def test_objective_values_put_accuracy_and_costs_in_the_objectives_order():
    objectives = [cost_objective("generic.bops"), accuracy_objective(),
                  Objective("fps", "max", "npu_int8")]
    costs = {"generic": {"bops": 42.0}, "npu_int8": {"fps": 7.0}}
    assert objective_values(objectives, costs, accuracy=0.9) == [42.0, 0.9, 7.0]
    # Untrained: accuracy 0; a cost the model did not give: the worst value of its direction.
    assert objective_values(objectives, {}, accuracy=None) == [math.inf, 0.0, -math.inf]


def test_score_is_pure_and_names_the_refusing_model():
    cfg = TrialConfig(model="digits_cnn", dataset="digits",
                      layers={"conv2": LayerQuant(w_bits=3, a_bits=8)})
    costs, refusals = score(cfg, ["generic", "npu_int8"])
    again, _ = score(cfg, ["generic", "npu_int8"])
    assert costs == again and set(costs) >= {"generic"}
    assert costs["generic"]["bops"] > 0
    if "npu_int8" in refusals:
        assert "npu_int8" not in costs and refusals["npu_int8"]
