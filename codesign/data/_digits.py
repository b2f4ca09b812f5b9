"""scikit-learn's bundled 8x8 handwritten digits: the embedded dataset that needs no files.

1797 images, 10 classes. Split with a fixed seed, stratified, 60 / 20 / 20 by default, and
normalised with the mean and standard deviation of the training pixels only. Served as
in-memory tensors, so an epoch of a small CNN takes a fraction of a second on a CPU.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import TensorDataset

from codesign.data._base import DATASETS, DatasetInfo, DatasetSpec, DatasetSplits
from codesign.data._split import held_out_size, stratified_split

DIGITS_INFO = DatasetInfo(num_classes=10, in_channels=1, image_size=8)


def digits_arrays() -> tuple[np.ndarray, np.ndarray]:
    """(1797 x 64 pixel values 0..16, labels), as `sklearn.datasets.load_digits` returns them.

    Read straight from the CSV that scikit-learn bundles: importing `sklearn.datasets` costs
    seconds, more than a whole training epoch on digits.
    """
    spec = importlib.util.find_spec("sklearn")
    locations = list(spec.submodule_search_locations or []) if spec else []
    bundled = [Path(p) / "datasets" / "data" / "digits.csv.gz" for p in locations]
    if bundled and bundled[0].is_file():
        table = np.loadtxt(bundled[0], delimiter=",")
        return table[:, :-1], table[:, -1].astype(np.int64)
    from sklearn.datasets import load_digits

    images, labels = load_digits(return_X_y=True)
    return images, labels


class Digits(DatasetSpec):
    options = {"val_fraction": 0.2, "test_fraction": 0.2}

    def info(self, **options: float) -> DatasetInfo:
        return DIGITS_INFO

    def load(self, root: Path, root_origin: str, download: bool, seed: int,
             val_fraction: float = 0.2, test_fraction: float = 0.2) -> DatasetSplits:
        images, labels = digits_arrays()
        total = len(labels)
        train_idx, val_idx, test_idx = stratified_split(
            labels,
            [held_out_size(val_fraction, total, "val_fraction"),
             held_out_size(test_fraction, total, "test_fraction")],
            seed,
        )
        pixels = images.astype(np.float32)
        mean, std = pixels[train_idx].mean(), pixels[train_idx].std()

        def tensors(idx: np.ndarray) -> TensorDataset:
            x = torch.from_numpy((pixels[idx] - mean) / std).reshape(-1, 1, 8, 8)
            return TensorDataset(x, torch.from_numpy(labels[idx].astype(np.int64)))

        return DatasetSplits(tensors(train_idx), tensors(val_idx), tensors(test_idx), DIGITS_INFO)


DATASETS.add("digits", Digits(), "scikit-learn 8x8 digits, 1x8x8, 10 classes; embedded, no files")
