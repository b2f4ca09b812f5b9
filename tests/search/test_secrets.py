"""The database password is used, never shown and never written: a local search and a Ray
search on a PostgreSQL study whose role has a random password leave it in no file of the run
directory (search.json, checkpoints, Ray's experiment files and pickles) and in none of the
commands' output; a password-less URL finds it in PGPASSWORD or CODESIGN_STORAGE.

The role is made for the test (the test database's role needs CREATEROLE, which
`.ci/postgres.sh` grants) and dropped after it."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
from collections.abc import Iterator

import optuna
import pytest

from codesign.testing import CODE_ROOT, write_space


@pytest.fixture
def role_url(postgres_url) -> Iterator[tuple[str, str]]:
    """(URL, password) of a new role with a random password, allowed to use the study tables."""
    import sqlalchemy
    from sqlalchemy.engine import make_url

    optuna.storages.RDBStorage(postgres_url)  # the tables exist before the role gets rights
    engine = sqlalchemy.create_engine(postgres_url)
    with engine.connect() as conn:
        if not conn.execute(sqlalchemy.text(
                "SELECT rolcreaterole FROM pg_roles WHERE rolname = current_user")).scalar():
            pytest.skip("the test database's role may not create roles; `.ci/postgres.sh` "
                        "grants CREATEROLE")
    name = f"cs_secret_{secrets.token_hex(4)}"
    password = secrets.token_hex(16)
    rights = ["USAGE ON SCHEMA public", "SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN "
              "SCHEMA public", "USAGE, SELECT, UPDATE ON ALL SEQUENCES IN SCHEMA public"]
    with engine.begin() as conn:
        conn.execute(sqlalchemy.text(f"CREATE ROLE {name} LOGIN PASSWORD '{password}'"))
        for right in rights:
            conn.execute(sqlalchemy.text(f"GRANT {right} TO {name}"))
    url = make_url(postgres_url).set(username=name, password=password)
    try:
        yield url.render_as_string(hide_password=False), password
    finally:
        with engine.begin() as conn:
            for right in rights:
                conn.execute(sqlalchemy.text(f"REVOKE {right.split(' ON ')[0]} ON "
                                             f"{right.split(' ON ')[1]} FROM {name}"))
            conn.execute(sqlalchemy.text(f"DROP ROLE {name}"))
        engine.dispose()


def _codesign(args: list[str], **env: str) -> str:
    result = subprocess.run(
        [sys.executable, "-m", "codesign", *args], capture_output=True, text=True, timeout=600,
        env={**os.environ, "PYTHONPATH": str(CODE_ROOT), "OMP_NUM_THREADS": "1", **env})
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    return result.stdout + result.stderr


def test_the_password_is_in_no_file_and_no_output(role_url, tmp_path):
    url, password = role_url
    bare = url.replace(f":{password}@", "@")
    study = f"secret_{secrets.token_hex(4)}"
    out = tmp_path / "run"
    common = ["--space", str(write_space(tmp_path)), "--epochs", "1", "--study", study,
              "--out", str(out), "--cpus-per-trial", "1"]
    try:
        outputs = [
            _codesign(["search", "--storage", url, "--trials", "1", *common]),
            _codesign(["search", "--storage", url, "--trials", "2", "--backend", "ray",
                       "--workers", "1", *common]),
            # No password on the command line: from the environment.
            _codesign(["pareto", "--out", str(out)], CODESIGN_STORAGE=url),
            _codesign(["pareto", "--storage", bare, "--study", study, "--report-dir",
                       str(tmp_path / "report")], PGPASSWORD=password),
        ]
        assert "***" in outputs[0]  # the study line shows the URL, masked
        assert any((out / "ray").rglob("*")), "the Ray search wrote no experiment files"
        leaks = [str(p) for p in [*out.rglob("*"), *(tmp_path / "report").rglob("*")]
                 if p.is_file() and password.encode() in p.read_bytes()]
        assert leaks == []
        assert [o for o in outputs if password in o] == []
        assert optuna.load_study(study_name=study, storage=url).trials
    finally:
        try:
            optuna.delete_study(study_name=study, storage=url)
        except KeyError:
            pass


def test_a_url_without_password_names_where_to_put_it(role_url, tmp_path):
    url, password = role_url
    bare = url.replace(f":{password}@", "@")
    result = subprocess.run(
        [sys.executable, "-m", "codesign", "pareto", "--storage", bare, "--study", "any",
         "--report-dir", str(tmp_path / "report")],
        capture_output=True, text=True, timeout=120,
        env={**os.environ, "PYTHONPATH": str(CODE_ROOT), "PGPASSFILE": str(tmp_path / "none"),
             "PGPASSWORD": ""})
    lines = result.stderr.strip().splitlines()
    assert result.returncode == 2 and len(lines) == 1, result.stderr
    assert "no password supplied" in lines[0] and "PGPASSWORD" in lines[0]
