"""The search: an Optuna study over a search space, run locally or through Ray Tune.

`run_search(SearchRequest(...))` creates or resumes the study, runs the trials and writes the
report; `report_study` re-reads (and optionally re-scores) a study; `export_trial` writes one
trial's configuration, checkpoint and cost table; `work` is the worker loop any process that
reaches the storage can run.
"""

from codesign.search._export import export_trial
from codesign.search._local import work
from codesign.search._report import SearchReport, report_study
from codesign.search._samplers import SAMPLERS, make_sampler
from codesign.search._search import BACKENDS, SearchRequest, prepare, run_search
from codesign.search._settings import SearchSettings
from codesign.search._storage import Manifest, locate_study

__all__ = [
    "BACKENDS",
    "SAMPLERS",
    "Manifest",
    "SearchReport",
    "SearchRequest",
    "SearchSettings",
    "export_trial",
    "locate_study",
    "make_sampler",
    "prepare",
    "report_study",
    "run_search",
    "work",
]
