"""A storage URL's password: used to connect, never shown, never written.

A database URL may carry a password (`postgresql+psycopg2://user:pw@host/db`). Every message
shows the URL masked (`masked_url`), every file and every other process's pickled state keeps
it without the password (`bare_url`), and the password is found again when connecting
(`connect_url`): from the URL itself, else from `CODESIGN_STORAGE` when that names the same
database, else libpq finds it (`PGPASSWORD`, `~/.pgpass`). So a user can keep it out of argv
entirely: a password-less `--storage` with `~/.pgpass`, or `CODESIGN_STORAGE` in place of
`--storage`.
"""

from __future__ import annotations

import os

# The storage URL when `--storage` is not given; also where a password-less URL read from a
# run directory finds its password.
STORAGE_ENV = "CODESIGN_STORAGE"


def _parse(url: str):
    import sqlalchemy.engine
    import sqlalchemy.exc

    try:
        return sqlalchemy.engine.make_url(url)
    except (sqlalchemy.exc.ArgumentError, ValueError):
        return None


def masked_url(url: str) -> str:
    """The URL with its password shown as `***`: the only form a message may show."""
    parsed = _parse(url)
    if parsed is None:
        return "(an unparsable storage URL)" if "@" in url else url
    if parsed.password is None:
        return url
    return parsed.render_as_string(hide_password=True)


def bare_url(url: str) -> str:
    """The URL without its password: the only form written to a file or handed to a process
    that may write it down (Ray pickles its searcher and trainables)."""
    parsed = _parse(url)
    if parsed is None or parsed.password is None:
        return url
    import sqlalchemy.engine

    bare = sqlalchemy.engine.URL.create(  # URL.set takes None as "keep the password"
        parsed.drivername, username=parsed.username, host=parsed.host, port=parsed.port,
        database=parsed.database, query=parsed.query)
    return bare.render_as_string(hide_password=False)


def has_password(url: str) -> bool:
    parsed = _parse(url)
    return parsed is not None and parsed.password is not None


def same_database(one: str, other: str) -> bool:
    """Both URLs name the same database, whatever their passwords."""
    return bare_url(one) == bare_url(other)


def storage_from_env() -> str | None:
    """`CODESIGN_STORAGE`, when set and not empty."""
    return os.environ.get(STORAGE_ENV) or None


def connect_url(url: str) -> str:
    """The URL to connect with: `url` when it has a password or when `CODESIGN_STORAGE` names
    another database, else `CODESIGN_STORAGE` (libpq falls back to PGPASSWORD / ~/.pgpass)."""
    parsed = _parse(url)
    if parsed is None or parsed.password is not None:
        return url
    env = storage_from_env()
    if env and same_database(env, url):
        return env
    return url
