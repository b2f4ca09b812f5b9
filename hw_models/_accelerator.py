"""Accelerators driven by a precision table: the base of the shipped and YAML models.

An accelerator says, for every pair of operand widths (w, a) it may be handed, at which
widths it runs them (padding), how many MACs it completes per cycle and the energy per MAC;
`None` refuses. The base turns that rule into 33 x 33 lookup tables once, so costing C
configs is fancy indexing. Per layer: compute cycles = MACs / (MACs per cycle x utilisation
of the layer kind); each memory level moves its share of weights and activations at its
bandwidth and energy per bit; latency = the slowest of compute and memory (double buffering).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np

from codesign.formats import FLOAT_BITS, MAX_INT_BITS
from hw_models._arrays import BitMatrix, LayerArrays
from hw_models._base import CostModel, activation_bits_moved, latency_and_energy, refuse
from hw_models._formats import FLOAT, MAX_BITS, int_equivalent_bits
from hw_models._layers import KINDS

HOLDS = ("weights", "activations", "all")


@dataclass(frozen=True)
class MemoryLevel:
    """One memory level: what it holds, its energy per bit moved and its bits per cycle."""

    name: str
    holds: str
    pj_per_bit: float
    bits_per_cycle: float


@dataclass(frozen=True)
class RunMode:
    """How a precision runs: widths after padding, MACs per cycle, energy per MAC (pJ)."""

    w_bits: int
    a_bits: int
    macs_per_cycle: float
    energy_per_mac_pj: float


class Accelerator(CostModel):
    """Base of precision-table accelerators; subclasses implement `run_mode`.

    Widths handed to `run_mode` are integer-equivalent (binary 1, ternary 2, power-of-two
    k-bit 2^(k-1)); 32 stands for a float operand.
    """

    clock_hz: float = 1e9
    memory: tuple[MemoryLevel, ...] = ()
    # Fraction of peak MACs/cycle reached per layer kind; a kind absent here is refused.
    kind_utilization: dict[str, float] = {"conv": 1.0, "depthwise": 1.0, "linear": 1.0}
    # True where idle units still burn energy (a processor), so low utilisation costs energy.
    energy_follows_cycles: bool = False
    # Says what the model runs, ending the refusal message.
    supports: str = ""
    metrics = (
        "latency_cycles", "latency_s", "energy_pj", "energy_compute_pj", "energy_memory_pj",
        "compute_cycles", "memory_cycles",
    )

    def run_mode(self, w_bits: int, a_bits: int) -> RunMode | None:
        """How the hardware runs operands of these widths, or None if it cannot."""
        raise NotImplementedError

    @cached_property
    def _tables(self) -> tuple[np.ndarray, ...]:
        shape = (MAX_BITS + 1, MAX_BITS + 1)
        run_w, run_a = np.zeros(shape, np.int64), np.zeros(shape, np.int64)
        mpc, epm = np.zeros(shape), np.zeros(shape)
        for w in range(1, MAX_BITS + 1):
            for a in range(1, MAX_BITS + 1):
                mode = self.run_mode(w, a)
                if mode is not None:
                    run_w[w, a], run_a[w, a] = mode.w_bits, mode.a_bits
                    mpc[w, a], epm[w, a] = mode.macs_per_cycle, mode.energy_per_mac_pj
        return run_w, run_a, mpc, epm

    @cached_property
    def _utilization(self) -> np.ndarray:
        return np.array([self.kind_utilization.get(kind, 0.0) for kind in KINDS])

    def operand_widths(self, bits: BitMatrix) -> tuple[np.ndarray, np.ndarray]:
        """Integer-equivalent widths (C x L), 32 for float, widths beyond 31 clipped to 31."""
        w = np.minimum(int_equivalent_bits(bits.w_fmt, bits.w_bits), MAX_BITS - 1)
        a = np.minimum(int_equivalent_bits(bits.a_fmt, bits.a_bits), MAX_BITS - 1)
        w = np.where(bits.w_fmt == FLOAT, FLOAT_BITS, w)
        a = np.where(bits.a_fmt == FLOAT, FLOAT_BITS, a)
        return w, a

    def lookup(self, layers: LayerArrays, bits: BitMatrix) -> tuple[np.ndarray, ...]:
        """(run w bits, run a bits, MACs per cycle incl. utilisation, energy per MAC), C x L.

        Raises `CodesignError` naming the first layer of a kind or precision it cannot run.
        """
        util = self._utilization[layers.kind]
        refuse(self.name, layers, bits, np.broadcast_to(util <= 0, bits.w_bits.shape),
               f"it does not run this layer kind; {self.supports}")
        w, a = self.operand_widths(bits)
        run_w, run_a, mpc, epm = (table[w, a] for table in self._tables)
        refuse(self.name, layers, bits, mpc <= 0, f"unsupported precision; {self.supports}")
        if self.energy_follows_cycles:
            epm = epm / util
        return run_w, run_a, mpc * util, epm

    def layer_metrics(self, layers: LayerArrays, bits: BitMatrix) -> dict[str, np.ndarray]:
        run_w, run_a, mpc, epm = self.lookup(layers, bits)
        compute_cycles = np.ceil(layers.macs / mpc)
        energy_compute = layers.macs * epm
        memory_cycles, energy_memory = self.memory_traffic(layers, run_w, run_a)
        latency = np.maximum(compute_cycles, memory_cycles)
        return {
            **latency_and_energy(latency, self.clock_hz, energy_compute, energy_memory),
            "compute_cycles": compute_cycles,
            "memory_cycles": memory_cycles,
        }

    def memory_traffic(
        self, layers: LayerArrays, run_w: np.ndarray, run_a: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """(slowest level's cycles, energy in pJ) of moving each layer's data once.

        Weights move at the width they run at (padding is paid in memory too); a layer's
        input at its run width and its output at the widest run width of its readers.
        """
        weight_bits = layers.params * run_w
        act_bits = activation_bits_moved(layers, run_a)
        cycles = np.zeros(run_w.shape)
        energy = np.zeros(run_w.shape)
        for level in self.memory:
            moved = {"weights": weight_bits, "activations": act_bits}.get(
                level.holds, weight_bits + act_bits
            )
            cycles = np.maximum(cycles, np.ceil(moved / level.bits_per_cycle))
            energy = energy + moved * level.pj_per_bit
        return cycles, energy

    def precision_grid(self) -> list[tuple[int, int, RunMode]]:
        """Every native precision (widths that run without padding), for `hw show`."""
        modes = []
        widths = [*range(1, MAX_INT_BITS + 1), FLOAT_BITS]
        for w in widths:
            for a in widths:
                mode = self.run_mode(w, a)
                if mode is not None and (mode.w_bits, mode.a_bits) == (w, a):
                    modes.append((w, a, mode))
        return modes

    def details(self) -> dict[str, object]:
        native = [
            f"w{w}a{a}: {m.macs_per_cycle:g} MACs/cycle, {m.energy_per_mac_pj:g} pJ/MAC"
            for w, a, m in self.precision_grid()
        ]
        return {
            "clock": f"{self.clock_hz / 1e6:g} MHz",
            "native precisions (32 = float)": native,
            "layer kinds (utilisation)": ", ".join(
                f"{k} {u:g}" for k, u in self.kind_utilization.items() if u > 0
            ),
            "memory levels": [
                f"{m.name}: {m.holds}, {m.pj_per_bit:g} pJ/bit, {m.bits_per_cycle:g} bits/cycle"
                for m in self.memory
            ],
            "supports": self.supports,
        }
