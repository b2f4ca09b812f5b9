"""The study storage: many processes opening one fresh database at once."""

from __future__ import annotations

import multiprocessing

import optuna

from codesign.search import open_storage


def _open(url: str) -> int:
    return len(optuna.get_all_study_names(open_storage(url)))


def test_processes_opening_a_fresh_sqlite_study_together_all_succeed(tmp_path):
    """Workers and a polling reader start together on a new file: one creates the schema
    while the others meet it half made, and must open it anyway."""
    context = multiprocessing.get_context("fork")
    for round_ in range(3):
        url = f"sqlite:///{tmp_path / f'study{round_}.db'}"
        with context.Pool(6) as pool:
            assert pool.map(_open, [url] * 6) == [0] * 6


def _claim(url: str, asks: int) -> list[int]:
    """Ask for `asks` trials of study "queue" and finish each; returns their ids."""
    optuna.logging.set_verbosity(optuna.logging.ERROR)
    study = optuna.load_study(study_name="queue", storage=open_storage(url))
    claimed = []
    for _ in range(asks):
        trial = study.ask()
        claimed.append(trial._trial_id)
        study.tell(trial, 0.0)
    return claimed


def test_workers_on_sqlite_never_claim_the_same_queued_trial(tmp_path):
    """SQLite ignores SELECT FOR UPDATE: without a lock taken when a transaction begins, two
    processes read one WAITING trial and both run it (the second then fails to finish it)."""
    url = f"sqlite:///{tmp_path / 'queue.db'}"
    study = optuna.create_study(study_name="queue", storage=open_storage(url))
    for x in range(30):
        study.enqueue_trial({"x": x})
    with multiprocessing.get_context("fork").Pool(3) as pool:
        claimed = [i for ids in pool.starmap(_claim, [(url, 10)] * 3) for i in ids]
    assert len(claimed) == 30 == len(set(claimed))
    assert all(t.state.name == "COMPLETE" for t in study.get_trials())
