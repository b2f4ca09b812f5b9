"""Faults that must not stop a search: trials that raise or give NaN, bad endpoints, and the
per-trial resources a space file asks for. Fast: the training is replaced where it would
only cost time."""

from __future__ import annotations

import math
import socket
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from optuna.trial import TrialState

from codesign.errors import CodesignError
from codesign.record import Key, Status
from codesign.search import Manifest, SearchRequest, load_study, run_search
from codesign.search.backends import check_ray_head, split_address
from codesign.space import load_space
from codesign.testing import write_space
from codesign.train import TrialResult


@pytest.fixture
def scripted_training(monkeypatch) -> list[str]:
    """Training replaced by a script of outcomes: 'raise', 'nan', or 'ok' (the default)."""
    script: list[str] = []

    def train_trial(cfg, out_dir=None, on_epoch=None, num_threads=None,
                    device=None) -> TrialResult:
        outcome = script.pop(0) if script else "ok"
        if outcome == "raise":
            raise RuntimeError("out of memory in layer conv2")
        accuracy = math.nan if outcome == "nan" else 0.5
        return TrialResult(status=Status.OK, val_accuracy=accuracy, test_accuracy=accuracy,
                           epochs=1, best_epoch=1)

    monkeypatch.setattr("codesign.train.train_trial", train_trial)
    return script


def test_raising_and_nan_trials_are_failed_with_a_reason_and_the_search_goes_on(
        tmp_path, scripted_training):
    scripted_training.extend(["raise", "nan"])
    out = tmp_path / "run"
    run_search(SearchRequest(space=str(write_space(tmp_path)), trials=2, epochs=1, out=out))
    study = load_study(Manifest.read(out))
    failed = study.get_trials(states=(TrialState.FAIL,))
    assert len(study.get_trials(states=(TrialState.COMPLETE,))) == 2
    assert [t.user_attrs[Key.STATUS] for t in failed] == [Status.ERROR, Status.ERROR]
    assert "RuntimeError: out of memory in layer conv2" in failed[0].user_attrs[Key.REASON]
    assert "not numbers" in failed[1].user_attrs[Key.REASON]
    assert all(t.user_attrs[Key.NODE] for t in study.trials)


def test_a_worker_stops_after_failures_in_a_row(tmp_path, scripted_training):
    scripted_training.extend(["raise"] * 10)
    out = tmp_path / "run"
    run_search(SearchRequest(space=str(write_space(tmp_path)), trials=2, epochs=1, out=out))
    study = load_study(Manifest.read(out))
    assert len(study.get_trials(states=(TrialState.FAIL,))) == 5
    assert not study.get_trials(states=(TrialState.COMPLETE,))


@pytest.fixture
def listener() -> Iterator[tuple[socket.socket, list[bytes]]]:
    """A TCP server on loopback that answers every connection with the bytes queued."""
    server = socket.create_server(("127.0.0.1", 0))
    answers: list[bytes] = []

    def serve() -> None:
        while True:
            try:
                conn, _ = server.accept()
            except OSError:
                return
            if answers:
                conn.sendall(answers.pop(0))
            conn.close()

    threading.Thread(target=serve, daemon=True).start()
    yield server, answers
    server.close()


def test_a_server_that_is_not_a_ray_head_is_refused_at_once(listener):
    server, answers = listener
    answers.append(b"HTTP/1.1 400 Bad Request\r\n\r\n")
    address = f"127.0.0.1:{server.getsockname()[1]}"
    with pytest.raises(CodesignError, match="is not a Ray head"):
        check_ray_head(address, timeout=2)


def test_a_grpc_server_passes_the_probe(listener):
    server, answers = listener
    answers.append(bytes([0, 0, 0, 4, 0, 0, 0, 0, 0]))
    check_ray_head(f"127.0.0.1:{server.getsockname()[1]}", timeout=2)


@pytest.mark.parametrize("address", ["nohost", "host:port", ":6379"])
def test_a_malformed_address_names_the_form(address):
    with pytest.raises(CodesignError, match="HOST:PORT"):
        split_address(address)


def test_resources_come_from_the_space_file(tmp_path):
    space = load_space(str(write_space(tmp_path, resources={"cpus_per_trial": 2,
                                                            "gpus_per_trial": 0.5})))
    assert space.resources == {"cpus_per_trial": 2, "gpus_per_trial": 0.5}


@pytest.mark.parametrize("resources, culprit", [
    ({"cpus_per_trial": 0}, "cpus_per_trial"),
    ({"gpus_per_trial": -1}, "gpus_per_trial"),
    ({"gpus": 1}, r"resources: unknown key\(s\) \['gpus'\]"),
])
def test_bad_resources_name_the_field(tmp_path, resources, culprit):
    path: Path = write_space(tmp_path, resources=resources)
    with pytest.raises(CodesignError, match=culprit) as err:
        load_space(str(path))
    assert str(path) in str(err.value)

