"""`codesign worker`: one of any number of processes, on any machines, that share a study.

For clusters without Ray (a batch scheduler, a few shell sessions): every worker runs the
same loop as the local backend (`work`: ask, train, tell) against one storage that all of
them reach, PostgreSQL for several machines, until the study holds its budget of finished
trials; together they finish exactly that many. The budget is stored in the study, so a
worker joining later needs only the storage URL and the study name. A worker given a space
creates the study if it is missing (the same command line can start every worker).
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from codesign.errors import CodesignError
from codesign.record import Key
from codesign.search.backends import work
from codesign.search.store import (
    Manifest,
    SearchSettings,
    count_complete,
    heartbeat_seconds,
    load_study,
)
from codesign.search.study._run import SearchRequest, prepare
from codesign.search.trial import trial_device


@dataclass
class WorkerReport:
    """What one worker did and where the study stands."""

    ran: int
    complete: int
    budget: int

    def describe(self) -> str:
        return (f"worker {os.getpid()} ran {self.ran} trial(s); the study holds "
                f"{self.complete} of {self.budget} finished trials")


def run_worker(
    storage: str,
    study_name: str,
    trials: int | None = None,
    create: SearchRequest | None = None,
    threads: int | None = None,
    device: str | None = None,
) -> WorkerReport:
    """Join study `study_name` in `storage` (first creating it from `create`, a search request
    naming a space, when given) and run trials until it holds its budget; `trials` sets the
    budget, otherwise the stored one is used. `device` wins over the space's `train.device`,
    so several workers can share a machine's GPUs (`--device cuda:1`)."""
    from codesign.quant import compile_mode

    if trials is not None and trials < 1:
        raise CodesignError(f"--trials {trials}; ask for at least 1 trial")
    if threads is not None and threads < 1:
        raise CodesignError(f"--threads {threads}; use 1 or more torch threads per trial")
    compile_mode()  # read in every trial: a bad value must not reach the shared study
    heartbeat_seconds()
    manifest = Manifest(storage=storage, study=study_name)
    if create is not None:
        prepare(create)
    study = load_study(manifest)
    name = trial_device(SearchSettings.of_study(study).load_space(), device)
    if trials is not None:
        study.set_user_attr(Key.BUDGET, trials)
    budget = study.user_attrs.get(Key.BUDGET)
    if budget is None:
        raise CodesignError(
            f"study '{study_name}' has no budget yet; give --trials N (the finished trials "
            "the study should hold) to one worker"
        )
    ran = work(storage, study_name, int(budget), seed_offset=os.getpid(), num_threads=threads,
               device=name)
    return WorkerReport(ran=ran, complete=count_complete(study), budget=int(budget))
