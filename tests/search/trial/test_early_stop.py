"""Early stopping: the rules by name, the Pareto-aware bound and dominance rule, and a search
that uses it."""

from __future__ import annotations

import optuna
import pytest
from optuna.trial import TrialState, create_trial

from codesign.cli import build_parser
from codesign.errors import CodesignError
from codesign.objective import ACCURACY, Objective
from codesign.record import Key, Status
from codesign.search import (
    DEFAULT_STOPPER,
    STOPPERS,
    Manifest,
    SearchRequest,
    SearchSettings,
    load_study,
    prepare,
    run_search,
)
from codesign.search.trial import (
    ParetoStopper,
    dominating_trial,
    first_epoch,
    optimistic_accuracy,
)
from codesign.testing import write_space

OBJECTIVES = [Objective(ACCURACY, "max"), Objective("bops", "min", "generic")]


def test_early_stop_names_a_rule_and_a_bare_flag_takes_the_default():
    assert STOPPERS.names() == ["asha", "pareto"] and DEFAULT_STOPPER in STOPPERS
    parse = build_parser().parse_args
    assert parse(["search"]).early_stop is None
    assert parse(["search", "--early-stop"]).early_stop == DEFAULT_STOPPER
    assert parse(["search", "--early-stop", "asha"]).early_stop == "asha"
    with pytest.raises(CodesignError, match="unknown early-stop rule 'hyperband'; choose one"):
        SearchRequest(early_stop="hyperband").check()


@pytest.mark.parametrize("stored, rule", [(True, "pareto"), (False, None), ("asha", "asha")])
def test_a_study_stored_before_rules_had_names_reads_as_the_pareto_rule(stored, rule):
    data = {"space": {}, "space_source": "s", "objectives": [], "hw": [], "sampler": "tpe",
            "seed": 0, "extra": {"early_stop": stored, "capacity_samples": 4}}
    settings = SearchSettings.from_dict(data)
    assert settings.early_stop == rule
    assert settings.extra == ({"capacity_samples": 4} | ({"early_stop": rule} if rule else {}))


def test_optimistic_accuracy_extrapolates_the_best_recent_gain():
    assert optimistic_accuracy([0.5, 0.6, 0.65], epochs_left=2) == pytest.approx(0.85)
    assert optimistic_accuracy([0.9, 0.8, 0.7], epochs_left=5) == pytest.approx(0.9)
    assert optimistic_accuracy([0.5, 0.9], epochs_left=3) == 1.0
    assert optimistic_accuracy([], epochs_left=3) == 1.0


def test_only_a_cheaper_or_equal_and_strictly_better_trial_dominates():
    finished = [(0, 0.95, [10.0, 5.0]), (1, 0.99, [30.0, 1.0]), (2, 0.97, [8.0, 5.0])]
    assert dominating_trial(finished, [10.0, 5.0], accuracy_bound=0.9) == (0, 0.95)
    assert dominating_trial(finished, [9.0, 5.0], accuracy_bound=0.9) == (2, 0.97)
    assert dominating_trial(finished, [9.0, 5.0], accuracy_bound=0.97) is None
    assert dominating_trial(finished, [7.0, 9.0], accuracy_bound=0.5) is None
    # 357/359 reached by two float paths that differ in the last bit is a tie, not a win.
    tied = 357 / 359 - 1e-16
    assert 357 / 359 > tied
    assert dominating_trial([(0, 357 / 359, [8.0, 5.0])], [9.0, 5.0], tied) is None


def _study_with(accuracy: float, bops: float, feasible: bool = True) -> optuna.Study:
    study = optuna.create_study(directions=["maximize", "minimize"])
    study.add_trial(create_trial(
        values=[accuracy, bops], state=TrialState.COMPLETE,
        user_attrs={"val_accuracy": accuracy, "feasible": feasible,
                    "costs": {"generic": {"bops": bops}}}))
    return study


@pytest.mark.parametrize(
    "history, finished_accuracy, finished_bops, feasible, stops_at",
    [
        ([0.3, 0.4, 0.42, 0.43, 0.44, 0.45], 0.9, 100.0, True, 3),   # hopeless: stops
        ([0.3, 0.4, 0.42, 0.43, 0.44, 0.45], 0.9, 101.0, True, None),  # it costs more
        ([0.3, 0.4, 0.42, 0.43, 0.44, 0.45], 0.9, 100.0, False, None),  # over budget
        ([0.3, 0.5, 0.7, 0.8, 0.85, 0.9], 0.9, 50.0, True, None),    # could still tie
    ],
)
def test_stopper_stops_only_a_dominated_trial_after_the_window(
    history, finished_accuracy, finished_bops, feasible, stops_at
):
    study = _study_with(finished_accuracy, finished_bops, feasible)
    stopper = ParetoStopper(study, OBJECTIVES, {"generic": {"bops": 100.0}}, epochs=6,
                            first_epoch=3)
    stopped = None
    for epoch, accuracy in enumerate(history, start=1):
        if stopper({"epoch": epoch, "val_accuracy": accuracy}):
            stopped = epoch
            break
    assert stopped == stops_at
    if stops_at:
        assert "trial 0 has 0.9000" in stopper.reason


def test_first_epoch_is_past_the_annealing_window():
    assert first_epoch(10, 0.8) == 8
    assert first_epoch(4, 0.5) == 2
    assert first_epoch(3, 0.05) == 1


def test_search_stops_a_hopeless_trial_and_keeps_its_best_checkpoint(tmp_path):
    space = write_space(
        tmp_path, layers={"w_bits": [8], "a_bits": [8]},
        train={"epochs": 4, "batch_size": 64, "optimizer": "adam", "lr": [3.0e-3, 1.0e-7]},
        anneal={"noise": "normal", "end": 0.5},
    )
    out = tmp_path / "run"
    request = SearchRequest(space=str(space), trials=2, out=out, early_stop="pareto")
    manifest, _, _ = prepare(request)
    study = load_study(manifest)
    study.enqueue_trial({"train.lr": 3.0e-3})
    study.enqueue_trial({"train.lr": 1.0e-7})
    run_search(request)
    good, hopeless = load_study(Manifest.read(out)).get_trials()
    assert good.user_attrs[Key.STATUS] == Status.OK and good.user_attrs[Key.EPOCHS] == 4
    attrs = hopeless.user_attrs
    assert attrs[Key.STATUS] == Status.STOPPED and attrs[Key.EPOCHS] == 2
    assert attrs[Key.REASON].startswith("pareto: stopped after epoch 2")
    assert f"trial {good.number} has" in attrs[Key.REASON]
    assert attrs[Key.VAL_ACCURACY] < good.user_attrs[Key.VAL_ACCURACY]
    assert hopeless.values[0] == attrs[Key.VAL_ACCURACY]
    assert attrs[Key.CHECKPOINT] and hopeless.state == TrialState.COMPLETE
