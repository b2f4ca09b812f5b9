"""Every registered dataset, read through the real torchvision loaders from files in their
published formats (written by conftest), or from scikit-learn for the embedded digits."""

from __future__ import annotations

import socket
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
import torchvision

from codesign.data import (
    DATA_ROOT_ENV,
    DATASETS,
    DatasetInfo,
    DatasetSplits,
    dataset_info,
    digits_arrays,
    load_dataset,
)
from codesign.errors import CodesignError

DIGITS_TOTAL = 1797
IMAGE_SIZE = 8


@dataclass(frozen=True)
class Expected:
    """How one dataset is loaded in these tests and what it must look like."""

    args: dict[str, Any]
    info: DatasetInfo
    sizes: tuple[int, int, int]  # train, val, test
    folder: str = ""  # where under the data root the files belong


def held_out(total: int, fraction: float = 0.1) -> int:
    return max(1, round(fraction * total))


def image_files(folder: Path) -> int:
    return sum(1 for _ in folder.rglob("*.png"))


def expected(name: str, data_root: tuple[Path, dict]) -> Expected:
    """What the fixture files of `name` must load as; a new registry entry must be added here."""
    root, written = data_root
    if name == "digits":
        held = held_out(DIGITS_TOTAL, 0.2)
        return Expected({}, DatasetInfo(10, 1, 8), (DIGITS_TOTAL - 2 * held, held, held))
    if name in ("mnist", "fashion_mnist"):
        train, test = len(written[name]["train"][1]), len(written[name]["t10k"][1])
        val = held_out(train)
        folder = "MNIST" if name == "mnist" else "FashionMNIST"
        return Expected({}, DatasetInfo(10, 1, 28), (train - val, val, test), f"{folder}/raw")
    if name in ("cifar10", "cifar100"):
        batches = written[name]["train"]
        train = (sum(len(labels) for _, labels in batches) if name == "cifar10"
                 else len(batches[1]))
        val = held_out(train)
        classes, folder = (10, "cifar-10-batches-py") if name == "cifar10" else (
            100, "cifar-100-python")
        return Expected({}, DatasetInfo(classes, 3, 32),
                        (train - val, val, len(written[name]["test"][1])), folder)
    if name == "imagefolder":
        folder = root / "imagefolder"
        classes = sum(1 for path in (folder / "train").iterdir() if path.is_dir())
        train = image_files(folder / "train")
        val = held_out(train)
        return Expected({"num_classes": classes, "image_size": IMAGE_SIZE},
                        DatasetInfo(classes, 3, IMAGE_SIZE),
                        (train - val, val, image_files(folder / "test")), "imagefolder")
    pytest.fail(f"dataset '{name}' is registered but this test has no expectations for it")


FILE_DATASETS = [name for name in DATASETS.names() if name != "digits"]


@pytest.fixture
def no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    """Any attempt to reach the network fails the test outright."""

    def refuse(*args: Any, **kwargs: Any) -> None:
        raise AssertionError("a download was attempted")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    for module in (torchvision.datasets.utils, torchvision.datasets.mnist,
                   torchvision.datasets.cifar):
        for attr in ("download_url", "download_and_extract_archive"):
            if hasattr(module, attr):
                monkeypatch.setattr(module, attr, refuse)


def split_arrays(splits: DatasetSplits) -> list[tuple[torch.Tensor, torch.Tensor]]:
    """(images, labels) of train, val and test, decoded sample by sample."""
    arrays = []
    for part in (splits.train, splits.val, splits.test):
        images, labels = zip(*(part[i] for i in range(len(part))), strict=True)
        arrays.append((torch.stack(images), torch.as_tensor([int(v) for v in labels])))
    return arrays


def load(name: str, data_root: tuple[Path, dict], **extra: Any) -> DatasetSplits:
    spec = expected(name, data_root)
    return load_dataset(name, root=data_root[0], **{**spec.args, **extra})


@pytest.mark.parametrize("name", DATASETS.names())
def test_every_dataset_loads_with_its_shapes_classes_and_split_sizes(
    name: str, data_root: tuple[Path, dict], no_network: None
) -> None:
    spec = expected(name, data_root)
    splits = load(name, data_root)
    assert splits.info == spec.info
    assert (len(splits.train), len(splits.val), len(splits.test)) == spec.sizes
    for images, labels in split_arrays(splits):
        assert images.dtype == torch.float32 and labels.dtype == torch.int64
        assert images.shape[1:] == spec.info.input_shape
        assert torch.isfinite(images).all()
        assert labels.min() >= 0 and labels.max() < spec.info.num_classes


@pytest.mark.parametrize("name", DATASETS.names())
def test_dataset_info_agrees_with_load_dataset(
    name: str, data_root: tuple[Path, dict], no_network: None
) -> None:
    spec = expected(name, data_root)
    info = dataset_info(name, root=data_root[0], download=False, seed=3, **spec.args)
    assert info == load(name, data_root).info == spec.info


@pytest.mark.parametrize("name", ["mnist", "fashion_mnist"])
def test_idx_files_are_decoded_and_normalised(
    name: str, data_root: tuple[Path, dict], no_network: None
) -> None:
    """The test split is the t10k files, pixel for pixel; fashion_mnist is read from .gz."""
    images, labels = load(name, data_root).test.tensors
    written_images, written_labels = data_root[1][name]["t10k"]
    mean, std = DATASETS.get(name).mean, DATASETS.get(name).std
    decoded = images.squeeze(1) * std + mean
    torch.testing.assert_close(decoded, torch.from_numpy(written_images / 255.0).float())
    assert labels.tolist() == written_labels.tolist()


@pytest.mark.parametrize("name", ["cifar10", "cifar100"])
def test_cifar_batches_are_decoded_in_channel_order(
    name: str, data_root: tuple[Path, dict], no_network: None
) -> None:
    splits = load(name, data_root, augment=False)
    (train_x, train_y), (val_x, val_y), (test_x, test_y) = split_arrays(splits)
    data, fine = data_root[1][name]["test"]
    spec = DATASETS.get(name)
    mean, std = torch.tensor(spec.mean).view(3, 1, 1), torch.tensor(spec.std).view(3, 1, 1)
    written = torch.from_numpy(data.reshape(-1, 3, 32, 32) / 255.0).float()
    torch.testing.assert_close(test_x * std + mean, written)
    assert test_y.tolist() == list(fine)
    train_labels = data_root[1][name]["train"]
    all_train = (
        [v for _, labels in train_labels for v in labels] if name == "cifar10" else train_labels[1]
    )
    assert sorted(train_y.tolist() + val_y.tolist()) == sorted(all_train)


def test_cifar_augmentation_touches_only_the_train_split(
    data_root: tuple[Path, dict], no_network: None
) -> None:
    plain, augmented = load("cifar10", data_root, augment=False), load("cifar10", data_root)
    torch.manual_seed(0)
    flips = [not torch.equal(augmented.train[i][0], plain.train[i][0]) for i in range(8)]
    assert any(flips)
    for part in ("val", "test"):
        a, b = getattr(augmented, part), getattr(plain, part)
        assert all(torch.equal(a[i][0], b[i][0]) for i in range(len(a)))


def test_imagefolder_without_test_folder_carves_all_three_splits(
    data_root: tuple[Path, dict], no_network: None
) -> None:
    folder = data_root[0] / "flat_images"
    classes = sum(1 for path in folder.iterdir() if path.is_dir())
    splits = load_dataset("imagefolder", root=data_root[0], folder="flat_images", in_channels=1,
                          num_classes=classes, image_size=IMAGE_SIZE)
    total = image_files(folder)
    held = held_out(total)
    assert (len(splits.train), len(splits.val), len(splits.test)) == (total - 2 * held, held, held)
    assert splits.info == DatasetInfo(classes, 1, IMAGE_SIZE)
    assert splits.test[0][0].shape == (1, IMAGE_SIZE, IMAGE_SIZE)


def write_grey_pngs(folder: Path, counts: dict[str, int], classes: int, size: int) -> dict:
    """`counts[split]` 8-bit greyscale PNGs per class under folder/split/c<k>/, each image a
    constant grey level that encodes (split, class, index); returns the levels per split."""
    from PIL import Image

    levels: dict[str, list[tuple[int, int]]] = {}
    level = 0
    for split, count in counts.items():
        levels[split] = []
        for label in range(classes):
            target = folder / split / f"c{label}"
            target.mkdir(parents=True)
            for index in range(count):
                level += 1
                Image.new("L", (size, size), color=level).save(target / f"{index}.png")
                levels[split].append((level, label))
    return levels


def test_imagefolder_reads_train_val_test_folders_at_the_images_own_shape(
    tmp_path: Path, no_network: None
) -> None:
    counts = {"train": 5, "val": 2, "test": 3}
    levels = write_grey_pngs(tmp_path / "grey", counts, classes=3, size=16)
    info = dataset_info("imagefolder", root=tmp_path, folder="grey")
    assert info == DatasetInfo(num_classes=3, in_channels=1, image_size=16)
    splits = load_dataset("imagefolder", root=tmp_path, folder="grey")
    assert splits.info == info
    # Grey levels rise from train to val to test, and normalisation keeps their order, so
    # each split holds exactly its folder's images when its values follow the folder's.
    previous = -float("inf")
    for split in ("train", "val", "test"):
        part = getattr(splits, split)
        assert len(part) == 3 * counts[split]
        seen = []
        for index in range(len(part)):
            image, label = part[index]
            assert image.shape == (1, 16, 16)
            assert torch.all(image == image[0, 0, 0])  # one grey level: not resampled
            seen.append((float(image[0, 0, 0]), label))
        seen.sort()
        assert seen[0][0] > previous, split
        assert [label for _, label in seen] == [label for _, label in sorted(levels[split])]
        previous = seen[-1][0]


def test_imagefolder_size_in_the_arguments_wins_over_the_images(
    tmp_path: Path, no_network: None
) -> None:
    write_grey_pngs(tmp_path / "grey", {"train": 4}, classes=2, size=16)
    splits = load_dataset("imagefolder", root=tmp_path, folder="grey", image_size=8,
                          in_channels=3)
    assert splits.info == DatasetInfo(num_classes=2, in_channels=3, image_size=8)
    assert splits.train[0][0].shape == (3, 8, 8)
    assert len(splits.val) == len(splits.test) == 1  # carved from train/: 10% of 8, at least 1


def test_imagefolder_class_count_must_match_the_folders(data_root: tuple[Path, dict]) -> None:
    classes = expected("imagefolder", data_root).info.num_classes
    with pytest.raises(CodesignError, match=f"has {classes} class folders but num_classes=9"):
        load_dataset("imagefolder", root=data_root[0], num_classes=9, image_size=IMAGE_SIZE)


def test_digits_split_is_fixed_by_its_seed() -> None:
    first, again, other = (load_dataset("digits", seed=s) for s in (0, 0, 1))
    for part in ("train", "val", "test"):
        for a, b in zip(getattr(first, part).tensors, getattr(again, part).tensors, strict=True):
            assert torch.equal(a, b)
    assert not torch.equal(first.val.tensors[0], other.val.tensors[0])


def test_digits_splits_are_disjoint_stratified_and_cover_the_dataset() -> None:
    """Un-normalised, the three splits are exactly sklearn's 1797 digits, each once."""
    splits = load_dataset("digits", seed=5)
    parts = [part.tensors for part in (splits.train, splits.val, splits.test)]
    images = torch.cat([x for x, _ in parts]).reshape(-1, 64)
    lo, hi = images.min(), images.max()  # pixel values 0 and 16 occur
    pixels = torch.round((images - lo) / (hi - lo) * 16).to(torch.int64)
    labels = torch.cat([y for _, y in parts])
    seen = Counter(zip(map(tuple, pixels.tolist()), labels.tolist(), strict=True))
    raw_images, raw_labels = digits_arrays()
    original = Counter(zip(map(tuple, raw_images.astype(np.int64).tolist()),
                           raw_labels.tolist(), strict=True))
    assert seen == original and len(labels) == DIGITS_TOTAL
    class_share = np.bincount(raw_labels) / DIGITS_TOTAL
    for _, y in parts:
        counts = np.bincount(y.numpy(), minlength=10)
        assert np.all(np.abs(counts - class_share * len(y)) <= 1.0), counts


def test_digits_are_normalised_on_the_training_split() -> None:
    train = load_dataset("digits").train.tensors[0]
    assert abs(train.mean().item()) < 1e-5 and abs(train.std().item() - 1.0) < 1e-3


@pytest.mark.parametrize("name", FILE_DATASETS)
def test_missing_root_is_one_line_naming_the_place_and_the_fix(
    name: str, data_root: tuple[Path, dict], tmp_path: Path, no_network: None
) -> None:
    root = tmp_path / "nowhere"
    spec = expected(name, data_root)
    with pytest.raises(CodesignError) as caught:
        load_dataset(name, root=root, **spec.args)
    message = str(caught.value)
    assert "\n" not in message
    assert f"dataset '{name}'" in message
    assert f"expected its files in {root / spec.folder} " in message
    assert "download=True" in message or "copy your images" in message
    assert not root.exists()


def test_missing_default_root_names_the_environment_variable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, no_network: None
) -> None:
    monkeypatch.setenv(DATA_ROOT_ENV, str(tmp_path / "env_root"))
    with pytest.raises(CodesignError, match=rf"env_root.*from \${DATA_ROOT_ENV}"):
        load_dataset("mnist")


def test_incomplete_files_give_the_same_clear_line(
    data_root: tuple[Path, dict], tmp_path: Path, no_network: None
) -> None:
    raw = tmp_path / "MNIST" / "raw"
    raw.mkdir(parents=True)
    source = data_root[0] / "MNIST" / "raw"
    for name in ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"):
        (raw / name).write_bytes((source / name).read_bytes())
    with pytest.raises(CodesignError, match=r"not found or incomplete: expected its files in"):
        load_dataset("mnist", root=tmp_path)


def test_cifar_files_with_wrong_checksums_are_refused(
    data_root: tuple[Path, dict], tmp_path: Path, no_network: None
) -> None:
    folder = tmp_path / "cifar-10-batches-py"
    folder.mkdir()
    for path in (data_root[0] / "cifar-10-batches-py").iterdir():
        (folder / path.name).write_bytes(path.read_bytes())
    (folder / "data_batch_3").write_bytes(b"\x80\x02}q\x00.")  # an empty pickled dict
    with pytest.raises(CodesignError, match=rf"expected its files in {folder}"):
        load_dataset("cifar10", root=tmp_path)


@pytest.mark.parametrize(
    "call, culprit",
    [
        (lambda: load_dataset("svhn"), "unknown dataset 'svhn'; choose one of: "),
        (lambda: dataset_info("digits", crop=4),
         "dataset 'digits': dataset_args: unknown argument(s) ['crop']"),
        (lambda: dataset_info("imagefolder", root="/nonexistent", num_classes=1,
                              image_size=8, in_channels=3), "needs at least 2 classes"),
        (lambda: dataset_info("imagefolder", root="/nonexistent"),
         "or give num_classes, image_size and in_channels"),
        (lambda: load_dataset("digits", val_fraction=1.5), "val_fraction=1.5"),
    ],
)
def test_user_mistakes_name_the_culprit(call: Any, culprit: str) -> None:
    with pytest.raises(CodesignError) as caught:
        call()
    assert culprit in str(caught.value)
    if "choose one of" in culprit:
        assert all(name in str(caught.value) for name in DATASETS.names())
