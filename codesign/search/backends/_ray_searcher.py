"""The driver's searcher: Ray Tune's OptunaSearch, plus FAIL for trials that failed.

The stock searcher tells Optuna COMPLETE for any result, and Optuna refuses a result without
objective values, so a trial that reported its failure (FAILED_KEY) or whose Ray worker kept
dying would stay RUNNING forever. Kept apart from `_ray.py` so that importing the search does
not import Ray.
"""

from __future__ import annotations

from optuna.trial import TrialState
from ray.tune.search.optuna import OptunaSearch

from codesign.search.backends._ray import FAILED_KEY, RAY_RETRIES
from codesign.search.trial import record_failure


class FailingOptunaSearch(OptunaSearch):
    """OptunaSearch that tells FAIL, with a reason, for failed trials."""

    def on_trial_complete(self, trial_id: str, result: dict | None = None,
                          error: bool = False) -> None:
        failed = error or (result is not None and FAILED_KEY in result)
        if not failed or trial_id in self._completed_trials:
            super().on_trial_complete(trial_id, result, error)
            return
        trial = self._ot_trials[trial_id]
        if error:
            record_failure(trial.set_user_attr, (
                f"its Ray worker died or crashed {RAY_RETRIES + 1} times; Ray's error.txt for "
                "it is under the run directory's ray/ folder"))
        study = self._ot_study
        if study is None:  # set by OptunaSearch before any trial is suggested
            raise RuntimeError("the Optuna study of the searcher is not set up")
        study.tell(trial, state=TrialState.FAIL)
        self._completed_trials.add(trial_id)
