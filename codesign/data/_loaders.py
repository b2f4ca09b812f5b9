"""DataLoaders for the three splits, with a seeded shuffle so a trial can be repeated exactly."""

from __future__ import annotations

import torch
from torch.utils.data import DataLoader

from codesign.data._base import DatasetSplits
from codesign.errors import CodesignError

MIN_EVAL_BATCH = 256  # evaluation batch size does not change results (eval-mode batch norm)


def make_loaders(
    splits: DatasetSplits, batch_size: int, seed: int = 0, num_workers: int = 0
) -> tuple[DataLoader, DataLoader, DataLoader]:
    """(train, val, test) loaders; only train shuffles, drawing its order from `seed`.

    A last training batch of a single sample is dropped: batch norm cannot train on it.
    """
    if not isinstance(batch_size, int) or batch_size < 1:
        raise CodesignError(f"batch_size={batch_size!r}; use a positive integer")
    generator = torch.Generator().manual_seed(int(seed))
    train = DataLoader(
        splits.train, batch_size=batch_size, shuffle=True, generator=generator,
        drop_last=len(splits.train) % batch_size == 1, num_workers=num_workers,
    )
    eval_batch = max(batch_size, MIN_EVAL_BATCH)
    val = DataLoader(splits.val, batch_size=eval_batch, num_workers=num_workers)
    test = DataLoader(splits.test, batch_size=eval_batch, num_workers=num_workers)
    return train, val, test
