"""Every registered sampler runs a short study of the real space, costs and budgets, and
repeats it on the same seed. Training is replaced by a fixed function of the bits, so the
samplers, not the training, are what runs."""

from __future__ import annotations

import pytest
from optuna.trial import TrialState

from codesign.record import Key, Status
from codesign.search import SAMPLERS, Manifest, SearchRequest, load_study, run_search
from codesign.testing import write_space
from codesign.train import TrialResult

TRIALS = 5  # one past the model-based samplers' 4 random startup trials


@pytest.fixture
def bits_training(monkeypatch) -> None:
    """Accuracy rises with the mean bits of the config: a landscape with a real trade-off."""

    def train_trial(cfg, out_dir=None, on_epoch=None, num_threads=None,
                    device=None) -> TrialResult:
        bits = [q.w_bits + q.a_bits for q in cfg.layers.values()]
        accuracy = 0.5 + sum(bits) / (len(bits) * 64)
        return TrialResult(status=Status.OK, val_accuracy=accuracy, test_accuracy=accuracy,
                           epochs=1, best_epoch=1)

    monkeypatch.setattr("codesign.train.train_trial", train_trial)


def _search(tmp_path, sampler: str, run: str) -> list[dict]:
    out = tmp_path / run
    run_search(SearchRequest(space=str(write_space(tmp_path)), trials=TRIALS, epochs=1,
                             sampler=sampler, seed=3, out=out, baselines=False))
    study = load_study(Manifest.read(out))
    complete = study.get_trials(states=(TrialState.COMPLETE,))
    assert len(complete) == TRIALS
    assert all(t.user_attrs[Key.STATUS] == Status.OK for t in complete)
    return [t.params for t in sorted(complete, key=lambda t: t.number)]


@pytest.mark.parametrize("sampler", SAMPLERS.names())
def test_every_sampler_runs_a_short_study_reproducibly(tmp_path, bits_training, sampler):
    first = _search(tmp_path, sampler, "a")
    assert all({"conv2.w_bits", "conv2.a_bits"} <= set(p) for p in first)
    assert all(p["conv2.w_bits"] in (8, 2) and p["conv2.a_bits"] in (8, 4) for p in first)
    assert _search(tmp_path, sampler, "b") == first
