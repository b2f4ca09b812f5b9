"""Helpers for tests of codesign and of its plug-ins: a small, fast search space on the
embedded digits data, written where a test wants it.

The space trains the default CNN for two epochs with two bit choices per inner layer, so a
search of a few trials runs in seconds on a CPU.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

SMALL_SPACE: dict[str, Any] = {
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


def write_space(folder: Path, **changes: Any) -> Path:
    """The small space with top-level fields replaced, written as YAML; returns its path."""
    import yaml

    path = folder / f"{changes.get('name', SMALL_SPACE['name'])}.yaml"
    path.write_text(yaml.safe_dump({**SMALL_SPACE, **changes}, sort_keys=False))
    return path
