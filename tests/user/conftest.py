"""User code outside the package for the tests of `model:` / `dataset:` references: the
README's example and a dataset file, written into a temp folder (the CLI runs through
`codesign.testing`)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"

# Digits read the fast way (the CSV scikit-learn bundles), as (image, label) splits.
_DIGITS_DATA = '''
import torch
from torch.utils.data import TensorDataset

from codesign.data._digits import digits_arrays


def load(seed=0, flat=False):
    images, labels = digits_arrays()
    x = torch.tensor(images, dtype=torch.float32) / 16.0
    x = x if flat else x.reshape(-1, 1, 8, 8)
    y = torch.tensor(labels)
    order = torch.randperm(len(y), generator=torch.Generator().manual_seed(seed))
    x, y = x[order], y[order]
    return (TensorDataset(x[:1000], y[:1000]), TensorDataset(x[1000:1400], y[1000:1400]),
            TensorDataset(x[1400:], y[1400:]))
'''


def readme_example() -> dict[str, str]:
    """The files and the command of the README section "Your own network and data"."""
    text = README.read_text()
    section = text.split("## Your own network and data", 1)[1].split("\n## ", 1)[0]
    files = {}
    for name, body in re.findall(r"`([\w.]+)`:\n\n```\w+\n(.*?)```", section, re.S):
        files[name] = body
    (command,) = re.findall(r"```bash\n(.*?)\n```", section, re.S)
    files["command"] = command
    return files


@pytest.fixture
def example(tmp_path: Path) -> Path:
    """The README example written into a folder of its own; returns the folder."""
    files = readme_example()
    for name in ("model.py", "data.py", "space.yaml"):
        (tmp_path / name).write_text(files[name])
    return tmp_path


@pytest.fixture
def readme_command() -> str:
    """The command of the README section "Your own network and data"."""
    return readme_example()["command"]


@pytest.fixture(scope="session")
def digits_data_source() -> str:
    """A dataset file's source: digits as (image, label) splits, the fast way."""
    return _DIGITS_DATA
