"""The trial record: stored values are the plain strings, read back equal to their members."""

from __future__ import annotations

import json

import optuna

from codesign.record import RESULT_KEYS, TABLE_KEYS, Key, Status
from codesign.train import TrialResult


def test_statuses_are_stored_as_their_strings_and_read_back_equal(tmp_path):
    study = optuna.create_study(storage=f"sqlite:///{tmp_path / 'record.db'}")
    for status in Status:
        trial = study.ask()
        trial.set_user_attr(Key.STATUS, status)
        study.tell(trial, 0.0)
    stored = [t.user_attrs[Key.STATUS] for t in study.get_trials()]
    assert stored == ["ok", "stopped", "failed", "infeasible", "error", "surplus", "lost"]
    assert all(type(value) is str for value in stored)
    assert stored == list(Status)
    assert [Status(value).trained for value in stored] == [True, True] + [False] * 5


def test_a_training_summary_uses_the_record_keys_and_serialises_plainly():
    summary = TrialResult(status=Status.STOPPED, reason="stopped after epoch 2").summary()
    assert set(summary) <= set(TABLE_KEYS) | {Key.CHECKPOINT}
    assert json.loads(json.dumps(summary))[Key.STATUS] == "stopped"
    assert set(RESULT_KEYS) - set(summary) == {Key.FEASIBLE}
