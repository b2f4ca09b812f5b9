"""Where a run directory says a study lives, that study must be there: an empty, foreign or
missing study file is refused with one line, and no checkpoint of an earlier study is ever
written over, even by a new study started in the same folder."""

from __future__ import annotations

import hashlib
from pathlib import Path

from codesign.cli import main
from codesign.record import Key
from codesign.search import Manifest, SearchRequest, load_study, run_search
from codesign.testing import write_space


def _hashes(folder: Path) -> dict[str, str]:
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def _refused(args: list[str], capsys, culprit: str) -> None:
    assert main(args) == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1 and culprit in lines[0], lines


def test_an_empty_or_foreign_study_file_is_refused_and_no_checkpoint_is_overwritten(
        tmp_path, capsys):
    space = write_space(tmp_path, layers={"w_bits": [8], "a_bits": [8]})
    out = tmp_path / "run"
    run_search(SearchRequest(space=str(space), trials=1, epochs=1, out=out))
    trials = out / "trials"
    before = _hashes(trials)
    assert before
    db = out / "study.db"
    args = ["search", "--space", str(space), "--trials", "2", "--epochs", "1", "--out",
            str(out)]

    db.write_bytes(b"")
    _refused(args, capsys, f"the study file {db} is empty (0 bytes)")
    assert db.stat().st_size == 0  # not made into a new database
    db.write_bytes(b"this is not a database\n")
    _refused(args, capsys, "is not a SQLite database")
    db.unlink()
    _refused(args, capsys, f"{db} is missing")
    assert _hashes(trials) == before

    # Starting over in the same folder: the new study's trial 0 gets a folder of its own.
    (out / "search.json").unlink()
    assert main(args[:4] + ["1"] + args[5:]) == 0
    assert _hashes(trials).items() >= before.items()
    (trial,) = load_study(Manifest.read(out)).get_trials()
    assert trial.number == 0
    assert Path(trial.user_attrs[Key.CHECKPOINT]) == trials / "trial-0-2"
