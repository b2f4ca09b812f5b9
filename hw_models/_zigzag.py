"""ZigZag cost models: `zigzag:NAME` for the accelerators shipped inside zigzag-dse, and
`zigzag:path/to/accelerator.yaml[,mapping.yaml]` for a description of your own.

ZigZag (KU Leuven, Mei et al., IEEE TC 2021; `pip install zigzag-dse`) searches the spatial
and temporal mapping of each layer onto a memory hierarchy and dataflow and reports latency
in cycles and energy split into MAC and per-memory-level parts. Each (layer shape,
precisions) pair is evaluated once and kept in a JSON cache on disk (`_zigzag_cache`), so a
warm model scores configurations by table look-up. Precision rules: `_zigzag_workload`.
"""

from __future__ import annotations

import os
import re
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np

from codesign.errors import CodesignError
from codesign.userfile import load_yaml, parse_yaml, read_text
from hw_models._arrays import BitMatrix, LayerArrays
from hw_models._base import CostModel, refuse
from hw_models._formats import FLOAT, int_equivalent_bits
from hw_models._layers import LayerSpec
from hw_models._plugins import register_model
from hw_models._registry import COST_MODEL_FAMILIES
from hw_models._zigzag_cache import CACHE_ENV, ResultCache, cache_dir, content_hash
from hw_models._zigzag_eval import (
    LPF_LIMIT,
    REPLAYED_ORDERINGS,
    SPATIAL_MAPPINGS,
    zigzag_version,
)
from hw_models._zigzag_workload import (
    SEARCHED_PRECISIONS,
    imc_precision,
    mac_energy_scale,
    shape_key,
    workload_layer,
)

PREFIX = "zigzag"
WORKERS_ENV = "CODESIGN_ZIGZAG_WORKERS"
DEFAULT_CLOCK_HZ = 1e9
INSTALL = "pip install 'codesign[zigzag]' (or pip install zigzag-dse six)"


@dataclass(frozen=True)
class Shipped:
    """One accelerator description shipped inside zigzag-dse, with the mapping it runs."""

    hardware: str
    mapping: str
    clock_hz: float | None  # None: in-memory compute, ZigZag derives the clock period
    summary: str


SHIPPED: dict[str, Shipped] = {
    "tpu_like": Shipped("tpu_like.yaml", "tpu_like.yaml", 700e6,
                        "TPU v1-like 32x32 weight-stationary systolic array, 2 MB SRAM, DRAM; "
                        "700 MHz (Jouppi et al., ISCA 2017)"),
    "eyeriss_like": Shipped("eyeriss_like.yaml", "default.yaml", 200e6,
                            "Eyeriss-like 14x12 PE array with per-PE register files, 3 SRAM "
                            "levels; 200 MHz (Chen et al., JSSC 2017)"),
    "edge_tpu_like": Shipped("edge_tpu_like.yaml", "edge_tpu_like.yaml", 500e6,
                             "Edge TPU-like 8x8 array of 4x4 PEs, 32 KB and 2 MB SRAM; "
                             "500 MHz (assumed)"),
    "tesla_npu_like": Shipped("tesla_npu_like.yaml", "tesla_npu_like.yaml", 2e9,
                              "Tesla FSD NPU-like 32x32x4 MAC array, 1 MB activation and weight "
                              "SRAMs; 2 GHz (Talpes et al., IEEE Micro 2020)"),
    "ascend_like": Shipped("ascend_like.yaml", "ascend_like.yaml", 1e9,
                           "Ascend (Da Vinci) cube-like 16x16x2x2 array, split input / weight / "
                           "output buffers; 1 GHz (assumed)"),
    "meta_prototype": Shipped("meta_prototype.yaml", "meta_prototype_like.yaml", 1e9,
                              "Meta inference prototype-like 32x2x4x4 array, 1 MB activation and "
                              "weight SRAMs; 1 GHz (assumed)"),
    "dimc": Shipped("dimc.yaml", "default_imc.yaml", None,
                    "digital in-memory compute, 128x128 cells, activations bit-serial 1 bit per "
                    "cycle; clock period from ZigZag's IMC model"),
    "aimc": Shipped("aimc.yaml", "default_imc.yaml", None,
                    "analog in-memory compute, 128x128 cells, 2-bit DACs, 8-bit ADCs; clock "
                    "period from ZigZag's IMC model"),
}


def zigzag_inputs() -> Path:
    """The `inputs` folder of the installed zigzag package (hardware/ and mapping/)."""
    if zigzag_version() is None:
        raise CodesignError(f"ZigZag cost models need the zigzag-dse package; {INSTALL}")
    return Path(str(resources.files("zigzag").joinpath("inputs")))


def _metric_name(memory: str) -> str:
    return "energy_mem_" + re.sub(r"[^a-z0-9]+", "_", memory.lower()).strip("_") + "_pj"


class ZigZagModel(CostModel):
    """Latency and energy of each layer as ZigZag maps it onto one accelerator description."""

    def __init__(self, accelerator: Path, mapping: Path, clock_hz: float | None,
                 description: str) -> None:
        self.accelerator_path, self.mapping_path = accelerator, mapping
        self.description = description
        self.version = zigzag_version()
        if self.version is None:
            raise CodesignError(f"ZigZag cost models need the zigzag-dse package; {INSTALL}")
        acc_text, self.spec = _read_yaml(accelerator, "accelerator", dict)
        map_text, _ = _read_yaml(mapping, "mapping", list)
        from hw_models._zigzag_eval import parse_accelerator

        parse_accelerator(self.spec, str(accelerator))  # a malformed file fails here
        array = self.spec["operational_array"]
        self.imc = bool(array.get("is_imc", False))
        self.clock_hz = clock_hz or (None if self.imc else DEFAULT_CLOCK_HZ)
        self.memories = tuple(str(name) for name in self.spec["memories"])
        self.metrics = ("latency_cycles", "latency_s", "energy_pj", "energy_compute_pj",
                        "energy_memory_pj", *(_metric_name(m) for m in self.memories))
        self.cache = ResultCache(content_hash(acc_text, map_text, self.version, str(LPF_LIMIT),
                                              str(SPATIAL_MAPPINGS), str(REPLAYED_ORDERINGS),
                                              str(SEARCHED_PRECISIONS)))
        self._memo: dict[str, np.ndarray] = {}

    # -- scoring ----------------------------------------------------------------------------
    def layer_metrics(self, layers: LayerArrays, bits: BitMatrix) -> dict[str, np.ndarray]:
        if len(layers.specs) != len(layers):
            raise CodesignError(f"cost model '{self.name}' needs layer shapes; build the layer "
                                "arrays with LayerArrays.from_layers")
        floats = (bits.w_fmt == FLOAT) | (bits.a_fmt == FLOAT)
        refuse(self.name, layers, bits, floats,
               "ZigZag models integer MAC arrays; quantize the layer")
        w = np.minimum(int_equivalent_bits(bits.w_fmt, bits.w_bits), 31)  # 6-bit codes
        a = np.minimum(int_equivalent_bits(bits.a_fmt, bits.a_bits), 31)
        cols = np.broadcast_to(np.arange(len(layers)), w.shape)
        codes = (cols * 64 + w) * 64 + a
        unique, inverse = np.unique(codes, return_inverse=True)
        triples = [(int(c) // 4096, int(c) // 64 % 64, int(c) % 64) for c in unique]
        rows = self.rows([(layers.specs[col], wb, ab) for col, wb, ab in triples])
        table = np.stack(rows)[inverse.reshape(w.shape)]
        return {metric: table[..., i] for i, metric in enumerate(self.metrics)}

    def rows(self, items: list[tuple[LayerSpec, int, int]]) -> list[np.ndarray]:
        """Metric vectors of (layer, w bits, a bits) items: memory, disk cache, else ZigZag."""
        keys = [f"{shape_key(spec)}|w{w}|a{a}" for spec, w, a in items]
        pending = {key: item for key, item in zip(keys, items, strict=True)
                   if key not in self._memo and self.cache.get(key) is None}
        if pending:
            self._evaluate(pending)
        for key, (_, w, a) in zip(keys, items, strict=True):
            if key not in self._memo:
                self._memo[key] = self._vector(self.cache.get(key) or {}, w, a)
        return [self._memo[key] for key in keys]

    def _vector(self, raw: dict[str, Any], w: int, a: int) -> np.ndarray:
        if "refused" in raw:
            raise CodesignError(raw["refused"])
        compute = raw["mac_energy_pj"] * (1.0 if self.imc else mac_energy_scale(w, a))
        levels = [float(raw["memory_pj"].get(m, 0.0)) for m in self.memories]
        cycles = raw["latency_cycles"]
        seconds = (cycles * raw["tclk_ns"] * 1e-9 if self.clock_hz is None
                   else cycles / self.clock_hz)
        memory = sum(levels)
        return np.array([cycles, seconds, compute + memory, compute, memory, *levels])

    def accelerator_at(self, spec: LayerSpec, w: int, a: int) -> dict[str, Any]:
        """The accelerator data a w x a layer runs on: as described, or for an IMC array
        instantiated at the layer's widths (`imc_precision`)."""
        if not self.imc:
            return self.spec
        cells = int(self.spec["memories"]["cells"]["size"])
        if w > cells:
            raise CodesignError(f"layer '{spec.name}' has {w}-bit weights; the IMC array of "
                                f"cost model '{self.name}' stores weights in {cells}-bit cell "
                                f"groups; quantize its weights to {cells} bits or fewer")
        array = {**self.spec["operational_array"],
                 "input_precision": list(imc_precision(self.spec["operational_array"], w, a))}
        return {**self.spec, "operational_array": array}

    def _evaluate(self, pending: dict[str, tuple[LayerSpec, int, int]]) -> None:
        """Run ZigZag on every pending item, one job per layer shape (in worker processes
        when there are several): the shape at the searched precisions first, whose searches
        seed the rest (`_zigzag_eval`)."""
        from hw_models._zigzag_eval import evaluate_layer

        total = len(pending)
        _progress(f"{self.name}: {total} layer precision(s) not in the cache "
                  f"({self.cache.path}); evaluating with ZigZag {self.version}")
        shapes: dict[str, list[tuple[str, LayerSpec, int, int]]] = {}
        for key, (spec, w, a) in pending.items():
            group = shapes.setdefault(shape_key(spec), [
                (f"{shape_key(spec)}|w{sw}|a{sa}", spec, sw, sa) for sw, sa in SEARCHED_PRECISIONS])
            if all(key != other for other, *_ in group):
                group.append((key, spec, w, a))
        jobs = {shape: ([(self.accelerator_at(spec, w, a), workload_layer(spec, w, a))
                         for _, spec, w, a in group], str(self.mapping_path),
                        str(self.accelerator_path), len(SEARCHED_PRECISIONS))
                for shape, group in sorted(shapes.items(), key=lambda i: -i[1][0][1].macs)}
        workers = min(len(jobs), _workers())
        start, last_save = time.monotonic(), time.monotonic()
        done = 0

        def record(shape: str, results: list[dict[str, Any]]) -> None:
            nonlocal done, last_save
            group = shapes[shape]
            for (key, *_), result in zip(group, results, strict=True):
                self.cache.put(key, result)
            done += sum(key in pending for key, *_ in group)
            _progress(f"  [{done}/{total}] {group[0][1].name}: {len(group)} precision(s) "
                      f"({time.monotonic() - start:.0f} s)")
            if time.monotonic() - last_save > 10:
                self.cache.save()
                last_save = time.monotonic()

        try:
            if workers <= 1:
                for shape, args in jobs.items():
                    record(shape, evaluate_layer(*args))
            else:
                import multiprocessing
                from concurrent.futures import ProcessPoolExecutor, as_completed

                context = multiprocessing.get_context("spawn")
                pool = ProcessPoolExecutor(workers, mp_context=context)
                try:
                    futures = {pool.submit(evaluate_layer, *args): shape
                               for shape, args in jobs.items()}
                    for future in as_completed(futures):
                        record(futures[future], future.result())
                finally:  # on a refused layer, do not wait for the rest
                    pool.shutdown(wait=True, cancel_futures=True)
        finally:
            if done:
                self.cache.save()

    def details(self) -> dict[str, object]:
        array = self.spec["operational_array"]
        kind = f"IMC {array.get('imc_type')}" if self.imc else "digital"
        clock = ("from ZigZag's IMC model (per layer)" if self.clock_hz is None
                 else f"{self.clock_hz / 1e6:g} MHz")
        if self.imc:
            precision = (
                "ZigZag's IMC model instantiated at the layer's widths rounded up to powers of "
                "two (activations at least the bit-serial width): MAC energy, bit-serial cycles "
                "and clock period are ZigZag's; memory traffic at the layer's operand widths"
            )
        else:
            precision = (
                "MAC energy = ZigZag's MAC energy x (w_bits x a_bits) / 64 (array multiplier, "
                "Horowitz ISSCC 2014; BitFusion ISCA 2018); memory traffic and latency from "
                "ZigZag at the layer's operand widths (the array itself runs at its described "
                "width: fewer bits save memory traffic, not compute cycles)"
            )
        searched = " and ".join(f"{w}x{a}" for w, a in SEARCHED_PRECISIONS)
        mapping_search = (f"LOMA (lpf limit {LPF_LIMIT}, {SPATIAL_MAPPINGS} spatial mappings) "
                          f"at {searched}; other precisions re-allocate the {REPLAYED_ORDERINGS} "
                          "best loop orderings of each per spatial mapping")
        return {
            "accelerator file": str(self.accelerator_path),
            "mapping file": str(self.mapping_path),
            "zigzag-dse": self.version,
            "clock": clock,
            "operational array": f"{'x'.join(map(str, array.get('sizes', [])))} ({kind})",
            "memory levels": list(self.memories),
            "precision rule": precision,
            "mapping search": mapping_search,
            "partial sums / outputs": "w + a bits / the layer's activation bits",
            "cache": f"{cache_dir()} (set ${CACHE_ENV} to move it)",
        }


def _read_yaml(path: Path, what: str, kind: type) -> tuple[str, Any]:
    text = read_text(path, f"ZigZag {what} file")
    data: Any = parse_yaml(text, f"ZigZag {what} file {path}")
    if kind is list:
        valid = isinstance(data, list)
    else:
        valid = isinstance(data, dict) and {"memories", "operational_array"} <= set(data)
    if not valid:
        shape = ("a mapping with 'memories' and 'operational_array'" if kind is dict
                 else "a list of mapping entries")
        raise CodesignError(f"ZigZag {what} file {path} must be {shape}, as in ZigZag's "
                            "inputs/ folder")
    return text, data


def _workers() -> int:
    value = os.environ.get(WORKERS_ENV, "")
    return int(value) if value.isdigit() and int(value) > 0 else (os.cpu_count() or 1)


def _progress(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def shipped_model(name: str) -> ZigZagModel:
    entry = SHIPPED[name]
    inputs = zigzag_inputs()
    return ZigZagModel(inputs / "hardware" / entry.hardware, inputs / "mapping" / entry.mapping,
                       entry.clock_hz, f"ZigZag {name}: {entry.summary}")


def _path_model(accelerator: Path, mapping: Path | None) -> ZigZagModel:
    if mapping is None:
        spec = _read_yaml(accelerator, "accelerator", dict)[1]
        imc = bool(spec["operational_array"].get("is_imc", False))
        mapping = zigzag_inputs() / "mapping" / ("default_imc.yaml" if imc else "default.yaml")
    return ZigZagModel(accelerator, mapping, None, f"ZigZag accelerator {accelerator} "
                       f"(mapping {mapping}; clock {DEFAULT_CLOCK_HZ / 1e9:g} GHz assumed)")


class ZigZagFamily:
    """Resolves `zigzag:REFERENCE`: a shipped name, or accelerator[,mapping] file paths."""

    def resolve(self, reference: str) -> str:
        """Register the model `reference` names and return its registry name."""
        files = [part.strip() for part in reference.split(",")]
        if len(files) > 2 or not all(f.endswith((".yaml", ".yml")) for f in files):
            choices = ", ".join(f"{PREFIX}:{n}" for n in SHIPPED)
            raise CodesignError(
                f"unknown ZigZag accelerator '{reference}'; choose one of: {choices}, or give "
                f"{PREFIX}:path/to/accelerator.yaml[,mapping.yaml]")
        accelerator = Path(files[0])
        mapping = Path(files[1]) if len(files) == 2 else None
        if not accelerator.is_file():
            raise CodesignError(f"ZigZag accelerator file {accelerator} does not exist; "
                                "check the path")
        name = f"{PREFIX}:{accelerator.stem}" + (f"+{mapping.stem}" if mapping else "")
        source = str(accelerator.resolve()) + (f",{mapping.resolve()}" if mapping else "")
        register_model(name, partial(_path_model, accelerator, mapping), source)
        return name

    def joins(self, reference: str, item: str) -> bool:
        """Whether the next comma-separated `--hw` item is this reference's mapping file."""
        if "," in reference or not reference.endswith((".yaml", ".yml")):
            return False
        if ":" in item or not item.endswith((".yaml", ".yml")):
            return False
        try:
            return isinstance(load_yaml(item, "ZigZag mapping file"), list)
        except CodesignError:
            return False


def register() -> None:
    """Add the shipped ZigZag accelerators to `COST_MODELS` and the path family."""
    COST_MODEL_FAMILIES.add(PREFIX, ZigZagFamily(), "ZigZag accelerator descriptions")
    for name, entry in SHIPPED.items():
        factory: Callable[[], CostModel] = partial(shipped_model, name)
        register_model(f"{PREFIX}:{name}", factory, f"shipped (zigzag-dse {entry.hardware})",
                       f"ZigZag: {entry.summary}")
