"""The Pareto figure as a PNG (matplotlib, no pyplot: no global state, no display needed)."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pandas as pd

from codesign.report._panels import (
    DOMINATED_COLOUR,
    FLOAT_COLOUR,
    FRONT_COLOUR,
    KNEE_COLOUR,
    OVER_BUDGET_COLOUR,
    build_panels,
)


def write_pareto_png(
    df: pd.DataFrame,
    objectives: Iterable[Any],
    path: str | Path,
    title: str | None = None,
    dpi: int = 120,
    float_accuracy: float | None = None,
) -> Path:
    """Draw accuracy against each cost objective (one panel per cost) and save it as PNG;
    `float_accuracy` is drawn as a dashed horizontal line (the float network's)."""
    from matplotlib.figure import Figure
    from matplotlib.transforms import blended_transform_factory

    panels = build_panels(df, objectives)
    figure = Figure(figsize=(5.0 * len(panels), 4.2), layout="constrained")
    axes = figure.subplots(1, len(panels), sharey=True, squeeze=False)[0]
    for ax, panel in zip(axes, panels, strict=True):
        x, y = panel.x.column, panel.y.column
        ax.scatter(panel.dominated[x], panel.dominated[y], s=14, c=DOMINATED_COLOUR,
                   label="dominated")
        ax.plot(
            panel.staircase[x], panel.staircase[y], drawstyle="steps-post", c=FRONT_COLOUR, lw=1.2,
            alpha=0.7, label=f"front in ({y}, {x})",
        )
        ax.scatter(panel.front[x], panel.front[y], s=26, c=FRONT_COLOUR, zorder=3,
                   label="Pareto-optimal")
        ax.scatter(panel.knee[x], panel.knee[y], s=180, marker="*", c=KNEE_COLOUR, zorder=4,
                   edgecolors="black", linewidths=0.5, label="knee")
        for _, row in panel.front.iterrows():
            ax.annotate(str(row.get("number", "")), (row[x], row[y]), fontsize=7,
                        xytext=(3, 3), textcoords="offset points", color=FRONT_COLOUR)
        if len(panel.over_budget):
            bottom = blended_transform_factory(ax.transData, ax.transAxes)
            ax.scatter(panel.over_budget[x], [0.03] * len(panel.over_budget), marker="x",
                       s=22, c=OVER_BUDGET_COLOUR, transform=bottom, zorder=2,
                       label="over budget (not trained)")
            # Points drawn in axes coordinates do not widen the x range by themselves.
            ax.dataLim.update_from_data_x(panel.over_budget[x].to_numpy(float), ignore=False)
            ax.autoscale_view()
        if float_accuracy is not None:
            ax.axhline(float_accuracy, ls="--", lw=1.0, c=FLOAT_COLOUR,
                       label=f"float network {float_accuracy:.4f}")
        if panel.log_x:
            ax.set_xscale("log")
        if panel.log_y:
            ax.set_yscale("log")
        ax.set_xlabel(f"{x} ({panel.x.direction})")
        ax.grid(True, alpha=0.3)
        ax.legend(fontsize=7, loc="best")
    axes[0].set_ylabel(f"{panels[0].y.column} ({panels[0].y.direction})")
    if title:
        figure.suptitle(title)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, format="png", dpi=dpi)
    return path
