"""One search from start to report: open or resume the study, run a backend, write the front.

The study (storage URL and name) is the search: the settings are stored in it, so running the
same command again resumes it (finished trials kept, lost ones requeued, see `_resume.py`)
until it holds the requested number of finished trials, whatever backend ran the earlier part.
"""

from __future__ import annotations

import math
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from codesign.errors import CodesignError
from codesign.faults import Incomplete
from codesign.record import Key
from codesign.refs import check_unchanged, file_hashes
from codesign.search.backends import BACKENDS, SAMPLERS, Resources
from codesign.search.results import SearchReport, report_study
from codesign.search.store import (
    CAPACITY_SAMPLES,
    EARLY_STOP,
    MANIFEST,
    Manifest,
    SearchSettings,
    check_store,
    count_complete,
    default_storage_url,
    heartbeat_seconds,
    masked_url,
    objectives_for,
    open_storage,
    scored_models,
    sqlite_path,
    storage_from_env,
)
from codesign.search.study._baselines import enqueue_baselines
from codesign.search.study._resume import repair
from codesign.search.study._seeds import seed_study
from codesign.search.trial._float import check_space_code, ensure_float_network

if TYPE_CHECKING:
    import optuna

    from codesign.objective import Objective
    from codesign.space import SearchSpace

DEFAULT_RUNS_DIR = Path("runs")


def default_run_dir(space_name: str, hw: list[str]) -> Path:
    """`runs/<space>`, or `runs/<space>-<cost models>` for a search with `--hw`: a search of
    other objectives gets its own folder instead of being refused by the first one's."""
    if not hw:
        return DEFAULT_RUNS_DIR / space_name
    names = [Path(item).stem if item.endswith((".yaml", ".yml")) else item for item in hw]
    label = re.sub(r"[^\w.+-]+", "_", "+".join(names))
    return DEFAULT_RUNS_DIR / f"{space_name}-{label}"


@dataclass
class SearchRequest:
    """What `codesign search` was asked: every option has the default of the command."""

    space: str = "digits_cnn"
    trials: int = 20
    epochs: int | None = None
    sampler: str = "nsga2"
    seed: int = 0
    hw: list[str] = field(default_factory=list)
    backend: str = "local"
    address: str | None = None
    workers: int | None = None
    cpus_per_trial: int | None = None
    gpus_per_trial: float | None = None
    storage: str | None = None
    study: str | None = None
    out: Path | None = None
    baselines: bool = True
    capacity_samples: int = 0
    early_stop: str | None = None  # an early-stop rule (`STOPPERS`): "pareto" or "asha"
    device: str | None = None
    # Sensitivity-seeded trials a new study starts with; None: the space's `search.seeds`.
    seeds: int | None = None

    def check(self) -> None:
        if self.trials < 1:
            raise CodesignError(f"--trials {self.trials}; ask for at least 1 trial")
        if self.epochs is not None and self.epochs < 1:
            raise CodesignError(f"--epochs {self.epochs}; train for at least 1 epoch")
        BACKENDS.get(self.backend)
        if self.workers is not None and self.workers < 1:
            raise CodesignError(f"--workers {self.workers}; use 1 or more parallel trials")
        if self.cpus_per_trial is not None and self.cpus_per_trial < 1:
            raise CodesignError(f"--cpus-per-trial {self.cpus_per_trial}; use 1 or more")
        if self.seeds is not None and self.seeds < 0:
            raise CodesignError(f"--seeds {self.seeds}; use 0 (off) or more seed trials")
        if self.capacity_samples < 0:
            raise CodesignError(f"--capacity {self.capacity_samples}; use 0 (off) or more samples")
        if self.gpus_per_trial is not None and not 0 <= self.gpus_per_trial < math.inf:
            raise CodesignError(f"--gpus-per-trial {self.gpus_per_trial}; use 0 or more")
        if self.address and self.backend != "ray":
            raise CodesignError("--address names a Ray cluster; add --backend ray")
        SAMPLERS.get(self.sampler)
        if self.early_stop is not None:
            from codesign.search.trial import STOPPERS

            STOPPERS.get(self.early_stop)


def prepare(request: SearchRequest) -> tuple[Manifest, SearchSettings, Path]:
    """Validate the request, create the study or check that it is the same search; returns
    where the study lives, its settings and the run directory. Everything a user can get
    wrong (flags, environment, space file, cost models, the run directory) is checked before
    the study is created or opened, so a corrected file is accepted at the same --out."""
    from codesign.quant import compile_mode
    from codesign.space import load_space
    from codesign.userfile import check_output_folder
    from hw_models import get_cost_model

    request.check()
    compile_mode()  # CODESIGN_COMPILE is read in every trial: refuse a bad value now
    heartbeat_seconds()  # a bad CODESIGN_HEARTBEAT_S is refused before anything is written
    space = load_space(request.space)
    check_space_code(space)
    _device(request, space)
    objectives = objectives_for(space, request.hw)
    hw = scored_models(space, request.hw)
    for name in hw:
        get_cost_model(name)
    _check_metrics(space, objectives)
    run_dir = (request.out or default_run_dir(space.name, request.hw)).resolve()
    check_output_folder(run_dir, "--out")
    storage_url = request.storage or storage_from_env() or default_storage_url(run_dir)
    manifest = Manifest(storage=storage_url, study=request.study or space.name)
    _check_run_dir(run_dir, manifest)
    settings = SearchSettings(
        space=space.raw,
        space_source=_absolute(space.source),
        objectives=[o.to_dict() for o in objectives],
        hw=hw,
        sampler=request.sampler,
        seed=request.seed,
        epochs=request.epochs,
        run_dir=str(run_dir),
        extra=_extra(request),
        references=file_hashes(space.model, space.dataset),
    )
    study = _open_or_create(manifest, settings, request.trials if request.baselines else 0)
    settings = SearchSettings.of_study(study)
    manifest.write(run_dir)
    return manifest, settings, run_dir


def _absolute(source: str) -> str:
    """A space file's path made absolute, so that processes started elsewhere (Ray tasks,
    workers) resolve the file references beside it the same way."""
    path = Path(source)
    return str(path.resolve()) if path.is_file() else source


def _check_metrics(space: SearchSpace, objectives: list[Objective]) -> None:
    """Each cost objective and budget must name a metric its model reports; caught before
    the study exists, not as a failed trial."""
    from hw_models import get_cost_model

    named = [("objective", o.column, o.cost_model, o.metric) for o in objectives if o.cost_model]
    named += [("constraint", c.column, c.cost_model, c.metric) for c in space.constraints]
    for kind, column, model, metric in named:
        metrics = get_cost_model(model).metrics
        if metric not in metrics:
            raise CodesignError(
                f"search space {space.source}: {kind} '{column}': cost model '{model}' has no "
                f"metric '{metric}'; choose one of: {', '.join(metrics)}"
            )


def _check_run_dir(run_dir: Path, manifest: Manifest) -> None:
    """One run directory, one study: another search must not take over its report files, and
    the study it names must be there: an empty, unreadable or missing store is refused, never
    made into a new study beside the old one's checkpoints."""
    if not (run_dir / MANIFEST).is_file():
        return
    held = Manifest.read(run_dir)
    if not held.same_study(manifest):
        raise CodesignError(
            f"{run_dir} holds the search of {held.describe()}; pass another --out for this "
            f"one, or --study {held.study} to resume that one"
        )
    says = f"{run_dir / MANIFEST} says {held.describe()} lives there"
    fix = "restore it from a backup, or give another --out for a new study"
    path = sqlite_path(manifest.storage)
    if path is not None and not path.is_file():
        raise CodesignError(f"{says}, but {path} is missing; {fix}")
    check_store(manifest.storage)
    import optuna

    if held.study not in optuna.get_all_study_names(open_storage(manifest.storage)):
        raise CodesignError(f"{says}, but that storage holds no such study; {fix}")


def _extra(request: SearchRequest) -> dict[str, int | str]:
    """Optional per-trial behaviour, stored only when asked for."""
    extra: dict[str, int | str] = {}
    if request.capacity_samples:
        extra[CAPACITY_SAMPLES] = request.capacity_samples
    if request.early_stop:
        extra[EARLY_STOP] = request.early_stop
    return extra


def _open_or_create(manifest: Manifest, settings: SearchSettings,
                    baselines: int = 0) -> optuna.Study:
    import optuna

    storage = open_storage(manifest.storage)
    directions = [o.optuna_direction for o in settings.objective_list]
    study = optuna.create_study(
        storage=storage, study_name=manifest.study, directions=directions, load_if_exists=True
    )
    stored = study.user_attrs.get(Key.SETTINGS)
    if stored is None:
        settings.save(study)
        _name_metrics(study, settings)
        if baselines:
            enqueue_baselines(study, settings.load_space(), limit=baselines)
        return study
    _check_same_search(SearchSettings.from_dict(stored), settings, manifest)
    if study.metric_names is None:  # a study from before the values were named
        _name_metrics(study, settings)
    return study


def _name_metrics(study: optuna.Study, settings: SearchSettings) -> None:
    """Name the study's values after its objectives (`val_accuracy`, `generic.bops`), which
    optuna-dashboard and Optuna's own plots show instead of "Objective 0"."""
    import warnings

    import optuna

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        study.set_metric_names([o.column for o in settings.objective_list])


def _check_same_search(
    stored: SearchSettings, asked: SearchSettings, manifest: Manifest
) -> None:
    """A resumed study must be the same search; anything else would mix incomparable trials."""
    fix = f"pass a new --study (or --out) to start another search beside '{manifest.study}'"
    if stored.space != asked.space:
        raise CodesignError(
            f"study '{manifest.study}' was made from another version of space "
            f"{stored.space_source}; {fix}"
        )
    check_unchanged(stored.references, fix)
    if stored.objectives != asked.objectives:
        raise CodesignError(
            f"study '{manifest.study}' optimises {stored.columns}, not {asked.columns}; "
            f"re-score it with `codesign pareto --hw ...` without retraining, or {fix}"
        )
    flags = (("epochs", "--epochs"), ("seed", "--seed"), ("extra", "--capacity / --early-stop"))
    for name, flag in flags:
        if name == "epochs" and asked.epochs is None:
            continue  # without --epochs a resumed search keeps the study's
        if getattr(stored, name) != getattr(asked, name):
            raise CodesignError(
                f"study '{manifest.study}' was run with {name}={getattr(stored, name)}, now "
                f"{getattr(asked, name)}; drop or match {flag}, or {fix}"
            )
    missing = [name for name in asked.hw if name not in stored.hw]
    if missing:
        raise CodesignError(
            f"study '{manifest.study}' was not scored under {missing}; re-score it with "
            f"`codesign pareto --hw {','.join(missing)}`, or {fix}"
        )


def run_search(request: SearchRequest, stream: TextIO | None = None) -> SearchReport:
    """Run (or resume) the search until the study holds `request.trials` finished trials,
    then write trials.csv, pareto.csv and the figures into the run directory."""
    import optuna

    from codesign.search.study._progress import Progress

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    out = stream or sys.stdout
    manifest, settings, run_dir = prepare(request)

    study = optuna.load_study(study_name=manifest.study, storage=open_storage(manifest.storage))
    resumed = repair(study)
    if resumed.complete or resumed.recovered or resumed.requeued:
        out.write(f"resuming study '{manifest.study}': {resumed.describe()}\n")
    remaining = max(0, request.trials - count_complete(study))
    out.write(
        f"search '{manifest.study}': {remaining} trial(s) to run of {request.trials}, "
        f"objectives {', '.join(settings.columns)}, sampler {settings.sampler}, "
        f"backend {request.backend}\nstudy {masked_url(manifest.storage)}\n"
    )
    out.flush()
    if remaining > 0:
        space = settings.load_space()
        ensure_float_network(study, settings, space, out)
        seeds = space.seeds if request.seeds is None else request.seeds
        waiting = len(study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.WAITING,)))
        seed_study(study, settings, space, seeds, request.trials - waiting, out)
        try:
            with Progress(manifest.storage, manifest.study, request.trials, stream=out):
                _run_backend(request, manifest, run_dir, settings.load_space())
        except Incomplete:
            report_study(manifest, run_dir)  # what finished is reported; the line says why
            raise
    return report_study(manifest, run_dir)


def _gpus_per_trial(request: SearchRequest, space_resources: dict[str, float]) -> float:
    if request.gpus_per_trial is not None:
        return request.gpus_per_trial
    return float(space_resources.get("gpus_per_trial", 0.0))


def _device(request: SearchRequest, space: SearchSpace) -> str:
    """The device every trial is given (see `trial_device`), checked before any trial."""
    from codesign.search.trial import trial_device

    ray_gpus = _gpus_per_trial(request, space.resources) if request.backend == "ray" else None
    return trial_device(space, request.device, ray_gpus=ray_gpus)


def _run_backend(request: SearchRequest, manifest: Manifest, run_dir: Path,
                 space: SearchSpace) -> None:
    """Run the trials until the study holds `request.trials`; `--cpus-per-trial` /
    `--gpus-per-trial` win over the space's `resources`."""
    cpus = request.cpus_per_trial or space.resources.get("cpus_per_trial")
    resources = Resources(
        address=request.address,
        workers=request.workers,
        cpus_per_trial=None if cpus is None else int(cpus),
        gpus_per_trial=_gpus_per_trial(request, space.resources),
        device=_device(request, space),
    )
    BACKENDS.get(request.backend)(manifest.storage, manifest.study, request.trials, run_dir,
                                  resources)
