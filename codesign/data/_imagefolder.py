"""Your own images: one sub-folder per class, read by torchvision's ImageFolder.

Layout, under `<root>/<folder>` (`folder` defaults to "imagefolder"; an absolute path is
taken as is):
- `train/<class>/*.png|jpg|...`, and optionally `val/<class>/...` and `test/<class>/...`:
  each folder present is that split; a missing `val/` or `test/` is carved from `train/`
  (stratified, `val_fraction` / `test_fraction` of it);
- or just `<class>/...`: train, validation and test all carved from the one folder.

The shape comes from the images unless the arguments fix it: `num_classes` is the number of
class folders, and `in_channels` and the image size are those of the first image of the first
class (1 for greyscale, 3 for colour; every image is resized to that size). Only the header of
that one image is read, so costs stay cheap; with all three given (`image_size` square, as
ImageNet-style spaces do) no file is read before training, and images are resized by
image_size / 0.875 on the short side and centre-cropped (random-resized-cropped for training
when `augment`). Normalisation uses the ImageNet statistics.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from codesign.data._base import DATASETS, DatasetInfo, DatasetSpec, DatasetSplits
from codesign.data._files import missing_message, open_dataset
from codesign.data._split import TransformedSubset, held_out_size, stratified_split
from codesign.errors import CodesignError

IMAGENET_MEAN, IMAGENET_STD = (0.485, 0.456, 0.406), (0.229, 0.224, 0.225)
CENTRE_CROP_RATIO = 0.875  # resize to 256, crop 224: the usual ImageNet evaluation
SPLIT_FOLDERS = ("train", "val", "test")
# PIL modes of one channel (grey levels, with or without alpha); every other mode is colour.
GREY_MODES = frozenset({"1", "L", "LA", "I", "F", "I;16", "I;16L", "I;16B", "I;16N"})


def _layout(base: Path) -> dict[str, Path]:
    """The split folders present: `train` (the base itself without a train/ folder), and
    `val` / `test` beside a train/ folder."""
    if not (base / "train").is_dir():
        return {"train": base}
    return {split: base / split for split in SPLIT_FOLDERS if (base / split).is_dir()}


def _first_image(folder: Path) -> Path | None:
    """The first image (sorted) of the first class folder that holds one."""
    from torchvision.datasets.folder import IMG_EXTENSIONS

    for cls in sorted(p for p in folder.iterdir() if p.is_dir()):
        images = sorted(p for p in cls.rglob("*") if p.suffix.lower() in IMG_EXTENSIONS)
        if images:
            return images[0]
    return None


class ImageFolderDataset(DatasetSpec):
    options = {
        "num_classes": None,
        "image_size": None,
        "in_channels": None,
        "folder": "imagefolder",
        "val_fraction": 0.1,
        "test_fraction": 0.1,
        "augment": False,
    }

    def info(self, num_classes: int | None = None, image_size: int | None = None,
             in_channels: int | None = None, **options: Any) -> DatasetInfo:
        """The shape when the arguments fix all of it (no file read)."""
        if num_classes is None or image_size is None or in_channels is None:
            raise CodesignError(
                "dataset 'imagefolder' reads num_classes, image_size and in_channels from "
                "its images when they are not all given; pass the data root"
            )
        return self._checked(num_classes, in_channels, (image_size, image_size))

    def info_at(self, root: Path, root_origin: str, num_classes: int | None = None,
                image_size: int | None = None, in_channels: int | None = None,
                **options: Any) -> DatasetInfo:
        if num_classes is not None and image_size is not None and in_channels is not None:
            return self.info(num_classes, image_size, in_channels)
        base = root / options["folder"]
        train_dir = _layout(base)["train"] if base.is_dir() else base
        sample = _first_image(train_dir) if train_dir.is_dir() else None
        if sample is None:
            raise CodesignError(
                missing_message("imagefolder", root, base, root_origin, _how(base))
                + "; or give num_classes, image_size and in_channels in dataset_args"
            )
        from PIL import Image

        with Image.open(sample) as image:  # reads the header only
            width, height = image.size
            mode = image.mode
        if num_classes is None:
            num_classes = sum(1 for p in train_dir.iterdir() if p.is_dir())
        if in_channels is None:
            in_channels = 1 if mode in GREY_MODES else 3
        size = (image_size, image_size) if image_size is not None else (height, width)
        return self._checked(num_classes, in_channels, size)

    @staticmethod
    def _checked(num_classes: Any, in_channels: Any, size: tuple[Any, Any]) -> DatasetInfo:
        if not isinstance(num_classes, int) or isinstance(num_classes, bool) or num_classes < 2:
            raise CodesignError(
                f"dataset 'imagefolder' needs at least 2 classes (class folders), got "
                f"num_classes={num_classes!r}; add class folders or fix num_classes"
            )
        if not all(isinstance(d, int) and not isinstance(d, bool) and d >= 1 for d in size):
            raise CodesignError(f"imagefolder image_size={size[0]!r}; use a positive integer")
        if in_channels not in (1, 3):
            raise CodesignError(
                f"imagefolder in_channels={in_channels!r}; use 3 (RGB) or 1 (greyscale)"
            )
        height, width = size
        if height == width:
            return DatasetInfo(num_classes=num_classes, in_channels=in_channels,
                               image_size=height)
        return DatasetInfo(num_classes=num_classes, shape=(in_channels, height, width))

    def load(self, root: Path, root_origin: str, download: bool, seed: int,
             **options: Any) -> DatasetSplits:
        from torchvision import datasets
        from torchvision import transforms as T

        base = root / options["folder"]
        how = _how(base)
        if download:
            raise CodesignError(f"dataset 'imagefolder' cannot be downloaded; {how}")
        if not base.exists():
            raise CodesignError(missing_message("imagefolder", root, base, root_origin, how))
        info = self.info_at(root, root_origin, **options)
        folders = _layout(base)

        def open_folder(folder: Path) -> Any:
            return open_dataset("imagefolder", root, base, root_origin, False, how,
                                lambda: datasets.ImageFolder(str(folder)))

        files = {split: open_folder(folder) for split, folder in folders.items()}
        train_files = files["train"]
        _check_classes(train_files.classes, info.num_classes, folders["train"])
        for split, opened in files.items():
            if opened.classes != train_files.classes:
                raise CodesignError(
                    f"imagefolder: class folders of {folders[split]} differ from those of "
                    f"{folders['train']}; use the same class names in both"
                )
        carved = [split for split in ("val", "test") if split not in files]
        total = len(train_files)
        sizes = [held_out_size(options[f"{split}_fraction"], total, f"{split}_fraction")
                 for split in carved]
        train_idx, *held = stratified_split(train_files.targets, sizes, seed)
        parts: dict[str, tuple[Any, Any]] = {
            split: (train_files, idx) for split, idx in zip(carved, held, strict=True)
        }
        parts.update({split: (files[split], None) for split in ("val", "test") if split in files})

        train_tf, eval_tf = _transforms(info, fixed_size=options["image_size"] is not None,
                                        augment=options["augment"], T=T)
        return DatasetSplits(
            TransformedSubset(train_files, train_idx, train_tf),
            TransformedSubset(*parts["val"], eval_tf),
            TransformedSubset(*parts["test"], eval_tf),
            info,
        )


def _transforms(info: DatasetInfo, fixed_size: bool, augment: bool, T: Any) -> tuple[Any, Any]:
    """(train, evaluation) transforms. A size read from the images resizes every image to it;
    a size given in the arguments resizes and centre-crops, ImageNet-style."""
    channels, height, width = info.input_shape
    colour = [T.Grayscale(1)] if channels == 1 else []
    mean: tuple[float, ...] = IMAGENET_MEAN
    std: tuple[float, ...] = IMAGENET_STD
    if colour:
        mean, std = (sum(mean) / 3,), (sum(std) / 3,)
    tail = [T.ToTensor(), T.Normalize(mean, std)]
    if fixed_size:
        evaluation = [T.Resize(round(height / CENTRE_CROP_RATIO)), T.CenterCrop(height)]
    else:
        evaluation = [T.Resize((height, width))]
    training = (
        [T.RandomResizedCrop((height, width)), T.RandomHorizontalFlip()] if augment
        else evaluation
    )
    return T.Compose(colour + training + tail), T.Compose(colour + evaluation + tail)


def _how(base: Path) -> str:
    return (
        f"copy your images into {base} as train/<class>/*.png (optionally val/<class>/... "
        f"and test/<class>/...) or <class>/*.png"
    )


def _check_classes(classes: list[str], num_classes: int, folder: Path) -> None:
    if len(classes) != num_classes:
        raise CodesignError(
            f"imagefolder: {folder} has {len(classes)} class folders but num_classes="
            f"{num_classes}; set dataset_args num_classes: {len(classes)}"
        )


DATASETS.add(
    "imagefolder", ImageFolderDataset(),
    "your images in class folders under <root>/<folder> (train/, val/, test/ when present); "
    "shape read from the images",
)
