"""Benchmark: cold and warm scoring of a ZigZag cost model, ResNet-18 at 224 x 224.

    python scripts/bench_zigzag.py [--hw zigzag:tpu_like] [--bits 2,3,4,6,8] [--configs 10000]
        [--check 10]

Cold: every (distinct layer shape, w bits, a bits) over the bit grid evaluated by ZigZag into
an empty cache folder (a fresh temporary one unless $CODESIGN_ZIGZAG_CACHE is set), in
$CODESIGN_ZIGZAG_WORKERS processes (default: all cores); wall time, and the CPU time of all
processes (what the cores of an idle machine would spend, whatever else runs). Warm: random
per-layer bits from the grid for --configs configurations scored from the cache in one pass
(median of --repeats). Check: --check random (layer shape, precisions) pairs off 8 x 8 and
2 x 2 re-run with LOMA's full search at their own precisions; the relative difference of
latency and energy to the cold table's (which re-allocates the best orderings found at 8 x 8
and 2 x 2), mean and max. The last line is JSON.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402

from codesign.network import model_layers  # noqa: E402
from hw_models import BitMatrix, LayerSpec, get_cost_model  # noqa: E402
from hw_models._zigzag import ZigZagModel  # noqa: E402
from hw_models._zigzag_workload import (  # noqa: E402
    SEARCHED_PRECISIONS,
    shape_key,
    workload_layer,
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hw", default="zigzag:tpu_like")
    parser.add_argument("--model", default="resnet18")
    parser.add_argument("--image-size", type=int, default=224)
    parser.add_argument("--bits", default="2,3,4,6,8")
    parser.add_argument("--configs", type=int, default=10_000)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--check", type=int, default=0)
    args = parser.parse_args()
    os.environ.setdefault("CODESIGN_ZIGZAG_CACHE", tempfile.mkdtemp(prefix="zigzag-cache-"))
    grid = np.array([int(b) for b in args.bits.split(",")])
    layers = model_layers(args.model, 1000, (3, args.image_size, args.image_size))
    model = get_cost_model(args.hw)
    assert isinstance(model, ZigZagModel), f"{args.hw} is not a ZigZag model"
    n = len(layers.layers)
    shapes = len({shape_key(spec) for spec in layers.layers})
    w, a = (m.reshape(-1) for m in np.meshgrid(grid, grid, indexing="ij"))
    every = BitMatrix.from_bits(np.repeat(w[:, None], n, 1), np.repeat(a[:, None], n, 1))
    cached = len(model.cache.entries)
    started, cpu_started = time.perf_counter(), cpu_seconds()
    model.totals(layers.arrays, every)
    cold_s, cold_cpu_s = time.perf_counter() - started, cpu_seconds() - cpu_started
    evaluated = len(model.cache.entries) - cached
    rng = np.random.default_rng(0)
    times = []
    for _ in range(args.repeats):
        bits = BitMatrix.from_bits(rng.choice(grid, size=(args.configs, n)),
                                   rng.choice(grid, size=(args.configs, n)))
        started = time.perf_counter()
        model.totals(layers.arrays, bits)
        times.append(time.perf_counter() - started)
    warm = args.configs / statistics.median(times)
    workers = os.environ.get("CODESIGN_ZIGZAG_WORKERS", str(os.cpu_count()))
    check = check_against_full_search(model, layers.layers, grid, args.check, rng)
    print(f"{args.model} at {args.image_size}: {n} layers, {shapes} distinct shapes; "
          f"{args.hw}, bits {args.bits}")
    print(f"cold: {evaluated} ZigZag evaluations in {cold_s:.0f} s ({workers} workers, "
          f"{cold_cpu_s:.0f} CPU s; load average {os.getloadavg()[0]:.1f})")
    print(f"warm: {warm:,.0f} configurations / s")
    if check:
        print(f"check against the full search, {args.check} pairs: latency differs by "
              f"{check['latency_mean']:.2%} on average ({check['latency_max']:.2%} at most), "
              f"energy by {check['energy_mean']:.2%} ({check['energy_max']:.2%} at most)")
    print(json.dumps({**check, "hw": args.hw, "model": args.model, "layers": n, "shapes": shapes,
                      "evaluations": evaluated, "cold_s": cold_s, "cold_cpu_s": cold_cpu_s,
                      "warm_per_s": warm,
                      "workers": workers, "cache": str(model.cache.path)}))


def cpu_seconds() -> float:
    """CPU time of this process and its finished children (the ZigZag worker processes)."""
    own, children = (resource.getrusage(who) for who in
                     (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN))
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def check_against_full_search(model: ZigZagModel, specs: tuple[LayerSpec, ...],
                              grid: np.ndarray, count: int,
                              rng: np.random.Generator) -> dict[str, float]:
    """Relative differences of the cold table to LOMA's full search at `count` random pairs."""
    if count == 0:
        return {}
    from hw_models._zigzag_eval import evaluate_layer

    distinct = list({shape_key(spec): spec for spec in specs}.values())
    pairs = [(int(w), int(a)) for w in grid for a in grid
             if (w, a) not in SEARCHED_PRECISIONS]
    latency, energy = [], []
    for i in rng.choice(len(distinct) * len(pairs), size=count, replace=False):
        spec, (w, a) = distinct[i // len(pairs)], pairs[i % len(pairs)]
        table = model.cache.get(f"{shape_key(spec)}|w{w}|a{a}") or {}
        full = evaluate_layer([(model.accelerator_at(spec, w, a), workload_layer(spec, w, a))],
                              str(model.mapping_path), str(model.accelerator_path), 1)[0]
        latency.append(abs(table["latency_cycles"] / full["latency_cycles"] - 1))
        energy.append(abs(table["energy_pj"] / full["energy_pj"] - 1))
        print(f"  {spec.name} w{w}a{a}: latency {latency[-1]:.2%}, energy {energy[-1]:.2%}",
              flush=True)
    return {"latency_mean": float(np.mean(latency)), "latency_max": float(np.max(latency)),
            "energy_mean": float(np.mean(energy)), "energy_max": float(np.max(energy))}


if __name__ == "__main__":
    main()
