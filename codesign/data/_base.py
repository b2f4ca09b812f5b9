"""The dataset registry and its two entry points: `dataset_info` and `load_dataset`.

Costs are computed before any training, so a dataset's shape (`DatasetInfo`) must be known
from its name and arguments alone: registered datasets read no file for it, except an image
folder whose arguments leave the shape open (it then reads the header of one image);
`load_dataset` is the only place that reads the data.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from torch.utils.data import Dataset

from codesign._registry import Registry
from codesign.data._split import held_out_size
from codesign.errors import reject_unknown
from codesign.refs import DATASET_GROUP, names_user_code

DATA_ROOT_ENV = "CODESIGN_DATA"
DEFAULT_DATA_ROOT = Path("~/.cache/codesign/data")

# Arguments of `load_dataset` that may also sit in a trial's `dataset_args`; they choose where
# and how files are read, never the shape of the data.
LOADING_ARGS = ("root", "download", "seed")


@dataclass(frozen=True)
class DatasetInfo:
    """What a model and a cost model need to know about the inputs: classes and the shape of
    one sample. Registered image datasets give channels and a square size; any other dataset
    gives `shape` (a feature vector, a non-square image, a 1-D sequence)."""

    num_classes: int
    in_channels: int = 0
    image_size: int = 0
    shape: tuple[int, ...] = ()

    @property
    def input_shape(self) -> tuple[int, ...]:
        """One sample's shape: `shape`, else (channels, height, width)."""
        return self.shape or (self.in_channels, self.image_size, self.image_size)


@dataclass
class DatasetSplits:
    """Train, validation and test splits (torch Datasets of (image, label)) and their info."""

    train: Dataset
    val: Dataset
    test: Dataset
    info: DatasetInfo


class DatasetSpec:
    """One registered dataset: its options, its shape, and how to load it from a data root.

    Subclasses set `options` (accepted `dataset_args` with their defaults) and implement
    `info` (no file access) and `load`.
    """

    options: dict[str, Any] = {}

    def info(self, **options: Any) -> DatasetInfo:
        raise NotImplementedError

    def info_at(self, root: Path, root_origin: str, **options: Any) -> DatasetInfo:
        """The shape under the data root `root`; only a dataset whose options may leave the
        shape open looks at its files."""
        return self.info(**options)

    def load(self, root: Path, root_origin: str, download: bool, seed: int) -> DatasetSplits:
        """The splits; subclasses add their `options` as keyword parameters."""
        raise NotImplementedError


DATASETS: Registry[DatasetSpec] = Registry("dataset")


def default_data_root() -> tuple[Path, str]:
    """The data root when none is given, and where that choice came from (for error messages)."""
    env = os.environ.get(DATA_ROOT_ENV)
    if env:
        return Path(env).expanduser(), f"from ${DATA_ROOT_ENV}"
    return DEFAULT_DATA_ROOT.expanduser(), f"the default; set ${DATA_ROOT_ENV} or pass root"


def _options(name: str, spec: DatasetSpec, given: dict[str, Any]) -> dict[str, Any]:
    """The dataset's options with `given` applied; unknown names and held-out fractions
    outside (0, 1) are refused here, before any file is read."""
    where = f"dataset '{name}': dataset_args"
    reject_unknown(given, [*LOADING_ARGS, *spec.options], where, "argument")
    for key, value in given.items():
        if key.endswith("_fraction"):
            held_out_size(value, 1, f"{where}.{key}")
    return {**spec.options, **given}


def _root(root: Any) -> tuple[Path, str]:
    """The data root and where that choice came from (for error messages)."""
    if root is None:
        return default_data_root()
    return Path(root).expanduser(), "given as root"


def dataset_info(name: str, **dataset_args: Any) -> DatasetInfo:
    """Classes, channels and image size of `name` under `dataset_args`, without loading it.

    Accepts the same arguments as `load_dataset` (`download` and `seed` are ignored; `root`
    matters only to an image folder that reads its shape from an image), so a trial's
    `dataset_args` can be passed unchanged.
    """
    if names_user_code(name, DATASETS, DATASET_GROUP):
        return load_user_dataset(name, dict(dataset_args)).info
    spec = DATASETS.get(name)
    given = {k: v for k, v in dataset_args.items() if k not in LOADING_ARGS}
    return spec.info_at(*_root(dataset_args.get("root")), **_options(name, spec, given))


def load_dataset(name: str, **dataset_args: Any) -> DatasetSplits:
    """Train / validation / test splits of `name`, read from `root` (downloaded only if asked).

    `root` defaults to `$CODESIGN_DATA`, else `~/.cache/codesign/data`. `seed` fixes the
    validation split carved from the training files, so every trial sees the same split.
    A `name` that is not registered is a user dataset (`load_user_dataset`): every argument
    goes to its `load` function unchanged.
    """
    if names_user_code(name, DATASETS, DATASET_GROUP):
        return load_user_dataset(name, dataset_args)
    spec = DATASETS.get(name)
    root = dataset_args.pop("root", None)
    download = bool(dataset_args.pop("download", False))
    seed = int(dataset_args.pop("seed", 0))
    options = _options(name, spec, dataset_args)
    return spec.load(*_root(root), download, seed, **options)


def load_user_dataset(name: str, dataset_args: dict[str, Any]) -> DatasetSplits:
    """Splits of a dataset reference (see `codesign.refs`), checked and measured."""
    from codesign.data._user import load_user

    return load_user(name, dataset_args)
