"""`COST_MODELS`: the one registry of shipped, YAML and entry-point cost models.

Entries are zero-argument factories (a `CostModel` subclass, or a callable returning an
instance); `hw_models.get_cost_model` instantiates them once. `COST_MODEL_FAMILIES` maps a
prefix to the family that registers the model a `prefix:reference` names (files by path).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

from codesign._registry import Registry
from hw_models._base import CostModel

COST_MODELS: Registry[Callable[[], CostModel]] = Registry("cost model")


class CostModelFamily(Protocol):
    def resolve(self, reference: str) -> str:
        """Register the model `reference` names in `COST_MODELS`; return its name."""
        ...

    def joins(self, reference: str, item: str) -> bool:
        """Whether the next comma-separated `--hw` item belongs to `reference`."""
        ...


COST_MODEL_FAMILIES: Registry[CostModelFamily] = Registry("cost model family")
