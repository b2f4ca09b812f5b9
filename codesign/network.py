"""The float network of a TrialConfig, and its costed layers.

The one place that turns a config into a torch model: its model reference built for the
config's classes and input shape (declared, else read from the dataset), optionally loaded
with the float weights training starts from. Training, the search's costs and the commands
(`cost`, `pareto`, `export`) all build it here and hand `hw_models` only the model's layers,
so the cost models never need to know where a model comes from.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from codesign.config import TrialConfig
from codesign.errors import CodesignError

if TYPE_CHECKING:
    from torch import nn

    from hw_models import ModelLayers

_LISTED_KEYS = 3


def data_shape(cfg: TrialConfig) -> tuple[int, tuple[int, ...]]:
    """(classes, one sample's shape): the config's own, else the dataset's (a registered
    dataset reads no file; a user dataset is loaded once to read one sample)."""
    if cfg.num_classes is not None and cfg.input_shape is not None:
        return cfg.num_classes, cfg.input_shape
    from codesign.data import dataset_info

    info = dataset_info(cfg.dataset, **cfg.dataset_args)
    return cfg.num_classes or info.num_classes, cfg.input_shape or info.input_shape


def float_network(cfg: TrialConfig, with_init: bool = True) -> nn.Module:
    """The config's float model; with `with_init`, loaded with the weights of `cfg.init`."""
    from codesign.models import build_network

    classes, shape = data_shape(cfg)
    model = build_network(cfg.model, classes, shape, **cfg.model_args)
    if with_init and cfg.init:
        load_float_weights(model, cfg.init)
    return model


def load_float_weights(model: nn.Module, path: str | Path) -> None:
    """Load a float state dict (`weights_only=True`, keys matched by name) into `model`; a
    mismatch names the first missing and unexpected keys."""
    import torch

    file = Path(path)
    if not file.is_file():
        raise CodesignError(f"checkpoint {file} does not exist; check init.checkpoint")
    try:
        state = torch.load(file, map_location="cpu", weights_only=True)
    except Exception as err:  # a corrupt file or one holding pickled objects
        raise CodesignError(
            f"checkpoint {file} is not a state dict torch can load with weights_only=True "
            f"({type(err).__name__}); save it with torch.save(model.state_dict(), path)"
        ) from None
    if not isinstance(state, dict):
        raise CodesignError(
            f"checkpoint {file} holds a {type(state).__name__}, not a state dict; save it "
            "with torch.save(model.state_dict(), path)"
        )
    own = model.state_dict()
    missing = [k for k in own if k not in state]
    unexpected = [k for k in state if k not in own]
    wrong = [k for k in own if k in state and tuple(state[k].shape) != tuple(own[k].shape)]
    if missing or unexpected or wrong:
        parts = []
        if missing:
            parts.append(f"missing keys {missing[:_LISTED_KEYS]}")
        if unexpected:
            parts.append(f"unexpected keys {unexpected[:_LISTED_KEYS]}")
        if wrong:
            key = wrong[0]
            parts.append(f"key '{key}' has shape {tuple(state[key].shape)}, the model "
                         f"{tuple(own[key].shape)}")
        raise CodesignError(
            f"checkpoint {file} does not fit model {type(model).__name__}: "
            f"{'; '.join(parts)}; give a checkpoint of this architecture"
        )
    model.load_state_dict(state)


def network_layers(cfg: TrialConfig, batch_shape: Sequence[int] | None = None) -> ModelLayers:
    """Costed layers of the config's float model for one sample (or `batch_shape`, N first),
    cached per architecture and shape."""
    classes, shape = data_shape(cfg)
    return model_layers(cfg.model, classes, shape, cfg.model_args, batch_shape)


def model_layers(
    model: str,
    num_classes: int,
    input_shape: Sequence[int],
    model_args: dict[str, Any] | None = None,
    batch_shape: Sequence[int] | None = None,
) -> ModelLayers:
    """Costed layers of model `model` (a name or reference) for one sample of `input_shape`,
    or for `batch_shape` (N first, which then also fixes the sample shape)."""
    shape = tuple(int(d) for d in input_shape)
    if batch_shape is not None:
        full = tuple(int(d) for d in batch_shape)
        if len(full) < 2 or min(full) < 1:
            raise CodesignError(f"input shape {full} must be positive sizes, batch first")
        shape = full[1:]
    else:
        full = (1, *shape)
    args = json.dumps(model_args or {}, sort_keys=True, default=str)
    return _layers(model, args, num_classes, tuple(shape), full)


@lru_cache(maxsize=32)
def _layers(model: str, model_args: str, classes: int, shape: tuple[int, ...],
            full: tuple[int, ...]) -> ModelLayers:
    from codesign.models import build_network
    from hw_models import extract_layers

    net = build_network(model, classes, shape, **json.loads(model_args))
    return extract_layers(net, full)


def config_costs(
    cfg: TrialConfig, hw: Sequence[str] | str, batch_shape: Sequence[int] | None = None
) -> dict[str, dict[str, float]]:
    """Costs of one config under the named cost models: {model: {metric: value}}."""
    from hw_models import score_config

    return score_config(cfg, hw, network_layers(cfg, batch_shape))


def configs_costs(cfgs: Sequence[TrialConfig], hw: Sequence[str] | str) -> dict[str, Any]:
    """Costs of many configs of one architecture in one pass (see `hw_models.score_configs`)."""
    from hw_models import score_configs

    if not cfgs:
        raise CodesignError("no configs to score")
    return score_configs(cfgs, hw, network_layers(cfgs[0]))


def cost_table(cfg: TrialConfig, hw: Sequence[str] | str,
               batch_shape: Sequence[int] | None = None) -> list[dict[str, Any]]:
    """Per-layer costs of one config (for export and `codesign cost`)."""
    from hw_models import layer_cost_table

    return layer_cost_table(cfg, hw, network_layers(cfg, batch_shape))
