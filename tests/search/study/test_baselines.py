"""A new study starts from the uniform-precision corners of its space."""

from __future__ import annotations

import optuna
from optuna.trial import TrialState

from codesign.record import Key
from codesign.search import SearchRequest, load_study, prepare, uniform_bits
from codesign.space import load_space
from codesign.testing import write_space


def test_digits_space_offers_the_highest_median_and_lowest_bits():
    assert uniform_bits(load_space("digits_cnn")) == [8, 4, 2]


def test_new_study_queues_the_baselines_and_they_sample_the_uniform_configs(tmp_path):
    space_path = write_space(tmp_path, layers={"w_bits": [8, 4, 2], "a_bits": [8, 6, 4, 2]})
    manifest, settings, _ = prepare(SearchRequest(space=str(space_path), out=tmp_path / "run"))
    study = load_study(manifest)
    waiting = study.get_trials(states=(TrialState.WAITING,))
    assert [t.user_attrs[Key.BASELINE_BITS] for t in waiting] == [8, 4, 2]
    space = settings.load_space()
    for bits in (8, 4, 2):
        trial = study.ask()
        assert space.sample(trial) == space.fixed_config(w_bits=bits, a_bits=bits)
        study.tell(trial, state=TrialState.FAIL)
    # Preparing the same search again queues nothing more.
    prepare(SearchRequest(space=str(space_path), out=tmp_path / "run"))
    assert not load_study(manifest).get_trials(states=(TrialState.WAITING,))


def test_no_baselines_leaves_the_study_to_the_sampler(tmp_path):
    space_path = write_space(tmp_path)
    manifest, _, _ = prepare(SearchRequest(space=str(space_path), out=tmp_path / "run",
                                           baselines=False))
    assert load_study(manifest).get_trials() == []


def test_a_space_with_nothing_in_common_queues_nothing(tmp_path):
    space_path = write_space(tmp_path, layers={"w_bits": [8, 2], "a_bits": [6, 4]})
    manifest, _, _ = prepare(SearchRequest(space=str(space_path), out=tmp_path / "run"))
    assert isinstance(load_study(manifest), optuna.Study)
    assert load_study(manifest).get_trials() == []
