"""`COST_MODELS`: the one registry of shipped, YAML and entry-point cost models.

Entries are zero-argument factories (a `CostModel` subclass, or a callable returning an
instance); `hw_models.get_cost_model` instantiates them once. The registry also holds what
plug-in discovery has learned (where each name came from, the folders scanned, the instances
built), so all of that state lives, and is saved and restored, in one object.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from codesign._registry import Registry
from hw_models._base import CostModel


@dataclass
class PluginState:
    """What discovery has done so far: sources by name, instances, scanned folders."""

    sources: dict[str, str] = field(default_factory=dict)  # name -> "shipped (...)", a file...
    instances: dict[str, CostModel] = field(default_factory=dict)
    scanned_dirs: set[Path] = field(default_factory=set)
    shipped: set[str] = field(default_factory=set)  # names reserved by shipped YAML files
    entry_points_loaded: bool = False

    def copy(self) -> PluginState:
        """A copy whose containers are its own."""
        return PluginState(dict(self.sources), dict(self.instances), set(self.scanned_dirs),
                           set(self.shipped), self.entry_points_loaded)


@dataclass(frozen=True)
class Snapshot:
    """A copy of the registry's entries and plug-in state, for `CostModelRegistry.restore`."""

    entries: dict[str, Callable[[], CostModel]]
    descriptions: dict[str, str]
    plugins: PluginState


class CostModelRegistry(Registry[Callable[[], CostModel]]):
    """The cost-model registry plus its plug-in discovery state (`plugins`)."""

    def __init__(self) -> None:
        super().__init__("cost model")
        self.plugins = PluginState()

    def snapshot(self) -> Snapshot:
        return Snapshot(dict(self._entries), dict(self._descriptions), self.plugins.copy())

    def restore(self, snapshot: Snapshot) -> None:
        """Forget every model and discovery made since `snapshot` was taken."""
        self._entries = dict(snapshot.entries)
        self._descriptions = dict(snapshot.descriptions)
        self.plugins = snapshot.plugins.copy()


COST_MODELS = CostModelRegistry()
