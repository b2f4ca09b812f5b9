"""The trained float network a study starts from, and its float reference accuracy.

With `init.checkpoint` every trial loads the user's float weights; with `init.pretrain` the
study trains the float network once, before its first trial, into `<run dir>/float/`, where
every worker reads it. Whichever process gets there first does the work under a file lock in
the run directory and records the result in the study (`Key.FLOAT_REFERENCE`); every other
process, a resume and a worker joining later find it there and never train it again. The
float network's accuracy is the reference the report measures each trial's accuracy drop against.
"""

from __future__ import annotations

import dataclasses
import fcntl
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from codesign.errors import CodesignError
from codesign.record import Key

if TYPE_CHECKING:
    import optuna

    from codesign.config import TrialConfig
    from codesign.search.store import SearchSettings
    from codesign.space import SearchSpace

FLOAT_DIR = "float"
WEIGHTS_FILE = "model.pt"


def check_space_code(space: SearchSpace) -> None:
    """Build the model, load a user dataset and fit the checkpoint now, so that a bad
    reference fails in one line before any study is opened or any trial trains."""
    from codesign.data import load_dataset
    from codesign.network import load_float_weights
    from codesign.refs import DATASET_GROUP, names_user_code

    space.layer_names()
    classes, shape = space.data_shape()
    from codesign.data import DATASETS

    if names_user_code(space.dataset, DATASETS, DATASET_GROUP):
        try:
            info = load_dataset(space.dataset, **space.dataset_args).info
        except CodesignError as err:
            raise CodesignError(f"search space {space.source}: {err}") from None
        if info.input_shape != shape:
            raise CodesignError(
                f"search space {space.source}: input_shape {list(shape)} differs from the "
                f"dataset's samples, {list(info.input_shape)}; fix input_shape or drop it"
            )
    if space.init is not None and space.init.checkpoint:
        try:
            load_float_weights(space.float_model(), space.init.checkpoint)
        except CodesignError as err:
            raise CodesignError(f"search space {space.source}: init.{err}") from None


def start_weights(space: SearchSpace, settings: SearchSettings) -> str | None:
    """The float state dict every trial of the study starts from (None: random weights)."""
    if space.init is None:
        return None
    if space.init.checkpoint:
        return space.init.checkpoint
    if settings.run_dir is None:
        raise CodesignError("init.pretrain needs a run directory to keep the float network in")
    return str(Path(settings.run_dir) / FLOAT_DIR / WEIGHTS_FILE)


def float_reference(study: optuna.Study) -> dict[str, Any] | None:
    """The recorded float network (accuracies, epochs, weights), None before it exists."""
    value = study.user_attrs.get(Key.FLOAT_REFERENCE)
    return dict(value) if value else None


def ensure_float_network(
    study: optuna.Study, settings: SearchSettings, space: SearchSpace,
    stream: TextIO | None = None,
) -> dict[str, Any] | None:
    """The study's float reference, pretraining or evaluating the float network first if no
    process has yet (one process does, the others wait on the lock and reuse it)."""
    if space.init is None:
        return None
    found = float_reference(study)
    if found is not None:
        return found
    folder = Path(settings.run_dir or ".") / FLOAT_DIR
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            found = float_reference(study)
            if found is None:
                found = _make_reference(space, settings, folder, stream or sys.stdout)
                study.set_user_attr(Key.FLOAT_REFERENCE, found)
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)
    return found


def _float_config(space: SearchSpace, settings: SearchSettings) -> TrialConfig:
    """The space's network with no layer quantized (every trial's float counterpart)."""
    cfg = space.fixed_config(seed=settings.seed)
    return dataclasses.replace(cfg, layers={}, init=None)


def _make_reference(space: SearchSpace, settings: SearchSettings, folder: Path,
                    out: TextIO) -> dict[str, Any]:
    from codesign.train import evaluate_float, train_trial

    assert space.init is not None
    cfg = _float_config(space, settings)
    started = time.perf_counter()
    if space.init.pretrain is not None:
        train = dataclasses.replace(space.init.pretrain, seed=settings.seed)
        cfg = dataclasses.replace(cfg, train=train)
        out.write(f"pretraining the float network: {train.epochs} epoch(s) into {folder}\n")
        out.flush()
        result = train_trial(cfg, out_dir=folder)
        if result.status != "ok" or result.val_accuracy is None:
            raise CodesignError(
                f"pretraining the float network failed ({result.reason}); lower "
                "init.pretrain.lr or change its optimizer"
            )
        val, test, epochs = result.val_accuracy, result.test_accuracy, result.epochs
        weights = str(folder / WEIGHTS_FILE)
    else:
        weights = str(space.init.checkpoint)
        val, test = evaluate_float(dataclasses.replace(cfg, init=weights))
        epochs = 0
    record = {"val_accuracy": val, "test_accuracy": test, "epochs": epochs,
              "seconds": round(time.perf_counter() - started, 3), "weights": weights}
    out.write(f"float reference: val acc {val:.4f}, test acc {test:.4f}\n")
    out.flush()
    return record
