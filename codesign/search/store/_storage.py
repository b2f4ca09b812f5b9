"""The one Optuna storage of a search: a SQLite file in the run directory by default, any
SQLAlchemy URL (PostgreSQL for a cluster) with `--storage`.

The run directory keeps `search.json` (storage URL without its password, and study name), so
`codesign pareto` and `codesign export` find the study from `--out DIR` alone; where it says a
study lives, that store must hold it (`check_store`): an empty or unreadable file is refused,
never opened as a new database.
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from codesign.errors import CodesignError
from codesign.search.store._lost import heartbeat_options
from codesign.search.store._password import (
    STORAGE_ENV,
    bare_url,
    connect_url,
    has_password,
    masked_url,
    same_database,
)

if TYPE_CHECKING:
    import optuna

MANIFEST = "search.json"
STUDY_FILE = "study.db"
# Seconds a SQLite writer waits for a lock: several processes share one file.
SQLITE_TIMEOUT_S = 120
# Openings of a fresh database tried while another process creates its schema.
SCHEMA_RACE_ATTEMPTS = 5
# Seconds to reach a database server: a wrong host fails at start instead of hanging.
CONNECT_TIMEOUT_S = 10


def default_storage_url(run_dir: Path) -> str:
    return f"sqlite:///{(run_dir / STUDY_FILE).resolve()}"


def open_storage(url: str, heartbeat: bool = False) -> optuna.storages.RDBStorage:
    """An RDB storage for `url`; an unreachable database is one clear error line. With
    `heartbeat`, running trials record heartbeats and lost ones are retried (`_lost.py`).
    The storage keeps its URL without the password, so a pickle of it holds none."""
    import sqlalchemy.exc

    from codesign.faults import fault_line

    engine_kwargs: dict[str, Any] = {"pool_pre_ping": True}
    if url.startswith("sqlite"):
        engine_kwargs = {"connect_args": {"timeout": SQLITE_TIMEOUT_S}}
    elif url.startswith(("postgresql", "mysql")):
        engine_kwargs["connect_args"] = {"connect_timeout": CONNECT_TIMEOUT_S}
    if url.startswith("sqlite:///"):
        Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
    options = heartbeat_options() if heartbeat else {}
    try:
        storage = _open_rdb(connect_url(url), engine_kwargs, options)
    except (sqlalchemy.exc.SQLAlchemyError, ImportError, ValueError) as err:
        fault = fault_line(err)
        first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        fix = "check the URL, that the server runs and that its driver is installed"
        if "password" in first and not has_password(connect_url(url)):
            fix = (f"put the password in ~/.pgpass or PGPASSWORD, or give the whole URL in "
                   f"{STORAGE_ENV}")
        raise CodesignError(
            f"cannot open the study storage {masked_url(url)} ({fault or first}); {fix}"
        ) from None
    storage.url = bare_url(storage.url)
    if url.startswith("sqlite"):
        _lock_on_begin(storage)
    return storage


def _lock_on_begin(storage: optuna.storages.RDBStorage) -> None:
    """SQLite: every transaction takes the write lock when it begins (BEGIN IMMEDIATE).

    SQLite ignores `SELECT ... FOR UPDATE`, so two workers could otherwise both read a queued
    trial as WAITING and both claim it; with the lock taken at the start, the read and the
    claim of one worker complete before the other's read. (SQLAlchemy's recipe for pysqlite:
    the driver's own transaction handling is switched off.)
    """
    from sqlalchemy import event

    engine = storage.engine

    @event.listens_for(engine, "connect")
    def _no_driver_transactions(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None

    @event.listens_for(engine, "begin")
    def _begin_immediate(connection: Any) -> None:
        connection.exec_driver_sql("BEGIN IMMEDIATE")

    engine.dispose()  # connections opened before the listeners are not reused


def _open_rdb(url: str, engine_kwargs: dict[str, Any], options: dict[str, Any]
              ) -> optuna.storages.RDBStorage:
    import optuna
    import sqlalchemy.exc

    from codesign.search.store._lost import quiet

    attempt = 0
    while True:
        try:
            with quiet():
                return optuna.storages.RDBStorage(url, engine_kwargs=engine_kwargs, **options)
        except (sqlalchemy.exc.OperationalError, sqlalchemy.exc.IntegrityError) as err:
            attempt += 1
            if attempt == SCHEMA_RACE_ATTEMPTS or not _schema_race(err):
                raise
            time.sleep(0.2 * attempt)


def _schema_race(err: Exception) -> bool:
    """Another process was creating the schema of this fresh database at the same moment
    (workers starting together): opening again finds it complete."""
    text = str(err)
    return any(sign in text for sign in ("already exists", "UNIQUE constraint failed",
                                         "duplicate key", "database is locked"))


@dataclass(frozen=True)
class Manifest:
    """Where a run directory's study lives. `storage` is the URL to connect with (it may
    hold a password); the file keeps it without."""

    storage: str
    study: str

    def same_study(self, other: Manifest) -> bool:
        return self.study == other.study and same_database(self.storage, other.storage)

    def describe(self) -> str:
        """`study 'NAME' (URL)`, the password masked."""
        return f"study '{self.study}' ({masked_url(self.storage)})"

    def write(self, run_dir: Path) -> None:
        """Write search.json whole or not at all (a full disk leaves the old one)."""
        run_dir.mkdir(parents=True, exist_ok=True)
        text = json.dumps({"storage": bare_url(self.storage), "study": self.study},
                          indent=2) + "\n"
        path = run_dir / MANIFEST
        if path.is_file() and path.read_text() == text:
            return
        partial = path.with_name(f".{MANIFEST}.{os.getpid()}")
        try:
            partial.write_text(text)
            os.replace(partial, path)
        finally:
            partial.unlink(missing_ok=True)

    @classmethod
    def read(cls, run_dir: Path) -> Manifest:
        path = run_dir / MANIFEST
        try:
            data = json.loads(path.read_text())
        except FileNotFoundError:
            raise CodesignError(
                f"{run_dir} holds no search ({MANIFEST} is missing); give the --out of a "
                "`codesign search` run, or --storage URL --study NAME"
            ) from None
        except NotADirectoryError:
            raise CodesignError(f"{run_dir} is a file, not a run directory; give the --out of a "
                                "`codesign search` run") from None
        except json.JSONDecodeError as err:
            raise CodesignError(f"{path} is not valid JSON ({err}); rerun the search") from None
        if not isinstance(data, dict) or not {"storage", "study"} <= set(data):
            raise CodesignError(f"{path} lacks 'storage' or 'study'; rerun the search")
        return cls(storage=str(data["storage"]), study=str(data["study"]))


def locate_study(run_dir: Path | None, storage: str | None, study: str | None) -> Manifest:
    """The study of `--out DIR`, or of `--storage URL --study NAME` when both are given
    (`CODESIGN_STORAGE` stands in for `--storage`)."""
    from codesign.search.store._password import storage_from_env

    if study and not storage and run_dir is None:
        storage = storage_from_env()
    if storage and study:
        return Manifest(storage=storage, study=study)
    if run_dir is None:
        raise CodesignError("give --out DIR of a search, or both --storage URL and --study NAME")
    found = Manifest.read(run_dir)
    return Manifest(storage=storage or found.storage, study=study or found.study)


def load_study(manifest: Manifest, sampler: optuna.samplers.BaseSampler | None = None
               ) -> optuna.Study:
    """Load an existing study; a missing one is a clear error, not an empty new study."""
    import optuna

    check_store(manifest.storage)
    storage = open_storage(manifest.storage)
    try:
        return optuna.load_study(study_name=manifest.study, storage=storage, sampler=sampler)
    except KeyError:
        names = optuna.get_all_study_names(storage)
        raise CodesignError(
            f"no study '{manifest.study}' in {masked_url(manifest.storage)}; studies there: "
            f"{', '.join(names) or '(none)'}"
        ) from None


def count_complete(study: optuna.Study) -> int:
    """Finished trials (COMPLETE): what a search's budget counts."""
    from optuna.trial import TrialState

    return len(study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,)))


# The first bytes of every SQLite database file.
_SQLITE_HEADER = b"SQLite format 3\x00"


def sqlite_path(url: str) -> Path | None:
    """The file of a SQLite URL (None for other databases and in-memory SQLite)."""
    if not url.startswith("sqlite:///") or url.rstrip("/") == "sqlite:":
        return None
    return Path(url.removeprefix("sqlite:///").split("?", 1)[0])


def check_store(url: str) -> None:
    """A SQLite study file that exists must be a database: an empty (0 bytes) or foreign file
    is refused before SQLite would silently make it a new, empty study."""
    path = sqlite_path(url)
    if path is None or not path.exists():
        return
    fix = "restore it from a backup, or give another --out (or --storage) for a new study"
    try:
        with open(path, "rb") as handle:
            head = handle.read(len(_SQLITE_HEADER))
    except OSError as err:
        raise CodesignError(
            f"the study file {path} cannot be read ({err.strerror or err}); {fix}"
        ) from None
    if not head:
        raise CodesignError(f"the study file {path} is empty (0 bytes); {fix}")
    if head != _SQLITE_HEADER:
        raise CodesignError(f"the study file {path} is not a SQLite database; {fix}")
