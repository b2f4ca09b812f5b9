"""The cost-model contract every shipped, YAML and entry-point model fulfils.

A cost model maps (layers of one architecture, bits of C configs) to per-layer metric
matrices (C x L) and to totals (C,). Metric names are lowercase snake_case and stable; a model
that cannot run a layer at a precision raises `CodesignError` naming the layer.
"""

from __future__ import annotations

import numpy as np

from codesign.errors import CodesignError
from codesign.formats import FLOAT_BITS
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


def activation_bits_moved(layers: LayerArrays, a_bits: np.ndarray) -> np.ndarray:
    """Bits each layer moves through activation memory (C x L): its input at `a_bits`, its
    output at the widest of `a_bits` among the layers that read it (float for the network
    output)."""
    out_bits = layers.activations.output_widths(a_bits, FLOAT_BITS)
    return layers.in_elems * a_bits + layers.out_elems * out_bits


def latency_and_energy(
    cycles: np.ndarray, clock_hz: float, energy_compute: np.ndarray, energy_memory: np.ndarray
) -> dict[str, np.ndarray]:
    """The metrics every timed model reports: cycles, seconds and energy with its two parts."""
    return {
        "latency_cycles": cycles,
        "latency_s": cycles / clock_hz,
        "energy_pj": energy_compute + energy_memory,
        "energy_compute_pj": energy_compute,
        "energy_memory_pj": energy_memory,
    }
