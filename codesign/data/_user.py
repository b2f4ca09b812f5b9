"""A user's dataset: `load(**dataset_args)` from a reference, checked, and its shape measured.

The contract: `load` returns the train, validation and test splits as torch Datasets of
(input, label), as a tuple or a `DatasetSplits`. The shape of one input and the number of
classes (largest training label + 1) are read from the data, so any input works: feature
vectors, non-square images, 1-D sequences.
"""

from __future__ import annotations

from typing import Any

import torch
from torch.utils.data import Dataset

from codesign.data._base import DatasetInfo, DatasetSplits
from codesign.errors import CodesignError
from codesign.refs import DATASET_GROUP, load_function

CONTRACT = "return (train, val, test) torch Datasets of (input, label), or a DatasetSplits"


def load_user(name: str, dataset_args: dict[str, Any]) -> DatasetSplits:
    """Call the user's `load` and check what it returns, naming the reference on failure."""
    load = load_function(name, DATASET_GROUP, "dataset")
    try:
        returned = load(**dataset_args)
    except TypeError as err:
        raise CodesignError(
            f"dataset '{name}' does not accept dataset_args {sorted(dataset_args)} ({err}); "
            "match the space's dataset_args to the load function's parameters"
        ) from None
    if isinstance(returned, DatasetSplits):
        return returned
    if not isinstance(returned, tuple | list) or len(returned) != 3:
        raise CodesignError(
            f"dataset '{name}' returned {_describe(returned)}; {CONTRACT}"
        )
    splits = list(returned)
    for split, what in zip(splits, ("train", "val", "test"), strict=True):
        if not isinstance(split, Dataset) or not hasattr(split, "__len__") or len(split) == 0:
            raise CodesignError(
                f"dataset '{name}' returned a {what} split that is {_describe(split)}, not a "
                f"non-empty torch Dataset; {CONTRACT}"
            )
    shape = _sample_shape(name, splits[0])
    return DatasetSplits(splits[0], splits[1], splits[2],
                         DatasetInfo(num_classes=_num_classes(splits[0]), shape=shape))


def _describe(value: Any) -> str:
    if isinstance(value, tuple | list):
        return f"a {type(value).__name__} of {len(value)} item(s)"
    return f"a {type(value).__name__}"


def _sample_shape(name: str, train: Dataset) -> tuple[int, ...]:
    sample = train[0]
    if not isinstance(sample, tuple | list) or len(sample) != 2:
        raise CodesignError(
            f"dataset '{name}': a training sample is {_describe(sample)}, not (input, label); "
            f"{CONTRACT}"
        )
    inputs, label = sample
    if not isinstance(inputs, torch.Tensor) or inputs.dim() < 1:
        raise CodesignError(
            f"dataset '{name}': a training input is {_describe(inputs)}, not a tensor of at "
            f"least one dimension; {CONTRACT}"
        )
    if not isinstance(label, int | torch.Tensor) or (
        isinstance(label, torch.Tensor) and label.numel() != 1
    ):
        raise CodesignError(
            f"dataset '{name}': a training label is {_describe(label)}, not a class index; "
            f"{CONTRACT}"
        )
    return tuple(int(d) for d in inputs.shape)


def _num_classes(train: Dataset) -> int:
    """Largest training label + 1, read from label tensors where the dataset holds them."""
    tensors = getattr(train, "tensors", None)
    if tensors is not None and len(tensors) == 2:
        return int(tensors[1].max()) + 1
    targets = getattr(train, "targets", None)
    if targets is not None:
        return int(torch.as_tensor(targets).max()) + 1
    return max(int(train[i][1]) for i in range(len(train))) + 1  # type: ignore[arg-type]
