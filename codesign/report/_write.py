"""Everything a finished (or running) search reports, written in one call."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import pandas as pd

from codesign.pareto import as_objectives
from codesign.report._html import write_pareto_html
from codesign.report._layers import write_layers_png
from codesign.report._png import write_pareto_png
from codesign.report._tables import write_pareto_csv, write_trials_csv


def write_report(
    df: pd.DataFrame,
    objectives: Iterable[Any],
    out_dir: str | Path,
    title: str | None = None,
    float_accuracy: float | None = None,
    budgets: Mapping[str, float] | None = None,
) -> dict[str, Path]:
    """Write trials.csv, pareto.csv and, with two objectives or more, pareto.png,
    pareto.html and (once the front has a trial with per-layer columns) layers.png into
    `out_dir`; return their paths by kind (trials, pareto, png, html, layers).
    `float_accuracy` (the float network's) and `budgets` (cost column -> limit) are drawn as
    lines on the figures."""
    parsed = as_objectives(objectives)
    out = Path(out_dir)
    paths = {
        "trials": write_trials_csv(df, parsed, out / "trials.csv"),
        "pareto": write_pareto_csv(df, parsed, out / "pareto.csv"),
    }
    if len(parsed) >= 2:
        paths["png"] = write_pareto_png(df, parsed, out / "pareto.png", title=title,
                                        float_accuracy=float_accuracy, budgets=budgets)
        paths["html"] = write_pareto_html(df, parsed, out / "pareto.html", title=title,
                                          float_accuracy=float_accuracy, budgets=budgets)
        layers = write_layers_png(df, parsed, out / "layers.png")
        if layers is not None:
            paths["layers"] = layers
    return paths
