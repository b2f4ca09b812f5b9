"""What each searchable field of a space file may hold, checked value by value.

Every field maps to (check, numeric): `check(value)` returns an error text with the fix, or
None; `numeric` says whether a `{low, high}` range is allowed ("int", "float") or not (None).
The allowed names come from `codesign.config`, so a space can offer nothing the trial
configuration would refuse.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

from codesign import config
from codesign.device import check_device_name
from codesign.errors import CodesignError
from codesign.formats import BITS_CHOICES, is_bits_value

FieldRule = tuple[Callable[[Any], "str | None"], "str | None"]

# `auto` derives the format from the bits: 1 -> binary, 32 -> float, otherwise int.
AUTO_FORMAT = "auto"


def _one_of(choices: tuple[str, ...]) -> Callable[[Any], str | None]:
    def check(value: Any) -> str | None:
        if value not in choices:
            return f"{value!r} is not allowed; choose from {', '.join(map(str, choices))}"
        return None

    return check


def _int_between(low: int, high: int) -> Callable[[Any], str | None]:
    def check(value: Any) -> str | None:
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            return f"{value!r} is not an integer from {low} to {high}"
        return None

    return check


def _float_between(low: float, high: float, open_low: bool = False) -> Callable[[Any], str | None]:
    def check(value: Any) -> str | None:
        if isinstance(value, bool) or not isinstance(value, int | float):
            return f"{value!r} is not a number"
        if not math.isfinite(value):
            return f"{value!r} is not a finite number"
        if value > high or value < low or (open_low and value == low):
            lower = f"> {low}" if open_low else f">= {low}"
            return f"{value!r} is out of range; use a number {lower} and <= {high}"
        return None

    return check


def _bits(value: Any) -> str | None:
    return None if is_bits_value(value) else f"{value!r} is not {BITS_CHOICES}"


def _noise(value: Any) -> str | None:
    """A noise of the `codesign.quant.NOISES` registry (their one home)."""
    from codesign.quant import NOISES

    return _one_of(tuple(NOISES.names()))(value)


def _optional_scale(value: Any) -> str | None:
    if value is None:
        return None
    return _float_between(0.0, float("inf"))(value)


def _name(value: Any) -> str | None:
    if not isinstance(value, str) or not value:
        return f"{value!r} is not a name"
    return None


def _device(value: Any) -> str | None:
    try:
        check_device_name(value)
    except CodesignError as err:
        return str(err)
    return None


LAYER_FIELDS: dict[str, FieldRule] = {
    "w_bits": (_bits, "int"),
    "a_bits": (_bits, "int"),
    "w_format": (_one_of((AUTO_FORMAT, *config.WEIGHT_FORMATS)), None),
    "a_format": (_one_of((AUTO_FORMAT, *config.ACTIVATION_FORMATS)), None),
    "estimator": (_name, None),
}

ANNEAL_FIELDS: dict[str, FieldRule] = {
    "noise": (_noise, None),
    "strategy": (_one_of(config.STRATEGIES), None),
    "mean": (_one_of(config.ANNEAL_MODES), None),
    "variance": (_one_of(config.ANNEAL_MODES), None),
    "sync": (_one_of(config.SYNCS), None),
    "power": (_one_of(config.POWER_LAWS), None),
    "start": (_float_between(0.0, 1.0), "float"),
    "end": (_float_between(0.0, 1.0), "float"),
    "beta_s": (_optional_scale, "float"),
    "beta_mu": (_float_between(-float("inf"), float("inf")), "float"),
}

TRAIN_FIELDS: dict[str, FieldRule] = {
    "epochs": (_int_between(1, 100_000), "int"),
    "batch_size": (_int_between(1, 1 << 20), "int"),
    "optimizer": (_one_of(config.OPTIMIZERS), None),
    "lr": (_float_between(0.0, float("inf"), open_low=True), "float"),
    "weight_decay": (_float_between(0.0, float("inf")), "float"),
    "device": (_device, None),
    "num_workers": (_int_between(0, 1024), None),
    "amp": (_one_of(config.AMP_MODES), None),
}
