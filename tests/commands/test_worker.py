"""`codesign worker` on SQLite: two processes share one study file and finish exactly its
budget, each trial accounted for."""

from __future__ import annotations

import os
import signal
import subprocess
import sys

import optuna

from codesign.record import Key, Status
from codesign.testing import write_space


def test_two_workers_share_a_sqlite_study_and_finish_exactly_the_budget(tmp_path):
    storage = f"sqlite:///{tmp_path / 'shared.db'}"
    args = [sys.executable, "-m", "codesign", "worker", "--storage", storage, "--study",
            "shared", "--space", str(write_space(tmp_path)), "--trials", "3", "--epochs", "1",
            "--threads", "1", "--out", str(tmp_path / "run")]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    workers = [subprocess.Popen(args, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                text=True, start_new_session=True) for _ in range(2)]
    try:
        outputs = [worker.communicate(timeout=300)[0] for worker in workers]
    finally:
        for worker in workers:
            if worker.poll() is None:
                os.killpg(worker.pid, signal.SIGKILL)
    assert [w.returncode for w in workers] == [0, 0], outputs
    study = optuna.load_study(study_name="shared", storage=storage)
    by_state: dict[str, list[optuna.trial.FrozenTrial]] = {}
    for trial in study.get_trials():
        by_state.setdefault(trial.state.name, []).append(trial)
    assert len(by_state["COMPLETE"]) == 3
    assert set(by_state) <= {"COMPLETE", "PRUNED"}
    assert all(t.user_attrs[Key.STATUS] == Status.SURPLUS for t in by_state.get("PRUNED", []))
    ran = sum(int(o.split(" ran ")[1].split()[0]) for o in outputs)
    assert ran == 3, outputs
    assert any("the study holds 3 of 3 finished trials" in o for o in outputs), outputs
    assert study.user_attrs[Key.BUDGET] == 3
