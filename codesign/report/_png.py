"""The Pareto figure as a PNG (matplotlib, no pyplot: no global state, no display needed).

`pareto_figure` builds the `Figure`, so its content (panels, axis scales, what each axes
draws) can be read back; `write_pareto_png` saves it. Each panel's main axes carries the label
`front:<cost column>`, its strip of over-budget trials `over_budget:<cost column>`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from codesign.report._panels import (
    BUDGET_COLOUR,
    DOMINATED_COLOUR,
    FLOAT_COLOUR,
    FRONT_COLOUR,
    KNEE_COLOUR,
    OVER_BUDGET_COLOUR,
    OVER_BUDGET_LABEL,
    Panel,
    build_panels,
    grid_shape,
)

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

PANEL_SIZE = (4.6, 3.6)  # inches, one panel with its strip


def pareto_figure(
    df: pd.DataFrame,
    objectives: Iterable[Any],
    title: str | None = None,
    float_accuracy: float | None = None,
    budgets: Mapping[str, float] | None = None,
) -> Figure:
    """Accuracy against each cost objective, one panel per cost laid out as a grid, one
    legend under the panels; `float_accuracy` (the float network's) and `budgets` (cost
    column -> limit) are drawn as lines."""
    from matplotlib.figure import Figure

    panels = build_panels(df, objectives, budgets)
    rows, cols = grid_shape(len(panels))
    strip = any(len(p.over_budget) for p in panels)
    figure = Figure(figsize=(PANEL_SIZE[0] * cols, PANEL_SIZE[1] * rows + 0.6),
                    layout="constrained")
    cells = figure.add_gridspec(rows, cols)
    first: Axes | None = None
    for index, panel in enumerate(panels):
        cell = cells[index // cols, index % cols]
        if strip:
            inner = cell.subgridspec(2, 1, height_ratios=[1.0, 0.14], hspace=0.0)
            ax = figure.add_subplot(inner[0], sharey=first)
            rug: Axes | None = figure.add_subplot(inner[1], sharex=ax)
        else:
            ax = figure.add_subplot(cell, sharey=first)
            rug = None
        first = first or ax
        _draw_panel(ax, rug, panel, float_accuracy)
        if index % cols == 0:
            ax.set_ylabel(f"{panel.y.column} ({panel.y.direction})")
    handles: dict[str, Any] = {}
    for ax in figure.axes:
        for handle, label in zip(*ax.get_legend_handles_labels(), strict=True):
            handles.setdefault(label, handle)
    figure.legend(handles.values(), handles.keys(), loc="outside lower center",
                  ncols=min(len(handles), 4), fontsize=8, frameon=False)
    if title:
        figure.suptitle(title)
    return figure


def write_pareto_png(
    df: pd.DataFrame,
    objectives: Iterable[Any],
    path: str | Path,
    title: str | None = None,
    dpi: int = 120,
    float_accuracy: float | None = None,
    budgets: Mapping[str, float] | None = None,
) -> Path:
    """Save `pareto_figure` as a PNG at `path`."""
    figure = pareto_figure(df, objectives, title=title, float_accuracy=float_accuracy,
                           budgets=budgets)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, format="png", dpi=dpi)
    return path


def _draw_panel(ax: Axes, rug: Axes | None, panel: Panel, float_accuracy: float | None) -> None:
    from matplotlib.ticker import EngFormatter, FormatStrFormatter, LogLocator, NullFormatter

    x, y = panel.x.column, panel.y.column
    ax.set_label(f"front:{x}")
    ax.scatter(panel.dominated[x], panel.dominated[y], s=14, c=DOMINATED_COLOUR,
               label="dominated")
    ax.plot(panel.staircase[x], panel.staircase[y], drawstyle="steps-post", c=FRONT_COLOUR,
            lw=1.2, alpha=0.7, label="front of each panel's pair")
    ax.scatter(panel.front[x], panel.front[y], s=26, c=FRONT_COLOUR, zorder=3,
               label="Pareto-optimal")
    ax.scatter(panel.knee[x], panel.knee[y], s=180, marker="*", c=KNEE_COLOUR, zorder=4,
               edgecolors="black", linewidths=0.5, label="knee")
    for _, row in panel.front.iterrows():
        ax.annotate(str(row.get("number", "")), (row[x], row[y]), fontsize=7,
                    xytext=(3, 3), textcoords="offset points", color=FRONT_COLOUR)
    if float_accuracy is not None:
        ax.axhline(float_accuracy, ls="--", lw=1.0, c=FLOAT_COLOUR,
                   label=f"float network {float_accuracy:.4f}")
    bottom = ax
    if rug is not None:
        rug.set_label(f"over_budget:{x}")
        marks = rug.scatter(panel.over_budget[x], [0.0] * len(panel.over_budget), marker="o",
                            s=24, facecolors="none", edgecolors=OVER_BUDGET_COLOUR,
                            label=OVER_BUDGET_LABEL)
        marks.set_gid("over_budget")
        rug.set_yticks([])
        rug.set_ylim(-1.0, 1.0)
        rug.set_ylabel("over\nbudget", rotation=0, fontsize=7, ha="right", va="center")
        rug.grid(True, axis="x", alpha=0.3)
        ax.tick_params(labelbottom=False)
        bottom = rug
    for axes in (ax, rug):
        if axes is not None and panel.budget is not None:
            axes.axvline(panel.budget, ls=":", lw=1.2, c=BUDGET_COLOUR, label="budget")
    if panel.log_x:
        ax.set_xscale("log")
        ax.xaxis.set_major_locator(LogLocator(subs=_log_ticks(panel)))
        ax.xaxis.set_minor_formatter(NullFormatter())
    if panel.log_y:
        ax.set_yscale("log")
    ax.xaxis.set_major_formatter(EngFormatter(sep=""))
    ax.yaxis.set_major_formatter(FormatStrFormatter("%.2f"))
    bottom.set_xlabel(f"{x} ({panel.x.direction})")
    ax.grid(True, alpha=0.3)


def _log_ticks(panel: Panel) -> tuple[float, ...]:
    """Labelled ticks of a log cost axis in each decade: 1, 2 and 5 over up to three
    decades (a span of one or two would otherwise show a single label), else 1."""
    import numpy as np

    values = pd.concat([panel.dominated[panel.x.column], panel.front[panel.x.column],
                        panel.over_budget[panel.x.column]]).to_numpy(dtype=float)
    values = values[np.isfinite(values) & (values > 0)]
    span = values.max() / values.min() if len(values) else 1.0
    return (1.0, 2.0, 5.0) if span < 1e3 else (1.0,)
