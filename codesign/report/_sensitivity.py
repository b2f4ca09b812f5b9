"""The sensitivity figure: which layers are sensitive to quantizing their weights and inputs.

Two heat maps (weights, inputs) of log10 of each layer's sensitivity term at each offered
precision (rows layers, columns precisions, coarsest right); blank where a layer is not
offered the precision. Reads the table of `codesign.sensitivity.Sensitivity.rows`.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

_FLOOR = 1e-12  # below this a term is drawn as this (log scale)


def _order(precision: str) -> tuple[int, int]:
    """Finest first: float, then more bits, then int before other formats of equal bits."""
    fmt, bits = precision.split(":")
    return (-int(bits), 0 if fmt in ("int", "float") else 1)


def write_sensitivity_figure(table: pd.DataFrame, path: str | Path, dpi: int = 120) -> Path:
    """Draw the table (columns layer, tensor, precision, sensitivity) as PNG at `path`."""
    from matplotlib.figure import Figure

    tensors = [t for t in ("weight", "input") if t in set(table["tensor"])]
    layers = list(dict.fromkeys(table["layer"]))
    figure = Figure(figsize=(5.5 * len(tensors), 0.5 * len(layers) + 2.2), layout="constrained")
    axes = figure.subplots(1, len(tensors), squeeze=False)[0]
    for ax, tensor in zip(axes, tensors, strict=True):
        part = table[table["tensor"] == tensor]
        precisions = sorted(set(part["precision"]), key=_order)
        grid = np.full((len(layers), len(precisions)), np.nan)
        for layer, precision, value in zip(part["layer"], part["precision"],
                                           part["sensitivity"].to_numpy(dtype=float),
                                           strict=True):
            grid[layers.index(layer), precisions.index(precision)] = np.log10(max(value,
                                                                                  _FLOOR))
        image = ax.imshow(grid, aspect="auto", cmap="viridis")
        ax.set_xticks(range(len(precisions)), precisions, rotation=45, ha="right")
        ax.set_yticks(range(len(layers)), layers)
        ax.set_title(f"{tensor}: log10 sensitivity")
        figure.colorbar(image, ax=ax, shrink=0.8)
    figure.suptitle("Hessian trace / elements x quantization error, per layer")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=dpi)
    return path
