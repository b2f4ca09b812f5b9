"""`codesign hw validate`: cost-model predictions against whole-network measurements here.

For N random configurations of a space: one onnxruntime session per configuration on the
whole network (exported and quantized by `_network`), the sum of per-layer measurements at
the precisions each layer runs at (int8 if both operands fit, else float), and each model's
prediction. Reported per model: Kendall's tau-b against the measurement (ties allowed; NaN
when either side is constant), and the mean relative error for metrics in seconds.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from codesign.config import TrialConfig
from codesign.errors import CodesignError
from codesign.network import network_layers
from codesign.profile._device import PRECISIONS, measure_layers
from codesign.profile._graphs import FLOAT, INT8
from codesign.profile._measure import median_seconds, require_runtime, session
from codesign.profile._network import float_layers, float_network, int8_network, layer_nodes
from codesign.space import SearchSpace
from hw_models import get_cost_model, score_configs
from hw_models._zigzag_workload import shape_key


def random_configs(space: SearchSpace, count: int, seed: int) -> list[TrialConfig]:
    """`count` configurations drawn uniformly from the space's choices."""
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=seed))
    return [space.sample(study.ask()) for _ in range(count)]


def _column(item: str) -> tuple[str, str]:
    """`model` -> (model, latency_s); `model.metric` -> (model, metric)."""
    if "." in item and not item.endswith((".yaml", ".yml")) and "/" not in item:
        model, metric = item.rsplit(".", 1)
        return model, metric
    return item, "latency_s"


def kendall_tau(a: np.ndarray, b: np.ndarray) -> float:
    from scipy.stats import kendalltau  # type: ignore[import-untyped]

    if np.ptp(a) == 0 or np.ptp(b) == 0:
        return math.nan
    return float(kendalltau(a, b).statistic)


def validate_models(space: SearchSpace, hw: Sequence[str], against: str, count: int,
                    seed: int = 0, threads: int = 1) -> dict[str, Any]:
    """Measure `count` random configurations and compare every model's prediction."""
    require_runtime("onnxruntime")
    if count < 2:
        raise CodesignError(f"--configs {count} is too few; rank at least 2 configurations")
    cfgs = random_configs(space, count, seed)
    layers = network_layers(cfgs[0])
    shape = layers.input_shape
    print(f"measuring {len(layers.layers)} layers of {space.model} one by one", flush=True)
    per_layer = {(t.shape, t.precision): t.seconds for t in measure_layers(layers, threads)}
    network = float_network(cfgs[0], shape)
    nodes = layer_nodes(network)
    graphs: dict[frozenset[str], bytes] = {}
    whole, summed = [], []
    for i, cfg in enumerate(cfgs):
        floats = frozenset(nodes[name] for name in float_layers(cfg) if name in nodes)
        if floats not in graphs:
            graphs[floats] = int8_network(network, shape, sorted(floats))
        whole.append(median_seconds(session(graphs[floats], threads), shape))
        summed.append(sum(
            per_layer[shape_key(spec), FLOAT if spec.name in float_layers(cfg) else INT8]
            * spec.calls for spec in layers.layers))
        print(f"  [{i + 1}/{count}] whole network {whole[-1] * 1e3:.3f} ms, "
              f"per-layer sum {summed[-1] * 1e3:.3f} ms", flush=True)
    measured, layer_sum = np.array(whole), np.array(summed)
    rows = []
    for item in [against, *hw]:
        model_name, metric = _column(item)
        model = get_cost_model(model_name)
        if metric not in model.metrics:
            raise CodesignError(f"cost model '{model.name}' has no metric '{metric}'; name one "
                                f"as {model.name}.METRIC from: {', '.join(model.metrics)}")
        predicted = score_configs(cfgs, [model.name], layers)[model.name][metric]
        error = (float(np.mean(np.abs(predicted - measured) / measured))
                 if metric.endswith("_s") else math.nan)
        rows.append({"model": model.name, "metric": metric,
                     "kendall_tau": kendall_tau(predicted, measured),
                     "mean_relative_error": error})
    return {
        "space": space.name, "model": space.model, "configs": count,
        "precisions": {p: list(bits) for p, bits in PRECISIONS.items()},
        "measured_mean_s": float(measured.mean()),
        "per_layer_sum_mean_s": float(layer_sum.mean()),
        "per_layer_sum_relative_error": float(np.mean(np.abs(layer_sum - measured) / measured)),
        "per_layer_sum_kendall_tau": kendall_tau(layer_sum, measured),
        "models": rows,
    }
