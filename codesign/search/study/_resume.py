"""Resuming a study: keep what finished, finish what was recorded, rerun what was lost.

A search started again with the same storage and study first repairs what a killed run left,
the way a live worker settles a trial whose heartbeat stopped (`codesign.search.store`,
`_lost.py`): a RUNNING trial whose outcome is already recorded (its values attribute) is
completed with those values, without training again; any other RUNNING trial is recorded as
lost with its reason and failed; every FAIL trial that was not yet retried is queued once more
with the parameters it had drawn (`retry_once`: user attribute `retry_of`, a baseline keeps its
tag), so the sampler's proposals are not lost. The search then runs until the requested number
of COMPLETE trials. This assumes one driver per study at a time: its RUNNING trials at start
are stale.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from codesign.record import Key
from codesign.search.store import count_complete, retry_once, settle_lost

if TYPE_CHECKING:
    import optuna

# Why a RUNNING trial found by a resumed search is lost.
KILLED = "lost: the search running it was stopped before it ended (killed or interrupted)"


@dataclass
class ResumeReport:
    """What the repair found: trials kept, completed from their record, and requeued."""

    complete: int = 0
    recovered: list[int] = field(default_factory=list)
    requeued: list[int] = field(default_factory=list)

    def describe(self) -> str:
        parts = [f"{self.complete} finished trial(s) kept"]
        if self.recovered:
            parts.append(f"{len(self.recovered)} recorded trial(s) completed {self.recovered}")
        if self.requeued:
            parts.append(f"{len(self.requeued)} unfinished trial(s) requeued {self.requeued}")
        return "; ".join(parts)


def repair(study: optuna.Study) -> ResumeReport:
    """Make the study consistent before new trials start (see the module docstring)."""
    from optuna.trial import TrialState

    report = ResumeReport()
    trials = study.get_trials(deepcopy=False)
    retried = {t.user_attrs.get(Key.RETRY_OF) for t in trials}
    for trial in trials:
        if trial.state == TrialState.RUNNING:
            if settle_lost(study, trial, KILLED):
                report.recovered.append(trial.number)
                continue
            study.tell(trial.number, state=TrialState.FAIL)
            trial = study.get_trials(deepcopy=False)[trial.number]
        elif trial.state != TrialState.FAIL:
            continue
        if trial.number not in retried and Key.RETRY_OF not in trial.user_attrs:
            retry_once(study, trial)
            report.requeued.append(trial.number)
    report.complete = count_complete(study)
    return report
