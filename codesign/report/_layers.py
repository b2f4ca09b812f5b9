"""The per-layer figure: the precision of every layer in each trial of the front, weights and
activations side by side, one row per trial (best accuracy first), so the choices behind the
front read at a glance. Drawn as a PNG (`layers_figure`) and in the HTML page
(`layers_heatmap`).

Colour follows the bit width on a log scale (1 bit to float's 32); each cell says the
precision as `bits_string` writes it (`8`, `t` ternary, `b` binary, `p4` power-of-two, `f`).
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from codesign.formats import FLOAT_BITS, IMPLIED_BITS
from codesign.report._tables import (
    accuracy_objective,
    front_frame,
    layer_columns,
    operand,
    precision_code,
)

if TYPE_CHECKING:
    from matplotlib.figure import Figure

ROLES = (("w", "weights"), ("a", "activations"))
COLOUR_MAP = "YlGnBu"
_TOP = math.log2(FLOAT_BITS)


@dataclass(frozen=True)
class LayerGrid:
    """Front trials (rows) by layers (columns): the precision codes and bit widths of each
    role (`w`, `a`)."""

    trials: list[str]
    layers: list[str]
    codes: dict[str, list[list[str]]]
    bits: dict[str, np.ndarray]


def layer_grid(df: pd.DataFrame, objectives: Iterable[Any]) -> LayerGrid | None:
    """The grid of the front's trials; None when the front is empty or the table has no
    per-layer columns."""
    objectives = list(objectives)
    front = front_frame(df, objectives)
    layers = layer_columns(front)
    if front.empty or not layers:
        return None
    accuracy = accuracy_objective(objectives).column
    trials = [
        f"{'* ' if row.get('knee') else ''}trial {row['number']}  {row[accuracy]:.3f}"
        for _, row in front.iterrows()
    ]
    codes: dict[str, list[list[str]]] = {}
    bits: dict[str, np.ndarray] = {}
    for role, _ in ROLES:
        cells = [[operand(row, fields, role) for fields in layers.values()]
                 for _, row in front.iterrows()]
        codes[role] = [[precision_code(b, f) for b, f in line] for line in cells]
        bits[role] = np.array([[_width(b, f) for b, f in line] for line in cells], dtype=float)
    return LayerGrid(trials=trials, layers=list(layers), codes=codes, bits=bits)


def _width(bits: Any, fmt: Any) -> float:
    if isinstance(fmt, str) and fmt in IMPLIED_BITS:
        return float(IMPLIED_BITS[fmt])
    if bits is None or bits is pd.NA or (isinstance(bits, float) and math.isnan(bits)):
        return float(FLOAT_BITS)
    return float(bits)


def layers_figure(df: pd.DataFrame, objectives: Iterable[Any],
                  title: str | None = None) -> Figure | None:
    """The per-layer figure as a matplotlib `Figure` (None: nothing to draw)."""
    from matplotlib.figure import Figure

    grid = layer_grid(df, objectives)
    if grid is None:
        return None
    width = max(3.0, 0.55 * len(grid.layers) + 1.0)
    figure = Figure(figsize=(2 * width + 1.6, max(2.4, 1.2 + 0.32 * len(grid.trials))),
                    layout="constrained")
    axes = figure.subplots(1, 2, sharey=True)
    image = None
    for ax, (role, name) in zip(axes, ROLES, strict=True):
        image = ax.imshow(np.log2(grid.bits[role]), cmap=COLOUR_MAP, vmin=0.0, vmax=_TOP,
                          aspect="auto")
        for i, line in enumerate(grid.codes[role]):
            for j, code in enumerate(line):
                light = math.log2(grid.bits[role][i, j]) > 0.6 * _TOP
                ax.text(j, i, code, ha="center", va="center", fontsize=8,
                        color="white" if light else "black")
        ax.set_xticks(range(len(grid.layers)), grid.layers, rotation=45, ha="right",
                      fontsize=8)
        ax.set_title(name, fontsize=10)
        ax.set_label(f"layers:{role}")
    axes[0].set_yticks(range(len(grid.trials)), grid.trials, fontsize=8)
    if image is not None:
        bar = figure.colorbar(image, ax=axes, shrink=0.9, label="bits")
        ticks = [0, 1, 2, 3, 4, 5]
        bar.set_ticks(ticks, labels=[str(2**t) for t in ticks])
    figure.suptitle(title or "Per-layer precision of the front (* knee)", fontsize=11)
    return figure


def write_layers_png(df: pd.DataFrame, objectives: Iterable[Any], path: str | Path,
                     title: str | None = None, dpi: int = 120) -> Path | None:
    """Save `layers_figure` at `path`; None (and no file) when there is nothing to draw."""
    figure = layers_figure(df, objectives, title)
    if figure is None:
        return None
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, format="png", dpi=dpi)
    return path


def layers_heatmap(df: pd.DataFrame, objectives: Iterable[Any]) -> Any | None:
    """The per-layer figure as a plotly figure for the HTML page (None: nothing to draw)."""
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    grid = layer_grid(df, objectives)
    if grid is None:
        return None
    figure = make_subplots(rows=1, cols=2, shared_yaxes=True, horizontal_spacing=0.04,
                           subplot_titles=[name for _, name in ROLES])
    for col, (role, name) in enumerate(ROLES, start=1):
        figure.add_trace(
            go.Heatmap(
                z=np.log2(grid.bits[role]), x=grid.layers, y=grid.trials,
                text=grid.codes[role], texttemplate="%{text}", zmin=0.0, zmax=_TOP,
                colorscale=COLOUR_MAP, reversescale=False, showscale=col == 2,
                colorbar={"title": {"text": "bits"}, "tickvals": list(range(6)),
                          "ticktext": [str(2**t) for t in range(6)]},
                hovertemplate=f"%{{y}}<br>%{{x}} {name}: %{{text}}<extra></extra>",
            ),
            row=1, col=col,
        )
    figure.update_yaxes(autorange="reversed")
    figure.update_layout(
        title="Per-layer precision of the front (* knee)", template="plotly_white",
        height=160 + 28 * len(grid.trials), width=max(700, 2 * 60 * len(grid.layers) + 300),
    )
    return figure
