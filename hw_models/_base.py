"""The cost-model contract every shipped, YAML and entry-point model fulfils.

A cost model maps (layers of one architecture, bits of C configs) to per-layer metric
matrices (C x L) and to totals (C,). Metric names are lowercase snake_case and stable; a model
that cannot run a layer at a precision raises `CodesignError` naming the layer.
"""

from __future__ import annotations

import numpy as np

from codesign.errors import CodesignError
from hw_models._arrays import BitMatrix, LayerArrays
from hw_models._layers import KINDS


class CostModel:
    """Base class: subclass it, set `metrics`, implement `layer_metrics`.

    Totals are sums over layers, except the metrics named in `max_metrics` (maxima over
    layers). Override `totals` for anything that is not a plain sum or max.
    """

    name: str = ""
    metrics: tuple[str, ...] = ()
    max_metrics: frozenset[str] = frozenset()

    def layer_metrics(self, layers: LayerArrays, bits: BitMatrix) -> dict[str, np.ndarray]:
        """Per-layer metrics, each (configs x layers)."""
        raise NotImplementedError

    def totals(self, layers: LayerArrays, bits: BitMatrix) -> dict[str, np.ndarray]:
        """Whole-network metrics, each of shape (configs,)."""
        per_layer = self.layer_metrics(layers, bits)
        return {
            metric: (values.max(axis=1) if metric in self.max_metrics else values.sum(axis=1))
            if values.shape[1] else np.zeros(values.shape[0])
            for metric, values in per_layer.items()
        }

    def details(self) -> dict[str, object]:
        """Facts shown by `codesign hw show` (clock, supported precisions, ...)."""
        return {}


def refuse(
    model: str, layers: LayerArrays, bits: BitMatrix, bad: np.ndarray, reason: str
) -> None:
    """Raise a `CodesignError` for the first (config, layer) marked in `bad`, if any."""
    if not bad.any():
        return
    row, col = (int(i) for i in np.argwhere(bad)[0])
    w_bits, w_fmt, a_bits, a_fmt = bits.layer_quant(row, col)
    where = f" (config #{row})" if bits.num_configs > 1 else ""
    raise CodesignError(
        f"cost model '{model}' cannot run {KINDS[int(layers.kind[col])]} layer "
        f"'{layers.names[col]}'{where} at weights {w_bits}-bit {w_fmt} / activations "
        f"{a_bits}-bit {a_fmt}: {reason}"
    )

