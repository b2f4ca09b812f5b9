"""`codesign hw profile`: time each distinct layer of a network at each precision
onnxruntime runs natively on this machine, and write the result as a YAML accelerator.

Native precisions: int8 (QDQ graphs fused into integer kernels: QLinearConv, QLinearMatMul)
and float. onnxruntime's CPU provider has no 4-bit convolution or matmul kernel for 4-bit
activations (MatMulNBits dequantizes 4-bit weights to float), so narrower integer operands
run padded up to int8 (`padding: up` in the file). The file is the existing YAML form: a
nominal 1 GHz clock (one cycle = 1 ns), MACs per cycle per precision fitted from the
measured MACs per second of the fastest layer kind, the other kinds as utilisations, no
energy (it is not measured). Each layer's own measurement is listed in the file's comments.
"""

from __future__ import annotations

import platform
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from codesign.errors import CodesignError
from codesign.profile._graphs import FLOAT, INT8, input_shape, layer_graph
from codesign.profile._measure import median_seconds, require_runtime, session
from hw_models import LayerSpec, ModelLayers
from hw_models._zigzag_workload import shape_key

CLOCK_HZ = 1e9
PRECISIONS = {INT8: (8, 8), FLOAT: (32, 32)}


@dataclass(frozen=True)
class LayerTime:
    """One distinct layer shape at one precision: MACs of one call and its median time."""

    layer: str
    kind: str
    shape: str
    precision: str
    macs: int
    seconds: float


def measure_layers(layers: ModelLayers, threads: int = 1,
                   progress: bool = True) -> list[LayerTime]:
    """Time every distinct layer shape of `layers` at int8 and float."""
    distinct: dict[str, LayerSpec] = {}
    for spec in layers.layers:
        distinct.setdefault(shape_key(spec), spec)
    results = []
    for i, (key, spec) in enumerate(distinct.items()):
        for precision in PRECISIONS:
            seconds = median_seconds(session(layer_graph(spec, precision), threads),
                                     input_shape(spec))
            results.append(LayerTime(spec.name, spec.kind, key, precision,
                                     spec.macs // max(1, spec.calls), seconds))
        if progress:
            print(f"  [{i + 1}/{len(distinct)}] {spec.name}: "
                  + ", ".join(f"{r.precision} {r.seconds * 1e6:.1f} us" for r in results[-2:]),
                  flush=True)
    return results


def device_spec(name: str, times: list[LayerTime], label: str, runtime: str,
                threads: int) -> dict[str, Any]:
    """The YAML accelerator fitted to the measurements (see the module docstring)."""
    rate: dict[tuple[str, str], float] = {}
    for precision in PRECISIONS:
        for kind in {t.kind for t in times}:
            mine = [t for t in times if t.precision == precision and t.kind == kind]
            rate[precision, kind] = sum(t.macs for t in mine) / sum(t.seconds for t in mine)
    kinds = sorted({t.kind for t in times})
    best = max(kinds, key=lambda k: rate[INT8, k])
    machine = f"{platform.machine()} {platform.processor() or platform.system()}".strip()
    return {
        "name": name,
        "description": f"measured with onnxruntime {runtime} on this machine ({machine}, "
                       f"{threads} thread(s)): {label}",
        "source": "codesign hw profile: per-layer median wall times; int8 QDQ integer kernels "
                  "and float; narrower integers padded up to int8; energy not measured",
        "clock_hz": CLOCK_HZ,
        "padding": "up",
        "precisions": [
            {"w_bits": w, "a_bits": a,
             "macs_per_cycle": float(f"{rate[p, best] / CLOCK_HZ:.6g}"),
             "energy_per_mac_pj": 0.0}
            for p, (w, a) in PRECISIONS.items()
        ],
        "layer_kinds": {k: float(f"{min(1.0, rate[INT8, k] / rate[INT8, best]):.6g}")
                        for k in kinds},
    }


def _comments(times: list[LayerTime]) -> str:
    lines = ["", "# measured layers (one call each): layer, precision, MACs, median seconds"]
    lines += [f"#   {t.layer} [{t.shape}] {t.precision}: {t.macs} MACs, {t.seconds:.4g} s"
              for t in times]
    return "\n".join(lines) + "\n"


def profile_device(layers: ModelLayers, out: Path, label: str, runtime: str = "onnxruntime",
                   threads: int = 1) -> dict[str, Any]:
    """Measure `layers` here and write the cost model to `out`; returns the YAML data."""
    version = require_runtime(runtime)
    if out.suffix not in (".yaml", ".yml"):
        raise CodesignError(f"--out {out} must end in .yaml (it is read back as a cost model)")
    name = re.sub(r"[^a-z0-9_\-]+", "_", out.stem.lower()).strip("_")
    if not name or not name[0].isalpha():
        name = f"device_{name}"
    times = measure_layers(layers, threads)
    spec = device_spec(name, times, label, version, threads)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(yaml.safe_dump(spec, sort_keys=False) + _comments(times))
    return spec
