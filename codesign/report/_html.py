"""The Pareto figure as one self-contained HTML page (plotly, its script embedded once so the
page opens offline): the panels of the front, then the per-layer precision of the front's
trials. Pointing at a trial shows its number, scores and each layer's precision by name.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import pandas as pd

from codesign.record import Key
from codesign.report._layers import layers_heatmap
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
    hover_text,
)
from codesign.report._tables import layer_columns

# Plotly's SI tick format (1.5M, 300k) on every cost axis; accuracy with two decimals.
COST_TICKS = "~s"
ACCURACY_TICKS = ".2f"
# Id of the front's plot in the page (the browser test looks it up).
FRONT_DIV = "pareto-front"
LAYERS_DIV = "per-layer"


def write_pareto_html(
    df: pd.DataFrame,
    objectives: Iterable[Any],
    path: str | Path,
    title: str | None = None,
    float_accuracy: float | None = None,
    budgets: Mapping[str, float] | None = None,
) -> Path:
    """Write the page: accuracy against each cost objective (a grid of panels, one legend
    under them), `float_accuracy` and `budgets` (cost column -> limit) as lines, and the
    per-layer figure of the front below."""
    objectives = list(objectives)
    front = pareto_plotly(df, objectives, title, float_accuracy, budgets)
    parts = [front.to_html(full_html=False, include_plotlyjs=True, div_id=FRONT_DIV)]
    layers = layers_heatmap(df, objectives)
    if layers is not None:
        parts.append(layers.to_html(full_html=False, include_plotlyjs=False, div_id=LAYERS_DIV))
    page = (
        "<!DOCTYPE html>\n<html>\n<head><meta charset=\"utf-8\" />"
        f"<title>{title or 'Pareto front'}</title></head>\n<body>\n"
        + "\n".join(parts) + "\n</body>\n</html>\n"
    )
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(page, encoding="utf-8")
    return path


def pareto_plotly(
    df: pd.DataFrame,
    objectives: Iterable[Any],
    title: str | None = None,
    float_accuracy: float | None = None,
    budgets: Mapping[str, float] | None = None,
) -> Any:
    """The plotly figure of the front (see `write_pareto_html`)."""
    from plotly.subplots import make_subplots

    panels = build_panels(df, objectives, budgets)
    rows, cols = grid_shape(len(panels))
    strip = any(len(p.over_budget) for p in panels)
    per_panel = 2 if strip else 1
    figure = make_subplots(
        rows=rows * per_panel, cols=cols, horizontal_spacing=0.08,
        vertical_spacing=0.03 if strip else 0.12,
        row_heights=[1.0, 0.14] * rows if strip else None,
    )
    layers = layer_columns(df)
    shown: set[str] = set()
    for index, panel in enumerate(panels):
        row, col = (index // cols) * per_panel + 1, index % cols + 1
        for trace in _front_traces(panel, panels, layers, shown):
            figure.add_trace(trace, row=row, col=col)
        main_x = figure.get_subplot(row, col).xaxis.plotly_name.replace("axis", "")
        axis = {"type": "log" if panel.log_x else "linear", "tickformat": COST_TICKS}
        title_row = row
        if strip:
            figure.add_trace(_over_budget_trace(panel, panels, layers, shown),
                             row=row + 1, col=col)
            figure.update_xaxes(matches=main_x, row=row + 1, col=col, **axis)
            figure.update_xaxes(showticklabels=False, row=row, col=col)
            figure.update_yaxes(visible=False, range=[-1, 1], row=row + 1, col=col)
            title_row = row + 1
        figure.update_xaxes(row=row, col=col, **axis)
        figure.update_xaxes(title_text=f"{panel.x.column} ({panel.x.direction})",
                            row=title_row, col=col)
        figure.update_yaxes(title_text=f"{panel.y.column} ({panel.y.direction})",
                            tickformat=ACCURACY_TICKS,
                            type="log" if panel.log_y else "linear", row=row, col=col)
        if float_accuracy is not None:
            figure.add_hline(y=float_accuracy, line_dash="dash", line_color=FLOAT_COLOUR,
                             annotation_text=f"float network {float_accuracy:.4f}",
                             row=row, col=col)
        if panel.budget is not None:
            for budget_row in range(row, title_row + 1):
                figure.add_vline(x=panel.budget, line_dash="dot", line_color=BUDGET_COLOUR,
                                 row=budget_row, col=col)
            at = math.log10(panel.budget) if panel.log_x else panel.budget  # plotly's log units
            figure.add_annotation(x=at, y=0.0, yref=f"{_y_ref(figure, row, col)} domain",
                                  xref=main_x, text=" budget", showarrow=False,
                                  xanchor="left", yanchor="bottom",
                                  font={"color": BUDGET_COLOUR, "size": 10})
    figure.update_layout(
        title=title, template="plotly_white", hovermode="closest",
        width=max(700, 480 * cols), height=180 + 400 * rows, margin={"t": 120},
        legend={"orientation": "h", "x": 0.5, "xanchor": "center", "y": 1.0,
                "yanchor": "bottom"},
    )
    return figure


def _y_ref(figure: Any, row: int, col: int) -> str:
    return str(figure.get_subplot(row, col).yaxis.plotly_name.replace("axis", ""))


def _front_traces(panel: Panel, panels: list[Panel], layers: dict[str, dict[str, str]],
                  shown: set[str]) -> list[Any]:
    import plotly.graph_objects as go

    x, y = panel.x.column, panel.y.column
    hover = _hover_columns(panel, panels)

    def points(rows: pd.DataFrame, name: str, marker: dict) -> Any:
        return go.Scatter(
            x=rows[x], y=rows[y], mode="markers", name=name, marker=marker,
            legendgroup=name, showlegend=_first(name, shown),
            hovertext=[hover_text(r, hover, layers) for _, r in rows.iterrows()],
            hoverinfo="text",
        )

    staircase = "front of each panel's pair"
    return [
        points(panel.dominated, "dominated", {"color": DOMINATED_COLOUR, "size": 6}),
        go.Scatter(
            x=panel.staircase[x], y=panel.staircase[y], mode="lines", opacity=0.7,
            line={"shape": "hv", "color": FRONT_COLOUR, "width": 1.5}, name=staircase,
            legendgroup=staircase, showlegend=_first(staircase, shown), hoverinfo="skip",
        ),
        points(panel.front, "Pareto-optimal", {"color": FRONT_COLOUR, "size": 8}),
        points(panel.knee, "knee", {"color": KNEE_COLOUR, "size": 16, "symbol": "star",
                                    "line": {"color": "black", "width": 1}}),
    ]


def _over_budget_trace(panel: Panel, panels: list[Panel], layers: dict[str, dict[str, str]],
                       shown: set[str]) -> Any:
    """Over-budget trials at their cost on a strip of their own: they have no accuracy."""
    import plotly.graph_objects as go

    rows = panel.over_budget
    hover = [c for c in _hover_columns(panel, panels) if c != panel.y.column] + [Key.REASON]
    return go.Scatter(
        x=rows[panel.x.column], y=[0.0] * len(rows), mode="markers", name=OVER_BUDGET_LABEL,
        marker={"color": OVER_BUDGET_COLOUR, "size": 8, "symbol": "circle-open"},
        legendgroup=OVER_BUDGET_LABEL, showlegend=_first(OVER_BUDGET_LABEL, shown),
        hovertext=[hover_text(r, hover, layers) for _, r in rows.iterrows()],
        hoverinfo="text",
    )


def _hover_columns(panel: Panel, panels: list[Panel]) -> list[str]:
    x, y = panel.x.column, panel.y.column
    hover = [y, x] + [p.x.column for p in panels if p.x.column != x]
    if Key.TEST_ACCURACY in panel.front.columns and Key.TEST_ACCURACY not in hover:
        hover.insert(1, Key.TEST_ACCURACY)
    return hover


def _first(name: str, shown: set[str]) -> bool:
    """Show each role once in the one legend of the figure."""
    first = name not in shown
    shown.add(name)
    return first
