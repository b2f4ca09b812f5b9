"""Backends by name: one signature, and every backend is given the study's total budget."""

from __future__ import annotations

import inspect
import io

from codesign.search import BACKENDS, Resources, SearchRequest, run_search
from codesign.testing import write_space


def test_the_registered_backends_share_one_signature():
    assert BACKENDS.names() == ["local", "ray"]
    signatures = {str(inspect.signature(BACKENDS.get(name))) for name in BACKENDS.names()}
    assert len(signatures) == 1


def test_a_backend_is_given_the_total_budget_and_the_merged_resources(tmp_path, monkeypatch):
    calls: list[tuple] = []
    monkeypatch.setitem(BACKENDS._entries, "probe", lambda *args: calls.append(args))
    # The probe runs no trial, and an empty study has no report to write.
    monkeypatch.setattr("codesign.search.study._run.report_study", lambda *args: None)
    space = write_space(tmp_path, resources={"cpus_per_trial": 2})
    out = tmp_path / "run"
    request = SearchRequest(space=str(space), trials=4, backend="probe", workers=3, out=out,
                            gpus_per_trial=0.5)
    run_search(request, stream=io.StringIO())
    assert len(calls) == 1
    storage, study, target, run_dir, resources = calls[0]
    assert (study, target, run_dir) == ("digits_small", 4, out.resolve())
    assert storage.endswith("study.db")
    assert resources == Resources(workers=3, cpus_per_trial=2, gpus_per_trial=0.5, device="auto")
