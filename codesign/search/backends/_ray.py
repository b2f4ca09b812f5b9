"""The Ray backend: Ray Tune with OptunaSearch, writing the very same Optuna storage.

The driver's OptunaSearch asks the study for each trial (define-by-run through the space,
so the parameters land in the storage at once) and tells the values back; each trial runs
as a Ray Tune trial with its own CPU / GPU resources and as many torch threads as CPUs, and
re-attaches to its Optuna trial by id (`run_stored_trial`) to record config, costs and
accuracy. One storage, one analysis path, one resume story, whatever the backend.
Connecting to a cluster started with `ray start --head` needs its token: export
`RAY_AUTH_MODE=token` and have `~/.ray/auth_token` (or `RAY_AUTH_TOKEN`) match the head's.
Faults: a trial whose Ray worker or node dies is run again, up to RAY_RETRIES more times
(a retry whose outcome was already recorded reports it without training), then recorded as
failed with the reason; a trial that raises or gives NaN is recorded as failed at once (see
`_outcome.py`); failed trials are replaced by further rounds of Ray Tune; an unreachable
`--address` is one clear line within seconds (`_reach.py`).
A storage password reaches the trials only through Ray's object store (`with_parameters`):
the searcher's storage, which Ray pickles into `<out>/ray/`, keeps its URL without it.
"""

from __future__ import annotations

from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

from codesign.errors import CodesignError
from codesign.record import Key
from codesign.search.backends._reach import check_ray_head
from codesign.search.backends._registry import BACKENDS, Resources
from codesign.search.backends._samplers import make_sampler
from codesign.search.store import SearchSettings, count_complete, open_storage
from codesign.search.trial import Failure, attempt, record_failure, run_stored_trial

if TYPE_CHECKING:
    from codesign.space import SearchSpace

TRIAL_ID_KEY = "optuna_trial_id"
# Extra runs of a trial whose worker process or node died before it reported.
RAY_RETRIES = 2
# Reported instead of the objectives by a trial that failed; the driver tells Optuna FAIL.
FAILED_KEY = "failed"


def _metric(index: int) -> str:
    return f"objective_{index}"


def _trainable(config: dict[str, Any], storage_url: str, study_name: str, threads: int,
               device: str | None = None) -> None:
    import ray
    from ray import tune

    trial_id = int(config[TRIAL_ID_KEY])
    storage = open_storage(storage_url)
    storage.set_trial_user_attr(trial_id, Key.NODE, ray.get_runtime_context().get_node_id())
    recorded = storage.get_trial_user_attrs(trial_id).get(Key.VALUES)
    if recorded is not None:
        tune.report({_metric(i): v for i, v in enumerate(recorded)})
        return
    outcome = attempt(partial(run_stored_trial, storage_url, study_name, trial_id, threads,
                              device))
    if isinstance(outcome, Failure):
        record_failure(partial(storage.set_trial_user_attr, trial_id), outcome.reason)
        tune.report({FAILED_KEY: outcome.reason})
        return
    tune.report({_metric(i): v for i, v in enumerate(outcome)})


class _DefineByRun:
    """Suggests a trial's parameters through the space; a module-level class because Ray Tune
    pickles its searcher (and so this function) at every experiment checkpoint."""

    def __init__(self, settings: SearchSettings) -> None:
        self._settings = settings
        self._space: SearchSpace | None = None

    def __call__(self, trial: Any) -> dict[str, Any]:
        space = self._space
        if space is None:
            space = self._space = self._settings.load_space()
        space.sample(trial, epochs=self._settings.epochs, seed=self._settings.seed)
        return {TRIAL_ID_KEY: trial._trial_id}

    def __getstate__(self) -> dict[str, Any]:
        return {"_settings": self._settings, "_space": None}


def connect(address: str | None) -> bool:
    """Start or join Ray; returns True when this call started it (so it shuts it down)."""
    import ray

    if ray.is_initialized():
        return False
    if address:
        check_ray_head(address)
    try:
        ray.init(address=address, include_dashboard=False, log_to_driver=True,
                 configure_logging=False)
    except (ConnectionError, RuntimeError, ValueError) as err:
        where = address or "a local Ray instance"
        first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise CodesignError(
            f"cannot connect to Ray at {where} ({first}); check --address, and for a "
            "cluster started with `ray start --head` export RAY_AUTH_MODE=token with the "
            "head's token in ~/.ray/auth_token or RAY_AUTH_TOKEN"
        ) from None
    return True


def plan(resources: Resources) -> tuple[int, int]:
    """(parallel trials, CPUs per trial) from what the Ray cluster offers."""
    import ray

    offered = ray.cluster_resources()
    if resources.gpus_per_trial > offered.get("GPU", 0.0):
        raise CodesignError(
            f"--gpus-per-trial {resources.gpus_per_trial:g}, but the Ray cluster offers "
            f"{offered.get('GPU', 0.0):g} GPU(s); start its nodes with GPUs or lower "
            "--gpus-per-trial"
        )
    total_cpus = max(1, int(offered.get("CPU", 1)))
    cpus = resources.cpus_per_trial
    workers = resources.workers
    if cpus is None:
        cpus = max(1, total_cpus // workers) if workers else 1
    if workers is None:
        workers = max(1, total_cpus // cpus)
    return workers, cpus


@BACKENDS.register(
    "ray", "Ray Tune with OptunaSearch, each trial a Ray task with its own CPUs and GPUs"
)
def run_ray(
    storage_url: str,
    study_name: str,
    target: int,
    run_dir: Path,
    resources: Resources,
) -> None:
    """Ray Tune with OptunaSearch, each trial a Ray task with its own CPUs and GPUs; trials
    that fail are replaced by another round, as long as a round finishes at least one."""
    import optuna
    import ray

    study = optuna.load_study(study_name=study_name, storage=open_storage(storage_url))
    wanted = target
    started = connect(resources.address)
    try:
        while (missing := wanted - count_complete(study)) > 0:
            _tune_round(storage_url, study_name, missing, run_dir, resources)
            if wanted - count_complete(study) == missing:
                break
    finally:
        if started:
            ray.shutdown()


def _tune_round(storage_url: str, study_name: str, trials: int, run_dir: Path,
                resources: Resources) -> None:
    """One Ray Tune run of `trials` trials, each asked from and told to the study."""
    import optuna
    from ray import tune
    from ray.tune.search import ConcurrencyLimiter

    from codesign.search.backends._ray_searcher import FailingOptunaSearch

    storage = open_storage(storage_url)
    study = optuna.load_study(study_name=study_name, storage=storage)
    settings = SearchSettings.of_study(study)
    objectives = settings.objective_list
    existing = len(study.get_trials(deepcopy=False))
    sampler = make_sampler(settings.sampler, seed=settings.seed + existing,
                           n_trials=existing + trials)
    workers, cpus = plan(resources)
    searcher = FailingOptunaSearch(
        space=_DefineByRun(settings),
        metric=[_metric(i) for i in range(len(objectives))],
        mode=[o.direction for o in objectives],
        sampler=sampler,
        study_name=study_name,
        storage=storage,
    )
    trainable = tune.with_resources(
        tune.with_parameters(
            _trainable, storage_url=storage_url, study_name=study_name, threads=cpus,
            device=resources.device,
        ),
        {"cpu": cpus, "gpu": resources.gpus_per_trial},
    )
    tuner = tune.Tuner(
        trainable,
        tune_config=tune.TuneConfig(
            search_alg=ConcurrencyLimiter(searcher, max_concurrent=workers),
            num_samples=trials,
        ),
        run_config=tune.RunConfig(
            name=study_name,
            storage_path=str((run_dir / "ray").resolve()),
            failure_config=tune.FailureConfig(max_failures=RAY_RETRIES),
            verbose=0,
        ),
    )
    tuner.fit()
