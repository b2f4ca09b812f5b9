"""What a study gives back: its trial table, re-scored under any cost model without
retraining, the report files with the space-normalised hypervolume, and one trial exported
with its configuration, checkpoint and cost table.
"""

from codesign.search.results._export import export_trial
from codesign.search.results._frame import flatten, trials_frame
from codesign.search.results._report import (
    SearchReport,
    reference_costs,
    report_study,
    report_title,
    rescore_dir,
    rescored_frame,
    space_hypervolume,
)
from codesign.search.results._rescore import rescore, stored_configs

__all__ = [
    "SearchReport",
    "export_trial",
    "flatten",
    "reference_costs",
    "report_study",
    "report_title",
    "rescore_dir",
    "rescore",
    "rescored_frame",
    "space_hypervolume",
    "stored_configs",
    "trials_frame",
]
