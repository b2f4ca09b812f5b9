"""Tables of a search: the trial table with its Pareto columns, the CSV files, the compact
per-layer bits string and the plain-text summary of the front printed by the CLI.

Per-layer precision is read from the configuration columns `cfg.layers.<layer>.w_bits`,
`.a_bits`, `.w_format` and `.a_format` (the trial configuration flattened under `cfg.`), in
column order, which is the layers' registration order.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from codesign.pareto import (
    Objective,
    as_objectives,
    feasible_rows,
    pareto_frame,
    sort_front,
)
from codesign.record import Key

BITS_COLUMN = "bits"
_LAYER_COLUMN = re.compile(r"^cfg\.layers\.(?P<layer>.+)\.(?P<field>[wa]_(?:bits|format))$")
# Formats whose letter says more than their bit count (ternary and int2 are both 2 bits).
_FORMAT_LETTERS = {"float": "f", "binary": "b", "ternary": "t"}
_BOOL_COLUMNS = (Key.FEASIBLE, "on_front", "knee")
# The attribute that marks a queued trial, and the summary's `from` label for it.
_ORIGINS = ((Key.BASELINE_BITS, "uniform"), (Key.SEED_BUDGET, "seed"), (Key.RETRY_OF, "retry"))


def accuracy_objective(objectives: Iterable[Any]) -> Objective:
    """The vertical axis of figures and the sort key of the summary: the first accuracy
    objective (`Objective.is_accuracy`), else the first objective."""
    parsed = as_objectives(objectives)
    return next((o for o in parsed if o.is_accuracy), parsed[0])


def layer_columns(df: pd.DataFrame) -> dict[str, dict[str, str]]:
    """Layer name -> {field: column} for the per-layer precision columns, in column order."""
    layers: dict[str, dict[str, str]] = {}
    for column in df.columns:
        match = _LAYER_COLUMN.match(str(column))
        if match:
            layers.setdefault(match["layer"], {})[match["field"]] = column
    return layers


def bits_string(row: pd.Series | dict[str, Any], layers: dict[str, dict[str, str]]) -> str:
    """`w:8,4,t,8 a:8,4,4,8`: weight then activation precision of each layer in order. A
    number is an integer width; `b` binary, `t` ternary, `f` float (also a layer absent from
    the trial's configuration, which stays float), `p4` a 4-bit power-of-two code."""
    if not layers:
        return ""
    parts = []
    for role in ("w", "a"):
        cells = [
            _precision(_cell(row, fields, f"{role}_bits"), _cell(row, fields, f"{role}_format"))
            for fields in layers.values()
        ]
        parts.append(f"{role}:{','.join(cells)}")
    return " ".join(parts)


def layer_precisions(
    row: pd.Series | dict[str, Any], layers: dict[str, dict[str, str]]
) -> dict[str, tuple[str, str]]:
    """Layer name -> (weight, activation) precision in words (`int8`, `ternary`, `binary`,
    `pow2-4`, `float`), for hover labels."""
    return {
        name: (precision_label(*operand(row, fields, "w")),
               precision_label(*operand(row, fields, "a")))
        for name, fields in layers.items()
    }


def operand(row: pd.Series | dict[str, Any], fields: dict[str, str], role: str) -> tuple[Any, Any]:
    """(bits, format) of a layer's weights (`role` "w") or activations ("a") in a row."""
    return _cell(row, fields, f"{role}_bits"), _cell(row, fields, f"{role}_format")


def precision_label(bits: Any, fmt: Any) -> str:
    """One layer operand's precision in words; a missing value is float (see `bits_string`)."""
    short = _precision(bits, fmt)
    if short.isdigit():
        return f"int{short}"
    if short.startswith("p"):
        return f"pow2-{short[1:]}"
    return {letter: name for name, letter in _FORMAT_LETTERS.items()}[short]


def precision_code(bits: Any, fmt: Any) -> str:
    """One layer operand's precision as `bits_string` writes it (`8`, `t`, `b`, `p4`, `f`)."""
    return _precision(bits, fmt)


def _cell(row: pd.Series | dict[str, Any], fields: dict[str, str], field: str) -> Any:
    """The row's value of a layer's field; None when the table has no such column."""
    column = fields.get(field)
    return None if column is None else row.get(column)


def _precision(bits: Any, fmt: Any) -> str:
    if isinstance(fmt, str) and fmt in _FORMAT_LETTERS:
        return _FORMAT_LETTERS[fmt]
    if bits is None or (isinstance(bits, float) and math.isnan(bits)) or bits is pd.NA:
        return "f"
    width = str(int(bits))
    return f"p{width}" if fmt == "pow2" else width


def report_frame(df: pd.DataFrame, objectives: Iterable[Any]) -> pd.DataFrame:
    """`pareto_frame(df, objectives)` plus a `bits` column (see `bits_string`), rows by trial
    number: the table written to trials.csv."""
    out = pareto_frame(df, objectives)
    layers = layer_columns(out)
    out[BITS_COLUMN] = [bits_string(row, layers) for _, row in out.iterrows()]
    if "number" in out.columns:
        out = out.sort_values("number", kind="stable").reset_index(drop=True)
    return out


def front_frame(df: pd.DataFrame, objectives: Iterable[Any]) -> pd.DataFrame:
    """The front rows of `report_frame`, best accuracy first: the table written to
    pareto.csv."""
    parsed = as_objectives(objectives)
    return _front_of(report_frame(df, parsed), parsed)


def _front_of(frame: pd.DataFrame, objectives: list[Objective]) -> pd.DataFrame:
    first = accuracy_objective(objectives)
    ordered = [first] + [o for o in objectives if o != first]
    return sort_front(frame, ordered).reset_index(drop=True)


def write_trials_csv(df: pd.DataFrame, objectives: Iterable[Any], path: str | Path) -> Path:
    """Write every trial (with `pareto_rank`, `on_front`, `knee`, `bits`) to `path`."""
    return _write_csv(report_frame(df, objectives), path)


def write_pareto_csv(df: pd.DataFrame, objectives: Iterable[Any], path: str | Path) -> Path:
    """Write the Pareto-optimal trials, best accuracy first, to `path`."""
    return _write_csv(front_frame(df, objectives), path)


def _write_csv(frame: pd.DataFrame, path: str | Path) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    frame.to_csv(path, index=False)
    return path


def read_trials_csv(path: str | Path) -> pd.DataFrame:
    """Read a trials.csv or pareto.csv back: floats exactly as written, `pareto_rank` as
    nullable Int64, and the flag columns (`feasible`, `on_front`, `knee`) as booleans where
    no cell is empty."""
    frame = pd.read_csv(path, float_precision="round_trip", dtype={"pareto_rank": "Int64"})
    for column in _BOOL_COLUMNS:
        if column in frame.columns and frame[column].notna().all():
            frame[column] = frame[column].astype(bool)
    if BITS_COLUMN in frame.columns:
        frame[BITS_COLUMN] = frame[BITS_COLUMN].fillna("")
    return frame


def summary_table(df: pd.DataFrame, objectives: Iterable[Any], max_rows: int | None = 30) -> str:
    """Plain-text table of the front, best accuracy first: trial, where it came from (in a
    search's table: `trial_origin`), the objective columns (and `test_accuracy` when
    recorded), and the per-layer bits; `*` marks the knee. A header line
    counts the trials, the front and the trials that could not be ranked."""
    parsed = as_objectives(objectives)
    full = report_frame(df, parsed)
    front = _front_of(full, parsed)
    unranked = int(full["pareto_rank"].isna().sum())
    over_budget = int((~feasible_rows(full)).sum())
    title = (
        f"Pareto front: {len(front)} of {len(full)} trials on "
        f"{', '.join(str(o) for o in parsed)}"
    )
    if unranked:
        title += (
            f"; not ranked: {over_budget} over budget, {unranked - over_budget} failed, "
            "running or unscored"
        )
    if front.empty:
        return f"{title}\nno trial is on the front yet"
    first = accuracy_objective(parsed)
    values = [first.column] + [o.column for o in parsed if o != first]
    if Key.TEST_ACCURACY in front.columns and Key.TEST_ACCURACY not in values:
        values.insert(1, Key.TEST_ACCURACY)
    shown = front if max_rows is None else front.head(max_rows)
    origins = any(key in front.columns for key, _ in _ORIGINS)
    columns = [("", "<"), ("trial", ">")] + [("from", "<")] * origins + [(c, ">") for c in values]
    if shown[BITS_COLUMN].astype(bool).any():
        columns.append((BITS_COLUMN, "<"))
    rows = [[name for name, _ in columns]]
    for _, row in shown.iterrows():
        cells = ["*" if row["knee"] else "", str(row.get("number", ""))]
        cells += [trial_origin(row)] * origins
        cells += [_number(row[c], c) for c in values]
        rows.append(cells + [row[BITS_COLUMN]][: len(columns) - len(cells)])
    widths = [max(len(r[i]) for r in rows) for i in range(len(columns))]
    lines = [title]
    for r in rows:
        cells = [
            cell.ljust(width) if align == "<" else cell.rjust(width)
            for cell, width, (_, align) in zip(r, widths, columns, strict=True)
        ]
        lines.append("  ".join(cells).rstrip())
    if len(shown) < len(front):
        lines.append(f"... and {len(front) - len(shown)} more on the front (see pareto.csv)")
    lines.append("* knee of the front")
    return "\n".join(lines)


def trial_origin(row: pd.Series | dict[str, Any]) -> str:
    """Where a trial came from: `uniform` (a queued baseline), `seed` (the sensitivity
    integer program), `retry` (a crashed trial rerun) or `sampler`."""
    for key, label in _ORIGINS:
        value = row.get(key)
        if value is not None and not (isinstance(value, float) and math.isnan(value)):
            return label
    return "sampler"


def _number(value: Any, column: str) -> str:
    if value is None or value is pd.NA or (isinstance(value, float) and np.isnan(value)):
        return "-"
    if "accuracy" in column:
        return f"{float(value):.4f}"
    return f"{float(value):.4g}"
