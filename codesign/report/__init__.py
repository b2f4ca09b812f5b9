"""Reports of a search: trials.csv and pareto.csv, the Pareto figure as PNG and as
self-contained HTML, the per-layer figure of the front, and a plain-text summary of the front
for the terminal.

Every function takes the trial table (one row per trial, see `codesign.pareto`) and the
objectives, adds the Pareto columns itself, and leaves its input untouched.
"""

from codesign.report._html import FRONT_DIV, pareto_plotly, write_pareto_html
from codesign.report._layers import (
    LayerGrid,
    layer_grid,
    layers_figure,
    layers_heatmap,
    write_layers_png,
)
from codesign.report._panels import Panel, build_panels, grid_shape
from codesign.report._png import pareto_figure, write_pareto_png
from codesign.report._sensitivity import write_sensitivity_figure
from codesign.report._tables import (
    accuracy_objective,
    bits_string,
    front_frame,
    layer_columns,
    precision_label,
    read_trials_csv,
    report_frame,
    summary_table,
    write_pareto_csv,
    write_trials_csv,
)
from codesign.report._write import write_report

__all__ = [
    "FRONT_DIV",
    "LayerGrid",
    "Panel",
    "accuracy_objective",
    "bits_string",
    "build_panels",
    "front_frame",
    "grid_shape",
    "layer_grid",
    "layer_columns",
    "layers_figure",
    "layers_heatmap",
    "pareto_figure",
    "pareto_plotly",
    "precision_label",
    "read_trials_csv",
    "report_frame",
    "summary_table",
    "write_pareto_csv",
    "write_layers_png",
    "write_pareto_html",
    "write_pareto_png",
    "write_report",
    "write_sensitivity_figure",
    "write_trials_csv",
]
