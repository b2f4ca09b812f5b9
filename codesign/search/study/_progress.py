"""Progress of a running search, read from the storage, so it is the same for every backend.

A background thread polls the study. Each newly finished trial gets one line: its outcome,
accuracy and objective costs, its training time, and the search's elapsed time and
estimated time left. A running trial's epochs come from its `latest_epoch` attribute. On a
terminal a tqdm bar below the lines counts the trials, shows elapsed and remaining time and
the epoch each running trial is at (marked while it anneals); anywhere else (a log file, a
pipe) each epoch is a plain line instead. The first annealing epoch's line says in full that
the hard-quantized accuracy is expected to be low until the annealing window closes.
"""

from __future__ import annotations

import sys
import threading
import time
from typing import Any, TextIO

from codesign.record import Key
from codesign.search.store import SearchSettings, open_storage
from codesign.train import ANNEALING_NOTE, clock

# Trials done, elapsed and remaining time, then the running trials' epochs (the postfix).
BAR_FORMAT = (
    "{percentage:3.0f}%|{bar:10}| {n_fmt}/{total_fmt} trials [{elapsed}<{remaining}]{postfix}"
)


class Progress:
    """Reports the trials of `study_name` until stopped (use as a context manager).

    `live` (default: whether `stream` is a terminal) chooses the tqdm bar over plain lines.
    """

    def __init__(self, storage_url: str, study_name: str, target: int,
                 stream: TextIO | None = None, interval_s: float = 1.0,
                 live: bool | None = None) -> None:
        import optuna

        self._study = optuna.load_study(study_name=study_name, storage=open_storage(storage_url))
        self._settings = SearchSettings.of_study(self._study)
        self._target = target
        self._stream = stream or sys.stdout
        self._interval = interval_s
        self._seen = {t.number for t in self._finished()}
        self._start_count = len(self._seen)
        self._epochs_shown: dict[int, int] = {}
        self._note_shown = False
        self._started = time.perf_counter()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="search-progress", daemon=True)
        if live is None:
            live = bool(getattr(self._stream, "isatty", lambda: False)())
        self._bar: Any = None
        if live:
            import shutil

            from tqdm import tqdm

            # Sized here: where a terminal reports no size, tqdm's own reading draws nothing.
            columns, lines = shutil.get_terminal_size()
            self._bar = tqdm(total=target, initial=min(self._start_count, target),
                             file=self._stream, ncols=columns, nrows=lines,
                             bar_format=BAR_FORMAT, leave=True)

    def _finished(self) -> list:
        from optuna.trial import TrialState

        return self._study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))

    def _running(self) -> list:
        from optuna.trial import TrialState

        return self._study.get_trials(deepcopy=False, states=(TrialState.RUNNING,))

    def __enter__(self) -> Progress:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.poll()
        if self._bar is not None:
            self._bar.set_postfix_str("")
            self._bar.close()

    def _loop(self) -> None:
        while not self._stop.wait(self._interval):
            self.poll()

    def _write(self, line: str) -> None:
        if self._bar is not None:
            self._bar.write(line, file=self._stream)
        else:
            self._stream.write(line + "\n")

    def poll(self) -> None:
        """Report every trial finished, and every epoch trained, since the last poll."""
        new = sorted((t for t in self._finished() if t.number not in self._seen),
                     key=lambda t: t.datetime_complete or t.datetime_start)
        for trial in new:
            self._seen.add(trial.number)
            self._write(self.line(trial))
        running = [t for t in self._running() if Key.LATEST_EPOCH in t.user_attrs]
        for trial in running:
            latest = trial.user_attrs[Key.LATEST_EPOCH]
            if self._epochs_shown.get(trial.number) == latest["epoch"]:
                continue
            self._epochs_shown[trial.number] = latest["epoch"]
            if self._bar is None or (latest.get("annealing") and not self._note_shown):
                self._write(self.epoch_line(trial.number, latest))
        if self._bar is not None:
            if new:
                self._bar.update(min(len(new), self._target - self._bar.n))
            self._bar.set_postfix_str(self.running_summary(running), refresh=True)
        self._stream.flush()

    def epoch_line(self, number: int, latest: dict[str, Any]) -> str:
        """A running trial's epoch: its quantized validation accuracy, and while the window
        is open the annealing note (in full the first time, then as one word)."""
        width = 2 * len(str(self._target)) + 3
        line = (f"{'':{width}} trial {number:<4d} epoch {latest['epoch']}/{latest['epochs']}  "
                f"val acc (quantized) {latest['val_accuracy']:.4f}")
        if latest.get("annealing"):
            line += f"  ({ANNEALING_NOTE if not self._note_shown else 'annealing'})"
            self._note_shown = True
        return line

    @staticmethod
    def running_summary(running: list) -> str:
        """The bar's postfix: the epoch each running trial has trained, marked while it
        anneals; several trials in a short form that fits a terminal line."""
        epochs = [(t.number, t.user_attrs[Key.LATEST_EPOCH])
                  for t in sorted(running, key=lambda t: t.number)]
        if len(epochs) == 1:
            number, latest = epochs[0]
            mark = " annealing" if latest.get("annealing") else ""
            return f"trial {number} epoch {latest['epoch']}/{latest['epochs']}{mark}"
        parts = [f"t{number} {latest['epoch']}/{latest['epochs']}"
                 + ("*" if latest.get("annealing") else "") for number, latest in epochs]
        note = " (*annealing)" if any(latest.get("annealing") for _, latest in epochs) else ""
        return ("epochs " + " ".join(parts) + note) if parts else ""

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
        eta = f"  eta {clock(elapsed / ran * left)}" if ran and left else ""
        parts.append(f"elapsed {clock(elapsed)}{eta}")
        return "  ".join(parts)
