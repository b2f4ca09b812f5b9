"""Per-operation energies from a data file with its source (the QKeras QTools habit).

The file gives Horowitz's 45 nm figures at a few widths; the functions scale them with the
operand widths: a multiplier's energy with the product of the widths (8x8 -> 0.2 pJ gives
32x32 -> 3.2 pJ, against 3.1 measured), an adder's linearly between its two quoted widths.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from importlib import resources

import numpy as np

from codesign.errors import CodesignError
from codesign.userfile import parse_yaml

ENERGY_FILE = "energy_horowitz_45nm.yaml"


@dataclass(frozen=True)
class EnergyTable:
    """Energy constants in pJ, with the source they come from."""

    source: str
    int_add_pj: dict[int, float]
    int_mult_pj: dict[int, float]
    fp32_add_pj: float
    fp32_mult_pj: float
    sram_pj_per_bit: float
    dram_pj_per_bit: float

    def int_mult(self, w_bits: np.ndarray, a_bits: np.ndarray) -> np.ndarray:
        """Integer multiply energy, scaled from the 8x8 figure by the product of widths."""
        return self.int_mult_pj[8] * (w_bits * a_bits) / 64.0

    def int_add(self, bits: np.ndarray) -> np.ndarray:
        """Integer add energy, linear in width through the 8- and 32-bit figures."""
        e8, e32 = self.int_add_pj[8], self.int_add_pj[32]
        return e8 + (bits - 8) * (e32 - e8) / 24.0

    @property
    def fp32_mac(self) -> float:
        return self.fp32_mult_pj + self.fp32_add_pj


@cache
def energy_table() -> EnergyTable:
    """The shipped 45 nm table (parsed once)."""
    text = resources.files("hw_models").joinpath(ENERGY_FILE).read_text()
    data = parse_yaml(text, ENERGY_FILE)
    try:
        return EnergyTable(
            source=" ".join(str(data["source"]).split()),
            int_add_pj={int(k): float(v) for k, v in data["int_add_pj"].items()},
            int_mult_pj={int(k): float(v) for k, v in data["int_mult_pj"].items()},
            fp32_add_pj=float(data["fp32_add_pj"]),
            fp32_mult_pj=float(data["fp32_mult_pj"]),
            sram_pj_per_bit=float(data["sram_read_pj_per_32_bits"]) / 32.0,
            dram_pj_per_bit=float(data["dram_read_pj_per_32_bits"]) / 32.0,
        )
    except (KeyError, TypeError, ValueError) as err:
        raise CodesignError(
            f"{ENERGY_FILE}: bad or missing entry {err}; restore the shipped file"
        ) from None
