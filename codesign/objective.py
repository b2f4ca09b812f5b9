"""An objective: one axis of the front, from the space file to the figures.

A search space names its objectives (`accuracy`, `generic.bops`), the search stores them with
the study, the trial turns them into Optuna values, and `codesign.pareto` and
`codesign.report` rank and draw the trial table by them. One type serves all of these. Its
column in the trial table is `val_accuracy` for accuracy, `<cost_model>.<metric>` for a cost
and the metric's own name for any other column of the table.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from codesign.errors import CodesignError
from codesign.record import Key

ACCURACY = Key.VAL_ACCURACY
# What a space file or a `column:direction` string may call the validation accuracy.
ACCURACY_NAMES = ("accuracy", ACCURACY)
DIRECTIONS = ("max", "min")


@dataclass(frozen=True)
class Objective:
    """`metric` (of `cost_model`, or a column of the trial table when it has none), and
    whether larger (`max`) or smaller (`min`) is better.

    `Objective("generic.bops", "min")` is read as metric `bops` of cost model `generic`, the
    same objective as `Objective("bops", "min", "generic")`.
    """

    metric: str
    direction: str
    cost_model: str | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.metric, str) or not self.metric:
            raise CodesignError(f"objective column {self.metric!r} is empty; name a column")
        if self.direction not in DIRECTIONS:
            raise CodesignError(
                f"objective '{self.column}': direction {self.direction!r}; use 'max' or 'min'"
            )
        if self.cost_model is None and "." in self.metric.strip("."):
            model, metric = self.metric.rsplit(".", 1)
            object.__setattr__(self, "cost_model", model)
            object.__setattr__(self, "metric", metric)

    @property
    def column(self) -> str:
        """Its column in the trial table."""
        return self.metric if self.cost_model is None else f"{self.cost_model}.{self.metric}"

    @property
    def is_accuracy(self) -> bool:
        """The one test of "is this accuracy?": a table column (no cost model) named as an
        accuracy (`val_accuracy`, `test_accuracy`, ...)."""
        return self.cost_model is None and self.metric.endswith("accuracy")

    @property
    def is_cost(self) -> bool:
        """A metric of a cost model, known before training."""
        return self.cost_model is not None

    @property
    def optuna_direction(self) -> Literal["maximize", "minimize"]:
        return "maximize" if self.direction == "max" else "minimize"

    @property
    def sign(self) -> float:
        """+1 for `min`, -1 for `max`: multiply a value by it to get minimisation form."""
        return 1.0 if self.direction == "min" else -1.0

    def cost_in(self, costs: dict[str, dict[str, float]] | None) -> float | None:
        """This cost in a trial's `{cost_model: {metric: value}}`; None when absent (or when
        this objective is not a cost)."""
        if self.cost_model is None or not costs:
            return None
        value = costs.get(self.cost_model, {}).get(self.metric)
        return None if value is None else float(value)

    def to_dict(self) -> dict[str, Any]:
        """The mapping stored with a study (`Objective(**mapping)` rebuilds it)."""
        return {"metric": self.metric, "direction": self.direction, "cost_model": self.cost_model}

    @classmethod
    def parse(cls, text: str) -> Objective:
        """`"val_accuracy:max"`, `"generic.bops:min"`; without `:direction`, an accuracy is
        maximised and anything else (a cost) minimised."""
        if not isinstance(text, str) or not text.strip():
            raise CodesignError(
                f"objective {text!r} is empty; write 'column:max' or 'column:min'"
            )
        column, sep, direction = text.strip().rpartition(":")
        if not sep:
            column, direction = direction, ""
        column = column.strip()
        if not direction.strip():
            direction = "max" if cls(column, "max").is_accuracy else "min"
        return cls(column, direction.strip())

    def __str__(self) -> str:
        return f"{self.column}:{self.direction}"


def split_cost_column(column: Any, where: str = "objective") -> tuple[str, str]:
    """`generic.bops` -> ("generic", "bops"); anything else is one error line."""
    if (not isinstance(column, str) or "." not in column or column.startswith(".")
            or column.endswith(".")):
        raise CodesignError(f"{where}: {column!r} is not 'cost_model.metric' (e.g. generic.bops)")
    model, metric = column.rsplit(".", 1)
    return model, metric


def cost_objective(column: str, direction: str = "min", where: str = "objective") -> Objective:
    """`generic.bops` -> the objective minimising that metric of that cost model."""
    model, metric = split_cost_column(column, where)
    return Objective(metric=metric, direction=direction, cost_model=model)


def accuracy_objective() -> Objective:
    """The validation accuracy, maximised."""
    return Objective(ACCURACY, "max")
