"""One field of a search space: a fixed value, a list of choices, or a numeric range.

A space file writes each searchable field in one of three forms, and this module turns the
form into an Optuna suggestion (define-by-run) and into a default (for `fixed_config`):

- a scalar (`8`, `normal`): fixed, never sampled;
- a list (`[8, 4, 2]`) or `{choices: [...], default: x}`: categorical, default the first item;
- `{low, high, step?, log?, default?}`: an int or float range, default its midpoint
  (geometric midpoint for `log: true`).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from codesign.errors import CodesignError, reject_unknown

if TYPE_CHECKING:
    import optuna

# Checks a single candidate value; returns an error text, or None when the value is allowed.
ValueCheck = Callable[[Any], "str | None"]

_RANGE_KEYS = {"low", "high", "step", "log", "default"}
_CHOICE_KEYS = {"choices", "default"}


@dataclass(frozen=True)
class Choice:
    """A parsed field: `kind` is fixed, categorical, int or float."""

    kind: str
    values: tuple[Any, ...] = ()
    low: float | None = None
    high: float | None = None
    step: float | None = None
    log: bool = False
    default: Any = None

    @property
    def is_fixed(self) -> bool:
        return self.kind == "fixed"

    def candidates(self) -> tuple[Any, ...]:
        """Every value this field can take (a range gives its two ends)."""
        if self.kind in ("fixed", "categorical"):
            return self.values
        return self.bounds()

    def admits(self, value: Any) -> bool:
        """Whether `value` is one this field can take (a value of a range lies inside it)."""
        if self.kind in ("fixed", "categorical"):
            return value in self.values
        low, high = self.bounds()
        return low <= value <= high

    def suggest(self, trial: optuna.trial.BaseTrial, name: str) -> Any:
        """Draw the value through Optuna (a fixed field records nothing in the trial)."""
        if self.kind == "fixed":
            return self.values[0]
        if self.kind == "categorical":
            return trial.suggest_categorical(name, list(self.values))
        low, high = self.bounds()
        if self.kind == "int":
            return trial.suggest_int(
                name, int(low), int(high), step=int(self.step or 1), log=self.log
            )
        return trial.suggest_float(name, low, high, step=self.step, log=self.log)

    def bounds(self) -> tuple[float, float]:
        """(low, high) of a range; a fixed or categorical field has none."""
        if self.low is None or self.high is None:
            raise ValueError(f"a {self.kind} field has no range")
        return self.low, self.high


def parse_choice(raw: Any, where: str, check: ValueCheck, numeric: str | None) -> Choice:
    """Parse one field written in a space file; `numeric` is "int", "float" or None.

    `where` prefixes every error so that the message names the file and the field.
    """
    if numeric is not None:
        raw = _numbers(raw)
    if isinstance(raw, list):
        return _categorical(raw, _MISSING, where, check)
    if isinstance(raw, dict):
        if "choices" in raw:
            reject_unknown(raw, _CHOICE_KEYS, where, "key")
            if not isinstance(raw["choices"], list):
                raise CodesignError(f"{where}: 'choices' must be a list, e.g. choices: [8, 4]")
            return _categorical(raw["choices"], raw.get("default", _MISSING), where, check)
        if "low" in raw or "high" in raw:
            return _range(raw, where, check, numeric)
        raise CodesignError(
            f"{where}: a mapping needs 'choices' or 'low'/'high'; "
            "write a value, a list of choices, or {low: .., high: ..}"
        )
    _check(raw, where, check)
    return Choice(kind="fixed", values=(raw,), default=raw)


def yaml_number(value: Any) -> Any:
    """PyYAML reads `1e6` and `3.0e-3`... but `2.0e7` as a string (YAML 1.1); accept it."""
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            return value
    return value


def _numbers(raw: Any) -> Any:
    if isinstance(raw, list):
        return [yaml_number(v) for v in raw]
    if isinstance(raw, dict):
        return {k: (yaml_number(v) if k in ("low", "high", "step", "default") else v)
                for k, v in raw.items()}
    return yaml_number(raw)


class _Missing:
    pass


_MISSING = _Missing()


def _categorical(values: list[Any], default: Any, where: str, check: ValueCheck) -> Choice:
    if not values:
        raise CodesignError(f"{where}: the list of choices is empty; give at least one value")
    for value in values:
        _check(value, where, check)
    if len(set(map(repr, values))) != len(values):
        raise CodesignError(f"{where}: choices {values} repeat a value; list each value once")
    if isinstance(default, _Missing):
        default = values[0]
    elif default not in values:
        raise CodesignError(f"{where}: default {default!r} is not one of the choices {values}")
    if len(values) == 1:
        return Choice(kind="fixed", values=(values[0],), default=values[0])
    return Choice(kind="categorical", values=tuple(values), default=default)


def _range(raw: dict[str, Any], where: str, check: ValueCheck, numeric: str | None) -> Choice:
    reject_unknown(raw, _RANGE_KEYS, where, "key")
    if numeric is None:
        raise CodesignError(f"{where}: this field takes a value or a list of choices, not a range")
    if "low" not in raw or "high" not in raw:
        raise CodesignError(f"{where}: a range needs both 'low' and 'high'")
    low, high = raw["low"], raw["high"]
    for key, value in (("low", low), ("high", high)):
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise CodesignError(f"{where}: '{key}' must be a number, got {value!r}")
        if numeric == "int" and not isinstance(value, int):
            raise CodesignError(f"{where}: '{key}' must be an integer, got {value!r}")
        _check(value, where, check)
    if not low < high:
        raise CodesignError(f"{where}: low={low} must be below high={high}")
    log = raw.get("log", False)
    if not isinstance(log, bool):
        raise CodesignError(f"{where}: 'log' must be true or false")
    if log and low <= 0:
        raise CodesignError(f"{where}: a log range needs low > 0, got {low}")
    step = raw.get("step")
    if step is not None and (isinstance(step, bool) or not isinstance(step, int | float)
                             or not 0 < step < math.inf):
        raise CodesignError(f"{where}: 'step' must be a positive number, got {step!r}")
    if step is not None and log:
        raise CodesignError(f"{where}: use either 'step' or 'log', not both")
    default = raw.get("default")
    if default is None:
        default = math.sqrt(low * high) if log else (low + high) / 2
        if numeric == "int":
            default = int(round(default))
    elif not low <= default <= high:
        raise CodesignError(f"{where}: default {default} lies outside [{low}, {high}]")
    if numeric == "float":
        low, high, default = float(low), float(high), float(default)
    return Choice(kind=numeric, low=low, high=high, step=step, log=log, default=default)


def _check(value: Any, where: str, check: ValueCheck) -> None:
    problem = check(value)
    if problem:
        raise CodesignError(f"{where}: {problem}")


