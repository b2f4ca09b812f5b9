"""`codesign export --format ... --check / --front` on a real (tiny) search, and the trials
it refuses with one line and exit code 2."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import onnx
import optuna
import pytest

from codesign.cli import main
from codesign.search import Manifest, SearchRequest, load_study, run_search
from codesign.testing import write_space


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("search")
    out = folder / "run"
    run_search(SearchRequest(space=str(write_space(folder)), trials=2, epochs=1, seed=5,
                             out=out, baselines=False, workers=1, cpus_per_trial=1))
    return out


def finished(out: Path) -> int:
    study = load_study(Manifest.read(out))
    return next(t.number for t in study.get_trials() if t.user_attrs.get("status") == "ok")


def test_export_writes_every_format_and_checks_it(run_dir, tmp_path, capsys):
    number = finished(run_dir)
    code = main(["export", "--out", str(run_dir), "--trial", str(number), "--dest",
                 str(tmp_path), "--format", "onnx,qonnx,pytorch", "--check"])
    printed = capsys.readouterr().out
    assert code == 0, printed
    for name in ("model.onnx", "model.qonnx.onnx", "model.pt", "config.json",
                 "model.onnx.report.csv", "model.qonnx.onnx.report.csv"):
        assert (tmp_path / name).is_file()
    props = {p.key: p.value for p in onnx.load(tmp_path / "model.onnx").metadata_props}
    assert json.loads(props["codesign.config"]) == json.loads(
        (tmp_path / "config.json").read_text())
    assert props["codesign.trial"] == str(number)
    assert "generic" in json.loads(props["codesign.costs"])
    assert printed.count("100.00% of 359 predictions agree") == 2


def test_front_exports_every_pareto_optimal_trial(run_dir, capsys):
    front = json.loads((run_dir / "summary.json").read_text())["front"]
    assert main(["export", "--out", str(run_dir), "--front", "--format", "onnx"]) == 0
    for number in front:
        assert (run_dir / "export" / f"trial-{number}" / "model.onnx").is_file()
        assert not (run_dir / "export" / f"trial-{number}" / "model.pt").exists()


def refused(args: list[str], capsys) -> str:
    assert main(["export", *args]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1
    return err


def test_unexportable_trials_are_refused_with_their_reason(run_dir, tmp_path, capsys):
    study = load_study(Manifest.read(run_dir))
    config = study.get_trials()[0].user_attrs["config"]
    failed = optuna.trial.create_trial(
        state=optuna.trial.TrialState.COMPLETE, values=[0.1, 1.0, 1.0],
        user_attrs={"status": "failed", "reason": "diverged at epoch 1", "config": config})
    over = optuna.trial.create_trial(
        state=optuna.trial.TrialState.COMPLETE, values=[0.0, 1.0, 1.0],
        user_attrs={"status": "infeasible", "feasible": False, "config": config,
                    "reason": "generic.bops above the budget"})
    study.add_trial(failed)
    study.add_trial(over)
    running = study.ask()
    numbers = [t.number for t in study.get_trials()][-3:]
    base = ["--out", str(run_dir), "--dest", str(tmp_path), "--format", "onnx", "--trial"]
    assert "diverged at epoch 1" in refused([*base, str(numbers[0])], capsys)
    assert f"trial {numbers[1]} is over budget" in refused([*base, str(numbers[1])], capsys)
    assert f"trial {running.number} is unfinished" in refused([*base, str(numbers[2])], capsys)
    number = finished(run_dir)
    trials = run_dir / "trials"
    moved = run_dir.parent / "trials-away"
    shutil.move(trials, moved)
    try:
        assert f"trial {number} has no checkpoint" in refused([*base, str(number)], capsys)
    finally:
        shutil.move(moved, trials)
    assert "unknown export format 'tflite'" in refused(
        ["--out", str(run_dir), "--trial", str(number), "--format", "tflite"], capsys)
