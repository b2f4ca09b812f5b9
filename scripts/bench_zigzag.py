"""Benchmark: cold and warm scoring of a ZigZag cost model, ResNet-18 at 224 x 224.

    python scripts/bench_zigzag.py [--hw zigzag:tpu_like] [--bits 2,3,4,6,8] [--configs 10000]

Cold: every (distinct layer shape, w bits, a bits) over the bit grid evaluated by ZigZag into
an empty cache folder (a fresh temporary one unless $CODESIGN_ZIGZAG_CACHE is set), in
$CODESIGN_ZIGZAG_WORKERS processes (default: all cores). Warm: random per-layer bits from the
grid for --configs configurations scored from the cache in one pass (median of --repeats).
The last line is JSON.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402

from codesign.network import model_layers  # noqa: E402
from hw_models import BitMatrix, get_cost_model  # noqa: E402
from hw_models._zigzag_workload import shape_key  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hw", default="zigzag:tpu_like")
    parser.add_argument("--model", default="resnet18")
    parser.add_argument("--image-size", type=int, default=224)
    parser.add_argument("--bits", default="2,3,4,6,8")
    parser.add_argument("--configs", type=int, default=10_000)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    os.environ.setdefault("CODESIGN_ZIGZAG_CACHE", tempfile.mkdtemp(prefix="zigzag-cache-"))
    grid = np.array([int(b) for b in args.bits.split(",")])
    layers = model_layers(args.model, 1000, (3, args.image_size, args.image_size))
    model = get_cost_model(args.hw)
    n = len(layers.layers)
    shapes = len({shape_key(spec) for spec in layers.layers})
    w, a = (m.reshape(-1) for m in np.meshgrid(grid, grid, indexing="ij"))
    every = BitMatrix.from_bits(np.repeat(w[:, None], n, 1), np.repeat(a[:, None], n, 1))
    cached = len(model.cache.entries)
    started = time.perf_counter()
    model.totals(layers.arrays, every)
    cold_s = time.perf_counter() - started
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
    print(f"{args.model} at {args.image_size}: {n} layers, {shapes} distinct shapes; "
          f"{args.hw}, bits {args.bits}")
    print(f"cold: {evaluated} ZigZag evaluations in {cold_s:.0f} s ({workers} workers)")
    print(f"warm: {warm:,.0f} configurations / s")
    print(json.dumps({"hw": args.hw, "model": args.model, "layers": n, "shapes": shapes,
                      "evaluations": evaluated, "cold_s": cold_s, "warm_per_s": warm,
                      "workers": workers, "cache": str(model.cache.path)}))


if __name__ == "__main__":
    main()
