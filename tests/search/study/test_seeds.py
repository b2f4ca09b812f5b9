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


def test_seeds_meet_each_uniform_baseline_at_its_cost_and_fill_below_the_cheapest():
    """One seed at the cost of each affordable uniform baseline, mixed (not the baseline) and
    no dearer on the first cost; the others below the cheapest baseline; all in budget."""
    import optuna

    from codesign.search.study import measure_space, uniform_params
    from codesign.search.trial import score

    space = load_space("digits_cnn")
    sensitivity = measure_space(space, None, seed=0, samples=2, batch=32)
    seeds = pick_seeds(space, space.objectives, sensitivity, 4)

    def bops(params):
        costs, _ = score(space.sample(optuna.trial.FixedTrial(params)), space.cost_models)
        return costs["generic"]["bops"]

    # Uniform 8 bits is over the space's 2e7 BOPs budget: only 4 and 2 bits get a seed.
    uniform = {bits: uniform_params(space, bits) for bits in (4, 2)}
    at_cost = {bits: [s for s in seeds if s.budget == pytest.approx(bops(params))]
               for bits, params in uniform.items()}
    for bits, (seed,) in at_cost.items():
        assert seed.params != uniform[bits]
        assert bops(seed.params) == pytest.approx(seed.cost) and seed.cost <= seed.budget
    below = [s for s in seeds if all(s not in found for found in at_cost.values())]
    assert len(below) == 2
    assert all(bops(s.params) <= s.budget < bops(uniform[2]) for s in below)
    assert [s.budget for s in seeds] == sorted(s.budget for s in seeds)
    assert all(bops(s.params) <= 2.0e7 for s in seeds)


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
