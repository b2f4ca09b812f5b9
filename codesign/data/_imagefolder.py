"""Your own images: one sub-folder per class, read by torchvision's ImageFolder.

Layout, under `<root>/<folder>` (`folder` defaults to "imagefolder"; an absolute path is
taken as is):
- `train/<class>/*.png|jpg|...` and optionally `test/<class>/...` (or `val/<class>/...`,
  used as the test split when there is no `test/`): train, validation carved from train;
- or just `<class>/...`: train, validation and test all carved from the one folder.

Costs are computed before any file is read, so the shape comes from the arguments:
`num_classes` (required; it must equal the number of class folders), `image_size` (default
224; images are resized by image_size / 0.875 on the short side and centre-cropped, or
random-resized-cropped for training when `augment`) and `in_channels` (3 for RGB, 1 to convert
to greyscale). Normalisation uses the ImageNet statistics.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from codesign.data._base import DATASETS, DatasetInfo, DatasetSpec, DatasetSplits
from codesign.data._files import open_dataset
from codesign.data._split import TransformedSubset, held_out_size, stratified_split
from codesign.errors import CodesignError

IMAGENET_MEAN, IMAGENET_STD = (0.485, 0.456, 0.406), (0.229, 0.224, 0.225)
CENTRE_CROP_RATIO = 0.875  # resize to 256, crop 224: the usual ImageNet evaluation


class ImageFolderDataset(DatasetSpec):
    options = {
        "num_classes": None,
        "image_size": 224,
        "in_channels": 3,
        "folder": "imagefolder",
        "val_fraction": 0.1,
        "test_fraction": 0.1,
        "augment": False,
    }

    def info(self, num_classes: int | None = None, image_size: int = 224, in_channels: int = 3,
             **options: Any) -> DatasetInfo:
        if not isinstance(num_classes, int) or isinstance(num_classes, bool) or num_classes < 2:
            raise CodesignError(
                f"dataset 'imagefolder' needs num_classes (the number of class folders, >= 2), "
                f"got {num_classes!r}; set it in dataset_args"
            )
        if not isinstance(image_size, int) or image_size < 1:
            raise CodesignError(f"imagefolder image_size={image_size!r}; use a positive integer")
        if in_channels not in (1, 3):
            raise CodesignError(
                f"imagefolder in_channels={in_channels!r}; use 3 (RGB) or 1 (greyscale)"
            )
        return DatasetInfo(num_classes=num_classes, in_channels=in_channels, image_size=image_size)

    def load(self, root: Path, root_origin: str, download: bool, seed: int,
             **options: Any) -> DatasetSplits:
        from torchvision import datasets
        from torchvision import transforms as T

        info = self.info(**options)
        base = root / options["folder"]
        how = (
            f"copy your images there as train/<class>/*.png (optionally test/<class>/...) "
            f"or <class>/*.png, {info.num_classes} class folders"
        )
        if download:
            raise CodesignError(f"dataset 'imagefolder' cannot be downloaded; {how} into {base}")
        train_dir = base / "train" if (base / "train").is_dir() else base
        test_dir = next(
            (base / sub for sub in ("test", "val") if train_dir != base and (base / sub).is_dir()),
            None,
        )

        def open_folder(folder: Path) -> Any:
            return open_dataset("imagefolder", root, base, root_origin, False, how,
                                lambda: datasets.ImageFolder(str(folder)))

        train_files = open_folder(train_dir)
        _check_classes(train_files.classes, info.num_classes, train_dir)
        labels, total = train_files.targets, len(train_files)
        if test_dir is None:
            sizes = [held_out_size(options["val_fraction"], total, "val_fraction"),
                     held_out_size(options["test_fraction"], total, "test_fraction")]
            train_idx, val_idx, test_idx = stratified_split(labels, sizes, seed)
            test_files = train_files
        else:
            train_idx, val_idx = stratified_split(
                labels, [held_out_size(options["val_fraction"], total, "val_fraction")], seed
            )
            test_files, test_idx = open_folder(test_dir), None
            if test_files.classes != train_files.classes:
                raise CodesignError(
                    f"imagefolder: class folders of {test_dir} differ from those of {train_dir}; "
                    "use the same class names in both"
                )

        size = info.image_size
        colour = [T.Grayscale(1)] if info.in_channels == 1 else []
        mean: tuple[float, ...] = IMAGENET_MEAN
        std: tuple[float, ...] = IMAGENET_STD
        if info.in_channels == 1:
            mean, std = (sum(mean) / 3,), (sum(std) / 3,)
        tail = [T.ToTensor(), T.Normalize(mean, std)]
        evaluation = [T.Resize(round(size / CENTRE_CROP_RATIO)), T.CenterCrop(size)]
        training = (
            [T.RandomResizedCrop(size), T.RandomHorizontalFlip()] if options["augment"]
            else evaluation
        )
        train_tf = T.Compose(colour + training + tail)
        eval_tf = T.Compose(colour + evaluation + tail)
        return DatasetSplits(
            TransformedSubset(train_files, train_idx, train_tf),
            TransformedSubset(train_files, val_idx, eval_tf),
            TransformedSubset(test_files, test_idx, eval_tf),
            info,
        )


def _check_classes(classes: list[str], num_classes: int, folder: Path) -> None:
    if len(classes) != num_classes:
        raise CodesignError(
            f"imagefolder: {folder} has {len(classes)} class folders but num_classes="
            f"{num_classes}; set dataset_args num_classes: {len(classes)}"
        )


DATASETS.add(
    "imagefolder", ImageFolderDataset(),
    "your images in class folders under <root>/<folder>; needs num_classes",
)
