"""`COST_MODELS`: the one registry of shipped, YAML and entry-point cost models.

Entries are zero-argument factories (a `CostModel` subclass, or a callable returning an
instance); `hw_models.get_cost_model` instantiates them once.
"""

from __future__ import annotations

from collections.abc import Callable

from codesign._registry import Registry
from hw_models._base import CostModel

COST_MODELS: Registry[Callable[[], CostModel]] = Registry("cost model")
