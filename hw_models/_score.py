"""Glue for the search, export and CLI: a TrialConfig and its model's layers in, costs out.

Costs are a pure function of (architecture, config, input shape): the caller builds the float
model and extracts its layers once (`extract_layers`), each config only attaches its bits.
Where the model comes from is none of this package's business. Many configs of one
architecture are scored in one numpy pass.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from codesign.config import TrialConfig
from codesign.errors import CodesignError
from hw_models._arrays import BitMatrix
from hw_models._layers import ModelLayers
from hw_models._plugins import get_cost_model


def _hw_names(hw: Sequence[str] | str) -> list[str]:
    names = [n.strip() for n in hw.split(",")] if isinstance(hw, str) else list(hw)
    if not names or not all(names):
        raise CodesignError(f"no cost model named in {hw!r}; give e.g. generic,npu_int8")
    return names


def score_bits(
    layers: ModelLayers, bits: BitMatrix, hw: Sequence[str] | str
) -> dict[str, dict[str, np.ndarray]]:
    """Totals of C configs (a `BitMatrix` over `layers`) under each named cost model."""
    models = [get_cost_model(name) for name in _hw_names(hw)]
    return {model.name: model.totals(layers.arrays, bits) for model in models}


def score_configs(
    cfgs: Sequence[TrialConfig], hw: Sequence[str] | str, layers: ModelLayers
) -> dict[str, dict[str, np.ndarray]]:
    """Score many configs of one architecture (whose layers are `layers`) at once:
    {model: {metric: array (configs,)}}."""
    if not cfgs:
        raise CodesignError("no configs to score")
    first = cfgs[0]
    arch = (first.model, first.dataset, first.model_args)
    for cfg in cfgs[1:]:
        if (cfg.model, cfg.dataset, cfg.model_args) != arch:
            raise CodesignError(
                f"score_configs needs one architecture; got {first.model}/{first.dataset} and "
                f"{cfg.model}/{cfg.dataset}; score them separately"
            )
    bits = BitMatrix.from_layer_quants([cfg.layers for cfg in cfgs], layers.names)
    return score_bits(layers, bits, hw)


def score_config(
    cfg: TrialConfig, hw: Sequence[str] | str, layers: ModelLayers
) -> dict[str, dict[str, float]]:
    """Costs of one trial config of the model whose layers are `layers`:
    {cost model name: {metric: value}}."""
    totals = score_configs([cfg], hw, layers)
    return {
        name: {metric: float(values[0]) for metric, values in metrics.items()}
        for name, metrics in totals.items()
    }


def layer_rows(
    layers: ModelLayers, bits: BitMatrix, hw: Sequence[str] | str
) -> list[dict[str, Any]]:
    """One row per layer of one config: shape facts, precision, then `model.metric` columns."""
    if bits.num_configs != 1:
        raise ValueError("layer_rows takes the bits of exactly one config")
    models = [get_cost_model(name) for name in _hw_names(hw)]
    per_model = {m.name: m.layer_metrics(layers.arrays, bits) for m in models}
    rows = []
    for col, spec in enumerate(layers.layers):
        w_bits, w_fmt, a_bits, a_fmt = bits.layer_quant(0, col)
        row: dict[str, Any] = {
            "layer": spec.name, "kind": spec.kind, "macs": spec.macs, "params": spec.params,
            "w_bits": w_bits, "w_format": w_fmt, "a_bits": a_bits, "a_format": a_fmt,
        }
        for name, metrics in per_model.items():
            for metric, values in metrics.items():
                row[f"{name}.{metric}"] = float(values[0, col])
        rows.append(row)
    return rows


def layer_cost_table(
    cfg: TrialConfig, hw: Sequence[str] | str, layers: ModelLayers
) -> list[dict[str, Any]]:
    """Per-layer costs of one trial config of the model whose layers are `layers`."""
    bits = BitMatrix.from_layer_quants([cfg.layers], layers.names)
    return layer_rows(layers, bits, hw)
