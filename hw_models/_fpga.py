"""FPGA dataflow estimate in the style of FINN (Umuroglu et al., FPGA 2017; Blott et al.,
FINN-R, TRETS 2018): one pipeline stage per layer, LUT-built MAC lanes."""

from __future__ import annotations

import numpy as np

from hw_models._arrays import BitMatrix, LayerArrays
from hw_models._base import CostModel, activation_bits_moved, latency_and_energy, refuse
from hw_models._formats import FLOAT, int_equivalent_bits
from hw_models._ops import AND, MUX, SHIFT, XNOR, op_class_masks
from hw_models._registry import COST_MODELS


@COST_MODELS.register("fpga_dataflow")
class FpgaDataflow(CostModel):
    """FPGA dataflow estimate (FINN-style): LUTs grow with b_w x b_a, binary as XNOR-popcount.

    Assumptions: every costed layer is one pipeline stage of PE x SIMD MAC lanes, with
    PE = min(output channels, 32) and SIMD = min(fan-in, 32) (bit-width independent folding).
    LUTs per lane: b_w x b_a for the multiplier plus b_w + b_a for its share of the adder tree
    (FINN-R's linear-in-product LUT cost); binary x binary lanes are an XNOR plus popcount
    share, 2 LUTs; ternary / 1-bit lanes a sign-select, b_a + 2 LUTs; power-of-two weights a
    shifter of b_a x b_w LUTs plus the adder share. The device is a Xilinx ZU3EG (70,560 LUTs,
    70% usable) at 200 MHz: a design needing more LUTs is folded in time by LUTs / budget, so
    latency grows with b_w x b_a once the network no longer fits. Latency is one frame
    through all stages (no overlap inside a frame); the frame interval is the slowest stage.
    Energy (assumed): 0.02 pJ per LUT per MAC, weights read from on-chip BRAM at every use
    (0.05 pJ/bit), activations streamed through FIFOs (0.02 pJ/bit). Refuses float operands.
    """

    clock_hz = 200e6
    lut_budget = 70_560 * 0.7
    pe_max = simd_max = 32
    pj_per_lut_op = 0.02
    bram_pj_per_bit = 0.05
    fifo_pj_per_bit = 0.02
    metrics = (
        "latency_cycles", "latency_s", "energy_pj", "energy_compute_pj", "energy_memory_pj",
        "luts", "lut_utilization", "initiation_interval_cycles",
    )
    max_metrics = frozenset({"initiation_interval_cycles"})

    def lane_luts(self, layers: LayerArrays, bits: BitMatrix) -> np.ndarray:
        """LUTs of one MAC lane per (config, layer)."""
        w = int_equivalent_bits(bits.w_fmt, bits.w_bits).astype(np.float64)
        a = int_equivalent_bits(bits.a_fmt, bits.a_bits).astype(np.float64)
        ops = op_class_masks(layers, bits)
        pow2_shift = bits.a_bits * bits.w_bits + a + bits.w_bits
        return np.select(
            [ops[XNOR] | ops[AND], ops[MUX], ops[SHIFT]],
            [np.full(w.shape, 2.0), a + 2, pow2_shift],
            default=w * a + w + a,
        )

    def layer_metrics(self, layers: LayerArrays, bits: BitMatrix) -> dict[str, np.ndarray]:
        is_float = (bits.w_fmt == FLOAT) | (bits.a_fmt == FLOAT)
        refuse(self.name, layers, bits, is_float,
               "the FPGA estimate builds integer / binary LUT datapaths only; quantize it")
        lanes = np.minimum(layers.out_channels, self.pe_max) * np.minimum(
            layers.fan_in, self.simd_max
        )
        lane_luts = self.lane_luts(layers, bits)
        luts = lanes * lane_luts
        fold = np.maximum(1.0, luts.sum(axis=1, keepdims=True) / self.lut_budget)
        cycles = np.ceil(layers.macs / lanes * fold)
        energy_compute = layers.macs * lane_luts * self.pj_per_lut_op
        energy_memory = (
            layers.macs * bits.w_bits * self.bram_pj_per_bit
            + activation_bits_moved(layers, bits.a_bits) * self.fifo_pj_per_bit
        )
        return {
            **latency_and_energy(cycles, self.clock_hz, energy_compute, energy_memory),
            "luts": luts,
            "lut_utilization": luts / self.lut_budget,
            "initiation_interval_cycles": cycles,
        }

    def details(self) -> dict[str, object]:
        return {
            "clock": f"{self.clock_hz / 1e6:g} MHz",
            "LUT budget": f"{self.lut_budget:,.0f}",
            "lane LUTs": "w*a + w + a (int); 2 (XNOR-popcount); a + 2 (sign-select)",
            "supports": "integer, binary, ternary and power-of-two operands; no float",
        }

