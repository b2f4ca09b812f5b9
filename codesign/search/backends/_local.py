"""The local backend: Optuna workers on this machine, one process each, sharing the storage.

One worker runs in the calling process; several run as spawned processes (each with its own
torch threads), the way Optuna parallelises over an RDB storage. A worker is a plain loop,
`work(storage_url, study_name, target, ...)`: ask, run the trial with its heartbeat, tell,
until the study holds `target` finished trials; a worker on another machine runs the very
same loop. A trial whose worker died is failed and retried once by the others
(`codesign.search.store`, `_lost.py`); the driver replaces a worker process that died.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import sys
import time
from functools import partial
from pathlib import Path

from codesign.record import Key, Status
from codesign.refs import check_unchanged
from codesign.search.backends._registry import BACKENDS, Resources
from codesign.search.backends._samplers import make_sampler
from codesign.search.store import (
    SearchSettings,
    ask,
    count_complete,
    fail_lost,
    heartbeat,
    heartbeat_seconds,
    open_storage,
)
from codesign.search.trial import (
    MAX_FAILURES_IN_A_ROW,
    Failure,
    attempt,
    describe_error,
    record_failure,
    run_trial,
    this_process,
)
from codesign.search.trial._float import ensure_float_network

# Exit code of a worker process stopped by a user's mistake (as the command's).
USER_ERROR_EXIT = 2


def _claimed(study) -> int:
    """Trials finished or in progress: the loop stops when these reach the target."""
    from optuna.trial import TrialState

    states = (TrialState.COMPLETE, TrialState.RUNNING)
    return len(study.get_trials(deepcopy=False, states=states))


def _surplus(study, number: int, target: int) -> bool:
    """True when trials numbered before `number` already claim the whole budget: another
    worker asked between this worker's count and its ask."""
    from optuna.trial import TrialState

    states = (TrialState.COMPLETE, TrialState.RUNNING)
    before = [t for t in study.get_trials(deepcopy=False, states=states) if t.number < number]
    return len(before) >= target


def work(
    storage_url: str,
    study_name: str,
    target: int,
    seed_offset: int = 0,
    num_threads: int | None = None,
    device: str | None = None,
) -> int:
    """Run trials until the study holds `target` COMPLETE trials; returns how many it ran.

    Any number of workers may share the study and together stop at exactly `target`: a trial
    asked for once the others claim the whole budget is given back untrained (PRUNED, status
    SURPLUS). While the last trials run elsewhere a worker waits, failing and retrying any
    whose worker died (`fail_lost`), and stops when the study is full. A trial that raises or
    gives NaN values is recorded as failed and replaced; after MAX_FAILURES_IN_A_ROW of them
    the worker stops. An interrupt or a fault of the machine marks the running trial FAIL with
    its reason and propagates, so the next run of the search requeues it.
    """
    import optuna
    from optuna.exceptions import UpdateFinishedTrialError

    storage = open_storage(storage_url, heartbeat=True)
    study = optuna.load_study(study_name=study_name, storage=storage)
    settings = SearchSettings.of_study(study)
    existing = len(study.get_trials(deepcopy=False))
    study.sampler = make_sampler(
        settings.sampler, seed=settings.seed + existing + seed_offset, n_trials=target
    )
    check_unchanged(settings.references, "start a new study from the changed file")
    space = settings.load_space()
    ensure_float_network(study, settings, space)
    run = partial(_run_one, study, space, settings, target, num_threads, device)
    ran = failures = 0
    while failures < MAX_FAILURES_IN_A_ROW:
        fail_lost(study)
        if count_complete(study) >= target:
            break
        if _claimed(study) >= target:
            time.sleep(heartbeat_seconds())  # stay to take over a trial whose worker dies
            continue
        try:
            outcome = run()
        except UpdateFinishedTrialError:
            continue  # another worker failed this trial as lost and queued its retry
        if outcome == 1:
            ran += 1
            failures = 0
        elif outcome == 0:
            failures += 1
    return ran


def _run_one(study, space, settings, target: int, num_threads: int | None,
             device: str | None) -> int | None:
    """Ask for one trial and run it: 1 when it finished, 0 when it failed, None when it was
    surplus."""
    from optuna.trial import TrialState

    trial = ask(study)
    with heartbeat(study, trial):
        trial.set_user_attr(Key.NODE, this_process())
        if _surplus(study, trial.number, target):
            trial.set_user_attr(Key.STATUS, Status.SURPLUS)
            trial.set_user_attr(Key.REASON, "the budget was claimed by other workers")
            study.tell(trial, state=TrialState.PRUNED, skip_if_finished=True)
            return None
        try:
            outcome = attempt(partial(run_trial, trial, space, settings,
                                      num_threads=num_threads, device=device))
        except BaseException as err:
            _stopped(study, trial, err)
            raise
        if isinstance(outcome, Failure):
            record_failure(trial.set_user_attr, outcome.reason)
            study.tell(trial, state=TrialState.FAIL, skip_if_finished=True)
            return 0
        study.tell(trial, outcome, skip_if_finished=True)
        return 1


def _stopped(study, trial, err: BaseException) -> None:
    """Record why the running trial stopped and fail it, as far as the storage still takes
    writes (a full disk may refuse them: the trial then stays RUNNING, and is lost)."""
    from optuna.trial import TrialState

    from codesign.errors import CodesignError
    from codesign.faults import fault_line

    mistake = isinstance(err, CodesignError)  # the user's: every trial would meet it
    reason = str(err) if mistake else fault_line(err) or describe_error(err)
    try:
        trial.set_user_attr(Key.STATUS, Status.ERROR if mistake else Status.LOST)
        trial.set_user_attr(Key.REASON, f"its worker stopped: {reason}")
        study.tell(trial, state=TrialState.FAIL, skip_if_finished=True)
    except Exception:  # noqa: BLE001 - the original error is the one to report
        pass


def _die_with_parent() -> None:
    """Linux: a worker process is sent SIGTERM when the driver dies, even by SIGKILL."""
    if sys.platform.startswith("linux"):
        import ctypes

        try:
            ctypes.CDLL("libc.so.6").prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
        except OSError:
            pass


def _worker_main(storage_url: str, study_name: str, target: int, seed_offset: int,
                 num_threads: int, device: str | None, lines) -> None:
    """A worker process: a user's mistake or a fault of the machine is sent back as its one
    line (the driver tells it) and ends the process with its exit code."""
    from codesign.errors import CodesignError
    from codesign.faults import FAULT_EXIT_CODE, fault_line

    _die_with_parent()
    os.environ.setdefault("OMP_NUM_THREADS", str(num_threads))
    try:
        work(storage_url, study_name, target, seed_offset=seed_offset,
             num_threads=num_threads, device=device)
    except CodesignError as err:
        lines.put(str(err))
        sys.exit(USER_ERROR_EXIT)
    except Exception as err:
        line = fault_line(err)
        if line is None:
            raise
        lines.put(line)
        sys.exit(FAULT_EXIT_CODE)


@BACKENDS.register("local")
def run_local(
    storage_url: str, study_name: str, target: int, run_dir: Path, resources: Resources
) -> None:
    """Optuna workers on this machine, one process per parallel trial. A worker process that
    dies is replaced (its trial is failed and retried by the others once its heartbeat stops),
    up to MAX_FAILURES_IN_A_ROW deaths without a trial finished in between."""
    workers = resources.workers or 1
    threads_per_trial = resources.cpus_per_trial or max(1, (os.cpu_count() or 1) // workers)
    if workers <= 1:
        work(storage_url, study_name, target, num_threads=threads_per_trial,
             device=resources.device)
        return
    _Pool(storage_url, study_name, target, threads_per_trial, resources.device).run(workers)


def _exit_text(code: int | None) -> str:
    if code is not None and code < 0:
        return f"killed by {signal.Signals(-code).name}"
    return f"exit code {code}"


class _Pool:
    """The driver's worker processes: started, watched, replaced when one dies."""

    def __init__(self, storage_url: str, study_name: str, target: int, threads: int,
                 device: str | None) -> None:
        import optuna

        self._args = (storage_url, study_name, target)
        self._threads = threads
        self._device = device
        self._context = multiprocessing.get_context("spawn")
        self._lines = self._context.SimpleQueue()
        self._study = optuna.load_study(study_name=study_name, storage=open_storage(storage_url))
        self._started = 0
        self.running: list[multiprocessing.process.BaseProcess] = []

    def _start(self) -> None:
        process = self._context.Process(
            target=_worker_main,
            args=(*self._args, self._started, self._threads, self._device, self._lines),
            name=f"codesign-worker-{self._started}",
        )
        self._started += 1
        process.start()
        self.running.append(process)

    def run(self, workers: int) -> None:
        from multiprocessing.connection import wait

        target = self._args[2]
        for _ in range(workers):
            self._start()
        deaths: list[str] = []
        in_a_row = 0
        finished = count_complete(self._study)
        try:
            while self.running:
                wait([p.sentinel for p in self.running])
                for process in [p for p in self.running if p.exitcode is not None]:
                    self.running.remove(process)
                    if process.exitcode == 0:
                        continue
                    if not self._lines.empty():
                        self._stop_all()
                        self._raise(process, self._lines.get())
                    now = count_complete(self._study)
                    in_a_row = 1 if now > finished else in_a_row + 1
                    finished = now
                    deaths.append(f"{process.name} ({_exit_text(process.exitcode)})")
                    if in_a_row <= MAX_FAILURES_IN_A_ROW and now < target:
                        self._start()
        except KeyboardInterrupt:
            self._stop_all()
            raise
        done = count_complete(self._study)
        if done < target and deaths:
            from codesign.faults import Incomplete

            raise Incomplete(
                f"search worker process(es) died {len(deaths)} time(s), last "
                f"{deaths[-1]}; the study holds {done} of {target} finished trials (report "
                "written); run the same command again to finish it"
            )

    def _stop_all(self) -> None:
        for process in self.running:
            process.terminate()
        for process in self.running:
            process.join()

    @staticmethod
    def _raise(process, line: str) -> None:
        from codesign.errors import CodesignError
        from codesign.faults import Incomplete

        if process.exitcode == USER_ERROR_EXIT:
            raise CodesignError(line)
        raise Incomplete(line)
