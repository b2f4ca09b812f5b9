"""A full disk and a read-only run directory end a search with one line naming the real cause
(not Optuna's "exceeding max length" traceback), and the study stays intact.

The disk is real: a small tmpfs mounted over the run directory inside a user and mount
namespace (`unshare`), filled up with a file, then remounted read-only; a read-only folder
made with chmod would not stop root, which the tests may run as."""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import sys

import pytest

from codesign.testing import CODE_ROOT, write_space


def _namespaces() -> bool:
    if shutil.which("unshare") is None:
        return False
    probe = subprocess.run(["unshare", "--user", "--map-root-user", "--mount", "true"],
                           capture_output=True)
    return probe.returncode == 0


pytestmark = pytest.mark.skipif(not _namespaces(),
                                reason="needs `unshare` with user and mount namespaces")

SCRIPT = """
set -u
mount -t tmpfs -o size=8m tmpfs "$DISK"
search() {{ {python} -m codesign search --space {space} --epochs 1 --out "$DISK/run" "$@"; }}
search --trials 1 > "$LOGS/first.out" 2>&1 || exit 11
dd if=/dev/zero of="$DISK/filler" bs=64k 2>/dev/null
search --trials 2 > "$LOGS/full.out" 2> "$LOGS/full.err"; echo $? > "$LOGS/full.rc"
cp "$DISK/run/study.db" "$LOGS/full.db"
mount -o remount,ro "$DISK"
search --trials 2 > "$LOGS/ro.out" 2> "$LOGS/ro.err"; echo $? > "$LOGS/ro.rc"
cp "$DISK/run/study.db" "$LOGS/ro.db"
"""


def _one_line(logs, name: str, cause: str) -> None:
    err = (logs / f"{name}.err").read_text()
    lines = err.strip().splitlines()
    assert (logs / f"{name}.rc").read_text().strip() == "1", err
    assert len(lines) == 1 and cause in lines[0], err
    assert "Traceback" not in (logs / f"{name}.out").read_text() + err


def _intact(db) -> None:
    with sqlite3.connect(db) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        states = conn.execute("SELECT state FROM trials").fetchall()
    assert states == [("COMPLETE",)]


def test_a_full_disk_and_a_read_only_run_directory_are_one_line_each(tmp_path):
    disk, logs = tmp_path / "disk", tmp_path / "logs"
    disk.mkdir()
    logs.mkdir()
    space = write_space(tmp_path, layers={"w_bits": [8], "a_bits": [8]})
    script = SCRIPT.format(python=sys.executable, space=space)
    env = {**os.environ, "PYTHONPATH": str(CODE_ROOT), "OMP_NUM_THREADS": "1",
           "DISK": str(disk), "LOGS": str(logs)}
    done = subprocess.run(["unshare", "--user", "--map-root-user", "--mount", "bash", "-c",
                           script], env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr + (logs / "first.out").read_text()[-2000:]
    _one_line(logs, "full", "no space left on the device")
    _intact(logs / "full.db")
    _one_line(logs, "ro", "read-only")
    _intact(logs / "ro.db")
