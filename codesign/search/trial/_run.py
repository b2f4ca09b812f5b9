"""One trial of a search, the piece every backend calls: config -> costs -> feasibility ->
train -> record.

`run_trial` works on any `optuna.Trial`: the one `study.ask()` gave a local worker, or one
re-attached by id in a Ray task (`run_stored_trial`). It writes everything about the trial
into the storage (config, costs, constraints, accuracies, curves, checkpoint, and last the
objective values) and returns the values; the caller only has to `tell` them. A trial whose
values were recorded but never told (its driver died) is completed on resume, not rerun.

Outcomes (`codesign.record.Status`): OK and STOPPED trained; FAILED diverged (a result of the
config, kept); INFEASIBLE broke a budget or a cost model refused it, and was never trained.
Infeasible trials carry accuracy 0 in the Optuna values (the samplers also see the violated
constraints); their `val_accuracy` attribute stays empty.

The constraints are stored as the list of Optuna's `constraints` system attribute: Optuna 5
reads it as constraints "0".."n" (what every sampler needs), and optuna-dashboard reads only
this form to show a trial as infeasible; their names and values are also in the `constraints`
user attribute.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import TYPE_CHECKING, Any

from codesign.errors import CodesignError
from codesign.record import Key, Status
from codesign.search.store import CAPACITY_SAMPLES, SearchSettings
from codesign.search.trial._scoring import (
    constraint_values,
    objective_values,
    score,
    within_budgets,
)
from codesign.search.trial._stoppers import make_stopper

if TYPE_CHECKING:
    import optuna

    from codesign.config import TrialConfig
    from codesign.space import SearchSpace

TRIALS_DIR = "trials"


def trial_device(space: SearchSpace, device: str | None, ray_gpus: float | None = None) -> str:
    """The device every trial of `space` is given: `device` (the --device option), else the
    space's `train.device`; checked before any trial starts.

    Local trials and workers: on this machine. Ray trials (`ray_gpus`: the GPUs each one
    reserves) see exactly the GPUs Ray gave them, as cuda:0; a trial that reserves none runs
    on the CPU, whatever GPUs its node has.
    """
    from codesign.device import check_device_name, resolve_device

    name = check_device_name(device or space.fixed_config().train.device)
    if ray_gpus is None:
        resolve_device(name)
        return name
    if ray_gpus <= 0:
        if name.startswith("cuda"):
            raise CodesignError(
                f"device {name} on Ray needs a GPU share for every trial; add "
                "--gpus-per-trial (1, or 0.25 for four trials per GPU) or use --device cpu"
            )
        return "cpu"
    if name.startswith("cuda:") and name != "cuda:0":
        raise CodesignError(
            f"device {name}: a Ray trial sees only the GPU Ray gave it, as cuda:0; "
            "use --device auto or cuda"
        )
    return name


def run_trial(
    trial: optuna.Trial,
    space: SearchSpace,
    settings: SearchSettings,
    num_threads: int | None = None,
    device: str | None = None,
) -> list[float]:
    """Sample, cost, check budgets, train if feasible, record; return the objective values."""
    from codesign.search.trial._float import start_weights
    from codesign.train import train_trial

    cfg = space.sample(trial, epochs=settings.epochs, seed=settings.seed)
    cfg = dataclasses.replace(cfg, init=start_weights(space, settings))
    costs, refusals = score(cfg, settings.hw)
    constraints = constraint_values(space, costs, refusals)
    feasible = within_budgets(constraints)
    _record_constraints(trial, constraints)
    trial.set_user_attr(Key.CONFIG, cfg.to_dict())
    trial.set_user_attr(Key.PRECISION, precision_by_layer(cfg))
    trial.set_user_attr(Key.COSTS, costs)
    trial.set_user_attr(Key.FEASIBLE, feasible)

    record: dict[str, Any]
    if not feasible:
        over = [
            f"{c.column} {costs[c.cost_model][c.metric]:g} is over its budget {c.limit:g}"
            for c in space.constraints if constraints.get(c.column, 0.0) > 0
        ]
        reason = "; ".join([*refusals.values(), *over])
        record = {Key.STATUS: Status.INFEASIBLE, Key.REASON: reason}
        accuracy = None
    else:
        out_dir = _checkpoint_dir(settings, trial.number)
        stopper = make_stopper(trial, settings, cfg, costs)

        def on_epoch(metrics: dict[str, Any]) -> bool:
            trial.set_user_attr(Key.LATEST_EPOCH, {
                "epoch": metrics["epoch"], "epochs": cfg.train.epochs,
                "val_accuracy": metrics["val_accuracy"], "annealing": metrics["annealing"],
            })  # read by the progress display of whoever watches the study
            return stopper(metrics) if stopper is not None else False

        result = train_trial(cfg, out_dir=out_dir, on_epoch=on_epoch, num_threads=num_threads,
                             device=device)
        if stopper is not None and stopper.reason and result.status == Status.STOPPED:
            result.reason = stopper.reason
        record = {**result.summary(), Key.CURVES: result.curves}
        accuracy = result.val_accuracy
        record.update(_capacity(cfg, settings, device))
    for key, value in record.items():
        trial.set_user_attr(key, value)
    values = objective_values(settings.objective_list, costs, accuracy)
    trial.set_user_attr(Key.VALUES, values)
    return values


def _record_constraints(trial: optuna.Trial, constraints: dict[str, float]) -> None:
    """Store the constraints where both the samplers and optuna-dashboard read them (module
    doc); `Trial.set_constraint` writes a keyed form the dashboard does not read."""
    from optuna.study._constrained_optimization import _CONSTRAINTS_KEY

    trial.storage.set_trial_system_attr(trial._trial_id, _CONSTRAINTS_KEY,
                                        [float(v) for v in constraints.values()])
    trial.set_user_attr(Key.CONSTRAINTS, constraints)


def precision_by_layer(cfg: TrialConfig) -> dict[str, str]:
    """Each layer's weight and activation precision in words, for a reader of the storage
    (the full `config` attribute is cut short by optuna-dashboard on large networks)."""
    from codesign.report import precision_label

    return {
        name: f"w {precision_label(q.w_bits, q.w_format)}, "
              f"a {precision_label(q.a_bits, q.a_format)}"
        for name, q in cfg.layers.items()
    }


def _capacity(cfg: TrialConfig, settings: SearchSettings, device: str | None) -> dict[str, Any]:
    """The optional `capacity_2sed` metric (off unless the search asked for it)."""
    samples = int(settings.extra.get(CAPACITY_SAMPLES, 0))
    if samples <= 0:
        return {}
    import time

    from codesign.capacity import capacity_2sed

    started = time.perf_counter()
    value = capacity_2sed(cfg, samples=samples, seed=settings.seed, device=device)
    return {Key.CAPACITY_2SED: value,
            Key.CAPACITY_SECONDS: round(time.perf_counter() - started, 3)}


def _checkpoint_dir(settings: SearchSettings, number: int) -> Path | None:
    """A new folder for the trial's checkpoint, claimed by creating it: `trial-N`, or
    `trial-N-2`, `trial-N-3`, ... where that exists (an earlier study's trial N, or an earlier
    attempt of this one), so no checkpoint is ever written over another."""
    if settings.run_dir is None:
        return None
    folder = Path(settings.run_dir) / TRIALS_DIR
    folder.mkdir(parents=True, exist_ok=True)
    name, copy = f"trial-{number}", 1
    while True:
        path = folder / (name if copy == 1 else f"{name}-{copy}")
        try:
            path.mkdir()
            return path
        except FileExistsError:
            copy += 1


def run_stored_trial(
    storage_url: str, study_name: str, trial_id: int, num_threads: int | None = None,
    device: str | None = None,
) -> list[float]:
    """Run a trial that a driver already asked for, from the storage alone (a Ray task or a
    worker process on another machine); the driver tells the values."""
    import optuna

    from codesign.search.store import open_storage

    study = optuna.load_study(
        study_name=study_name, storage=open_storage(storage_url),
        sampler=optuna.samplers.RandomSampler(),
    )
    settings = SearchSettings.of_study(study)
    trial = optuna.Trial(study, trial_id)
    return run_trial(trial, settings.load_space(), settings, num_threads=num_threads,
                     device=device)
