"""Re-scoring a finished study under any cost model, without retraining.

Costs are a pure function of (architecture, trial config, input shape), so every stored config
is scored again, all configs of the study in one vectorised pass per cost model (one by one
only for a model that refuses some of them). Accuracy is taken as stored.
Nothing in the storage changes: the new costs go into the report only.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from codesign.errors import CodesignError
from codesign.record import Key
from codesign.search.trial import score

if TYPE_CHECKING:
    import optuna

    from codesign.config import TrialConfig

Costs = dict[str, dict[str, float]]


def stored_configs(trials: list[optuna.trial.FrozenTrial]) -> dict[int, TrialConfig]:
    """The trial config of every trial that recorded one, by trial number."""
    from codesign.config import TrialConfig

    return {
        t.number: TrialConfig.from_dict(t.user_attrs[Key.CONFIG], source=f"trial {t.number}")
        for t in trials
        if t.user_attrs.get(Key.CONFIG)
    }


def rescore(
    configs: dict[int, TrialConfig], hw: list[str]
) -> tuple[dict[int, Costs], dict[int, dict[str, str]]]:
    """Costs of each config under each cost model in `hw`, and refusals (model -> reason) of
    the configs a model cannot run."""
    from codesign.network import configs_costs
    from hw_models import get_cost_model

    costs: dict[int, Costs] = {number: {} for number in configs}
    refusals: dict[int, dict[str, str]] = {number: {} for number in configs}
    if not configs:
        return costs, refusals
    numbers = list(configs)
    for ref in hw:
        name = get_cost_model(ref).name
        try:
            totals = configs_costs([configs[n] for n in numbers], [ref])[name]
        except CodesignError:
            totals = None  # some config is refused: score one by one to find which
        for row, number in enumerate(numbers):
            if totals is not None:
                costs[number][name] = {m: float(v[row]) for m, v in totals.items()}
                continue
            found, refused = score(configs[number], [ref])
            costs[number].update(found)
            refusals[number].update(refused)
    return costs, refusals
