"""The backends by name (`--backend`), and the one signature and budget convention they share.

A backend is `run(storage_url, study_name, target, run_dir, resources)`: it runs trials of
the stored study until the study holds `target` COMPLETE trials in all (finished trials of
an earlier run count), whatever ran them. Everything it needs besides the resources is in
the storage, so a new backend is one registered function.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from codesign._registry import Registry


@dataclass(frozen=True)
class Resources:
    """Where and how wide: cluster address (Ray; None starts Ray here), parallel trials (None:
    1 locally, as many as the cluster's CPUs allow on Ray), and the CPUs (torch threads) and
    GPUs each trial reserves (None CPUs: the machine's share per trial)."""

    address: str | None = None
    workers: int | None = None
    cpus_per_trial: int | None = None
    gpus_per_trial: float = 0.0
    device: str | None = None  # where every trial trains (see `trial_device`)


Backend = Callable[[str, str, int, Path, Resources], None]
BACKENDS: Registry[Backend] = Registry("backend")
