"""What every process of one search must agree on, stored with the study itself.

The study's user attributes hold the space (its validated YAML mapping), the objectives, the
cost models scored, the epochs and seed, and the hashes of the user's files it references; any
process that can reach the storage (a Ray task, a worker on another machine, `codesign pareto`)
rebuilds the same search from the storage URL and study name alone.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

from codesign.errors import CodesignError
from codesign.objective import Objective, accuracy_objective, cost_objective
from codesign.record import Key
from codesign.space import SearchSpace, space_from_dict

if TYPE_CHECKING:
    import optuna

# Keys of `SearchSettings.extra`: optional per-trial behaviour, stored only when asked for.
CAPACITY_SAMPLES = "capacity_samples"
EARLY_STOP = "early_stop"
# What studies stored before the rules had names (`early_stop: true`) meant.
_LEGACY_EARLY_STOP = "pareto"
ALWAYS_SCORED = ("generic",)
# The metrics a cost model named with `--hw NAME` contributes to the objectives.
_PREFERRED_METRICS = (("latency_s", "energy_pj"), ("bops", "model_size_bytes"))


@dataclass
class SearchSettings:
    """The search as stored: space mapping and source, objectives, scoring, budget."""

    space: dict[str, Any]
    space_source: str
    objectives: list[dict[str, Any]]
    hw: list[str]
    sampler: str
    seed: int
    epochs: int | None = None
    run_dir: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    # SHA-256 of each file the space's model / dataset references name.
    references: dict[str, str] = field(default_factory=dict)

    def load_space(self) -> SearchSpace:
        return space_from_dict(self.space, source=self.space_source)

    @property
    def objective_list(self) -> list[Objective]:
        return [Objective(**o) for o in self.objectives]

    @property
    def early_stop(self) -> str | None:
        """The early-stop rule (`--early-stop`), or None when every trial runs every epoch."""
        rule = self.extra.get(EARLY_STOP)
        return str(rule) if rule else None

    @property
    def columns(self) -> list[str]:
        return [o.column for o in self.objective_list]

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> SearchSettings:
        extra = dict(data.get("extra") or {})
        if extra.get(EARLY_STOP) is True:
            extra[EARLY_STOP] = _LEGACY_EARLY_STOP
        elif EARLY_STOP in extra and not extra[EARLY_STOP]:
            del extra[EARLY_STOP]
        return cls(**{**data, "extra": extra})

    def save(self, study: optuna.Study) -> None:
        study.set_user_attr(Key.SETTINGS, self.to_dict())

    @classmethod
    def of_study(cls, study: optuna.Study) -> SearchSettings:
        data = study.user_attrs.get(Key.SETTINGS)
        if data is None:
            raise CodesignError(
                f"study '{study.study_name}' was not made by `codesign search` (no "
                f"'{Key.SETTINGS}' attribute); pass the study that a search created"
            )
        return cls.from_dict(data)


def objectives_for(space: SearchSpace, hw: list[str] | None) -> list[Objective]:
    """The space's objectives, or accuracy plus the main metrics of the `--hw` models.

    An `--hw` item is a cost model (its latency and energy, or for `generic` its BOPs and
    size) or an explicit `model.metric` column.
    """
    if not hw:
        return list(space.objectives)
    objectives = [accuracy_objective()]
    for item in hw:
        for column in cost_columns(item):
            objective = cost_objective(column)
            if objective.column not in {o.column for o in objectives}:
                objectives.append(objective)
    return objectives


def cost_columns(item: str) -> list[str]:
    """`npu_int8` -> its main metric columns; `generic.bops` -> itself; YAML paths resolved."""
    from hw_models import get_cost_model

    if _is_column(item):
        model, metric = item.rsplit(".", 1)
        cost_model = get_cost_model(model)
        if metric not in cost_model.metrics:
            raise CodesignError(
                f"cost model '{model}' has no metric '{metric}'; choose one of: "
                f"{', '.join(cost_model.metrics)}"
            )
        return [f"{cost_model.name}.{metric}"]
    cost_model = get_cost_model(item)
    for metrics in _PREFERRED_METRICS:
        if all(m in cost_model.metrics for m in metrics):
            return [f"{cost_model.name}.{m}" for m in metrics]
    return [f"{cost_model.name}.{m}" for m in cost_model.metrics[:2]]


def model_of(item: str) -> str:
    """The cost model reference inside an `--hw` item (a name, a YAML path, or a column)."""
    return item.rsplit(".", 1)[0] if _is_column(item) else item


def _is_column(item: str) -> bool:
    return "." in item and not item.endswith((".yaml", ".yml")) and "/" not in item


def parse_hw(text: str | None) -> list[str]:
    """`--hw a,b` -> ["a", "b"]; None or empty -> []."""
    if not text:
        return []
    from hw_models import split_hw_names

    return split_hw_names(text)


def scored_models(space: SearchSpace, hw: list[str]) -> list[str]:
    """Cost models scored for every trial: generic, the space's, and the `--hw` ones."""
    names = [*ALWAYS_SCORED, *space.cost_models, *(model_of(item) for item in hw)]
    return list(dict.fromkeys(names))
