"""The one Optuna storage of a search: a SQLite file in the run directory by default, any
SQLAlchemy URL (PostgreSQL for a cluster) with `--storage`.

The run directory keeps `search.json` (storage URL and study name), so `codesign pareto` and
`codesign export` find the study from `--out DIR` alone.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from codesign.errors import CodesignError

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


def open_storage(url: str) -> optuna.storages.RDBStorage:
    """An RDB storage for `url`; an unreachable database is one clear error line."""
    import sqlalchemy.exc

    engine_kwargs: dict[str, Any] = {"pool_pre_ping": True}
    if url.startswith("sqlite"):
        engine_kwargs = {"connect_args": {"timeout": SQLITE_TIMEOUT_S}}
    elif url.startswith(("postgresql", "mysql")):
        engine_kwargs["connect_args"] = {"connect_timeout": CONNECT_TIMEOUT_S}
    if url.startswith("sqlite:///"):
        Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
    try:
        storage = _open_rdb(url, engine_kwargs)
    except (sqlalchemy.exc.SQLAlchemyError, ImportError, ValueError) as err:
        first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise CodesignError(
            f"cannot open the study storage {_shown(url)} ({first}); check the URL, that the "
            "server runs and that its driver is installed"
        ) from None
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


def _open_rdb(url: str, engine_kwargs: dict[str, Any]) -> optuna.storages.RDBStorage:
    import optuna
    import sqlalchemy.exc

    attempt = 0
    while True:
        try:
            return optuna.storages.RDBStorage(url, engine_kwargs=engine_kwargs)
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


def _shown(url: str) -> str:
    """The URL with its password masked, fit for an error line."""
    import sqlalchemy.engine
    import sqlalchemy.exc

    try:
        return sqlalchemy.engine.make_url(url).render_as_string(hide_password=True)
    except (sqlalchemy.exc.ArgumentError, ValueError):
        return url


@dataclass(frozen=True)
class Manifest:
    """Where a run directory's study lives."""

    storage: str
    study: str

    def write(self, run_dir: Path) -> None:
        run_dir.mkdir(parents=True, exist_ok=True)
        (run_dir / MANIFEST).write_text(
            json.dumps({"storage": self.storage, "study": self.study}, indent=2) + "\n"
        )

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
    """The study of `--out DIR`, or of `--storage URL --study NAME` when both are given."""
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

    storage = open_storage(manifest.storage)
    try:
        return optuna.load_study(study_name=manifest.study, storage=storage, sampler=sampler)
    except KeyError:
        names = optuna.get_all_study_names(storage)
        raise CodesignError(
            f"no study '{manifest.study}' in {_shown(manifest.storage)}; studies there: "
            f"{', '.join(names) or '(none)'}"
        ) from None


def count_complete(study: optuna.Study) -> int:
    """Finished trials (COMPLETE): what a search's budget counts."""
    from optuna.trial import TrialState

    return len(study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,)))
