"""The `init:` section of a space file: the trained float network every trial starts from.

`checkpoint: PATH` (relative to the space file) is a float state dict of the model;
`pretrain: {epochs: N, ...}` (optimizer fields as in `train:`) has the study train the float
network once before its first trial. Starting from trained weights, the quantizers calibrate
on them and a few epochs of annealing suffice (HAQ, HAWQ-V3, AIMET all fine-tune).
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

from codesign.config import TrainConfig
from codesign.errors import CodesignError

_KEYS = ("checkpoint", "pretrain")


@dataclass(frozen=True)
class InitSpec:
    """Exactly one of an absolute checkpoint path and a pretraining budget."""

    checkpoint: str | None = None
    pretrain: TrainConfig | None = None


def parse_init(raw: Any, base_dir: Path | None, where: str) -> InitSpec | None:
    """Validate `init:`; the checkpoint must exist now, before any trial trains."""
    if raw is None:
        return None
    here = f"{where}: init"
    if not isinstance(raw, dict) or len(raw) != 1 or set(raw) - set(_KEYS):
        raise CodesignError(
            f"{here} must hold exactly one of checkpoint: PATH or pretrain: {{epochs: N}}"
        )
    if "checkpoint" in raw:
        value = raw["checkpoint"]
        if not isinstance(value, str) or not value:
            raise CodesignError(f"{here}.checkpoint must be a file path (relative to the space)")
        path = Path(value).expanduser()
        if not path.is_absolute() and base_dir is not None:
            path = base_dir / path
        if not path.is_file():
            raise CodesignError(
                f"{here}.checkpoint: {path} does not exist; save the float model there with "
                "torch.save(model.state_dict(), path) or fix the path"
            )
        return InitSpec(checkpoint=str(path.resolve()))
    value = raw["pretrain"]
    allowed = {f.name for f in fields(TrainConfig)} - {"seed"}
    if not isinstance(value, dict) or "epochs" not in value or set(value) - allowed:
        raise CodesignError(
            f"{here}.pretrain must be a mapping with epochs and optionally "
            f"{', '.join(sorted(allowed - {'epochs'}))}"
        )
    try:
        return InitSpec(pretrain=TrainConfig(**value))
    except (CodesignError, TypeError) as err:
        raise CodesignError(f"{here}.pretrain: {err}") from None
