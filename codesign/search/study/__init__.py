"""The life of a study: create it (or check that a resumed one is the same search), queue
its uniform baselines and sensitivity seeds, repair what a killed run left, run a backend to
the budget while printing progress, and write the report; and `codesign worker`, which joins
a study.
"""

from codesign.search.study._baselines import enqueue_baselines, uniform_bits, uniform_params
from codesign.search.study._progress import Progress
from codesign.search.study._resume import ResumeReport, repair
from codesign.search.study._run import SearchRequest, default_run_dir, prepare, run_search
from codesign.search.study._seeds import (
    Seed,
    layer_options,
    measure_space,
    pick_seeds,
    seed_study,
)
from codesign.search.study._worker import WorkerReport, run_worker

__all__ = [
    "Progress",
    "ResumeReport",
    "SearchRequest",
    "Seed",
    "WorkerReport",
    "default_run_dir",
    "enqueue_baselines",
    "layer_options",
    "measure_space",
    "pick_seeds",
    "prepare",
    "repair",
    "run_search",
    "run_worker",
    "seed_study",
    "uniform_bits",
    "uniform_params",
]
