"""Hardware cost models: layer extraction, the `generic` model, shipped accelerators, and
plug-ins (YAML tables and entry-point classes), all in the registry `COST_MODELS`.

What is and is not costed: docs/costs.md. Op classes come from one table (`OP_TABLE`) keyed by
the grids weights and activations train on; a plug-in that labels ops uses `op_class_masks`.

Costs are a pure function of (architecture, TrialConfig, input shape): `score_config` is what
the search calls; `score_bits` scores a (configs x layers) bit matrix in one numpy pass.
"""

from hw_models import _fpga, _generic, _plugins, _shipped  # noqa: F401  (shipped models)
from hw_models._accelerator import Accelerator, MemoryLevel, RunMode
from hw_models._activations import ActivationGraph
from hw_models._arrays import BitMatrix, LayerArrays
from hw_models._base import CostModel
from hw_models._layers import KINDS, LayerSpec, ModelLayers, UncostedLayersWarning, extract_layers
from hw_models._ops import OP_CLASSES, OP_TABLE, op_class_masks
from hw_models._plugins import (
    ENTRY_POINT_GROUP,
    HW_PATH_ENV,
    get_cost_model,
    list_cost_models,
    load_plugins,
    search_path,
    source_of,
)
from hw_models._registry import COST_MODELS
from hw_models._score import (
    layer_cost_table,
    layer_rows,
    score_bits,
    score_config,
    score_configs,
)
from hw_models._yaml_model import TableAccelerator, load_yaml_model

_plugins.register_shipped()

__all__ = [
    "COST_MODELS",
    "ENTRY_POINT_GROUP",
    "HW_PATH_ENV",
    "KINDS",
    "OP_CLASSES",
    "OP_TABLE",
    "Accelerator",
    "ActivationGraph",
    "BitMatrix",
    "CostModel",
    "LayerArrays",
    "LayerSpec",
    "MemoryLevel",
    "ModelLayers",
    "RunMode",
    "TableAccelerator",
    "UncostedLayersWarning",
    "extract_layers",
    "get_cost_model",
    "layer_cost_table",
    "layer_rows",
    "list_cost_models",
    "load_plugins",
    "load_yaml_model",
    "op_class_masks",
    "score_bits",
    "score_config",
    "score_configs",
    "search_path",
    "source_of",
]
