"""Tiny datasets written in the real on-disk formats, read back through torchvision.

CIFAR batches are pickles: torchvision only unpickles files whose MD5 matches its published
list, so the tests point that list at these fixtures' checksums (`cifar_checksums`).
"""

from __future__ import annotations

import gzip
import hashlib
import pickle
import struct
from pathlib import Path

import numpy as np
import pytest

CIFAR_TRAIN_PER_BATCH = 6
CIFAR_TEST = 10
MNIST_TRAIN, MNIST_TEST = 30, 10
IMAGE_CLASSES = ("cat", "dog", "fox")
IMAGES_PER_CLASS = 6


def _md5(path: Path) -> str:
    return hashlib.md5(path.read_bytes()).hexdigest()


def _pickle(path: Path, obj: dict) -> None:
    path.write_bytes(pickle.dumps(obj, protocol=2))


def _images(rng: np.random.Generator, count: int) -> np.ndarray:
    return rng.integers(0, 256, size=(count, 3 * 32 * 32), dtype=np.uint8)


def write_cifar10(root: Path, rng: np.random.Generator) -> dict:
    folder = root / "cifar-10-batches-py"
    folder.mkdir(parents=True)
    written = {"train": [], "test": None}
    for index in range(1, 6):
        data = _images(rng, CIFAR_TRAIN_PER_BATCH)
        labels = [int(v) for v in rng.integers(0, 10, CIFAR_TRAIN_PER_BATCH)]
        _pickle(folder / f"data_batch_{index}",
                {"batch_label": f"batch {index}", "data": data, "labels": labels})
        written["train"].append((data, labels))
    data = _images(rng, CIFAR_TEST)
    labels = [i % 10 for i in range(CIFAR_TEST)]
    _pickle(folder / "test_batch", {"batch_label": "test", "data": data, "labels": labels})
    written["test"] = (data, labels)
    _pickle(folder / "batches.meta", {"label_names": [f"class{i}" for i in range(10)]})
    return written


def write_cifar100(root: Path, rng: np.random.Generator) -> dict:
    folder = root / "cifar-100-python"
    folder.mkdir(parents=True)
    written = {}
    for split, count in (("train", 5 * CIFAR_TRAIN_PER_BATCH), ("test", CIFAR_TEST)):
        data = _images(rng, count)
        fine = [int(v) for v in rng.integers(0, 100, count)]
        _pickle(folder / split, {"data": data, "fine_labels": fine,
                                 "coarse_labels": [v // 5 for v in fine]})
        written[split] = (data, fine)
    _pickle(folder / "meta", {"fine_label_names": [f"c{i}" for i in range(100)],
                              "coarse_label_names": [f"s{i}" for i in range(20)]})
    return written


def _idx(array: np.ndarray) -> bytes:
    """The idx format of LeCun's MNIST files: magic (0, 0, type 0x08, ndim), big-endian dims."""
    header = struct.pack(">BBBB", 0, 0, 0x08, array.ndim)
    header += b"".join(struct.pack(">I", d) for d in array.shape)
    return header + array.astype(np.uint8).tobytes()


def write_idx_dataset(root: Path, folder: str, rng: np.random.Generator, gz: bool) -> dict:
    raw = root / folder / "raw"
    raw.mkdir(parents=True)
    written = {}
    for prefix, count in (("train", MNIST_TRAIN), ("t10k", MNIST_TEST)):
        images = rng.integers(0, 256, size=(count, 28, 28), dtype=np.uint8)
        labels = np.arange(count) % 10
        for kind, array in (("images-idx3", images), ("labels-idx1", labels)):
            name = f"{prefix}-{kind}-ubyte"
            if gz:
                (raw / f"{name}.gz").write_bytes(gzip.compress(_idx(array)))
            else:
                (raw / name).write_bytes(_idx(array))
        written[prefix] = (images, labels)
    return written


def write_imagefolder(folder: Path, rng: np.random.Generator, split_test: bool) -> None:
    from PIL import Image

    splits = {"train": IMAGES_PER_CLASS, "test": 2} if split_test else {".": IMAGES_PER_CLASS}
    for split, count in splits.items():
        for name in IMAGE_CLASSES:
            target = folder / split / name
            target.mkdir(parents=True)
            for index in range(count):
                pixels = rng.integers(0, 256, size=(12, 10, 3), dtype=np.uint8)
                Image.fromarray(pixels).save(target / f"{index}.png")


@pytest.fixture(scope="session")
def data_root(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict]:
    """One data root holding every file-based dataset in its published layout."""
    root = tmp_path_factory.mktemp("data")
    rng = np.random.default_rng(0)
    written = {
        "cifar10": write_cifar10(root, rng),
        "cifar100": write_cifar100(root, rng),
        "mnist": write_idx_dataset(root, "MNIST", rng, gz=False),
        "fashion_mnist": write_idx_dataset(root, "FashionMNIST", rng, gz=True),
    }
    write_imagefolder(root / "imagefolder", rng, split_test=True)
    write_imagefolder(root / "flat_images", rng, split_test=False)
    return root, written


@pytest.fixture(autouse=True)
def cifar_checksums(monkeypatch: pytest.MonkeyPatch, request: pytest.FixtureRequest) -> None:
    """Point torchvision's CIFAR checksum lists at the fixture files (when they exist)."""
    if "data_root" not in request.fixturenames:
        return
    root, _ = request.getfixturevalue("data_root")
    from torchvision.datasets import CIFAR10, CIFAR100

    for cls in (CIFAR10, CIFAR100):
        folder = root / cls.base_folder
        for attr in ("train_list", "test_list"):
            entries = [[name, _md5(folder / name)] for name, _ in getattr(cls, attr)]
            monkeypatch.setattr(cls, attr, entries)
        meta = dict(cls.meta, md5=_md5(folder / cls.meta["filename"]))
        monkeypatch.setattr(cls, "meta", meta)
