"""Resuming a study: keep what finished, finish what was recorded, rerun what was lost.

A search started again with the same storage and study first repairs what a killed run left:
a RUNNING trial whose outcome is already recorded (its values attribute) is completed with
those values, without training again; any other RUNNING trial is marked FAIL; every FAIL
trial is enqueued once more with its parameters (user attribute `retry_of`), so the sampler's
proposals are not lost. The search then runs until the requested number of COMPLETE trials.
This assumes one driver per study at a time: its RUNNING trials at start are stale.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from codesign.record import Key
from codesign.search.store import count_complete

if TYPE_CHECKING:
    import optuna


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
            values = trial.user_attrs.get(Key.VALUES)
            if values is not None:
                study.tell(trial.number, values)
                report.recovered.append(trial.number)
                continue
            study.tell(trial.number, state=TrialState.FAIL)
        elif trial.state != TrialState.FAIL:
            continue
        if trial.number not in retried:
            study.enqueue_trial(trial.params, user_attrs={Key.RETRY_OF: trial.number})
            report.requeued.append(trial.number)
    report.complete = count_complete(study)
    return report
