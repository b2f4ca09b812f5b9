"""Finding cost models: shipped ones, YAML tables on a search path or by path, and Python
classes registered under the entry-point group `codesign.hw_models`.

All of them land in the one registry `COST_MODELS`. The search path is the `hw_dirs` given
(e.g. `--hw-dir`), then the folders in `CODESIGN_HW_PATH` (os.pathsep-separated), then the
shipped `hw_models/accelerators`. Shipped names are reserved; among user folders the first
file declaring a name wins. Any other clash (a path or entry point reusing a taken name) is
an error naming both sources, never a silent replacement.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from functools import partial
from importlib import metadata, resources
from pathlib import Path

from codesign.errors import CodesignError
from hw_models._base import CostModel
from hw_models._registry import COST_MODEL_FAMILIES, COST_MODELS
from hw_models._yaml_model import load_yaml_model

ENTRY_POINT_GROUP = "codesign.hw_models"
HW_PATH_ENV = "CODESIGN_HW_PATH"

def shipped_dir() -> Path:
    return Path(str(resources.files("hw_models").joinpath("accelerators")))


def search_path(hw_dirs: Iterable[str | Path] = ()) -> list[Path]:
    """Folders searched for `*.yaml` accelerators, in priority order."""
    env = [p for p in os.environ.get(HW_PATH_ENV, "").split(os.pathsep) if p]
    return [Path(p) for p in (*hw_dirs, *env)] + [shipped_dir()]


def register_model(name: str, factory: Callable[[], CostModel], source: str,
                   description: str | None = None) -> None:
    """Add a model to `COST_MODELS`, or do nothing if the same source registered it already."""
    sources = COST_MODELS.plugins.sources
    owner = sources.get(name, "a shipped model" if name in COST_MODELS else None)
    if owner == source:
        return
    if owner is not None:
        raise CodesignError(
            f"cost model name '{name}' from {source} is already taken by {owner}; "
            "rename one of them"
        )
    COST_MODELS.add(name, factory, description)
    sources[name] = source


def _register_yaml(path: Path, scanning: bool = False, source: str = "") -> str:
    """Register one YAML file; while scanning the search path, an earlier file's name wins."""
    model = load_yaml_model(path)
    source = source or str(path.resolve())
    owner = COST_MODELS.plugins.sources.get(model.name, "")
    if scanning and model.name not in COST_MODELS.plugins.shipped and owner.endswith(
        (".yaml", ".yml")
    ):
        return model.name
    register_model(model.name, partial(_same, model), source, model.description)
    return model.name


def _same(model: CostModel) -> CostModel:
    return model


def register_shipped() -> None:
    """Register the YAML accelerators shipped in `hw_models/accelerators` (names reserved)."""
    for path in sorted(shipped_dir().glob("*.yaml")):
        COST_MODELS.plugins.shipped.add(_register_yaml(path, source=f"shipped ({path.name})"))
    COST_MODELS.plugins.scanned_dirs.add(shipped_dir().resolve())


def scan_dirs(hw_dirs: Iterable[str | Path] = ()) -> None:
    """Register every YAML accelerator on the search path (each folder read once)."""
    scanned = COST_MODELS.plugins.scanned_dirs
    for folder in search_path(hw_dirs):
        key = folder.resolve()
        if key in scanned:
            continue
        if folder != shipped_dir() and not folder.is_dir():
            problem = "is a file, not a folder" if folder.exists() else "does not exist"
            raise CodesignError(
                f"accelerator folder {folder} {problem}; fix --hw-dir or {HW_PATH_ENV}"
            )
        scanned.add(key)
        for path in sorted([*folder.glob("*.yaml"), *folder.glob("*.yml")]):
            _register_yaml(path, scanning=True)


def load_entry_points() -> None:
    """Register the classes of installed distributions' `codesign.hw_models` entry points."""
    plugins = COST_MODELS.plugins
    if plugins.entry_points_loaded:
        return
    for ep in metadata.entry_points(group=ENTRY_POINT_GROUP):
        dist = getattr(ep.dist, "name", None) or "an installed distribution"
        source = f"entry point '{ep.name} = {ep.value}' of {dist}"
        if plugins.sources.get(ep.name) == source:
            continue
        try:
            factory = ep.load()
        except Exception as err:
            raise CodesignError(f"{source} cannot be imported ({err}); fix or uninstall it"
                                ) from None
        if not callable(factory):
            raise CodesignError(f"{source} is not a CostModel class or factory")
        register_model(ep.name, factory, source)
    plugins.entry_points_loaded = True


def load_plugins(hw_dirs: Iterable[str | Path] = ()) -> None:
    """Register YAML accelerators on the search path and entry-point classes."""
    scan_dirs(hw_dirs)
    load_entry_points()


def get_cost_model(name: str, hw_dirs: Iterable[str | Path] = ()) -> CostModel:
    """The cost model called `name`, or the YAML file at path `name` (registered on the way).

    Unknown names trigger a plug-in scan before failing with the list of known models.
    """
    family, sep, reference = name.partition(":")
    if sep and family in COST_MODEL_FAMILIES and name not in COST_MODELS:
        name = COST_MODEL_FAMILIES.get(family).resolve(reference)
    elif name.endswith((".yaml", ".yml")) or os.sep in name:
        name = _register_yaml(Path(name))
    elif name not in COST_MODELS:
        load_plugins(hw_dirs)
    if name not in COST_MODELS:
        choices = ", ".join(COST_MODELS.names())
        raise CodesignError(
            f"unknown cost model '{name}'; choose one of: {choices} (see `codesign hw list`), "
            f"or give a YAML accelerator by path, --hw-dir or ${HW_PATH_ENV}"
        )
    instances = COST_MODELS.plugins.instances
    if name not in instances:
        model = COST_MODELS.get(name)()
        if not isinstance(model, CostModel):
            raise CodesignError(
                f"cost model '{name}' ({source_of(name)}) built a {type(model).__name__}, "
                "not a hw_models.CostModel"
            )
        model.name = name
        instances[name] = model
    return instances[name]


def split_hw_names(text: str) -> list[str]:
    """`--hw a,b,...` -> model references; a family may claim the next item (a file it
    reads with the previous one, e.g. `zigzag:acc.yaml,mapping.yaml`). Empty items fail."""
    items = [part.strip() for part in text.split(",")]
    if not items or not all(items):
        raise CodesignError(f"--hw {text!r} has an empty name; write e.g. --hw generic,npu_int8")
    names: list[str] = []
    for item in items:
        family, sep, reference = names[-1].partition(":") if names else ("", "", "")
        if sep and family in COST_MODEL_FAMILIES and COST_MODEL_FAMILIES.get(family).joins(
                reference, item):
            names[-1] += "," + item
        else:
            names.append(item)
    return names


def source_of(name: str) -> str:
    """Where a registered model came from: 'shipped', a YAML file or an entry point."""
    COST_MODELS.get(name)
    return COST_MODELS.plugins.sources.get(name, "shipped")


def list_cost_models(hw_dirs: Iterable[str | Path] = ()) -> list[tuple[str, str, str]]:
    """(name, one-line description, source) of every model, plug-ins included."""
    load_plugins(hw_dirs)
    return [(n, COST_MODELS.describe(n), source_of(n)) for n in COST_MODELS.names()]

