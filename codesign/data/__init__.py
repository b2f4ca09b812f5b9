"""Datasets by name: `dataset_info` (shape, no file access) and `load_dataset` (the splits).

Registered: `digits` (embedded, no files), `mnist`, `fashion_mnist`, `cifar10`, `cifar100` and
`imagefolder`, read from a local data root (`root`, else `$CODESIGN_DATA`, else
`~/.cache/codesign/data`); nothing is downloaded unless `download=True`.
"""

from codesign.data import _digits, _imagefolder, _torchvision  # noqa: F401  (registration)
from codesign.data._base import (
    DATA_ROOT_ENV,
    DATASETS,
    DatasetInfo,
    DatasetSpec,
    DatasetSplits,
    dataset_info,
    default_data_root,
    load_dataset,
)
from codesign.data._digits import digits_arrays
from codesign.data._loaders import device_loaders, make_loaders
from codesign.data._split import stratified_split

__all__ = [
    "DATASETS",
    "DATA_ROOT_ENV",
    "DatasetInfo",
    "DatasetSpec",
    "DatasetSplits",
    "dataset_info",
    "default_data_root",
    "device_loaders",
    "digits_arrays",
    "load_dataset",
    "make_loaders",
    "stratified_split",
]
