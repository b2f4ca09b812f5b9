"""MNIST, Fashion-MNIST, CIFAR-10 and CIFAR-100 read by torchvision from a local data root.

The validation split is carved from the training files (stratified, fixed seed; 10% by
default); the official test files are the test split. Normalisation uses the published
per-channel statistics of each training set.

MNIST and Fashion-MNIST are small and never augmented, so they are decoded once into
in-memory tensors. CIFAR images go through torchvision transforms per sample, with optional
light augmentation (random 32x32 crop of the 4-pixel padded image, horizontal flip) on the
train split only. CIFAR batches are Python pickles: torchvision unpickles them only after
their MD5 checksums match the published files, so no arbitrary pickle is ever loaded.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
from torch.utils.data import TensorDataset

from codesign.data._base import DATASETS, DatasetInfo, DatasetSpec, DatasetSplits
from codesign.data._files import gunzip_missing, open_dataset
from codesign.data._split import TransformedSubset, held_out_size, stratified_split

_GET_IT = "pass download=True on a machine with network access, or copy"


class _IdxDataset(DatasetSpec):
    """MNIST-format datasets: four idx files (optionally .gz) in `<root>/<Folder>/raw`."""

    options = {"val_fraction": 0.1}

    def __init__(self, name: str, torchvision_class: str, source: str,
                 mean: float, std: float) -> None:
        self.name = name
        self.torchvision_class = torchvision_class
        self.source = source
        self.mean, self.std = mean, std

    def info(self, **options: Any) -> DatasetInfo:
        return DatasetInfo(num_classes=10, in_channels=1, image_size=28)

    def load(self, root: Path, root_origin: str, download: bool, seed: int,
             val_fraction: float = 0.1) -> DatasetSplits:
        import torchvision.datasets

        cls = getattr(torchvision.datasets, self.torchvision_class)
        raw = root / self.torchvision_class / "raw"
        how = (
            f"{_GET_IT} train-images-idx3-ubyte, train-labels-idx1-ubyte, "
            f"t10k-images-idx3-ubyte and t10k-labels-idx1-ubyte (raw or .gz, from {self.source}) "
            f"into {raw}"
        )

        def build(train: bool) -> Any:
            if not download:
                gunzip_missing(raw, [file[: -len(".gz")] for file, _ in cls.resources])
            return cls(str(root), train=train, download=download)

        train_files = open_dataset(self.name, root, raw, root_origin, download, how,
                                   lambda: build(True))
        test_files = open_dataset(self.name, root, raw, root_origin, download, how,
                                  lambda: build(False))
        train_idx, val_idx = stratified_split(
            train_files.targets.numpy(),
            [held_out_size(val_fraction, len(train_files), "val_fraction")],
            seed,
        )
        train_x, train_y = self._tensors(train_files)
        test_x, test_y = self._tensors(test_files)
        return DatasetSplits(
            TensorDataset(train_x[train_idx], train_y[train_idx]),
            TensorDataset(train_x[val_idx], train_y[val_idx]),
            TensorDataset(test_x, test_y),
            self.info(),
        )

    def _tensors(self, files: Any) -> tuple[torch.Tensor, torch.Tensor]:
        images = (files.data.float().div_(255.0).sub_(self.mean).div_(self.std)).unsqueeze(1)
        return images, files.targets.long()


class _Cifar(DatasetSpec):
    """CIFAR python batches in `<root>/<base_folder>`, as extracted from the published tarball."""

    options = {"val_fraction": 0.1, "augment": True}

    def __init__(self, name: str, torchvision_class: str, num_classes: int,
                 mean: tuple[float, ...], std: tuple[float, ...]) -> None:
        self.name = name
        self.torchvision_class = torchvision_class
        self.num_classes = num_classes
        self.mean, self.std = mean, std

    def info(self, **options: Any) -> DatasetInfo:
        return DatasetInfo(num_classes=self.num_classes, in_channels=3, image_size=32)

    def load(self, root: Path, root_origin: str, download: bool, seed: int,
             val_fraction: float = 0.1, augment: bool = True) -> DatasetSplits:
        import torchvision.datasets
        from torchvision import transforms as T

        cls = getattr(torchvision.datasets, self.torchvision_class)
        folder = root / cls.base_folder
        how = (
            f"{_GET_IT} the folder {cls.base_folder} extracted from {cls.url} to {folder} "
            "(its files must match the published MD5 checksums)"
        )
        train_files = open_dataset(self.name, root, folder, root_origin, download, how,
                                   lambda: cls(str(root), train=True, download=download))
        test_files = open_dataset(self.name, root, folder, root_origin, download, how,
                                  lambda: cls(str(root), train=False, download=False))
        train_idx, val_idx = stratified_split(
            train_files.targets,
            [held_out_size(val_fraction, len(train_files), "val_fraction")],
            seed,
        )
        plain = [T.ToTensor(), T.Normalize(self.mean, self.std)]
        augmentation = [T.RandomCrop(32, padding=4), T.RandomHorizontalFlip()] if augment else []
        train_tf, eval_tf = T.Compose(augmentation + plain), T.Compose(plain)
        return DatasetSplits(
            TransformedSubset(train_files, train_idx, train_tf),
            TransformedSubset(train_files, val_idx, eval_tf),
            TransformedSubset(test_files, None, eval_tf),
            self.info(),
        )


for _spec, _description in (
    (
        _IdxDataset("mnist", "MNIST", "https://ossci-datasets.s3.amazonaws.com/mnist/",
                    0.1307, 0.3081),
        "MNIST handwritten digits, 1x28x28, 10 classes; idx files in <root>/MNIST/raw",
    ),
    (
        _IdxDataset("fashion_mnist", "FashionMNIST",
                    "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/", 0.2860, 0.3530),
        "Fashion-MNIST clothing, 1x28x28, 10 classes; idx files in <root>/FashionMNIST/raw",
    ),
    (
        _Cifar("cifar10", "CIFAR10", 10, (0.4914, 0.4822, 0.4465), (0.2470, 0.2435, 0.2616)),
        "CIFAR-10, 3x32x32, 10 classes; python batches in <root>/cifar-10-batches-py",
    ),
    (
        _Cifar("cifar100", "CIFAR100", 100, (0.5071, 0.4865, 0.4409), (0.2673, 0.2564, 0.2762)),
        "CIFAR-100 (fine labels), 3x32x32, 100 classes; python batches in <root>/cifar-100-python",
    ),
):
    DATASETS.add(_spec.name, _spec, _description)
