"""Accelerators described by a YAML table: read as plain data (`codesign.userfile`),
validated field by field, never executed. Every error names the file and the field."""

from __future__ import annotations

import math
import re
from pathlib import Path
from typing import Any

from codesign.errors import CodesignError, reject_unknown
from codesign.formats import BITS_CHOICES, FLOAT_BITS, MAX_INT_BITS, is_bits_value
from codesign.userfile import load_yaml
from hw_models._accelerator import HOLDS, Accelerator, MemoryLevel, RunMode
from hw_models._layers import KINDS

PADDING_RULES = ("up", "none")
_NAME = re.compile(r"^[a-z][a-z0-9_\-]*$")
_TOP_FIELDS = {
    "name": True, "clock_hz": True, "precisions": True, "padding": True,
    "description": False, "source": False, "memory": False, "layer_kinds": False,
}
_PRECISION_FIELDS = ("w_bits", "a_bits", "macs_per_cycle", "energy_per_mac_pj")
_MEMORY_FIELDS = ("name", "holds", "pj_per_bit", "bits_per_cycle")


class _Fields:
    """Reads typed fields out of one mapping, naming file and field path on any mistake."""

    def __init__(self, data: Any, where: str, path: Path, allowed: tuple[str, ...]) -> None:
        self.path, self.where = path, where
        if not isinstance(data, dict):
            self.fail(f"must be a mapping with fields {', '.join(allowed)}")
        reject_unknown(data, allowed, self.label())
        self.data = data

    def label(self, field: str | None = None) -> str:
        """`accelerator file PATH: field 'a.b'` (or `: top level`), the start of every line."""
        where = ".".join(part for part in (self.where, field) if part)
        return f"accelerator file {self.path}: " + (f"field '{where}'" if where else "top level")

    def fail(self, message: str, field: str | None = None) -> None:
        raise CodesignError(f"{self.label(field)} {message}")

    def get(self, field: str, required: bool = True) -> Any:
        if field not in self.data:
            if required:
                self.fail("is missing", field)
            return None
        return self.data[field]

    def number(self, field: str, positive: bool = True, at_most: float = math.inf) -> float:
        """A finite number > 0 (>= 0 unless `positive`) and <= `at_most`."""
        value = self.get(field)
        if isinstance(value, str):  # YAML 1.1 reads 4e8 as a string; accept it when numeric
            try:
                value = float(value)
            except ValueError:
                pass
        if isinstance(value, bool) or not isinstance(value, int | float):
            self.fail(f"must be a number, got {value!r}", field)
        if not math.isfinite(value):
            self.fail(f"must be a finite number, got {value!r}", field)
        if value < 0 or (positive and value == 0) or value > at_most:
            low = "> 0" if positive else ">= 0"
            high = f" and <= {at_most:g}" if at_most < math.inf else ""
            self.fail(f"must be {low}{high}, got {value!r}", field)
        return float(value)

    def bits(self, field: str) -> int:
        value = self.get(field)
        if not is_bits_value(value):
            self.fail(f"must be {BITS_CHOICES}, got {value!r}", field)
        return int(value)

    def text(self, field: str, required: bool = True, choices: tuple[str, ...] = ()) -> str:
        value = self.get(field, required)
        if value is None and not required:
            return ""
        if not isinstance(value, str) or not value.strip():
            self.fail(f"must be a non-empty string, got {value!r}", field)
        if choices and value not in choices:
            self.fail(f"must be one of {', '.join(choices)}, got {value!r}", field)
        return value.strip()

    def items(self, field: str, required: bool = True) -> list[Any]:
        value = self.get(field, required)
        if value is None:
            return []
        if not isinstance(value, list) or not value:
            self.fail(f"must be a non-empty list, got {value!r}", field)
        return value


class TableAccelerator(Accelerator):
    """An accelerator read from a YAML table (see the README for the format)."""

    def __init__(self, spec: dict[str, Any], path: Path) -> None:
        top = _Fields(spec, "", path, tuple(_TOP_FIELDS))
        self.path = path
        self.name = top.text("name")
        if not _NAME.match(self.name):
            top.fail("must be lowercase letters, digits, '_' or '-', starting with a letter, "
                     f"got {self.name!r}", "name")
        self.description = top.text("description", required=False) or f"YAML accelerator {path}"
        self.source = top.text("source", required=False)
        self.clock_hz = top.number("clock_hz")
        self.padding = top.text("padding", choices=PADDING_RULES)
        self.modes = self._precisions(top, path)
        self.memory = tuple(self._memory(top, path))
        self.kind_utilization = self._kinds(top)
        widths = ", ".join(f"w{w}a{a}" for w, a in sorted(self.modes))
        pad = "padded up to the next" if self.padding == "up" else "exactly at a"
        self.supports = f"'{self.name}' ({path}) runs {pad} listed precision: {widths}"

    @staticmethod
    def _precisions(top: _Fields, path: Path) -> dict[tuple[int, int], RunMode]:
        modes: dict[tuple[int, int], RunMode] = {}
        for i, item in enumerate(top.items("precisions")):
            entry = _Fields(item, f"precisions[{i}]", path, _PRECISION_FIELDS)
            w, a = entry.bits("w_bits"), entry.bits("a_bits")
            if (w, a) in modes:
                entry.fail(f"repeats precision w_bits={w}, a_bits={a}")
            modes[(w, a)] = RunMode(
                w, a, entry.number("macs_per_cycle"), entry.number("energy_per_mac_pj", False)
            )
        return modes

    @staticmethod
    def _memory(top: _Fields, path: Path) -> list[MemoryLevel]:
        levels = []
        for i, item in enumerate(top.items("memory", required=False)):
            entry = _Fields(item, f"memory[{i}]", path, _MEMORY_FIELDS)
            levels.append(MemoryLevel(
                entry.text("name"), entry.text("holds", choices=HOLDS),
                entry.number("pj_per_bit", False), entry.number("bits_per_cycle"),
            ))
        return levels

    @staticmethod
    def _kinds(top: _Fields) -> dict[str, float]:
        value = top.get("layer_kinds", required=False)
        if value is None:
            return dict.fromkeys(KINDS, 1.0)
        if isinstance(value, list):
            value = dict.fromkeys(value, 1.0)
        if not isinstance(value, dict) or not value:
            top.fail("must list layer kinds or map them to a utilisation in (0, 1]",
                     "layer_kinds")
        kinds = _Fields(value, "layer_kinds", top.path, KINDS)
        return {kind: kinds.number(kind, at_most=1.0) for kind in value}

    def run_mode(self, w_bits: int, a_bits: int) -> RunMode | None:
        if w_bits == FLOAT_BITS or a_bits == FLOAT_BITS:
            return self.modes.get((FLOAT_BITS, FLOAT_BITS))
        if self.padding == "none":
            return self.modes.get((w_bits, a_bits))
        fits = [
            mode for (w, a), mode in self.modes.items()
            if w_bits <= w <= MAX_INT_BITS and a_bits <= a <= MAX_INT_BITS
        ]
        if not fits:
            return None
        return min(fits, key=lambda m: (m.w_bits * m.a_bits, -m.macs_per_cycle))

    def details(self) -> dict[str, object]:
        facts = {"file": str(self.path), "padding": self.padding, **super().details()}
        if self.source:
            facts["source"] = self.source
        return facts


def load_yaml_model(path: str | Path) -> TableAccelerator:
    """Read and validate one accelerator file (no registration)."""
    path = Path(path)
    return TableAccelerator(load_yaml(path, "accelerator file"), path)
