"""Faults of the machine rather than of the user's input, each told in one line.

A full disk or a read-only or forbidden run directory surfaces deep inside a library: an
`OSError` from a write, or SQLite's "database or disk is full" wrapped by SQLAlchemy and then
by Optuna ("... e.g. exceeding max length"). `fault_line` finds the real cause anywhere in an
exception's chain and names it with the fix; the CLI prints it instead of a traceback (exit
code 1), and the trial loop stops on it instead of failing trial after trial.
`Incomplete` is the one line of a run that stopped short for such a cause (its worker
processes kept dying): what finished is kept, and running the same command again resumes it.
"""

from __future__ import annotations

import errno

# Exit code of the command for a fault of the machine (2 is a mistake in the input).
FAULT_EXIT_CODE = 1

_FULL = "no space left on the device"
_READ_ONLY = "the file system is read-only"
_FORBIDDEN = "permission denied"
_BY_ERRNO = {errno.ENOSPC: _FULL, errno.EDQUOT: _FULL, errno.EROFS: _READ_ONLY,
             errno.EACCES: _FORBIDDEN, errno.EPERM: _FORBIDDEN}
# Messages of SQLite (through sqlite3) and PostgreSQL for the same causes.
_BY_TEXT = (
    ("database or disk is full", _FULL),
    ("no space left on device", _FULL),
    ("attempt to write a readonly database", _READ_ONLY),
    ("read-only file system", _READ_ONLY),
    ("unable to open database file", "the database file cannot be opened or created"),
)
_FIX = {
    _FULL: "free space there (or give another --out), then run the same command again",
    _READ_ONLY: "give a writable --out, or remount it read-write",
    _FORBIDDEN: "give a --out you may write, or fix its permissions",
}


class Incomplete(Exception):
    """A run that stopped short for a cause outside the user's input: one line, exit code 1."""


def _chain(err: BaseException):
    seen: set[int] = set()
    current: BaseException | None = err
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        yield current
        current = current.__cause__ or current.__context__


def fault_line(err: BaseException) -> str | None:
    """One line naming the machine fault behind `err` (and the file when known), or None
    when `err` is not one."""
    for link in _chain(err):
        if isinstance(link, OSError) and link.errno in _BY_ERRNO:
            cause = _BY_ERRNO[link.errno]
            where = f" at {link.filename}" if link.filename else ""
            return f"{cause}{where} ({link.strerror}); {_FIX[cause]}"
    for link in _chain(err):
        text = str(link).lower()
        for sign, cause in _BY_TEXT:
            if sign in text:
                fix = _FIX.get(cause, "check that the run directory exists and may be written")
                return f"{cause}: the study storage reports {sign!r}; {fix}"
    return None
