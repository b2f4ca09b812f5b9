"""Glue for the search, export and CLI: TrialConfig in, cost metrics out.

Costs are a pure function of (architecture, config, input shape), so layer extraction is
cached per (model name, model args, classes, channels, image size, input shape) and each
config only attaches its bits. Many configs of one architecture are scored in one numpy pass.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from functools import lru_cache
from typing import Any

import numpy as np

from codesign.config import TrialConfig
from codesign.errors import CodesignError
from hw_models._arrays import BitMatrix
from hw_models._layers import ModelLayers, extract_layers
from hw_models._plugins import get_cost_model, split_hw_names


def _hw_names(hw: Sequence[str] | str) -> list[str]:
    names = split_hw_names(hw) if isinstance(hw, str) else list(hw)
    if not names or not all(names):
        raise CodesignError(f"no cost model named in {hw!r}; give e.g. generic,npu_int8")
    return names


@lru_cache(maxsize=32)
def _cached_layers(model: str, num_classes: int, in_channels: int, image_size: int,
                   model_args: str, input_shape: tuple[int, ...]) -> ModelLayers:
    from codesign.models import create_model

    net = create_model(model, num_classes, in_channels, image_size, **json.loads(model_args))
    return extract_layers(net, input_shape)


def model_layers(
    model: str,
    num_classes: int,
    in_channels: int | None = None,
    image_size: int | None = None,
    model_args: dict[str, Any] | None = None,
    input_shape: Sequence[int] | None = None,
) -> ModelLayers:
    """Layers of a registry model, cached per architecture and input shape.

    Channels and image size default to the input shape's, else to the model's natural input;
    the input shape defaults to one image (N = 1).
    """
    if input_shape is not None:
        input_shape = _checked_shape(input_shape)
        in_channels, image_size = input_shape[1], input_shape[2]
    if in_channels is None or image_size is None:
        from codesign.models import MODELS

        natural_channels, natural_size = MODELS.get(model).natural_input
        in_channels = natural_channels if in_channels is None else in_channels
        image_size = natural_size if image_size is None else image_size
    shape = tuple(input_shape or (1, in_channels, image_size, image_size))
    args = json.dumps(model_args or {}, sort_keys=True, default=str)
    return _cached_layers(model, num_classes, in_channels, image_size, args, shape)


def _checked_shape(shape: Sequence[int]) -> tuple[int, ...]:
    shape = tuple(int(d) for d in shape)
    if len(shape) != 4 or min(shape) < 1:
        raise CodesignError(f"input shape {shape} must be four positive sizes N,C,H,W")
    if shape[2] != shape[3]:
        raise CodesignError(
            f"input shape {shape} is not square; registry models take one image size (H = W)"
        )
    return shape


def config_layers(cfg: TrialConfig, input_shape: Sequence[int] | None = None) -> ModelLayers:
    """Layers of the config's float model, built from the model and dataset registries.

    The dataset (with `cfg.dataset_args`) gives classes, channels and image size, read from
    no file; an explicit `input_shape` overrides channels and size.
    """
    from codesign.data import dataset_info

    info = dataset_info(cfg.dataset, **cfg.dataset_args)
    return model_layers(cfg.model, info.num_classes, info.in_channels, info.image_size,
                        cfg.model_args, input_shape)


def score_bits(
    layers: ModelLayers, bits: BitMatrix, hw: Sequence[str] | str
) -> dict[str, dict[str, np.ndarray]]:
    """Totals of C configs (a `BitMatrix` over `layers`) under each named cost model."""
    models = [get_cost_model(name) for name in _hw_names(hw)]
    return {model.name: model.totals(layers.arrays, bits) for model in models}


def score_configs(
    cfgs: Sequence[TrialConfig], hw: Sequence[str] | str,
    input_shape: Sequence[int] | None = None,
) -> dict[str, dict[str, np.ndarray]]:
    """Score many configs of one architecture at once: {model: {metric: array (configs,)}}."""
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
    layers = config_layers(first, input_shape)
    bits = BitMatrix.from_layer_quants([cfg.layers for cfg in cfgs], layers.names)
    return score_bits(layers, bits, hw)


def score_config(
    cfg: TrialConfig, hw: Sequence[str] | str, input_shape: Sequence[int] | None = None
) -> dict[str, dict[str, float]]:
    """Costs of one trial config: {cost model name: {metric: value}}."""
    totals = score_configs([cfg], hw, input_shape)
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
    cfg: TrialConfig, hw: Sequence[str] | str, input_shape: Sequence[int] | None = None
) -> list[dict[str, Any]]:
    """Per-layer costs of one trial config (for export and `codesign cost`)."""
    layers = config_layers(cfg, input_shape)
    bits = BitMatrix.from_layer_quants([cfg.layers], layers.names)
    return layer_rows(layers, bits, hw)
