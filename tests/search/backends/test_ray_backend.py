"""The Ray backend on a Ray instance started by the search itself: same storage, same report."""

from __future__ import annotations

import pandas as pd
from optuna.trial import TrialState

from codesign.record import Key, Status
from codesign.search import Manifest, SearchRequest, load_study, run_search
from codesign.testing import write_space


def test_ray_search_fills_the_same_storage(tmp_path):
    space = write_space(tmp_path)
    out = tmp_path / "run"
    request = SearchRequest(space=str(space), trials=4, epochs=2, backend="ray", workers=2,
                            cpus_per_trial=1, out=out)
    report = run_search(request)
    study = load_study(Manifest.read(out))
    done = study.get_trials(states=(TrialState.COMPLETE,))
    assert len(done) == 4 == len(study.get_trials())
    for trial in done:
        attrs = trial.user_attrs
        assert attrs[Key.STATUS] == Status.OK and 0.3 < attrs[Key.VAL_ACCURACY] <= 1.0
        assert trial.values == [attrs[Key.VAL_ACCURACY], attrs[Key.COSTS]["generic"]["bops"],
                                attrs[Key.COSTS]["generic"]["model_size_bytes"]]
    assert len(pd.read_csv(out / "trials.csv")) == 4
    assert report.front and set(report.front) <= {t.number for t in done}
