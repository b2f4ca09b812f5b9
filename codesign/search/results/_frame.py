"""A study as a pandas DataFrame, one row per trial, in the columns every report reads.

Columns: `number`, `state`, `status`, `reason`, `val_accuracy`, `test_accuracy`, costs as
`<cost_model>.<metric>`, `feasible`, `seconds`, `epochs`, `checkpoint`, `retry_of`, and the
trial configuration flattened under `cfg.` (`cfg.layers.conv1.w_bits`, `cfg.anneal.noise`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from codesign.record import TABLE_KEYS, Key

if TYPE_CHECKING:
    import optuna
    import pandas as pd



def flatten(data: dict[str, Any], prefix: str) -> dict[str, Any]:
    """Nested mappings -> `prefix.key.subkey` columns."""
    flat: dict[str, Any] = {}
    for key, value in data.items():
        name = f"{prefix}.{key}"
        if isinstance(value, dict) and value:
            flat.update(flatten(value, name))
        elif not isinstance(value, dict):
            flat[name] = value
    return flat


def trials_frame(
    trials: list[optuna.trial.FrozenTrial],
    costs: dict[int, dict[str, dict[str, float]]] | None = None,
    feasible: dict[int, bool] | None = None,
) -> pd.DataFrame:
    """One row per trial; `costs` / `feasible` (by trial number) replace the stored ones,
    which is how a study is re-scored under other cost models without retraining."""
    import pandas as pd

    rows = []
    for trial in trials:
        attrs = trial.user_attrs
        row: dict[str, Any] = {"number": trial.number, "state": trial.state.name}
        for key in TABLE_KEYS:
            row[key] = attrs.get(key)
        trial_costs = (costs or {}).get(trial.number, attrs.get(Key.COSTS) or {})
        for model, metrics in sorted(trial_costs.items()):
            for metric, value in metrics.items():
                row[f"{model}.{metric}"] = value
        row[Key.FEASIBLE] = (feasible or {}).get(trial.number, attrs.get(Key.FEASIBLE))
        row.update(flatten(attrs.get(Key.CONFIG) or {}, "cfg"))
        rows.append(row)
    frame = pd.DataFrame(rows)
    if frame.empty:
        return pd.DataFrame(
            columns=["number", "state", Key.STATUS, Key.VAL_ACCURACY, Key.FEASIBLE])
    return frame
