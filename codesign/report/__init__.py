"""Reports of a search: trials.csv and pareto.csv, the Pareto figure as PNG and as
self-contained HTML, and a plain-text summary of the front for the terminal.

Every function takes the trial table (one row per trial, see `codesign.pareto`) and the
objectives, adds the Pareto columns itself, and leaves its input untouched.
"""

from codesign.report._html import write_pareto_html
from codesign.report._panels import Panel, build_panels
from codesign.report._png import write_pareto_png
from codesign.report._sensitivity import write_sensitivity_figure
from codesign.report._tables import (
    accuracy_objective,
    bits_string,
    front_frame,
    layer_columns,
    read_trials_csv,
    report_frame,
    summary_table,
    write_pareto_csv,
    write_trials_csv,
)
from codesign.report._write import write_report

__all__ = [
    "Panel",
    "accuracy_objective",
    "bits_string",
    "build_panels",
    "front_frame",
    "layer_columns",
    "read_trials_csv",
    "report_frame",
    "summary_table",
    "write_pareto_csv",
    "write_pareto_html",
    "write_pareto_png",
    "write_report",
    "write_sensitivity_figure",
    "write_trials_csv",
]
