"""Resuming repairs what a killed run left: recorded trials completed, lost ones requeued once."""

from __future__ import annotations

import optuna
from optuna.trial import TrialState

from codesign.record import Key
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
