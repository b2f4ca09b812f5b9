"""The `generic` cost model: hardware-independent counts and 45 nm energy.

Definitions follow docs/design.md, "Costs", and docs/costs.md: BOPs = MACs x b_w x b_a
(HAWQ-V3 / EdMIPS; float counts 32 x 32); op classes by the grids of the operand pair as in
QKeras QTools (`_ops.py`); peak
activation memory over the tensors alive together (`_activations.py`); energy from Horowitz's
ISSCC 2014 per-operation figures (see `energy_horowitz_45nm.yaml`).
"""

from __future__ import annotations

import numpy as np

from codesign.formats import FLOAT_BITS
from hw_models._arrays import BitMatrix, LayerArrays
from hw_models._base import CostModel, activation_bits_moved
from hw_models._energy import energy_table
from hw_models._formats import int_equivalent_bits
from hw_models._ops import OP_CLASSES, op_class_masks
from hw_models._registry import COST_MODELS


def accumulator_bits(w_eq: np.ndarray, a_eq: np.ndarray, fan_in: np.ndarray) -> np.ndarray:
    """Exact accumulator width: product width plus log2 of the fan-in, at most 32 bits."""
    return np.minimum(w_eq + a_eq + np.ceil(np.log2(np.maximum(fan_in, 1))), 32)


@COST_MODELS.register("generic")
class GenericModel(CostModel):
    """Hardware-independent counts: MACs, BOPs, memory, op classes, 45 nm energy (Horowitz).

    Assumptions: weights are read once from DRAM and every layer's input and output once
    from on-chip SRAM, at their bit-widths; a tensor is stored at the widest bits its readers
    take (through adds and pooling), the network output as float. Peak activation memory is
    the largest total of the tensors alive together (a skip connection included), per layer
    over the ops from it to the next costed layer.
    Biases, batch-norm and other non-costed parameters stay float (32 bits) in model size and
    DRAM energy. MAC energy: integer multiply scaled by w x a from 8x8 = 0.2 pJ, accumulator
    add at its exact width; XNOR / AND as a 1x1 multiply, mux / sign-select as the add alone,
    shift as one add at the activation width plus the accumulation; float MAC 3.7 + 0.9 pJ.
    Extra per-width-pair counts `int_mult_w{W}_a{A}` appear for the pairs present.
    """

    metrics = (
        "macs", "bops", "weight_bits", "model_size_bytes", "peak_activation_bits",
        *OP_CLASSES, "energy_compute_pj", "energy_memory_pj", "energy_pj",
    )
    max_metrics = frozenset({"peak_activation_bits"})

    def layer_metrics(self, layers: LayerArrays, bits: BitMatrix) -> dict[str, np.ndarray]:
        energy = energy_table()
        macs = np.broadcast_to(layers.macs, bits.w_bits.shape)
        w_bits, a_bits = bits.w_bits, bits.a_bits
        masks = op_class_masks(layers, bits)
        result: dict[str, np.ndarray] = {
            "macs": np.array(macs),
            "bops": macs * w_bits * a_bits,
            "weight_bits": layers.params * w_bits,
            "model_size_bytes": layers.params * w_bits / 8.0,
            "peak_activation_bits": layers.activations.peak_bits(a_bits, FLOAT_BITS),
        }
        for op, mask in masks.items():
            result[op] = np.where(mask, macs, 0.0)
        result.update(_width_pair_counts(macs, bits, masks["int_macs"]))

        w_eq = int_equivalent_bits(bits.w_fmt, w_bits)
        a_eq = int_equivalent_bits(bits.a_fmt, a_bits)
        acc = energy.int_add(accumulator_bits(w_eq, a_eq, layers.fan_in))
        one = np.ones_like(w_eq)
        per_mac = np.select(
            [masks["float_macs"], masks["int_macs"], masks["xnor_popcount_ops"] | masks["and_ops"],
             masks["shift_ops"]],
            [energy.fp32_mac, energy.int_mult(w_eq, a_eq) + acc, energy.int_mult(one, one) + acc,
             energy.int_add(a_eq) + acc],
            default=acc,  # mux / sign-select: the accumulation alone
        )
        result["energy_compute_pj"] = macs * per_mac
        result["energy_memory_pj"] = (
            result["weight_bits"] * energy.dram_pj_per_bit
            + activation_bits_moved(layers, a_bits) * energy.sram_pj_per_bit
        )
        result["energy_pj"] = result["energy_compute_pj"] + result["energy_memory_pj"]
        return result

    def totals(self, layers: LayerArrays, bits: BitMatrix) -> dict[str, np.ndarray]:
        totals = super().totals(layers, bits)
        float_bits = layers.float_params * FLOAT_BITS
        totals["model_size_bytes"] = totals["model_size_bytes"] + float_bits / 8.0
        extra_pj = float_bits * energy_table().dram_pj_per_bit
        totals["energy_memory_pj"] = totals["energy_memory_pj"] + extra_pj
        totals["energy_pj"] = totals["energy_pj"] + extra_pj
        return totals

    def details(self) -> dict[str, object]:
        return {"energy source": energy_table().source, "float parameters": "32 bits"}


def _width_pair_counts(
    macs: np.ndarray, bits: BitMatrix, integer: np.ndarray
) -> dict[str, np.ndarray]:
    """MACs per integer multiply width pair, e.g. `int_mult_w4_a8`, for the pairs present."""
    key = np.where(integer, bits.w_bits * 64 + bits.a_bits, -1)
    pairs = np.unique(key[integer])
    return {
        f"int_mult_w{pair // 64}_a{pair % 64}": np.where(key == pair, macs, 0.0) for pair in pairs
    }
