"""DataLoaders for the three splits, with a seeded shuffle so a trial can be repeated exactly,
and the same batches delivered on a trial's device (`device_loaders`).

Feeding a GPU: an in-memory split (a `TensorDataset`, such as digits) is copied to the device
whole, once, and each batch is one gather there; the split's own loader, run over sample
indices, still draws the order, so a seed gives the same batches on every device. Any other
split is read by its DataLoader (`num_workers` processes, into pinned memory on a GPU) and
copied with `non_blocking`, so the copy of one batch overlaps the compute of the one before.
"""

from __future__ import annotations

from collections.abc import Iterator

import torch
from torch.utils.data import DataLoader, Dataset, TensorDataset

from codesign.data._base import DatasetSplits
from codesign.errors import CodesignError

MIN_EVAL_BATCH = 256  # evaluation batch size does not change results (eval-mode batch norm)

Batch = tuple[torch.Tensor, torch.Tensor]


def make_loaders(
    splits: DatasetSplits,
    batch_size: int,
    seed: int = 0,
    num_workers: int = 0,
    pin_memory: bool = False,
) -> tuple[DataLoader, DataLoader, DataLoader]:
    """(train, val, test) loaders; only train shuffles, drawing its order from `seed`.

    A last training batch of a single sample is dropped: batch norm cannot train on it.
    """
    return (
        _train_loader(splits.train, batch_size, seed, num_workers, pin_memory),
        _eval_loader(splits.val, batch_size, num_workers, pin_memory),
        _eval_loader(splits.test, batch_size, num_workers, pin_memory),
    )


def _train_loader(dataset: Dataset, batch_size: int, seed: int, num_workers: int,
                  pin_memory: bool) -> DataLoader:
    if not isinstance(batch_size, int) or batch_size < 1:
        raise CodesignError(f"batch_size={batch_size!r}; use a positive integer")
    size = len(dataset)  # type: ignore[arg-type]
    return DataLoader(
        dataset, batch_size=batch_size, shuffle=True,
        generator=torch.Generator().manual_seed(int(seed)), drop_last=size % batch_size == 1,
        num_workers=num_workers, pin_memory=pin_memory,
    )


def _eval_loader(dataset: Dataset, batch_size: int, num_workers: int,
                 pin_memory: bool) -> DataLoader:
    return DataLoader(dataset, batch_size=max(batch_size, MIN_EVAL_BATCH),
                      num_workers=num_workers, pin_memory=pin_memory)


class OnDevice:
    """The batches of `loader`, copied to `device` as they come."""

    def __init__(self, loader: DataLoader, device: torch.device) -> None:
        self.loader = loader
        self.device = device

    def __len__(self) -> int:
        return len(self.loader)

    def __iter__(self) -> Iterator[Batch]:
        for inputs, targets in self.loader:
            yield (inputs.to(self.device, non_blocking=True),
                   targets.to(self.device, non_blocking=True))


class Resident:
    """An in-memory split held whole on `device`; `order` yields each batch's sample indices."""

    def __init__(self, dataset: TensorDataset, order: DataLoader, device: torch.device) -> None:
        inputs, targets = dataset.tensors
        self.inputs = inputs.to(device)
        self.targets = targets.to(device)
        self.order = order
        self.device = device

    def __len__(self) -> int:
        return len(self.order)

    def __iter__(self) -> Iterator[Batch]:
        for index in self.order:
            index = index.to(self.device, non_blocking=True)
            yield self.inputs[index], self.targets[index]


class _Positions(Dataset):
    """0 .. size - 1: loaded in place of an in-memory split to draw its batches' indices."""

    def __init__(self, size: int) -> None:
        self.size = size

    def __len__(self) -> int:
        return self.size

    def __getitem__(self, i: int) -> int:
        return i


def device_loaders(
    splits: DatasetSplits,
    batch_size: int,
    device: torch.device,
    seed: int = 0,
    num_workers: int = 0,
) -> tuple[OnDevice | Resident, OnDevice | Resident, OnDevice | Resident]:
    """(train, val, test) batches on `device`, in the order `make_loaders` gives them."""
    pin = device.type == "cuda"

    def feed(dataset: Dataset, train: bool) -> OnDevice | Resident:
        resident = isinstance(dataset, TensorDataset) and len(dataset.tensors) == 2
        source = _Positions(len(dataset)) if resident else dataset  # type: ignore[arg-type]
        workers = 0 if resident else num_workers
        if train:
            loader = _train_loader(source, batch_size, seed, workers, pin)
        else:
            loader = _eval_loader(source, batch_size, workers, pin)
        if resident:
            return Resident(dataset, loader, device)  # type: ignore[arg-type]
        return OnDevice(loader, device)

    return feed(splits.train, True), feed(splits.val, False), feed(splits.test, False)
