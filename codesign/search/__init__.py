"""The search: an Optuna study over a search space, run locally or through Ray Tune.

`run_search(SearchRequest(...))` creates or resumes the study, runs the trials and writes the
report; `report_study` re-reads (and optionally re-scores) a study; `export_trial` writes one
trial's configuration, checkpoint and cost table; `run_worker` joins a shared study and
`work` is the loop any process that reaches the storage can run.

Four layers, each importing only those before it (docs/design.md, "The search"):
`store` (where a study lives and its stored settings), `trial` (one trial, its costs and
record), `backends` (where trials run, the samplers) and `results` (trial table, re-scoring,
report, export); `study` drives them through a study's life.
"""

from codesign.search.backends import BACKENDS, SAMPLERS, Resources, work
from codesign.search.results import (
    SearchReport,
    export_trial,
    report_study,
    rescore_dir,
    space_hypervolume,
)
from codesign.search.store import (
    Manifest,
    SearchSettings,
    load_study,
    locate_study,
    open_storage,
    parse_hw,
)
from codesign.search.study import (
    SearchRequest,
    WorkerReport,
    default_run_dir,
    pick_seeds,
    prepare,
    run_search,
    run_worker,
    uniform_bits,
)
from codesign.search.trial import DEFAULT_STOPPER, STOPPERS

__all__ = [
    "BACKENDS",
    "DEFAULT_STOPPER",
    "SAMPLERS",
    "STOPPERS",
    "Manifest",
    "Resources",
    "SearchReport",
    "SearchRequest",
    "SearchSettings",
    "WorkerReport",
    "default_run_dir",
    "export_trial",
    "load_study",
    "locate_study",
    "open_storage",
    "parse_hw",
    "pick_seeds",
    "prepare",
    "report_study",
    "rescore_dir",
    "run_search",
    "run_worker",
    "space_hypervolume",
    "uniform_bits",
    "work",
]
