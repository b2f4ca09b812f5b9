"""A worker killed in the middle of a trial does not stall the study: its trial is failed with
the reason once its heartbeat stops, run once more by a surviving worker with the parameters
it had drawn (a baseline keeps its tag), and the study reaches its count, with nothing lost
and nothing counted twice. Heartbeats every second keep these tests short."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from pathlib import Path

import optuna
import pytest
from optuna.trial import FrozenTrial, TrialState

from codesign.record import Key, Status
from codesign.testing import CODE_ROOT, finish_cli, write_space

TRIALS = 2
ENV = {**os.environ, "PYTHONPATH": str(CODE_ROOT), "OMP_NUM_THREADS": "1",
       "CODESIGN_HEARTBEAT_S": "1"}


def _launch(args: list[str]) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "codesign", *args], env=ENV,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            start_new_session=True)


def _training(storage: str, study_name: str, out: Path, processes: list[subprocess.Popen],
              pick: Callable[[FrozenTrial], bool], limit_s: float = 240) -> FrozenTrial:
    """The first RUNNING trial that has drawn its config (it is training) and `pick` takes."""
    deadline = time.monotonic() + limit_s
    while time.monotonic() < deadline:
        assert all(p.poll() is None for p in processes), "a process ended before the kill"
        if not (out / "search.json").exists():  # written once the study is made
            time.sleep(0.3)
            continue
        try:
            trials = optuna.load_study(study_name=study_name, storage=storage).get_trials()
        except KeyError:
            trials = []
        for trial in trials:
            if (trial.state == TrialState.RUNNING and Key.CONFIG in trial.user_attrs
                    and Key.NODE in trial.user_attrs and pick(trial)):
                return trial
        time.sleep(0.3)
    raise AssertionError(f"no trial in training within {limit_s} s")


def _pid(trial: FrozenTrial) -> int:
    return int(trial.user_attrs[Key.NODE].rsplit(":", 1)[1])


def _finish(process: subprocess.Popen, limit_s: float = 300) -> str:
    output = finish_cli(process, limit_s)
    assert "Traceback" not in output, output[-3000:]
    return output


def _stop(processes: list[subprocess.Popen]) -> None:
    for process in processes:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def _survived(storage: str, study_name: str, victim: FrozenTrial) -> None:
    """The study holds its count; the victim is failed with its reason and rerun once with
    its parameters and tags; no trial is left running, none is counted twice."""
    study = optuna.load_study(study_name=study_name, storage=storage)
    trials = study.get_trials()
    states = {t.number: t.state for t in trials}
    assert sum(s == TrialState.COMPLETE for s in states.values()) == TRIALS
    assert TrialState.RUNNING not in states.values()
    lost = trials[victim.number]
    assert lost.state == TrialState.FAIL
    assert lost.user_attrs[Key.STATUS] == Status.LOST
    assert "no heartbeat" in lost.user_attrs[Key.REASON]
    retries = [t for t in trials if t.user_attrs.get(Key.RETRY_OF) == victim.number]
    assert len(retries) == 1
    (retry,) = retries
    assert retry.state == TrialState.COMPLETE
    assert victim.params.items() <= retry.params.items()
    assert retry.user_attrs.get(Key.BASELINE_BITS) == victim.user_attrs.get(Key.BASELINE_BITS)
    every_retry = [t.user_attrs[Key.RETRY_OF] for t in trials if Key.RETRY_OF in t.user_attrs]
    assert len(every_retry) == len(set(every_retry))


def test_a_killed_local_worker_process_is_survived_and_the_report_written(tmp_path):
    out = tmp_path / "run"
    storage = f"sqlite:///{out / 'study.db'}"
    driver = _launch(["search", "--space", str(write_space(tmp_path)), "--trials",
                      str(TRIALS), "--epochs", "1", "--workers", "2", "--cpus-per-trial", "1",
                      "--out", str(out)])
    try:
        # The first queued trial is the uniform 8-bit baseline: its retry must keep the tag.
        victim = _training(storage, "digits_small", out, [driver],
                           lambda t: Key.BASELINE_BITS in t.user_attrs)
        assert _pid(victim) != driver.pid
        os.kill(_pid(victim), signal.SIGKILL)
        output = _finish(driver)
    finally:
        _stop([driver])
    _survived(storage, "digits_small", victim)
    assert (out / "trials.csv").is_file() and (out / "pareto.csv").is_file()
    assert f"[{TRIALS}/{TRIALS}]" in output


def _two_workers_one_killed(storage: str, study_name: str, tmp_path: Path) -> None:
    args = ["worker", "--storage", storage, "--study", study_name, "--space",
            str(write_space(tmp_path)), "--trials", str(TRIALS), "--epochs", "1", "--threads",
            "1", "--out", str(tmp_path / "run")]
    workers = [_launch(args) for _ in range(2)]
    try:
        pids = {w.pid: w for w in workers}
        victim = _training(storage, study_name, tmp_path / "run", workers,
                           lambda t: _pid(t) in pids)
        killed = pids.pop(_pid(victim))
        os.killpg(killed.pid, signal.SIGKILL)
        killed.wait()
        (survivor,) = pids.values()
        output = _finish(survivor)
    finally:
        _stop(workers)
    assert f"the study holds {TRIALS} of {TRIALS} finished trials" in output
    _survived(storage, study_name, victim)


def test_a_killed_codesign_worker_on_sqlite_is_survived_by_the_other(tmp_path):
    _two_workers_one_killed(f"sqlite:///{tmp_path / 'shared.db'}", "shared", tmp_path)


def test_a_killed_codesign_worker_on_postgres_is_survived_by_the_other(postgres_url, tmp_path):
    name = f"dead_{uuid.uuid4().hex[:8]}"
    try:
        _two_workers_one_killed(postgres_url, name, tmp_path)
    finally:
        try:
            optuna.delete_study(study_name=name, storage=postgres_url)
        except KeyError:
            pass


@pytest.mark.parametrize("heartbeat", ["1.5"])
def test_a_bad_heartbeat_setting_is_one_line_before_anything_is_written(tmp_path, heartbeat):
    out = tmp_path / "run"
    result = subprocess.run(
        [sys.executable, "-m", "codesign", "search", "--space", str(write_space(tmp_path)),
         "--out", str(out)], env={**ENV, "CODESIGN_HEARTBEAT_S": heartbeat},
        capture_output=True, text=True, timeout=120)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "CODESIGN_HEARTBEAT_S" in lines[0]
    assert not out.exists()


# A network whose training kills its own process, as the out-of-memory killer would.
_DYING_MODEL = '''
import os
import signal

import torch
from torch import nn

from codesign.models import create_model


class Dying(nn.Module):
    def __init__(self, inner):
        super().__init__()
        self.inner = inner

    def forward(self, x):
        if self.training and torch.is_grad_enabled():
            os.kill(os.getpid(), signal.SIGKILL)
        return self.inner(x)


def build(num_classes, input_shape):
    return Dying(create_model("digits_cnn", num_classes, input_shape[0], input_shape[-1]))
'''


def test_worker_processes_that_keep_dying_end_the_search_with_one_line_and_a_report(
        tmp_path):
    (tmp_path / "dying.py").write_text(_DYING_MODEL)
    space = write_space(tmp_path, model="dying.py:build",
                        overrides=[{"match": "inner.(conv1|fc)", "w_bits": 8, "a_bits": 8}])
    out = tmp_path / "run"
    result = subprocess.run(
        [sys.executable, "-m", "codesign", "search", "--space", str(space), "--trials", "2",
         "--epochs", "1", "--workers", "2", "--cpus-per-trial", "1", "--out", str(out)],
        env=ENV, capture_output=True, text=True, timeout=600)
    lines = result.stderr.strip().splitlines()
    assert result.returncode == 1, result.stderr[-3000:]
    assert len(lines) == 1 and "died" in lines[0] and "killed by SIGKILL" in lines[0], lines
    assert "the study holds 0 of 2 finished trials" in lines[0]
    assert (out / "trials.csv").is_file()
    study = optuna.load_study(study_name="digits_small", storage=f"sqlite:///{out / 'study.db'}")
    assert not study.get_trials(states=(TrialState.COMPLETE,))
