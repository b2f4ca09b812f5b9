"""Searches that really train: the local backend end to end, resume, budgets, re-scoring,
export and the errors a user can make."""

from __future__ import annotations

import io
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import optuna
import pandas as pd
import pytest
import torch
from optuna.trial import TrialState

from codesign.cli import main
from codesign.config import TrialConfig
from codesign.errors import CodesignError
from codesign.network import config_costs as score_config
from codesign.record import Key, Status
from codesign.search import (
    Manifest,
    SearchRequest,
    export_trial,
    load_study,
    report_study,
    run_search,
)
from codesign.testing import write_space


@pytest.fixture(scope="module")
def finished(tmp_path_factory) -> tuple[Path, Path]:
    """One 4-trial, 2-epoch search shared by the tests that only read it."""
    folder = tmp_path_factory.mktemp("search")
    space = write_space(folder)
    out = folder / "run"
    run_search(SearchRequest(space=str(space), trials=4, epochs=2, seed=3, out=out))
    return space, out


def stored(out: Path) -> optuna.Study:
    return load_study(Manifest.read(out))


def complete(study: optuna.Study) -> list[optuna.trial.FrozenTrial]:
    return study.get_trials(states=(TrialState.COMPLETE,))


def test_local_search_stores_trained_trials_and_writes_the_front(finished):
    _, out = finished
    trials = complete(stored(out))
    assert len(trials) == 4
    for trial in trials:
        attrs = trial.user_attrs
        assert attrs[Key.STATUS] == Status.OK and attrs[Key.EPOCHS] == 2
        assert 0.3 < attrs[Key.VAL_ACCURACY] <= 1.0  # ten classes: chance is 0.1
        assert trial.values[0] == attrs[Key.VAL_ACCURACY]
        assert attrs[Key.COSTS]["generic"]["bops"] == trial.values[1]
        assert (Path(attrs[Key.CHECKPOINT]) / "model.pt").is_file()
    table = pd.read_csv(out / "trials.csv")
    assert sorted(table["number"]) == [t.number for t in trials]
    front = pd.read_csv(out / "pareto.csv")
    assert 1 <= len(front) <= 4 and front["on_front"].all()
    for name in ("pareto.png", "pareto.html", "summary.json"):
        assert (out / name).stat().st_size > 0
    summary = json.loads((out / "summary.json").read_text())
    assert sorted(summary["front"]) == sorted(front["number"])
    assert 0 < summary["hypervolume"] < 1


def test_rescoring_equals_scoring_from_scratch(finished, tmp_path):
    _, out = finished
    report = report_study(Manifest.read(out), tmp_path, hw=["bitfusion", "npu_int8"])
    assert [o.column for o in report.objectives] == [
        "val_accuracy", "bitfusion.latency_s", "bitfusion.energy_pj",
        "npu_int8.latency_s", "npu_int8.energy_pj"]
    for trial in complete(stored(out)):
        cfg = TrialConfig.from_dict(trial.user_attrs[Key.CONFIG])
        fresh = score_config(cfg, ["generic", "bitfusion", "npu_int8"])
        row = report.frame.set_index("number").loc[trial.number]
        for model, metrics in fresh.items():
            for metric, value in metrics.items():
                assert row[f"{model}.{metric}"] == pytest.approx(value, rel=1e-12)
    # Re-scoring writes a report and leaves the stored costs alone.
    assert (tmp_path / "pareto.csv").is_file()
    assert all("bitfusion" not in t.user_attrs[Key.COSTS] for t in complete(stored(out)))


def test_export_gives_config_checkpoint_and_layer_costs(finished, tmp_path):
    from codesign.data import load_dataset, make_loaders
    from codesign.train import build_model, evaluate

    _, out = finished
    trial = complete(stored(out))[0]
    paths = export_trial(Manifest.read(out), trial.number, tmp_path / "export")
    cfg = TrialConfig.from_json_file(paths["config"])
    costs = pd.read_csv(paths["costs_csv"])
    assert list(costs["layer"]) == list(cfg.layers)
    bops = trial.user_attrs[Key.COSTS]["generic"]["bops"]
    assert costs["generic.bops"].sum() == pytest.approx(bops)
    splits = load_dataset(cfg.dataset)
    model = build_model(cfg)
    model.load_state_dict(torch.load(paths["checkpoint"], weights_only=True))
    _, val_loader, _ = make_loaders(splits, 256, seed=0)
    assert evaluate(model, val_loader) == pytest.approx(trial.user_attrs[Key.VAL_ACCURACY])


def test_rerun_with_other_objectives_is_refused_with_the_fix(finished, capsys):
    space, out = finished
    code = main(["search", "--space", str(space), "--trials", "4", "--epochs", "2",
                 "--seed", "3", "--out", str(out), "--hw", "bitfusion"])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1
    assert "codesign pareto --hw" in err[0]
    assert len(complete(stored(out))) == 4


def test_rerun_of_a_finished_search_trains_nothing(finished):
    space, out = finished
    before = {t.number: t.datetime_complete for t in complete(stored(out))}
    stream = io.StringIO()
    # Without --epochs the study's own are kept; fewer trials than it holds runs none.
    run_search(SearchRequest(space=str(space), trials=2, seed=3, out=out), stream=stream)
    assert "0 trial(s) to run of 2" in stream.getvalue()
    after = {t.number: t.datetime_complete for t in complete(stored(out))}
    assert after == before


def test_another_search_cannot_take_over_a_run_directory(finished, capsys):
    _, out = finished
    before = (out / "trials.csv").read_text()
    code = main(["search", "--space", "cifar10_resnet20", "--trials", "1", "--out", str(out)])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1 and "holds the search of study 'digits_small'" in err[0]
    assert (out / "trials.csv").read_text() == before
    assert Manifest.read(out).study == "digits_small"


def test_a_mistyped_objective_metric_fails_before_any_trial(tmp_path, capsys):
    space = write_space(tmp_path, objectives=["accuracy", "generic.bopz"])
    code = main(["search", "--space", str(space), "--out", str(tmp_path / "run")])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1
    assert "no metric 'bopz'" in err[0] and "bops" in err[0] and str(space) in err[0]
    assert not (tmp_path / "run" / "study.db").exists()


def test_a_missing_data_root_ends_the_search_with_its_one_line(tmp_path, capsys):
    space = write_space(tmp_path, dataset="mnist",
                        dataset_args={"root": str(tmp_path / "nodata")})
    code = main(["search", "--space", str(space), "--trials", "2", "--epochs", "1",
                 "--out", str(tmp_path / "run")])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1 and "dataset 'mnist' not found" in err[0]
    study = stored(tmp_path / "run")
    assert not complete(study) and len(study.get_trials(states=(TrialState.FAIL,))) == 1


def test_over_budget_configs_are_recorded_and_never_trained(tmp_path):
    space = write_space(tmp_path, constraints=[{"cost": "generic.bops", "max": 1000.0}])
    out = tmp_path / "run"
    started = time.perf_counter()
    run_search(SearchRequest(space=str(space), trials=3, epochs=2, out=out))
    trials = complete(stored(out))
    assert len(trials) == 3
    for trial in trials:
        attrs = trial.user_attrs
        assert attrs[Key.STATUS] == Status.INFEASIBLE and attrs[Key.FEASIBLE] is False
        assert "over its budget 1000" in attrs[Key.REASON]
        assert attrs.get("val_accuracy") is None and attrs[Key.COSTS]["generic"]["bops"] > 1000
        assert trial.values[0] == 0.0
    assert not (out / "trials").exists()
    assert time.perf_counter() - started < 60
    table = pd.read_csv(out / "trials.csv")
    assert not table["feasible"].any() and table["pareto_rank"].isna().all()


def test_capacity_metric_is_recorded_next_to_accuracy_and_costs(tmp_path):
    space = write_space(tmp_path, layers={"w_bits": [8], "a_bits": [8]})
    out = tmp_path / "run"
    run_search(SearchRequest(space=str(space), trials=1, epochs=1, out=out, capacity_samples=4))
    (trial,) = complete(stored(out))
    assert trial.user_attrs[Key.CAPACITY_2SED] > 0 and trial.user_attrs["capacity_seconds"] > 0
    table = pd.read_csv(out / "trials.csv")
    assert table.loc[0, "capacity_2sed"] == pytest.approx(trial.user_attrs[Key.CAPACITY_2SED])


def _wait_for_complete(db: Path, count: int, process: subprocess.Popen, limit_s: float) -> None:
    deadline = time.monotonic() + limit_s
    while time.monotonic() < deadline:
        assert process.poll() is None, "the search ended before it could be killed"
        if (db.parent / "search.json").exists():  # written once the driver made the study
            try:
                study = optuna.load_study(study_name="digits_small", storage=f"sqlite:///{db}")
                if len(complete(study)) >= count:
                    return
            except KeyError:
                pass
        time.sleep(0.5)
    raise AssertionError(f"no {count} finished trial(s) within {limit_s} s")


def test_killed_search_resumes_keeping_its_finished_trials(tmp_path):
    space = write_space(tmp_path)
    out = tmp_path / "run"
    args = ["search", "--space", str(space), "--trials", "3", "--epochs", "1", "--out", str(out)]
    process = subprocess.Popen([sys.executable, "-m", "codesign", *args],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                               start_new_session=True)
    try:
        _wait_for_complete(out / "study.db", 1, process, limit_s=240)
    finally:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()
    first = {t.number: (t.values, t.datetime_complete) for t in complete(stored(out))}
    assert first
    assert main(args) == 0
    study = stored(out)
    done = complete(study)
    assert len(done) == 3
    kept = {t.number: (t.values, t.datetime_complete) for t in done if t.number in first}
    assert kept == first
    # A trial cut off is marked failed and run again once with the parameters it had drawn;
    # one cut off while still sampling has drawn only some, and its retry samples the rest.
    for trial in study.get_trials(states=(TrialState.FAIL,)):
        retries = [t for t in done if t.user_attrs.get(Key.RETRY_OF) == trial.number]
        assert len(retries) == 1 and trial.params.items() <= retries[0].params.items()


@pytest.mark.parametrize(
    "text, culprit",
    [
        ("model: digits_cnn\ndataset: digits\nobjectives: [accuracy]\nlayers: {w_bitz: 4}\n",
         "w_bitz"),
        ("model: nosuchnet\ndataset: digits\nobjectives: [accuracy]\n", "nosuchnet"),
        ("model: digits_cnn\ndataset: digits\nobjectives: [accuracy\n", "YAML"),
        ("model: digits_cnn\ndataset: digits\nobjectives: [generic.bops]\n", "accuracy"),
    ],
)
def test_broken_space_file_fails_with_one_line(tmp_path, capsys, text, culprit):
    path = tmp_path / "broken.yaml"
    path.write_text(text)
    code = main(["search", "--space", str(path), "--out", str(tmp_path / "run")])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1
    assert str(path) in err[0] and culprit in err[0]
    assert not (tmp_path / "run" / "study.db").exists()


@pytest.mark.parametrize(
    "args, culprit",
    [
        (["--trials", "0"], "--trials"),
        (["--hw", "nosuchchip"], "nosuchchip"),
        (["--address", "127.0.0.1:1"], "--backend ray"),
        (["--storage", "postgresql://u:p@127.0.0.1:1/db"], "cannot open the study storage"),
    ],
)
def test_bad_options_fail_with_one_line(tmp_path, capsys, args, culprit):
    code = main(["search", *args, "--out", str(tmp_path / "run")])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1 and culprit in err[0]


def test_export_of_a_missing_trial_names_the_choices(finished, capsys):
    _, out = finished
    assert main(["export", "--out", str(out), "--trial", "99"]) == 2
    assert "no trial 99" in capsys.readouterr().err
    with pytest.raises(CodesignError, match="holds no search"):
        export_trial(Manifest.read(out.parent), 0, out.parent / "x")
