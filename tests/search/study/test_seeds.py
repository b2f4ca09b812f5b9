"""A seeded study: the uniform baselines, then the integer program's configurations at spread
budgets, then the sampler; the sensitivity is stored in the study and reported."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from codesign.errors import CodesignError
from codesign.record import Key
from codesign.search import Manifest, SearchRequest, load_study, pick_seeds, run_search
from codesign.sensitivity import Sensitivity
from codesign.space import load_space
from codesign.testing import write_space

SEEDS = 2


def test_seeded_study_starts_with_the_baselines_then_the_seeds(tmp_path):
    path = write_space(
        tmp_path, layers={"w_format": ["int", "ternary", "pow2"], "w_bits": [8, 4, 2],
                          "a_bits": [8, 4, 2]},
        init={"pretrain": {"epochs": 2}}, search={"seeds": SEEDS},
    )
    out = tmp_path / "run"
    report = run_search(SearchRequest(space=str(path), trials=3 + SEEDS + 1, epochs=1,
                                      sampler="random", out=out))
    study = load_study(Manifest.read(out))
    trials = sorted(study.get_trials(deepcopy=False), key=lambda t: t.number)
    assert [t.user_attrs.get(Key.BASELINE_BITS) for t in trials[:3]] == [8, 4, 2]
    seeded = trials[3:3 + SEEDS]
    budgets = [t.user_attrs[Key.SEED_BUDGET] for t in seeded]
    assert budgets == sorted(budgets) and len(set(budgets)) == SEEDS
    assert Key.SEED_BUDGET not in trials[-1].user_attrs
    assert report.summary()["seeds"] == [t.number for t in seeded]

    # The queued seeds are the integer program's picks from the sensitivity stored in the study.
    stored = study.user_attrs[Key.SENSITIVITY]
    json.dumps(stored)
    sensitivity = Sensitivity.from_dict(stored)
    assert sensitivity.samples >= 2 and sensitivity.batch > 0
    assert [s.layer for s in sensitivity.layers] == ["conv1", "conv2", "conv3", "fc"]
    space = load_space(str(path))
    picks = pick_seeds(space, space.objectives, sensitivity, SEEDS)
    assert [p.params for p in picks] == [t.params for t in seeded]
    for trial, pick in zip(seeded, picks, strict=True):
        assert trial.user_attrs[Key.COSTS]["generic"]["bops"] == pytest.approx(pick.cost)
        assert pick.cost <= pick.budget

    table = pd.read_csv(out / "sensitivity.csv")
    assert set(table["tensor"]) == {"weight", "input"}
    assert {"ternary:2", "pow2:4", "int:2"} <= set(table["precision"])
    assert (out / "sensitivity.png").stat().st_size > 0
    trials_csv = pd.read_csv(out / "trials.csv")
    assert trials_csv[Key.SEED_BUDGET].notna().sum() == SEEDS


def test_seed_counts_are_checked(tmp_path):
    with pytest.raises(CodesignError, match="search.seeds"):
        load_space(str(write_space(tmp_path, search={"seeds": -1})))
    with pytest.raises(CodesignError, match="--seeds"):
        SearchRequest(seeds=-2).check()


def test_every_offered_precision_samples_to_itself():
    """The options the integer program chooses from are exactly what sampling can draw."""
    import optuna

    from codesign.search.study import layer_options

    space = load_space("digits_cnn")
    options = layer_options(space)
    assert [len(options[n]) for n in space.layer_names()] == [1, 12 * 6, 12 * 6, 1]
    defaults = space.fixed_config()
    for name, pairs in options.items():
        for w, a in pairs:
            params = {**w.params, **a.params}
            others = {k: v for k, v in _default(space).items() if not k.startswith(name + ".")}
            quant = space.sample(optuna.trial.FixedTrial({**others, **params})).layers[name]
            assert (quant.w_format, quant.w_bits, quant.a_format, quant.a_bits) == (
                w.fmt, w.bits, a.fmt, a.bits)
            assert quant.estimator == defaults.layers[name].estimator


def _default(space) -> dict:
    from codesign.search.study import uniform_params

    return uniform_params(space, 8)
