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
