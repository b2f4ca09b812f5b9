"""What a watcher of a search sees: each epoch of a running trial, the annealing note while the
window is open, plain lines off a terminal and a tqdm bar on one."""

from __future__ import annotations

import io

import pytest
from optuna.trial import TrialState

from codesign.config import AnnealConfig
from codesign.quant import AnnealingController, make_quantizer
from codesign.record import Key, Status
from codesign.search import SearchRequest, load_study, prepare
from codesign.search.study import Progress
from codesign.search.trial import run_trial
from codesign.testing import write_space
from codesign.train import ANNEALING_NOTE


@pytest.fixture(autouse=True)
def eager(monkeypatch):
    monkeypatch.setenv("CODESIGN_COMPILE", "0")  # compiling would outlast these short runs


@pytest.mark.parametrize(("sync", "start", "end"), [
    ("overlapped", 0.0, 1.0), ("partition", 0.0, 0.6), ("same_end", 0.2, 0.8),
])
def test_the_window_is_open_until_every_layer_has_annealed(sync, start, end):
    anneal = AnnealConfig(sync=sync, start=start, end=end)
    layers = [[make_quantizer(role, "int", 4, "ana", anneal) for role in ("weight", "activation")]
              for _ in range(3)]
    controller = AnnealingController(layers, anneal)
    for tau in (0.0, start, (start + end) / 2, end - 1e-6):
        assert controller.window_open(tau), tau
        controller.step(tau)
        assert any(q.noise()[1] > 0 for layer in layers for q in layer)  # noise still on
    for tau in (end, (end + 1) / 2, 1.0):
        assert not controller.window_open(tau), tau
        controller.step(tau)
        assert all(q.noise()[1] == 0 for layer in layers for q in layer)  # the hard stair


@pytest.fixture
def study(tmp_path):
    space = write_space(tmp_path, anneal={"noise": "normal", "end": 0.6},
                        train={"epochs": 2, "batch_size": 256, "lr": 3.0e-3})
    manifest, settings, _ = prepare(SearchRequest(space=str(space), trials=2,
                                                  out=tmp_path / "run", baselines=False))
    return manifest, settings


def test_a_trial_records_each_epoch_and_whether_it_was_annealing(study):
    manifest, settings = study
    optuna_study = load_study(manifest)
    trial = optuna_study.ask()
    run_trial(trial, settings.load_space(), settings, num_threads=1)
    attrs = optuna_study.trials[0].user_attrs
    assert attrs[Key.STATUS] == Status.OK
    # The window closes at 60% of training: still open after epoch 1 (tau 0.5), not after 2.
    assert [c["annealing"] for c in attrs[Key.CURVES]] == [True, False]
    latest = attrs[Key.LATEST_EPOCH]
    assert latest == {"epoch": 2, "epochs": 2, "annealing": False,
                      "val_accuracy": attrs[Key.CURVES][-1]["val_accuracy"]}


def _epoch(trial, epoch: int, annealing: bool, accuracy: float) -> None:
    trial.set_user_attr(Key.LATEST_EPOCH, {"epoch": epoch, "epochs": 4,
                                           "val_accuracy": accuracy, "annealing": annealing})


def test_off_a_terminal_progress_is_plain_lines_with_the_annealing_note(study):
    manifest, _ = study
    out = io.StringIO()
    progress = Progress(manifest.storage, manifest.study, target=2, stream=out)
    trial = load_study(manifest).ask()
    progress.poll()
    assert out.getvalue() == ""  # a trial before its first epoch shows nothing yet
    for epoch, annealing in ((1, True), (2, True), (3, False)):
        _epoch(trial, epoch, annealing, 0.1 * epoch)
        progress.poll()
    progress.poll()  # nothing new: no line
    lines = out.getvalue().splitlines()
    assert len(lines) == 3 and "\r" not in out.getvalue()
    assert "trial 0    epoch 1/4  val acc (quantized) 0.1000" in lines[0]
    assert lines[0].endswith(f"({ANNEALING_NOTE})")  # in full the first time
    assert lines[1].endswith("epoch 2/4  val acc (quantized) 0.2000  (annealing)")
    assert lines[2].endswith("epoch 3/4  val acc (quantized) 0.3000")


def test_on_a_terminal_progress_is_a_bar_of_trials_with_the_running_epochs(study, monkeypatch):
    monkeypatch.setenv("COLUMNS", "160")  # the terminal's width: the bar fits it
    manifest, _ = study
    optuna_study = load_study(manifest)
    out = io.StringIO()
    progress = Progress(manifest.storage, manifest.study, target=2, stream=out, live=True)
    running = optuna_study.ask()
    _epoch(running, 2, True, 0.15)
    progress.poll()
    text = out.getvalue()
    assert f"trial 0    epoch 2/4  val acc (quantized) 0.1500  ({ANNEALING_NOTE})" in text
    shown = text.split("\r")[-1]
    assert "0/2 trials" in shown and "trial 0 epoch 2/4 annealing" in shown
    finished = optuna_study.ask()
    finished.set_user_attr(Key.STATUS, Status.OK)
    finished.set_user_attr(Key.VAL_ACCURACY, 0.9)
    optuna_study.tell(finished, [0.9, 1000.0, 200.0], state=TrialState.COMPLETE)
    _epoch(running, 3, False, 0.8)
    progress.poll()
    text = out.getvalue()
    assert "[1/2] trial 1" in text and "acc 0.9000" in text  # the finished trial's line
    shown = text.split("\r")[-1]
    assert "1/2 trials" in shown and "trial 0 epoch 3/4" in shown and "annealing" not in shown
    assert text.count(ANNEALING_NOTE) == 1  # said once, above the bar
    other = optuna_study.ask()  # two trials at once: the short form
    _epoch(other, 1, True, 0.1)
    progress.poll()
    assert out.getvalue().split("\r")[-1].rstrip().endswith(
        "epochs t0 3/4 t2 1/4* (*annealing)")
