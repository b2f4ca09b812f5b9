"""A user's own network and data searched through the real CLI in real processes: the
README's LeNet example on the local backend with two workers (the float network pretrained
exactly once, also across a resume), by two `codesign worker` processes on one storage, and
on the Ray backend."""

from __future__ import annotations

import json
import shlex

import optuna
import pandas as pd

from codesign.record import Key
from codesign.search import Manifest, load_study
from codesign.testing import run_cli, start_cli

PRETRAINING = "pretraining the float network"


def test_readme_example_pretrains_once_and_reports_the_float_reference(example, readme_command):
    command = shlex.split(readme_command)
    assert command[:2] == ["codesign", "search"]
    done = run_cli(command[1:], cwd=example)
    assert done.returncode == 0, done.stderr
    assert done.stdout.count(PRETRAINING) == 1
    run = example / "runs" / "my_lenet"
    study = load_study(Manifest.read(run))
    reference = study.user_attrs[Key.FLOAT_REFERENCE]
    assert 0.5 < reference["val_accuracy"] <= 1.0
    assert reference["epochs"] >= 1 and (run / "float" / "model.pt").is_file()
    summary = json.loads((run / "summary.json").read_text())
    assert summary["float_reference"] == reference
    assert f"float reference: val acc {reference['val_accuracy']:.4f}" in done.stdout
    trials = pd.read_csv(run / "trials.csv")
    ok = trials[trials["status"] == "ok"]
    assert len(ok) == 4
    assert (ok["accuracy_drop"] == reference["val_accuracy"] - ok["val_accuracy"]).all()
    assert "accuracy_drop" in pd.read_csv(run / "pareto.csv").columns
    # Every trial started from the pretrained weights, recorded in its configuration.
    for trial in study.get_trials(states=(optuna.trial.TrialState.COMPLETE,)):
        assert trial.user_attrs["config"]["init"] == str(run / "float" / "model.pt")
        assert trial.user_attrs["config"]["model"] == f"{example / 'model.py'}:build"

    stamp = (run / "float" / "model.pt").stat().st_mtime_ns
    again = run_cli(["search", "--space", "space.yaml", "--trials", "5", "--out",
                     "runs/my_lenet"], cwd=example)
    assert again.returncode == 0, again.stderr
    assert PRETRAINING not in again.stdout
    assert (run / "float" / "model.pt").stat().st_mtime_ns == stamp
    assert load_study(Manifest.read(run)).user_attrs[Key.FLOAT_REFERENCE] == reference
    assert len(pd.read_csv(run / "trials.csv")) == 5

    # A resume after the model file changed is refused, naming the file.
    (example / "model.py").write_text((example / "model.py").read_text() + "\n# edited\n")
    changed = run_cli(command[1:], cwd=example)
    assert changed.returncode == 2
    assert "model.py changed since the study was made" in changed.stderr
    assert changed.stderr.count("\n") == 1


def test_two_worker_processes_share_one_pretrained_network(example):
    storage = f"sqlite:///{example / 'study.db'}"
    args = ["worker", "--storage", storage, "--study", "lenet", "--space", "space.yaml",
            "--trials", "3", "--out", "run"]
    workers = [start_cli(args, cwd=example) for _ in range(2)]
    outputs = [w.communicate(timeout=300)[0] for w in workers]
    assert [w.returncode for w in workers] == [0, 0], outputs
    assert sum(out.count(PRETRAINING) for out in outputs) == 1
    study = optuna.load_study(study_name="lenet", storage=storage)
    complete = study.get_trials(states=(optuna.trial.TrialState.COMPLETE,))
    assert len(complete) == 3
    assert study.user_attrs[Key.FLOAT_REFERENCE]["val_accuracy"] > 0.5


def test_ray_backend_runs_the_user_files(example):
    done = run_cli(["search", "--space", "space.yaml", "--trials", "2", "--backend", "ray",
                    "--workers", "2", "--cpus-per-trial", "1", "--out", "ray_run"],
                   cwd=example, timeout=500)
    assert done.returncode == 0, done.stderr[-3000:]
    trials = pd.read_csv(example / "ray_run" / "trials.csv")
    assert list(trials["status"]) == ["ok", "ok"]
    assert trials["cfg.model"].eq(f"{example / 'model.py'}:build").all()
    assert trials["accuracy_drop"].notna().all()
