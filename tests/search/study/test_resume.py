"""Resuming repairs what a killed run left: recorded trials completed, lost ones requeued once."""

from __future__ import annotations

import optuna
from optuna.trial import TrialState

from codesign.record import Key, Status
from codesign.search.study import repair


def test_repair_completes_recorded_trials_and_requeues_the_lost_ones_once():
    study = optuna.create_study(directions=["maximize", "minimize"])
    done = study.ask({"x": optuna.distributions.IntDistribution(0, 9)})
    study.tell(done, [0.5, 1.0])
    recorded = study.ask({"x": optuna.distributions.IntDistribution(0, 9)})
    recorded.set_user_attr(Key.VALUES, [0.7, 2.0])
    lost = study.ask({"x": optuna.distributions.IntDistribution(0, 9)})
    crashed = study.ask({"x": optuna.distributions.IntDistribution(0, 9)})
    study.tell(crashed, state=TrialState.FAIL)

    report = repair(study)
    assert report.complete == 2 and report.recovered == [recorded.number]
    assert report.requeued == [lost.number, crashed.number]
    trials = study.get_trials()
    assert trials[recorded.number].values == [0.7, 2.0]
    assert trials[lost.number].state == TrialState.FAIL
    waiting = study.get_trials(states=(TrialState.WAITING,))
    assert [t.user_attrs[Key.RETRY_OF] for t in waiting] == [lost.number, crashed.number]
    # A second repair requeues nothing more.
    assert repair(study).requeued == []
    # The requeued trials propose the parameters of the trials they rerun.
    for number in (lost.number, crashed.number):
        assert study.ask().suggest_int("x", 0, 9) == trials[number].params["x"]


def test_a_lost_trial_is_failed_with_its_reason_and_its_retry_keeps_the_baseline_tag():
    study = optuna.create_study()
    study.enqueue_trial({"x": 3}, user_attrs={Key.BASELINE_BITS: 8})
    lost = study.ask()
    lost.suggest_int("x", 0, 9)
    lost.set_user_attr(Key.CONFIG, {"drawn": True})

    assert repair(study).requeued == [lost.number]
    failed = study.trials[lost.number]
    assert failed.user_attrs[Key.STATUS] == Status.LOST
    assert "stopped before it ended" in failed.user_attrs[Key.REASON]
    (retry,) = study.get_trials(states=(TrialState.WAITING,))
    assert retry.params == {"x": 3}
    assert retry.user_attrs == {Key.BASELINE_BITS: 8, Key.RETRY_OF: lost.number}
    # A retry that is lost in turn is failed, but not run a third time.
    again = study.ask()
    assert again.number == retry.number and again.suggest_int("x", 0, 9) == 3
    assert repair(study).requeued == []
    assert "itself a retry" in study.trials[again.number].user_attrs[Key.REASON]
