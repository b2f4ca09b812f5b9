"""Export the trials of a study in deployable formats, refusing those that cannot be.

A trial is exportable when it trained to the end (`ok` or early-`stopped`) and left its
checkpoint; the network is rebuilt from its configuration, loaded from the checkpoint and
written in every asked format next to the configuration and cost files of
`codesign.search.export_trial`.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

import torch

from codesign.deploy._check import Agreement, compare
from codesign.deploy._export import export_network
from codesign.errors import CodesignError
from codesign.record import Key, Status

CHECKPOINT_FILE = "model.pt"
SUMMARY_FILE = "summary.json"


def front_trials(run_dir: Path | None) -> list[int]:
    """The Pareto-optimal trial numbers recorded in the run directory's summary."""
    path = (run_dir or Path(".")) / SUMMARY_FILE
    if run_dir is None or not path.is_file():
        raise CodesignError(
            f"{path} does not exist; --front needs the --out of a search with a report "
            "(run `codesign pareto --out DIR` first)"
        )
    front = json.loads(path.read_text()).get("front") or []
    if not front:
        raise CodesignError(f"{path} lists no Pareto-optimal trial; nothing to export")
    return [int(n) for n in front]


def trained_checkpoint(trial: Any) -> Path:
    """The trial's checkpoint file; one line naming the trial and the reason otherwise."""
    attrs = trial.user_attrs
    status = attrs.get(Key.STATUS)
    reason = f" ({attrs[Key.REASON]})" if attrs.get(Key.REASON) else ""
    n = trial.number
    if status == Status.INFEASIBLE or attrs.get(Key.FEASIBLE) is False:
        raise CodesignError(
            f"trial {n} is over budget and was never trained{reason}; "
            "pick a feasible trial from pareto.csv"
        )
    if status not in (Status.OK, Status.STOPPED):
        what = f"failed{reason}" if status else f"is unfinished (state {trial.state.name})"
        if status and status != Status.FAILED:
            what = f"ended with status '{status}'{reason}"
        raise CodesignError(f"trial {n} {what}; pick a finished trial from pareto.csv")
    checkpoint = attrs.get(Key.CHECKPOINT)
    path = Path(checkpoint) / CHECKPOINT_FILE if checkpoint else None
    if path is None or not path.is_file():
        raise CodesignError(
            f"trial {n} has no checkpoint ({path or 'none recorded'}); the run directory "
            "lost its trials/ folder or was searched without checkpoints"
        )
    return path


def export_trial_formats(manifest: Any, trial_number: int, dest: Path, formats: list[str],
                         hw: list[str] | None = None, check: bool = False
                         ) -> tuple[dict[str, Path], list[Agreement]]:
    """Write trial `trial_number` of the study in `formats` into `dest`.

    Returns the written files by kind and, with `check`, each ONNX file's agreement with the
    PyTorch network on the dataset's test split.
    """
    from codesign.config import TrialConfig
    from codesign.data import dataset_info, load_dataset
    from codesign.search import export_trial, load_study
    from codesign.train import build_model, with_data_shape

    study = load_study(manifest)
    trials = {t.number: t for t in study.get_trials(deepcopy=False)}
    trial = trials.get(trial_number)
    if trial is None:  # export_trial words this error
        export_trial(manifest, trial_number, dest, hw=hw)
        raise CodesignError(f"study '{manifest.study}' has no trial {trial_number}")
    checkpoint = trained_checkpoint(trial)
    cfg = TrialConfig.from_dict(trial.user_attrs[Key.CONFIG], source=f"trial {trial_number}")
    info = dataset_info(cfg.dataset, **cfg.dataset_args)
    # The checkpoint holds every weight, so the float network's own init is not needed.
    model = build_model(dataclasses.replace(with_data_shape(cfg, info), init=None))
    model.load_state_dict(torch.load(checkpoint, weights_only=True))
    model.eval()
    onnx_formats = [f for f in formats if f != "pytorch"]
    sample = torch.zeros(2, *info.input_shape)
    files: dict[str, Path] = {}
    metadata = {"trial": str(trial_number), "study": manifest.study, "config": cfg.to_dict(),
                "costs": trial.user_attrs.get(Key.COSTS, {}),
                "test_accuracy": trial.user_attrs.get(Key.TEST_ACCURACY)}
    for fmt in onnx_formats:
        try:
            files[fmt], _ = export_network(model, sample, fmt, dest, metadata)
        except CodesignError as err:
            raise CodesignError(f"trial {trial_number} cannot be written as {fmt}: {err}"
                                ) from None
    files.update(export_trial(manifest, trial_number, dest, hw=hw,
                              checkpoint="pytorch" in formats))
    agreements = []
    if check and onnx_formats:
        test: Any = load_dataset(cfg.dataset, **cfg.dataset_args).test
        inputs = torch.stack([test[i][0] for i in range(len(test))]).numpy()
        agreements = [compare(model, files[fmt], fmt, inputs) for fmt in onnx_formats]
    return files, agreements
