"""The five shipped accelerator models, spanning the precision-flexibility design space.

Each docstring states the assumptions and the sources. Figures not taken from a source are
marked as assumptions; they set the scale, while the dependence on bit-widths (what the
search exploits) follows the architecture's published behaviour.
"""

from __future__ import annotations

import numpy as np

from hw_models._accelerator import Accelerator, MemoryLevel, RunMode
from hw_models._energy import energy_table
from hw_models._registry import COST_MODELS


def pad_up(bits: int, widths: tuple[int, ...]) -> int | None:
    """Smallest supported width that holds `bits`, or None."""
    return next((w for w in widths if w >= bits), None)


def _dram_weights_sram_activations(dram_bits_per_cycle: float) -> tuple[MemoryLevel, ...]:
    """Weights from DRAM, activations through on-chip SRAM, at Horowitz's 45 nm energies."""
    energy = energy_table()
    return (
        MemoryLevel("dram", "weights", energy.dram_pj_per_bit, dram_bits_per_cycle),
        MemoryLevel("sram", "activations", energy.sram_pj_per_bit, 2048.0),
    )


@COST_MODELS.register("bitfusion")
class BitFusion(Accelerator):
    """Precision-scalable bit-brick array (BitFusion, Sharma et al., ISCA 2018), 45 nm.

    Assumptions: 512 Fusion Units of 16 BitBricks (2-bit x 2-bit multipliers) at 500 MHz, as
    in the paper's 45 nm configuration. Operands are padded to 2, 4, 8 or 16 bits; a w x a
    MAC fuses (w/2)(a/2) bricks, so MACs per cycle = 8192 / ((w/2)(a/2)): 512 at 8x8, 2048
    at 4x4, 8192 at 2x2 (and binary, padded to 2). Energy per MAC: (w/2)(a/2) bricks at 1/16
    of Horowitz's 8x8 multiply (0.2 pJ) plus a 32-bit accumulation (0.1 pJ). Weights stream
    from DRAM at 128 bits/cycle, activations through SRAM buffers (Horowitz / EIE energies).
    Refuses float operands and depthwise convolution (the fused array reduces over input
    channels; the paper runs dense CNNs and RNNs only).
    """

    clock_hz = 500e6
    memory = _dram_weights_sram_activations(128.0)
    kind_utilization = {"conv": 1.0, "linear": 1.0}
    supports = (
        "BitFusion runs dense conv and linear layers with integer operands of 1 to 16 bits "
        "(padded to 2, 4, 8, 16); quantize the layer or leave this model out of --hw"
    )

    def run_mode(self, w_bits: int, a_bits: int) -> RunMode | None:
        w, a = pad_up(w_bits, (2, 4, 8, 16)), pad_up(a_bits, (2, 4, 8, 16))
        if w is None or a is None:
            return None
        bricks = (w // 2) * (a // 2)
        energy = energy_table()
        return RunMode(w, a, 8192 / bricks, bricks * energy.int_mult_pj[8] / 16 + 0.1)


@COST_MODELS.register("bitserial")
class BitSerial(Accelerator):
    """Bit-serial engine over weights and activations (Loom, Sharify et al., DAC 2018).

    Assumptions: both operands are processed one bit at a time, so a MAC takes b_w x b_a
    bit-steps with no padding at any width from 1 to 16; 65,536 single-bit AND-accumulate
    lanes at 1 GHz match a 256-MAC bit-parallel engine at 16 x 16 bits (Loom's comparison
    point), giving 65536 / (b_w b_a) MACs per cycle (1024 at 8x8, 65,536 binary). Energy
    per MAC: b_w b_a bit-steps at 1/64 of Horowitz's 8x8 multiply plus a 16-bit accumulation.
    Lanes reduce over 16 input channels per tile, so depthwise layers (one input channel per
    output) use 1/16 of them. Weights from DRAM at 128 bits/cycle, activations via SRAM.
    Refuses float operands.
    """

    clock_hz = 1e9
    memory = _dram_weights_sram_activations(128.0)
    kind_utilization = {"conv": 1.0, "linear": 1.0, "depthwise": 1 / 16}
    supports = "the bit-serial engine runs integer operands of 1 to 16 bits; quantize the layer"

    def run_mode(self, w_bits: int, a_bits: int) -> RunMode | None:
        if w_bits > 16 or a_bits > 16:
            return None
        energy = energy_table()
        steps = w_bits * a_bits
        per_mac = steps * energy.int_mult_pj[8] / 64 + float(energy.int_add(np.array(16)))
        return RunMode(w_bits, a_bits, 65536 / steps, per_mac)


@COST_MODELS.register("riscv_mcu")
class RiscvMcu(Accelerator):
    """RISC-V MCU cluster with packed-SIMD dot products at 8/4/2 bits (PULP / XpulpNN).

    Assumptions: 8 RI5CY cores at 170 MHz (GAP8-class cluster, Flamand et al., ASAP 2018)
    with the XpulpNN packed dot-product instructions (Garofalo et al., DATE 2020): per core
    and cycle 2 MACs at 16 bits, 4 at 8, 8 at 4, 16 at 2. Both operands are unpacked to one
    lane width, the larger padded up to 2/4/8/16 bits (mixed-precision kernels, Bruschi et al.
    2020). Kernel efficiencies (assumed, after PULP-NN / DORY measurements): conv 0.6,
    linear 0.5, depthwise 0.2 of the peak. Energy: 40 mW for the active cluster (assumed),
    235 pJ per cycle, so idle lanes cost energy too. Weights move L2 -> L1 by DMA at 64
    bits/cycle (0.4 pJ/bit), activations through L1 at 256 bits/cycle (0.15 pJ/bit), both
    assumed. Refuses float operands (the cluster cores are integer-only here).
    """

    clock_hz = 170e6
    memory = (
        MemoryLevel("l2_dma", "weights", 0.4, 64.0),
        MemoryLevel("l1", "activations", 0.15, 256.0),
    )
    kind_utilization = {"conv": 0.6, "linear": 0.5, "depthwise": 0.2}
    energy_follows_cycles = True
    supports = "the MCU cluster runs integer operands of 1 to 16 bits; quantize the layer"
    cores = 8
    pj_per_cycle = 0.040 / 170e6 * 1e12

    def run_mode(self, w_bits: int, a_bits: int) -> RunMode | None:
        lane = pad_up(max(w_bits, a_bits), (2, 4, 8, 16))
        if lane is None:
            return None
        macs_per_cycle = self.cores * 32 // lane
        return RunMode(lane, lane, macs_per_cycle, self.pj_per_cycle / macs_per_cycle)


@COST_MODELS.register("npu_int8")
class NpuInt8(Accelerator):
    """Int8-only NPU (Arm Ethos-U55-256 class): every precision padded to 8 bits.

    Assumptions: 256 int8 MACs per cycle at 500 MHz (Ethos-U55's largest configuration);
    every integer, binary, ternary or power-of-two operand that fits in 8 bits runs as int8,
    so on this NPU mixed precision below 8 bits buys nothing, in compute or in memory
    (weights are stored as int8). Energy per MAC: Horowitz 8x8 multiply 0.2 pJ plus a
    32-bit accumulation 0.1 pJ. Weights from DRAM at 64 bits/cycle, activations via SRAM.
    Refuses float operands and operands wider than 8 bits.
    """

    clock_hz = 500e6
    memory = _dram_weights_sram_activations(64.0)
    supports = "the NPU runs int8 only (narrower operands are padded to 8 bits)"

    def run_mode(self, w_bits: int, a_bits: int) -> RunMode | None:
        if w_bits > 8 or a_bits > 8:
            return None
        energy = energy_table()
        return RunMode(8, 8, 256.0, energy.int_mult_pj[8] + energy.int_add_pj[32])
