"""MO-ASHA: rungs, promotion by non-dominated rank with the epsilon-net tie-break, the stopper
on a real study, and a two-worker search that stops trials at a rung."""

from __future__ import annotations

import numpy as np
import optuna
import pytest
from optuna.trial import TrialState, create_trial

from codesign.objective import ACCURACY, Objective
from codesign.record import Key, Status
from codesign.search import Manifest, SearchRequest, load_study, prepare, run_search
from codesign.search.trial import AshaStopper, epsilon_net, promotions, rung_epochs
from codesign.testing import write_space

OBJECTIVES = [Objective(ACCURACY, "max"), Objective("bops", "min", "generic")]
ACC_BOPS = ["max", "min"]


@pytest.mark.parametrize("epochs, first, rungs", [
    (9, 1, [1, 3]), (27, 1, [1, 3, 9]), (3, 2, [2]), (3, 3, []), (10, 2, [2, 6]), (1, 1, []),
])
def test_rungs_start_past_the_window_and_grow_by_eta(epochs, first, rungs):
    assert rung_epochs(epochs, first) == rungs


def test_epsilon_net_starts_from_the_best_and_takes_the_farthest_next():
    points = np.array([[0.0, 0.0], [1.0, 1.0], [0.5, 0.5], [0.9, 0.9]])
    assert epsilon_net(points) == [0, 1, 2, 3]
    assert epsilon_net(points[[3, 2, 1, 0]]) == [3, 2, 1, 0]


def test_a_dominated_trial_never_passes_a_front_member_and_the_cut_spreads_the_front():
    # (accuracy, bops): A, B and E are the front; C, D are dominated by A, F by everyone.
    records = {
        0: (0.95, 10.0),  # A: most accurate
        1: (0.90, 5.0),   # B: on the front, but close to A
        2: (0.80, 20.0),  # C
        3: (0.93, 12.0),  # D: more accurate than B and E, yet dominated by A
        4: (0.70, 4.0),   # E: cheapest, far from A
        5: (0.60, 30.0),  # F
    }
    # Top ceil(6 / 3) = 2: the front is cut, the epsilon-net keeps its two far ends.
    assert promotions(records, ACC_BOPS) == [0, 4]
    # eta 2 keeps 3: the whole front, and D (rank 1) still stays out.
    assert promotions(records, ACC_BOPS, eta=2) == [0, 1, 4]
    # Once A is gone, D leads the front: ranks are recomputed over the rung's trials.
    without_a = {n: r for n, r in records.items() if n != 0}
    assert promotions(without_a, ACC_BOPS, eta=2) == [1, 3, 4]


def test_the_first_trial_at_a_rung_continues_and_a_tie_keeps_the_earlier():
    assert promotions({7: (0.1, 1e9)}, ACC_BOPS) == [7]
    assert promotions({3: (0.9, 5.0), 8: (0.9, 5.0)}, ACC_BOPS) == [3]
    assert promotions({}, ACC_BOPS) == []


def test_asynchronous_arrivals_on_hand_made_curves():
    """Trials reach the rung of epoch 2 one after another; each is judged once, against the
    trials that arrived before it. The stopped are those a hand count of the rule stops."""
    curves = {  # number: (per-epoch hard-quantized accuracy, bops)
        0: ([0.50, 0.80, 0.90], 8.0),
        1: ([0.40, 0.60, 0.95], 9.0),   # 2nd of 2, dominated by 0 at the rung: stops
        2: ([0.70, 0.85, 0.86], 3.0),   # cheapest and most accurate: continues
        3: ([0.30, 0.79, 0.84], 8.5),   # ranks 2, 0, 3, 1: top 2 of 4 kept, it stops
        4: ([0.20, 0.30, 0.99], 1.0),   # cheapest of all: on the front, kept by the net
        5: ([0.60, 0.84, 0.88], 2.5),   # front {2, 4, 5}; 2 of 6 kept: 2 and 4
    }
    rung = 2
    reached: dict[int, tuple[float, float]] = {}
    stopped = []
    for number, (curve, bops) in curves.items():
        reached[number] = (max(curve[:rung]), bops)
        if number not in promotions(reached, ACC_BOPS):
            stopped.append(number)
    assert stopped == [1, 3, 5]


def test_three_objectives_rank_on_every_cost():
    records = {0: (0.9, 10.0, 100.0), 1: (0.8, 10.0, 50.0), 2: (0.8, 12.0, 60.0)}
    # 2 is dominated by 1; 0 and 1 form the front; top ceil(3/3) = 1 is the most accurate.
    assert promotions(records, ["max", "min", "min"]) == [0]
    assert promotions(records, ["max", "min", "min"], eta=1) == [0, 1, 2]


def _finished(study: optuna.Study, accuracy_at: dict[str, float], bops: float) -> None:
    study.add_trial(create_trial(
        values=[max(accuracy_at.values()), bops], state=TrialState.COMPLETE,
        user_attrs={Key.ACCURACY_BY_EPOCH: accuracy_at, Key.FEASIBLE: True,
                    Key.COSTS: {"generic": {"bops": bops}}}))


def test_stopper_records_each_epoch_past_the_window_and_stops_at_a_rung():
    study = optuna.create_study(directions=["maximize", "minimize"])
    _finished(study, {"1": 0.9, "2": 0.95, "3": 0.96}, bops=100.0)
    _finished(study, {"1": 0.7, "2": 0.75, "3": 0.8}, bops=50.0)
    trial = study.ask()
    stopper = AshaStopper(trial, OBJECTIVES, {"generic": {"bops": 120.0}}, epochs=9,
                          first_epoch=1)
    assert not stopper({"epoch": 1, "val_accuracy": 0.95})  # ranks first at the rung of 1
    assert not stopper({"epoch": 2, "val_accuracy": 0.5})   # not a rung
    assert study.trials[-1].user_attrs[Key.ACCURACY_BY_EPOCH] == {"1": 0.95, "2": 0.95}
    assert stopper({"epoch": 3, "val_accuracy": 0.9})       # dominated by the first trial
    assert "rung of epoch 3" in stopper.reason and "0.9500" in stopper.reason


def test_stopper_waits_for_the_window_and_ignores_an_unknown_cost():
    study = optuna.create_study(directions=["maximize", "minimize"])
    _finished(study, {"3": 0.99}, bops=1.0)
    trial = study.ask()
    stopper = AshaStopper(trial, OBJECTIVES, {"generic": {"bops": 10.0}}, epochs=9,
                          first_epoch=3)
    assert not stopper({"epoch": 1, "val_accuracy": 0.1})
    assert Key.ACCURACY_BY_EPOCH not in study.trials[-1].user_attrs
    assert stopper({"epoch": 3, "val_accuracy": 0.2})
    refused = AshaStopper(study.ask(), OBJECTIVES, {"generic": {"bops": float("inf")}},
                          epochs=9, first_epoch=1)
    assert not any(refused({"epoch": e, "val_accuracy": 0.0}) for e in (1, 3))


@pytest.mark.parametrize("backend", ["local", "ray"])
def test_two_worker_search_stops_hopeless_trials_at_the_rung(tmp_path, backend):
    space = write_space(
        tmp_path, layers={"w_bits": [8], "a_bits": [8]},
        train={"epochs": 2, "batch_size": 64, "optimizer": "adam", "lr": [3.0e-3, 1.0e-7]},
        anneal={"noise": "normal", "end": 0.3},  # closes in epoch 1: rungs at epoch 1 only
    )
    out = tmp_path / "run"
    first = SearchRequest(space=str(space), trials=1, out=out, early_stop="asha")
    manifest, settings, _ = prepare(first)
    assert settings.early_stop == "asha"
    study = load_study(manifest)
    study.enqueue_trial({"train.lr": 3.0e-3})
    run_search(first)
    for _ in range(2):  # at most 3 trials at the rung: only the top one continues
        study.enqueue_trial({"train.lr": 1.0e-7})
    run_search(SearchRequest(space=str(space), trials=3, out=out, early_stop="asha",
                             workers=2, cpus_per_trial=1, backend=backend))
    good, *hopeless = load_study(Manifest.read(out)).get_trials(states=(TrialState.COMPLETE,))
    assert good.user_attrs[Key.STATUS] == Status.OK and good.user_attrs[Key.EPOCHS] == 2
    assert set(good.user_attrs[Key.ACCURACY_BY_EPOCH]) == {"1", "2"}
    assert len(hopeless) == 2
    for trial in hopeless:
        attrs = trial.user_attrs
        assert attrs[Key.STATUS] == Status.STOPPED and attrs[Key.EPOCHS] == 1
        assert attrs[Key.REASON].startswith("asha: stopped at the rung of epoch 1")
        assert attrs[Key.CHECKPOINT] and trial.values[0] == attrs[Key.VAL_ACCURACY]
        # Where it ran: "host:pid" for a local worker, a Ray node id on Ray.
        assert (":" in attrs[Key.NODE]) == (backend == "local")
