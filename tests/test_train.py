"""One trial on the embedded digits: hard-quantized accuracies, curves, checkpoint, failure modes,
and the `codesign train` command around it."""

from __future__ import annotations

import dataclasses
import json
import math
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import torch

from codesign.cli import main
from codesign.config import AnnealConfig, LayerQuant, TrainConfig, TrialConfig
from codesign.data import load_dataset, make_loaders
from codesign.record import Status
from codesign.train import ANNEALING_NOTE, TrialResult, build_model, evaluate, train_trial

CHANCE = 0.1  # ten balanced classes
CURVE_KEYS = {"epoch", "train_loss", "train_accuracy", "val_accuracy", "seconds", "annealing"}
CHECKPOINT_FILES = {"model.pt", "config.json", "result.json"}


@pytest.fixture(autouse=True)
def eager_and_one_thread(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Digits batches are small: compiling the quantizer kernels costs more than a whole trial,
    and one thread is faster than two on cores shared with other processes."""
    monkeypatch.setenv("CODESIGN_COMPILE", "0")
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def digits_config(epochs: int = 2, seed: int = 0, **train: Any) -> TrialConfig:
    """Mixed precision on every layer of digits_cnn: 8-bit ends, ternary and 4-bit middle."""
    layers = {
        "conv1": LayerQuant.of(8, 8),
        "conv2": LayerQuant(w_format="ternary", w_bits=2, a_bits=4),
        "conv3": LayerQuant.of(4, 4, estimator="ste"),
        "fc": LayerQuant.of(8, 8),
    }
    return TrialConfig(
        model="digits_cnn", dataset="digits", layers=layers,
        anneal=AnnealConfig(sync="same_end", end=0.9),
        train=TrainConfig(epochs=epochs, seed=seed, **train),
    )


def curves_without_time(result: TrialResult) -> list[dict[str, float]]:
    return [{k: v for k, v in row.items() if k != "seconds"} for row in result.curves]


def test_trial_reports_hard_quantized_accuracy_curves_and_a_reloadable_checkpoint(
    tmp_path: Path,
) -> None:
    cfg = digits_config(epochs=2)
    seen: list[dict[str, Any]] = []

    def record(metrics: dict[str, Any]) -> bool:
        seen.append(metrics)
        return False

    out = tmp_path / "trial"
    result = train_trial(cfg, out, on_epoch=record, num_threads=1)

    assert result.status == Status.OK and result.reason is None
    assert result.val_accuracy > 6 * CHANCE and result.test_accuracy > 6 * CHANCE
    assert result.epochs == 2 and [row["epoch"] for row in result.curves] == [1, 2]
    assert all(set(row) == CURVE_KEYS for row in result.curves) and seen == result.curves
    # The window closes at 90% of training: open at the end of epoch 1 of 2, closed at 2.
    assert [row["annealing"] for row in result.curves] == [True, False]
    assert all(math.isfinite(row["train_loss"]) for row in result.curves)
    assert result.curves[-1]["train_loss"] < result.curves[0]["train_loss"]
    val_curve = [row["val_accuracy"] for row in result.curves]
    assert result.val_accuracy == max(val_curve)
    assert result.best_epoch == val_curve.index(max(val_curve)) + 1
    assert result.seconds >= sum(row["seconds"] for row in result.curves) > 0

    assert result.checkpoint == str(out)
    assert {p.name for p in out.iterdir()} == CHECKPOINT_FILES
    assert TrialConfig.from_json_file(out / "config.json") == cfg
    assert json.loads((out / "result.json").read_text()) == result.to_dict()

    state = torch.load(out / "model.pt", weights_only=True)
    splits = load_dataset(cfg.dataset, **cfg.dataset_args)
    fresh = build_model(cfg)
    fresh.load_state_dict(state)
    _, val_loader, test_loader = make_loaders(splits, cfg.train.batch_size)
    assert evaluate(fresh, val_loader) == result.val_accuracy
    assert evaluate(fresh, test_loader) == result.test_accuracy


def test_same_seed_gives_the_same_trial_on_the_cpu(tmp_path: Path) -> None:
    first = train_trial(digits_config(epochs=1), tmp_path / "a")
    again = train_trial(digits_config(epochs=1), tmp_path / "b")
    other = train_trial(digits_config(epochs=1, seed=1))
    assert curves_without_time(first) == curves_without_time(again)
    assert (first.val_accuracy, first.test_accuracy) == (again.val_accuracy, again.test_accuracy)
    weights_a = torch.load(tmp_path / "a" / "model.pt", weights_only=True)
    weights_b = torch.load(tmp_path / "b" / "model.pt", weights_only=True)
    assert weights_a.keys() == weights_b.keys()
    assert all(torch.equal(weights_a[k], weights_b[k]) for k in weights_a)
    assert other.curves[0]["train_loss"] != first.curves[0]["train_loss"]
    assert other.checkpoint is None


@pytest.mark.parametrize(
    "train, symptom",
    [
        ({"lr": 1e6}, "(limit "),  # Adam: the loss explodes after one step
        ({"lr": 1e30, "optimizer": "sgd"}, "training loss nan"),  # the weights overflow
    ],
)
def test_diverging_trial_fails_with_a_reason_instead_of_raising(
    tmp_path: Path, train: dict[str, Any], symptom: str
) -> None:
    result = train_trial(digits_config(epochs=2, **train), tmp_path / "diverged")
    assert result.status == Status.FAILED
    assert result.reason.startswith("diverged at epoch 1: ") and symptom in result.reason
    assert "lower the learning rate" in result.reason
    assert result.val_accuracy is None and result.test_accuracy is None and result.epochs == 0
    recorded = json.loads((tmp_path / "diverged" / "result.json").read_text())
    assert recorded["status"] == "failed" and recorded["reason"] == result.reason


def test_on_epoch_returning_true_stops_the_trial() -> None:
    seen: list[dict[str, Any]] = []

    def stop_after_first(metrics: dict[str, Any]) -> bool:
        seen.append(metrics)
        return metrics["epoch"] >= 1

    result = train_trial(digits_config(epochs=5), on_epoch=stop_after_first)
    assert result.status == Status.STOPPED and result.reason == "stopped after epoch 1"
    assert result.epochs == 1 and len(result.curves) == 1 and seen == result.curves
    assert result.best_epoch == 1 and result.val_accuracy == result.curves[0]["val_accuracy"]
    assert result.test_accuracy is not None


def test_cli_train_prints_one_json_line_last(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "cli"
    code = main(["train", "--space", "digits_cnn", "--epochs", "1", "--json", "--out", str(out)])
    assert code == 0
    summary = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert summary["status"] == "ok" and summary["epochs"] == 1
    assert summary["val_accuracy"] > 3 * CHANCE and summary["test_accuracy"] > 3 * CHANCE
    assert summary["seconds"] > 0 and summary["checkpoint"] == str(out)
    assert {p.name for p in out.iterdir()} == CHECKPOINT_FILES
    assert TrialConfig.from_json_file(out / "config.json").train.epochs == 1


def test_cli_train_prints_each_epoch_and_says_why_accuracy_is_low_while_annealing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "trial.json"
    config.write_text(digits_config(epochs=2).to_json())
    assert main(["train", "--config", str(config), "--out", str(tmp_path / "cli")]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("epoch   1/2  loss ") and "elapsed " in lines[0]
    assert " eta " in lines[0] and lines[0].endswith(f"({ANNEALING_NOTE})")
    assert lines[1].startswith("epoch   2/2  loss ") and "annealing" not in lines[1]
    assert " eta " not in lines[1]


def test_cli_train_runs_a_trial_json_with_overrides(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "trial.json"
    config.write_text(digits_config(epochs=4).to_json())
    out = tmp_path / "cli"
    code = main(["train", "--config", str(config), "--epochs", "1", "--seed", "3", "--json",
                 "--out", str(out)])
    assert code == 0
    summary = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert summary["epochs"] == 1
    ran = TrialConfig.from_json_file(out / "config.json")
    assert ran == dataclasses.replace(
        digits_config(), train=TrainConfig(epochs=1, seed=3)
    )


BAD_TRIALS = [
    ("{not json", "is not valid JSON"),
    ('{"model": "digits_cnn"}', "missing field 'dataset'"),
    ('{"model": "digits_cnn", "dataset": "digits", "layers": {"conv1": {"w_bits": 99}}}',
     "layers.conv1: weight bits: 99 bits is impossible"),
    ('{"model": "digits_cnn", "dataset": "digits", "train": {"lr": -1}}', "lr=-1"),
    ('{"model": "nope", "dataset": "digits"}', "unknown model 'nope'; choose one of: "),
    ('{"model": "digits_cnn", "dataset": "digits", "layers": {"conv9": {}}}', "conv9"),
]


@pytest.mark.parametrize("text, culprit", BAD_TRIALS)
def test_cli_bad_trial_json_is_exit_code_2_and_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], text: str, culprit: str
) -> None:
    config = tmp_path / "trial.json"
    config.write_text(text)
    out = tmp_path / "never"
    assert main(["train", "--config", str(config), "--json", "--out", str(out)]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    lines = captured.err.splitlines()
    assert len(lines) == 1 and lines[0].startswith("codesign: error: ")
    assert culprit in lines[0]
    assert not out.exists()


@pytest.mark.parametrize(
    "extra, culprit",
    [
        (["--config", "missing.json"], "missing.json does not exist"),
        (["--config", "trial.json", "--w-bits", "4"], "drop --w-bits/--a-bits"),
    ],
)
def test_cli_train_argument_mistakes_are_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
    extra: list[str], culprit: str,
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "trial.json").write_text(digits_config().to_json())
    assert main(["train", *extra]) == 2
    lines = capsys.readouterr().err.splitlines()
    assert len(lines) == 1 and culprit in lines[0]
    assert not (tmp_path / "runs").exists()
