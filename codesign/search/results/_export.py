"""Export one trial of a study: its configuration, checkpoint and per-layer cost table.

The folder is self-contained: `config.json` retrains with `codesign train --config`, the state
dict `model.pt` loads with `torch.load(weights_only=True)` into `codesign.train.build_model(cfg)`,
and `costs.csv` / `costs.json` give every layer's precision and costs under the study's cost
models, those `codesign pareto --hw` re-scored it with (`Key.RESCORED`), and any given with
`hw`.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

from codesign.errors import CodesignError
from codesign.record import RESULT_KEYS, Key
from codesign.search.store import Manifest, SearchSettings, load_study

CHECKPOINT_FILE = "model.pt"


def export_trial(
    manifest: Manifest, trial_number: int, dest: Path, hw: list[str] | None = None,
    checkpoint: bool = True,
) -> dict[str, Path]:
    """Write the trial's files into `dest` (`checkpoint`: with its model.pt); returns them by
    kind."""
    import pandas as pd

    from codesign.config import TrialConfig
    from codesign.network import config_costs, cost_table

    study = load_study(manifest)
    settings = SearchSettings.of_study(study)
    trials = {t.number: t for t in study.get_trials(deepcopy=False)}
    if trial_number not in trials:
        numbers = sorted(trials)
        shown = f"{numbers[0]}..{numbers[-1]}" if numbers else "none yet"
        raise CodesignError(
            f"study '{manifest.study}' has no trial {trial_number} (trials: {shown}); "
            "pick one from pareto.csv"
        )
    trial = trials[trial_number]
    raw = trial.user_attrs.get(Key.CONFIG)
    if not raw:
        raise CodesignError(
            f"trial {trial_number} never recorded a configuration (state {trial.state.name}); "
            "pick a finished trial from pareto.csv"
        )
    cfg = TrialConfig.from_dict(raw, source=f"trial {trial_number}")
    rescored = list(study.user_attrs.get(Key.RESCORED) or [])
    hw_names = list(dict.fromkeys([*settings.hw, *rescored, *(hw or [])]))
    rows = cost_table(cfg, hw_names)

    dest.mkdir(parents=True, exist_ok=True)
    paths = {"config": dest / "config.json", "costs_csv": dest / "costs.csv",
             "costs_json": dest / "costs.json", "result": dest / "result.json"}
    paths["config"].write_text(cfg.to_json() + "\n")
    pd.DataFrame(rows).to_csv(paths["costs_csv"], index=False)
    totals = config_costs(cfg, hw_names)
    paths["costs_json"].write_text(json.dumps({"layers": rows, "totals": totals}, indent=2))
    result: dict[str, Any] = {key: trial.user_attrs.get(key) for key in RESULT_KEYS}
    result["trial"] = trial_number
    result["study"] = manifest.study
    paths["result"].write_text(json.dumps(result, indent=2) + "\n")
    stored = trial.user_attrs.get(Key.CHECKPOINT)
    source = Path(stored) / CHECKPOINT_FILE if stored else None
    if checkpoint and source is not None and source.is_file():
        paths["checkpoint"] = Path(shutil.copy2(source, dest / CHECKPOINT_FILE))
    return paths
