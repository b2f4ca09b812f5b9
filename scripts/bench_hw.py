"""Benchmark: configurations scored per second, ResNet-18 at 224 x 224, under each cost model.

    python scripts/bench_hw.py [--configs 10000] [--repeats 5]

Layers are extracted once (as a search does); each repeat scores a fresh (configs x layers)
matrix of random per-layer bits from {2, 3, 4, 6, 8} (first and last layer at 8, as a search
space fixes them) in one vectorised pass, and, for comparison, a few hundred configurations one
`TrialConfig` at a time through `score_config`. Medians over repeats. The last line is JSON.
Models that refuse some of the random bit pairs (padding rule `none`) are scored on 8-bit
configurations instead, and marked so.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402

from codesign.config import LayerQuant, TrialConfig  # noqa: E402
from codesign.errors import CodesignError  # noqa: E402
from codesign.network import model_layers  # noqa: E402
from hw_models import (  # noqa: E402
    BitMatrix,
    get_cost_model,
    list_cost_models,
    score_bits,
    score_config,
)

BITS = np.array([2, 3, 4, 6, 8])


def random_bits(rng: np.random.Generator, configs: int, layers: int) -> BitMatrix:
    w = rng.choice(BITS, size=(configs, layers))
    a = rng.choice(BITS, size=(configs, layers))
    w[:, [0, -1]] = a[:, [0, -1]] = 8
    return BitMatrix.from_bits(w, a)


def time_vectorised(layers, name: str, configs: int, repeats: int) -> tuple[float, bool]:
    rng = np.random.default_rng(0)
    padded = False
    times = []
    for _ in range(repeats):
        bits = random_bits(rng, configs, len(layers.layers))
        started = time.perf_counter()
        try:
            score_bits(layers, bits, [name])
        except CodesignError:
            padded = True
            bits = BitMatrix.from_bits(np.full((configs, len(layers.layers)), 8),
                                       np.full((configs, len(layers.layers)), 8))
            started = time.perf_counter()
            score_bits(layers, bits, [name])
        times.append(time.perf_counter() - started)
    return configs / statistics.median(times), padded


def time_one_by_one(layers, name: str, count: int) -> float:
    rng = np.random.default_rng(1)
    bits = random_bits(rng, count, len(layers.layers))
    cfgs = [
        TrialConfig("resnet18", "imagefolder", layers={
            layer: LayerQuant.of(int(bits.w_bits[i, j]), int(bits.a_bits[i, j]))
            for j, layer in enumerate(layers.names)
        }, dataset_args={"num_classes": 1000, "image_size": 224, "in_channels": 3})
        for i in range(count)
    ]
    started = time.perf_counter()
    for cfg in cfgs:
        try:
            score_config(cfg, [name], layers)
        except CodesignError:
            pass
    return count / (time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--configs", type=int, default=10_000)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--single", type=int, default=200, help="configs scored one by one")
    args = parser.parse_args()
    started = time.perf_counter()
    layers = model_layers("resnet18", 1000, (3, 224, 224))
    extract_s = time.perf_counter() - started
    print(f"resnet18 at 224 x 224: {len(layers.layers)} layers, "
          f"{layers.arrays.macs.sum() / 1e9:.3f} GMACs, extracted in {extract_s:.2f} s")
    print("| cost model | configs / s (vectorised) | configs / s (one by one) |")
    print("|---|---|---|")
    results = {}
    for name, _, _ in list_cost_models():
        if name.startswith("zigzag:"):
            continue  # a mapping search per layer when cold: scripts/bench_zigzag.py
        get_cost_model(name)
        rate, padded = time_vectorised(layers, name, args.configs, args.repeats)
        single = time_one_by_one(layers, name, args.single)
        mark = " (8-bit configs: refuses others)" if padded else ""
        print(f"| {name}{mark} | {rate:,.0f} | {single:,.0f} |", flush=True)
        results[name] = {"vectorised_per_s": rate, "one_by_one_per_s": single,
                         "eight_bit_only": padded}
    print(json.dumps({"model": "resnet18", "configs": args.configs, "results": results}))


if __name__ == "__main__":
    main()
