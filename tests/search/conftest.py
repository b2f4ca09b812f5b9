"""A small digits space for search tests: the default CNN, two bit choices per inner layer."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

SMALL_SPACE = {
    "name": "digits_small",
    "model": "digits_cnn",
    "dataset": "digits",
    "train": {"epochs": 2, "batch_size": 64, "optimizer": "adam", "lr": 3.0e-3},
    "layers": {"w_bits": [8, 2], "a_bits": [8, 4]},
    "overrides": [{"match": "conv1|fc", "w_bits": 8, "a_bits": 8}],
    "anneal": {"noise": ["normal", "uniform"], "sync": ["overlapped", "same_start"],
               "end": 0.8},
    "objectives": ["accuracy", "generic.bops", "generic.model_size_bytes"],
}


def write_space(folder: Path, **changes) -> Path:
    """The small space with top-level fields replaced, written as YAML; returns its path."""
    path = folder / f"{changes.get('name', SMALL_SPACE['name'])}.yaml"
    path.write_text(yaml.safe_dump({**SMALL_SPACE, **changes}, sort_keys=False))
    return path


@pytest.fixture
def small_space(tmp_path: Path) -> Path:
    return write_space(tmp_path)
