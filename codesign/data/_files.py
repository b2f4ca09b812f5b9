"""Opening a torchvision dataset from a local root, with one clear line when files are missing.

Nothing is downloaded unless `download=True` is asked for: searches run on cluster nodes that
often have no network, and a silent multi-gigabyte download is no way to learn a path is wrong.
"""

from __future__ import annotations

import gzip
import shutil
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TypeVar

from codesign.errors import CodesignError

T = TypeVar("T")


def open_dataset(
    name: str, root: Path, expected: Path, root_origin: str, download: bool, how: str,
    build: Callable[[], T],
) -> T:
    """`build()` (a torchvision constructor); missing, undownloadable or malformed files become
    a `CodesignError` naming `expected` (where the files belong) and `how` to get them."""
    if not download and not expected.exists():
        raise CodesignError(missing_message(name, root, expected, root_origin, how))
    try:
        return build()
    except (ValueError, TypeError, EOFError) as err:
        raise CodesignError(
            f"dataset '{name}': files under {expected} are malformed ({err}); {how}"
        ) from None
    except (RuntimeError, OSError) as err:
        if download:
            raise CodesignError(
                f"dataset '{name}': download into {expected} failed "
                f"({' '.join(str(err).split())}); {how}"
            ) from None
        raise CodesignError(missing_message(name, root, expected, root_origin, how)) from None


def missing_message(name: str, root: Path, expected: Path, root_origin: str, how: str) -> str:
    return (
        f"dataset '{name}' not found or incomplete: expected its files in {expected} "
        f"(data root {root}, {root_origin}); {how}"
    )


def gunzip_missing(folder: Path, names: Iterable[str]) -> None:
    """Decompress `name.gz` next to each missing `name`: MNIST-style idx files are often kept
    gzipped as published, and torchvision reads only the decompressed ones."""
    for name in names:
        target, packed = folder / name, folder / f"{name}.gz"
        if not target.exists() and packed.exists():
            partial = target.with_suffix(".partial")
            with gzip.open(packed, "rb") as src, open(partial, "wb") as dst:
                shutil.copyfileobj(src, dst)
            partial.replace(target)
