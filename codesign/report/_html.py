"""The Pareto figure as one self-contained HTML file (plotly, its script embedded so the file
opens offline); pointing at a trial shows its number, scores and per-layer bits."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pandas as pd

from codesign.record import Key
from codesign.report._panels import (
    DOMINATED_COLOUR,
    FLOAT_COLOUR,
    FRONT_COLOUR,
    KNEE_COLOUR,
    OVER_BUDGET_COLOUR,
    Panel,
    build_panels,
    hover_text,
)


def write_pareto_html(
    df: pd.DataFrame,
    objectives: Iterable[Any],
    path: str | Path,
    title: str | None = None,
    float_accuracy: float | None = None,
) -> Path:
    """Draw accuracy against each cost objective (one panel per cost) as interactive HTML;
    `float_accuracy` is drawn as a dashed horizontal line (the float network's)."""
    from plotly.subplots import make_subplots

    panels = build_panels(df, objectives)
    figure = make_subplots(rows=1, cols=len(panels), shared_yaxes=True,
                           horizontal_spacing=0.06)
    bottom = _bottom(panels[0])
    for col, panel in enumerate(panels, start=1):
        for trace in _traces(panel, panels, show_legend=col == 1, bottom=bottom):
            figure.add_trace(trace, row=1, col=col)
        if float_accuracy is not None:
            figure.add_hline(y=float_accuracy, line_dash="dash", line_color=FLOAT_COLOUR,
                             annotation_text=f"float network {float_accuracy:.4f}",
                             row=1, col=col)
        figure.update_xaxes(title_text=f"{panel.x.column} ({panel.x.direction})",
                            type="log" if panel.log_x else "linear", row=1, col=col)
    figure.update_yaxes(title_text=f"{panels[0].y.column} ({panels[0].y.direction})",
                        type="log" if panels[0].log_y else "linear", row=1, col=1)
    figure.update_layout(title=title, template="plotly_white", hovermode="closest",
                         width=max(700, 520 * len(panels)), height=520)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.write_html(path, include_plotlyjs=True, full_html=True)
    return path


def _traces(panel: Panel, panels: list[Panel], show_legend: bool, bottom: float) -> list[Any]:
    import plotly.graph_objects as go

    x, y = panel.x.column, panel.y.column
    hover = [y, x] + [p.x.column for p in panels if p.x.column != x]
    if Key.TEST_ACCURACY in panel.front.columns and Key.TEST_ACCURACY not in hover:
        hover.insert(1, Key.TEST_ACCURACY)

    def points(rows: pd.DataFrame, name: str, marker: dict, at_bottom: bool = False) -> Any:
        return go.Scatter(
            x=rows[x], y=[bottom] * len(rows) if at_bottom else rows[y], mode="markers",
            name=name, marker=marker, legendgroup=name, showlegend=show_legend,
            hovertext=[hover_text(r, hover) for _, r in rows.iterrows()], hoverinfo="text",
        )

    traces = [
        points(panel.dominated, "dominated", {"color": DOMINATED_COLOUR, "size": 6}),
        go.Scatter(
            x=panel.staircase[x], y=panel.staircase[y], mode="lines", opacity=0.7,
            line={"shape": "hv", "color": FRONT_COLOUR, "width": 1.5}, name="front in this panel",
            legendgroup="staircase", showlegend=show_legend, hoverinfo="skip",
        ),
        points(panel.front, "Pareto-optimal", {"color": FRONT_COLOUR, "size": 8}),
        points(panel.knee, "knee", {"color": KNEE_COLOUR, "size": 16, "symbol": "star",
                                    "line": {"color": "black", "width": 1}}),
    ]
    if len(panel.over_budget):
        marker = {"color": OVER_BUDGET_COLOUR, "size": 7, "symbol": "x"}
        traces.append(points(panel.over_budget, "over budget (not trained; at the bottom)",
                             marker, at_bottom=True))
    return traces


def _bottom(panel: Panel) -> float:
    """A level just under the lowest plotted accuracy, for trials that have none."""
    values = pd.concat([panel.dominated, panel.front])[panel.y.column]
    if values.empty:
        return 0.0
    low, high = float(values.min()), float(values.max())
    return low - 0.05 * ((high - low) or abs(low) or 1.0)
