"""What a search stores about itself: `--hw` items turned into objectives and cost models."""

from __future__ import annotations

import pytest

from codesign.errors import CodesignError
from codesign.objective import accuracy_objective, cost_objective
from codesign.search import SearchSettings, parse_hw
from codesign.search.store import cost_columns, objectives_for, scored_models
from codesign.space import space_from_dict
from codesign.testing import SMALL_SPACE


def test_parse_hw_splits_and_refuses_empty_names():
    assert parse_hw(None) == [] and parse_hw("") == []
    assert parse_hw("generic, npu_int8") == ["generic", "npu_int8"]
    with pytest.raises(CodesignError, match="empty name"):
        parse_hw("generic,,npu_int8")


def test_an_hw_item_is_a_model_main_metrics_or_one_column():
    assert cost_columns("generic") == ["generic.bops", "generic.model_size_bytes"]
    assert cost_columns("npu_int8") == ["npu_int8.latency_s", "npu_int8.energy_pj"]
    assert cost_columns("generic.bops") == ["generic.bops"]
    with pytest.raises(CodesignError, match="no metric 'speed'; choose one of"):
        cost_columns("generic.speed")


def test_objectives_and_models_of_a_search():
    space = space_from_dict(SMALL_SPACE, source="test")
    assert objectives_for(space, []) == space.objectives
    assert objectives_for(space, ["npu_int8", "generic.bops"]) == [
        accuracy_objective(), cost_objective("npu_int8.latency_s"),
        cost_objective("npu_int8.energy_pj"), cost_objective("generic.bops")]
    assert scored_models(space, ["npu_int8.latency_s"]) == ["generic", "npu_int8"]


def test_settings_round_trip_through_their_stored_mapping():
    space = space_from_dict(SMALL_SPACE, source="test")
    settings = SearchSettings(space=space.raw, space_source="test",
                              objectives=[o.to_dict() for o in space.objectives],
                              hw=["generic"], sampler="tpe", seed=1)
    again = SearchSettings.from_dict(settings.to_dict())
    assert again == settings and again.objective_list == space.objectives
    assert again.columns == ["val_accuracy", "generic.bops", "generic.model_size_bytes"]
