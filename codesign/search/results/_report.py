"""The report of a study: trial table, front, hypervolume and knee, written into the run dir.

`codesign search` writes it when the search ends; `codesign pareto` writes it again at any
time, optionally under other cost models (`hw`), re-scoring every trial without retraining.
A re-scored report goes to a folder of its own (`rescore_dir`) so the run's report stays as
it was, and the study notes the cost models it was re-scored with (`Key.RESCORED`), which an
export then costs too.

Hypervolume is normalised against a reference fixed by the space, so that runs of one space
compare: accuracy from 0 (reference) to 1 (ideal), each minimised cost from 1.1 times the cost
of the space's most precise configuration (reference) to 0 (ideal).
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from codesign.record import Key
from codesign.search.results._frame import trials_frame
from codesign.search.results._rescore import rescore, stored_configs
from codesign.search.store import (
    Manifest,
    SearchSettings,
    load_study,
    model_of,
    objectives_for,
)
from codesign.search.trial import constraint_values, within_budgets
from codesign.search.trial._float import float_reference

if TYPE_CHECKING:
    import pandas as pd

    from codesign.objective import Objective
    from codesign.space import SearchSpace

SUMMARY_FILE = "summary.json"
RESCORED_PREFIX = "rescored-"
DROP_COLUMN = "accuracy_drop"
REFERENCE_MARGIN = 1.1


@dataclass
class SearchReport:
    """What a finished (or running) search hands back."""

    run_dir: Path
    frame: pd.DataFrame
    objectives: list[Objective]
    paths: dict[str, Path]
    hypervolume: float
    knee: int | None
    front: list[int]
    table: str
    float_reference: dict[str, Any] | None = None

    def tagged(self, key: str) -> list[int]:
        """Numbers of the trials carrying attribute `key` (the baselines, the seeds)."""
        if key not in self.frame.columns:
            return []
        return sorted(int(n) for n in self.frame.loc[self.frame[key].notna(), "number"])

    def summary(self) -> dict[str, Any]:
        return {
            "float_reference": self.float_reference,
            "objectives": [o.column for o in self.objectives],
            "trials": int(len(self.frame)),
            "complete": int((self.frame["state"] == "COMPLETE").sum()) if len(self.frame) else 0,
            "front": self.front,
            "knee": self.knee,
            "baselines": self.tagged(Key.BASELINE_BITS),
            "seeds": self.tagged(Key.SEED_BUDGET),
            "hypervolume": self.hypervolume,
            "files": {kind: str(path) for kind, path in self.paths.items()},
        }


def report_study(manifest: Manifest, run_dir: Path, hw: list[str] | None = None) -> SearchReport:
    """Read the study, re-score it when `hw` names cost models, and write the report files."""
    import pandas as pd

    from codesign.report import report_frame, summary_table, write_report

    study = load_study(manifest)
    settings = SearchSettings.of_study(study)
    space = settings.load_space()
    trials = [t for t in study.get_trials(deepcopy=False) if t.state.name != "WAITING"]
    if hw:
        objectives = objectives_for(space, hw)
        models = [model_of(item) for item in [*settings.hw, *hw]]  # `model.metric` columns
        frame = rescored_frame(trials, space, list(dict.fromkeys(models)))
        note_rescored(study, [model_of(item) for item in hw])
    else:
        objectives = settings.objective_list
        frame = trials_frame(trials)
    reference = float_reference(study)
    float_accuracy = reference["val_accuracy"] if reference else None
    if float_accuracy is not None and "val_accuracy" in frame.columns:
        frame[DROP_COLUMN] = float_accuracy - pd.to_numeric(frame["val_accuracy"])
    run_dir.mkdir(parents=True, exist_ok=True)
    budgets = {c.column: c.limit for c in space.constraints}
    paths = write_report(frame, objectives, run_dir,
                         title=report_title(space.name, study.study_name, objectives),
                         float_accuracy=float_accuracy, budgets=budgets)
    ranked = report_frame(frame, objectives)
    front = sorted(int(n) for n in ranked.loc[ranked["on_front"], "number"])
    knee_rows = ranked.loc[ranked["knee"], "number"]
    report = SearchReport(
        run_dir=run_dir,
        frame=frame,
        objectives=objectives,
        paths=paths,
        hypervolume=space_hypervolume(frame, space, objectives),
        knee=int(knee_rows.iloc[0]) if len(knee_rows) else None,
        front=front,
        table=_with_reference(summary_table(frame, objectives), reference),
        float_reference=reference,
    )
    summary_path = run_dir / SUMMARY_FILE
    summary_path.write_text(json.dumps(report.summary(), indent=2) + "\n")
    report.paths["summary"] = summary_path
    return report


def report_title(space: str, study: str, objectives: list[Objective]) -> str:
    """`digits_cnn: accuracy against generic costs`: the space once (and the study when it
    has a name of its own), and the cost models of the figure's axes."""
    models = list(dict.fromkeys(o.cost_model for o in objectives if o.cost_model))
    name = space if study == space else f"{space} (study {study})"
    kind = "costs" if len(models) == 1 else "cost models"
    return f"{name}: accuracy against {', '.join(models) or 'costs'} {kind}"


def rescore_dir(run_dir: Path, hw: list[str]) -> Path:
    """Where `codesign pareto --hw` writes by default: `<run_dir>/rescored-<models>`, named
    after the cost models (a YAML file by its stem), beside the run's own report."""
    names = []
    for item in hw:
        model = model_of(item)
        name = Path(model).stem if model.endswith((".yaml", ".yml")) else model
        names.append(re.sub(r"[^A-Za-z0-9_.]+", "-", name).strip("-") or "model")
    return run_dir / (RESCORED_PREFIX + "+".join(dict.fromkeys(names)))


def note_rescored(study: Any, models: list[str]) -> None:
    """Add `models` (YAML files by absolute path) to the study's list of cost models it was
    re-scored with; the trials themselves are left as they were."""
    found = [str(Path(m).resolve()) if m.endswith((".yaml", ".yml")) else m for m in models]
    noted = list(study.user_attrs.get(Key.RESCORED) or [])
    merged = list(dict.fromkeys([*noted, *found]))
    if merged != noted:
        study.set_user_attr(Key.RESCORED, merged)


def _with_reference(table: str, reference: dict[str, Any] | None) -> str:
    """The front table, preceded by the float network's accuracy when the study has one."""
    if not reference:
        return table
    test = reference.get("test_accuracy")
    line = f"float reference: val acc {reference['val_accuracy']:.4f}"
    line += f", test acc {test:.4f}" if test is not None else ""
    return f"{line} ({DROP_COLUMN} = float val acc - trial val acc)\n{table}"


def rescored_frame(trials: list, space: SearchSpace, hw: list[str]) -> pd.DataFrame:
    """The trial table with every trial's costs and feasibility computed afresh under `hw`."""
    configs = stored_configs(trials)
    fresh, refusals = rescore(configs, hw)
    by_number = {t.number: t for t in trials}
    # Stored costs overlaid with the fresh ones (fresh wins for a model scored again).
    costs = {n: {**(by_number[n].user_attrs.get(Key.COSTS) or {}), **fresh[n]} for n in configs}
    feasible = {
        n: within_budgets(constraint_values(space, costs[n], refusals[n])) for n in configs
    }
    return trials_frame(trials, costs=costs, feasible=feasible)


def reference_costs(space: SearchSpace, columns: list[str]) -> dict[str, float]:
    """Costs of the space's most precise configuration (every layer at its highest bits)."""
    from codesign.network import config_costs

    w_top = _top_bits(space, "w_bits")
    a_top = _top_bits(space, "a_bits")
    cfg = space.fixed_config(w_bits=w_top, a_bits=a_top)
    models = sorted({c.rsplit(".", 1)[0] for c in columns})
    costs = config_costs(cfg, models)
    return {c: costs[c.rsplit(".", 1)[0]][c.rsplit(".", 1)[1]] for c in columns}


def _top_bits(space: SearchSpace, key: str) -> int:
    candidates = list(space.layer_fields[key].candidates())
    for rule in space.rules:
        if key in rule.fields:
            candidates += list(rule.fields[key].candidates())
    return max(int(c) for c in candidates)


def space_hypervolume(frame: pd.DataFrame, space: SearchSpace,
                      objectives: list[Objective]) -> float:
    """Normalised hypervolume of the front against the space's fixed reference (module doc);
    NaN when an objective has no natural reference (a maximised cost)."""
    from codesign.errors import CodesignError
    from codesign.pareto import front_hypervolume

    if frame.empty or any(o.column not in frame.columns for o in objectives):
        return 0.0
    costs = [o.column for o in objectives if not o.is_accuracy]
    if any(o.direction == "max" for o in objectives if not o.is_accuracy):
        return math.nan
    try:
        top = reference_costs(space, costs)
    except CodesignError:
        return math.nan
    reference = [0.0 if o.is_accuracy else REFERENCE_MARGIN * top[o.column] for o in objectives]
    ideal = [1.0 if o.is_accuracy else 0.0 for o in objectives]
    return float(front_hypervolume(frame, objectives, reference, normalise=True, ideal=ideal))
