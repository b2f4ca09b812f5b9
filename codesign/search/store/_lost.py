"""Trials whose worker died: found through Optuna's heartbeats, failed with a reason, retried once.

While a worker runs a trial it records a heartbeat in the storage every `heartbeat_seconds()`
(Optuna's RDBStorage heartbeat, `heartbeat`). Before it asks for a trial, every worker fails the
RUNNING trials whose heartbeat has been silent for the grace period (as Optuna's
`fail_stale_trials` does, in `fail_lost`): each is recorded with status `lost` and its reason, then
queued once more by `retry_once` (Optuna's `RetryHeartbeatStaleTrialCallback`, one retry).
The retry keeps the parameters the lost trial had drawn (one killed while sampling drew only
some; its retry samples the rest) and its baseline tag, and names the trial it reruns
(`retry_of`). A lost trial whose objective values were already recorded is completed with
them instead of failed. Resuming a search (one driver, so every RUNNING trial it finds is
lost) settles its trials the same way (`settle_lost`, `retry_once`).

`CODESIGN_HEARTBEAT_S` sets the interval (default 10 s; the grace period is GRACE_BEATS
intervals); every process of a study should use the same value.
"""

from __future__ import annotations

import copy
import os
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from codesign.errors import CodesignError
from codesign.record import Key, Status

if TYPE_CHECKING:
    import optuna
    from optuna.trial import FrozenTrial

HEARTBEAT_ENV = "CODESIGN_HEARTBEAT_S"
DEFAULT_HEARTBEAT_S = 10
# Heartbeats a trial may miss before it counts as lost.
GRACE_BEATS = 5
# The attributes a retry carries over: what the trial is, not what it did.
KEPT_ATTRS = (Key.BASELINE_BITS,)
# Optuna's record of a retry (RetryHeartbeatStaleTrialCallback), in the trial's system attrs.
_RETRY_SYSTEM_ATTRS = ("failed_trial", "retry_history")


def heartbeat_seconds() -> int:
    """The heartbeat interval, from CODESIGN_HEARTBEAT_S (a whole number of seconds >= 1)."""
    text = os.environ.get(HEARTBEAT_ENV, "").strip()
    if not text:
        return DEFAULT_HEARTBEAT_S
    if not text.isdigit() or int(text) < 1:
        raise CodesignError(
            f"{HEARTBEAT_ENV}={text[:40]!r} is not a whole number of seconds; set it to 1 or "
            f"more, or unset it for {DEFAULT_HEARTBEAT_S}"
        )
    return int(text)


def grace_seconds() -> int:
    return GRACE_BEATS * heartbeat_seconds()


@contextmanager
def quiet() -> Iterator[None]:
    """Heartbeats and their callbacks are marked experimental in Optuna, and `ask` outside
    `optimize` warns about heartbeats: both are known here."""
    from optuna.exceptions import ExperimentalWarning

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ExperimentalWarning)
        warnings.filterwarnings("ignore", message="Heartbeat of storage is supposed")
        yield


def heartbeat_options() -> dict[str, Any]:
    """The RDBStorage options of a storage whose workers record heartbeats."""
    return {"heartbeat_interval": heartbeat_seconds(), "grace_period": grace_seconds()}


def retry_once(study: optuna.Study, trial: FrozenTrial) -> None:
    """Queue a failed trial once more: Optuna's `RetryHeartbeatStaleTrialCallback` with one
    retry, carrying only the trial's parameters, its baseline tag and `retry_of` (not the
    config, costs or status the lost run wrote)."""
    from optuna.storages import RetryHeartbeatStaleTrialCallback

    kept = copy.copy(trial)
    kept.user_attrs = {**{k: v for k, v in trial.user_attrs.items() if k in KEPT_ATTRS},
                       Key.RETRY_OF: trial.number}
    kept.system_attrs = {k: v for k, v in trial.system_attrs.items()
                         if k in _RETRY_SYSTEM_ATTRS}
    with quiet():
        RetryHeartbeatStaleTrialCallback(max_retry=1)(study, kept)


def lost_reason(trial: FrozenTrial, cause: str) -> str:
    again = ("it was itself a retry, so it is not run again" if Key.RETRY_OF in trial.user_attrs
             else "it is run once more with the parameters it had drawn")
    return f"{cause}; {again}"


def settle_lost(study: optuna.Study, trial: FrozenTrial, cause: str) -> bool:
    """Complete a lost RUNNING trial from its recorded values (True), or record it as lost
    with its reason (False) for the caller to fail and retry."""
    import optuna

    values = trial.user_attrs.get(Key.VALUES)
    if values is not None:
        study.tell(trial.number, values, skip_if_finished=True)
        return True
    running = optuna.Trial(study, trial._trial_id)
    running.set_user_attr(Key.STATUS, Status.LOST)
    running.set_user_attr(Key.REASON, lost_reason(trial, cause))
    return False


def fail_lost(study: optuna.Study) -> None:
    """Fail the study's trials whose heartbeat stopped, each with its reason, and queue each
    once more (`retry_once`); a no-op without heartbeats. Optuna's `fail_stale_trials`, in
    one pass over one list of stale trials, so that no trial turns stale between recording
    its reason and failing it."""
    from optuna.exceptions import UpdateFinishedTrialError
    from optuna.storages._heartbeat import BaseHeartbeat, is_heartbeat_enabled
    from optuna.trial import TrialState

    storage = study._storage
    if not isinstance(storage, BaseHeartbeat) or not is_heartbeat_enabled(storage):
        return
    cause = (f"lost: its worker sent no heartbeat for {grace_seconds()} s (killed, out of "
             "memory, or its machine lost)")
    study_id = storage.get_study_id_from_name(study.study_name)
    for trial_id in storage._get_stale_trial_ids(study_id):
        try:
            if settle_lost(study, storage.get_trial(trial_id), cause):
                continue
            if not storage.set_trial_state_values(trial_id, state=TrialState.FAIL):
                continue
        except (UpdateFinishedTrialError, ValueError):
            continue  # another worker settled it first
        retry_once(study, storage.get_trial(trial_id))  # copies what it changes


@contextmanager
def heartbeat(study: optuna.Study, trial: optuna.Trial) -> Iterator[None]:
    """Record the trial's heartbeat while the block runs (Optuna's heartbeat thread)."""
    from optuna.storages._heartbeat import get_heartbeat_thread

    with get_heartbeat_thread(trial._trial_id, study._storage):
        yield


def ask(study: optuna.Study) -> optuna.Trial:
    """`study.ask()`, for a loop that records heartbeats itself (Optuna warns otherwise)."""
    with quiet():
        return study.ask()
