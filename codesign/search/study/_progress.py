"""Progress of a running search, read from the storage, so it is the same for every backend.

A background thread polls the study and prints one line per newly finished trial: its
outcome, accuracy and objective costs, its training time, and the search's elapsed time and
estimated time left.
"""

from __future__ import annotations

import sys
import threading
import time
from typing import TextIO

from codesign.record import Key
from codesign.search.store import SearchSettings, open_storage


def _clock(seconds: float) -> str:
    minutes, secs = divmod(int(round(seconds)), 60)
    return f"{minutes}:{secs:02d}"


class Progress:
    """Prints finished trials of `study_name` until stopped (use as a context manager)."""

    def __init__(self, storage_url: str, study_name: str, target: int,
                 stream: TextIO | None = None, interval_s: float = 1.0) -> None:
        import optuna

        self._study = optuna.load_study(study_name=study_name, storage=open_storage(storage_url))
        self._settings = SearchSettings.of_study(self._study)
        self._target = target
        self._stream = stream or sys.stdout
        self._interval = interval_s
        self._seen = {t.number for t in self._finished()}
        self._start_count = len(self._seen)
        self._started = time.perf_counter()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="search-progress", daemon=True)

    def _finished(self) -> list:
        from optuna.trial import TrialState

        return self._study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))

    def __enter__(self) -> Progress:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.poll()

    def _loop(self) -> None:
        while not self._stop.wait(self._interval):
            self.poll()

    def poll(self) -> None:
        """Print every trial finished since the last poll."""
        new = sorted((t for t in self._finished() if t.number not in self._seen),
                     key=lambda t: t.datetime_complete or t.datetime_start)
        for trial in new:
            self._seen.add(trial.number)
            self._stream.write(self.line(trial) + "\n")
        if new:
            self._stream.flush()

    def line(self, trial) -> str:
        done = len(self._seen)
        attrs = trial.user_attrs
        status = attrs.get(Key.STATUS, "?")
        parts = [f"[{done:>{len(str(self._target))}}/{self._target}] trial {trial.number:<4d}",
                 f"{status:<10s}"]
        values = trial.values or []
        for objective, value in zip(self._settings.objective_list, values, strict=False):
            if objective.is_accuracy:
                shown = "   -  " if attrs.get(Key.VAL_ACCURACY) is None else f"{value:.4f}"
                parts.append(f"acc {shown}")
            else:
                parts.append(f"{objective.column} {value:.4g}")
        if attrs.get(Key.SECONDS) is not None:
            parts.append(f"{attrs[Key.SECONDS]:.1f} s")
        elapsed = time.perf_counter() - self._started
        ran = done - self._start_count
        left = max(0, self._target - done)
        eta = f"  eta {_clock(elapsed / ran * left)}" if ran and left else ""
        parts.append(f"elapsed {_clock(elapsed)}{eta}")
        return "  ".join(parts)
