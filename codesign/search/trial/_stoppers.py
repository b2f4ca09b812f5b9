"""Early-stop rules by name (`--early-stop pareto|asha`): the trial loop asks one stopper.

A rule is a factory `(trial, settings, cfg, costs) -> Stopper`; a stopper is the trainer's
`on_epoch` callback (True: stop now) and, once it has stopped a trial, says why in `reason`
(naming its rule and the epoch or rung). Every rule reads and writes only the shared Optuna
storage, so it works the same under every backend. Stopped trials keep their best checkpoint
(status STOPPED).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Protocol

from codesign._registry import Registry
from codesign.search.trial._asha import AshaStopper
from codesign.search.trial._early_stop import ParetoStopper, first_epoch

if TYPE_CHECKING:
    import optuna

    from codesign.config import TrialConfig
    from codesign.search.store import SearchSettings


class Stopper(Protocol):
    reason: str | None

    def __call__(self, metrics: dict[str, Any]) -> bool: ...


StopperFactory = Callable[
    ["optuna.Trial", "SearchSettings", "TrialConfig", dict[str, dict[str, float]]], Stopper
]
STOPPERS: Registry[StopperFactory] = Registry("early-stop rule")
# The rule a bare `--early-stop` asks for: the better one on digits (docs/benchmarks.md).
DEFAULT_STOPPER = "pareto"


@STOPPERS.register("pareto")
def _pareto(trial: optuna.Trial, settings: SearchSettings, cfg: TrialConfig,
            costs: dict[str, dict[str, float]]) -> Stopper:
    """stop a trial once a finished, no-costlier trial beats its optimistic final accuracy"""
    return ParetoStopper(
        study=trial.study, objectives=settings.objective_list, costs=costs,
        epochs=cfg.train.epochs, first_epoch=first_epoch(cfg.train.epochs, cfg.anneal.end),
    )


@STOPPERS.register("asha")
def _asha(trial: optuna.Trial, settings: SearchSettings, cfg: TrialConfig,
          costs: dict[str, dict[str, float]]) -> Stopper:
    """MO-ASHA: at rungs of the epochs, only the top third by non-dominated rank continues"""
    return AshaStopper(
        trial=trial, objectives=settings.objective_list, costs=costs,
        epochs=cfg.train.epochs, first_epoch=first_epoch(cfg.train.epochs, cfg.anneal.end),
    )


def make_stopper(trial: optuna.Trial, settings: SearchSettings, cfg: TrialConfig,
                 costs: dict[str, dict[str, float]]) -> Stopper | None:
    """The stopper of the study's early-stop rule, or None when the search runs every epoch."""
    rule = settings.early_stop
    return None if rule is None else STOPPERS.get(rule)(trial, settings, cfg, costs)
