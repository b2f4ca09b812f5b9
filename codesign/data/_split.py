"""Seeded stratified splits, and views of one dataset under different transforms.

The validation split is carved from the training files with a fixed seed, so every trial of a
search is judged on the same samples; stratification keeps each class's share in every split.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence, Sized
from typing import Any, cast

import numpy as np
from torch.utils.data import Dataset

from codesign.errors import CodesignError


def stratified_split(
    labels: Sequence[int] | np.ndarray, sizes: Sequence[int], seed: int
) -> list[np.ndarray]:
    """Indices split into `len(sizes)` held-out parts of exactly those sizes, then the rest.

    Within each class the samples are shuffled with `seed`; every sample gets the key
    (rank in its class + 1/2) / class size, and parts are consecutive runs of the key order,
    so each part takes from every class in proportion to the class size (within one sample).
    """
    labels = np.asarray(labels)
    total = len(labels)
    if sum(sizes) >= total:
        raise CodesignError(
            f"cannot hold out {list(sizes)} samples from a dataset of {total}; "
            "use smaller validation / test fractions"
        )
    _, codes = np.unique(labels, return_inverse=True)
    perm = np.random.default_rng(seed).permutation(total)
    shuffled = codes[perm]
    order = np.argsort(shuffled, kind="stable")
    counts = np.bincount(shuffled)
    class_start = np.concatenate(([0], np.cumsum(counts)[:-1]))
    rank = np.empty(total, dtype=np.int64)
    rank[order] = np.arange(total) - class_start[shuffled[order]]
    key = (rank + 0.5) / counts[shuffled]
    ranked = perm[np.argsort(key, kind="stable")]
    parts, start = [], 0
    for size in sizes:
        parts.append(np.sort(ranked[start:start + size]))
        start += size
    parts.append(np.sort(ranked[start:]))
    return [parts[-1], *parts[:-1]]


def held_out_size(fraction: float, total: int, what: str) -> int:
    """round(fraction * total), with a clear error for a fraction outside (0, 1)."""
    if isinstance(fraction, bool) or not isinstance(fraction, int | float) or not (
            0.0 < fraction < 1.0):
        raise CodesignError(f"{what}={fraction!r} must lie strictly between 0 and 1")
    return max(1, round(float(fraction) * total))


class TransformedSubset(Dataset):
    """Samples `indices` of `base` passed through `transform`: one set of decoded files serves
    the augmented train view and the plain validation view without being loaded twice."""

    def __init__(
        self, base: Dataset, indices: Sequence[int] | np.ndarray | None,
        transform: Callable[[Any], Any],
    ) -> None:
        self.base = base
        self.indices = None if indices is None else [int(i) for i in indices]
        self.transform = transform

    def __len__(self) -> int:
        return len(cast(Sized, self.base)) if self.indices is None else len(self.indices)

    def __getitem__(self, index: int) -> tuple[Any, int]:
        image, label = self.base[index if self.indices is None else self.indices[index]]
        return self.transform(image), int(label)
