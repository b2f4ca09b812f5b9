"""The local backend: Optuna workers on this machine, one process each, sharing the storage.

One worker runs in the calling process; several run as spawned processes (each with its own
torch threads), the way Optuna parallelises over an RDB storage. A worker is a plain loop,
`work(storage_url, study_name, target, ...)`: ask, run the trial, tell, until the study holds
`target` finished trials; a worker on another machine runs the very same loop.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import sys
from functools import partial
from pathlib import Path

from codesign.record import Key, Status
from codesign.refs import check_unchanged
from codesign.search.backends._registry import BACKENDS, Resources
from codesign.search.backends._samplers import make_sampler
from codesign.search.store import SearchSettings, open_storage
from codesign.search.trial import (
    MAX_FAILURES_IN_A_ROW,
    Failure,
    attempt,
    record_failure,
    run_trial,
    this_process,
)
from codesign.search.trial._float import ensure_float_network


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
    SURPLUS). A trial that raises or gives NaN values is recorded as failed and replaced;
    after MAX_FAILURES_IN_A_ROW of them the worker stops. An interrupt marks the running trial
    FAIL and propagates, so the next run of the search requeues it.
    """
    import optuna
    from optuna.trial import TrialState

    storage = open_storage(storage_url)
    study = optuna.load_study(study_name=study_name, storage=storage)
    settings = SearchSettings.of_study(study)
    existing = len(study.get_trials(deepcopy=False))
    study.sampler = make_sampler(
        settings.sampler, seed=settings.seed + existing + seed_offset, n_trials=target
    )
    check_unchanged(settings.references, "start a new study from the changed file")
    space = settings.load_space()
    ensure_float_network(study, settings, space)
    ran = failures = 0
    while _claimed(study) < target and failures < MAX_FAILURES_IN_A_ROW:
        trial = study.ask()
        trial.set_user_attr(Key.NODE, this_process())
        if _surplus(study, trial.number, target):
            trial.set_user_attr(Key.STATUS, Status.SURPLUS)
            trial.set_user_attr(Key.REASON, "the budget was claimed by other workers")
            study.tell(trial, state=TrialState.PRUNED)
            break
        try:
            outcome = attempt(partial(run_trial, trial, space, settings,
                                      num_threads=num_threads, device=device))
        except BaseException:
            study.tell(trial, state=TrialState.FAIL)
            raise
        if isinstance(outcome, Failure):
            record_failure(trial.set_user_attr, outcome.reason)
            study.tell(trial, state=TrialState.FAIL)
            failures += 1
            continue
        study.tell(trial, outcome)
        ran += 1
        failures = 0
    return ran


def _die_with_parent() -> None:
    """Linux: a worker process is sent SIGTERM when the driver dies, even by SIGKILL."""
    if sys.platform.startswith("linux"):
        import ctypes

        try:
            ctypes.CDLL("libc.so.6").prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
        except OSError:
            pass


def _worker_main(storage_url: str, study_name: str, target: int, seed_offset: int,
                 num_threads: int, device: str | None) -> None:
    _die_with_parent()
    os.environ.setdefault("OMP_NUM_THREADS", str(num_threads))
    work(storage_url, study_name, target, seed_offset=seed_offset, num_threads=num_threads,
         device=device)


@BACKENDS.register("local")
def run_local(
    storage_url: str, study_name: str, target: int, run_dir: Path, resources: Resources
) -> None:
    """Optuna workers on this machine, one process per parallel trial."""
    workers = resources.workers or 1
    threads_per_trial = resources.cpus_per_trial or max(1, (os.cpu_count() or 1) // workers)
    if workers <= 1:
        work(storage_url, study_name, target, num_threads=threads_per_trial,
             device=resources.device)
        return
    context = multiprocessing.get_context("spawn")
    processes = [
        context.Process(
            target=_worker_main,
            args=(storage_url, study_name, target, index, threads_per_trial, resources.device),
            name=f"codesign-worker-{index}",
        )
        for index in range(workers)
    ]
    for process in processes:
        process.start()
    try:
        for process in processes:
            process.join()
    except KeyboardInterrupt:
        for process in processes:
            process.terminate()
        raise
    failed = [p.name for p in processes if p.exitcode not in (0, None)]
    if failed:
        raise RuntimeError(f"search worker(s) {', '.join(failed)} crashed; see their output")
