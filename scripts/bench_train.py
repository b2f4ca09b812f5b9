"""Benchmark: accuracy and wall time of whole trials on digits, float vs STE vs ANA schedules.

    python scripts/bench_train.py [--seeds 3] [--epochs N] [--threads 2] [--compile auto]

Trials of `digits_cnn` on the embedded digits, with the training budget and annealing defaults
of search_spaces/digits_cnn.yaml (10 epochs, batch 64, Adam 3e-3; normal noise, expectation
forward, static mean, window 0 to 1, homogeneous power law). Variants:
- float: no layer quantized, the accuracy ceiling and the time floor;
- ste: every layer ternary weights and 4-bit input activations, clipped straight-through estimator;
- ana_static: the same precision, ANA with static variance (s fixed at beta_s, a classical STE);
- ana_<sync>: the same precision, ANA with the variance annealed to zero under each
  synchronisation; the space's default is its first `sync` choice.
With `--window-ends 0.6,0.8,1` the variants are instead ana_<sync>_end<e>: ANA under the
space's default synchronisation with the annealing window ending at each fraction e of
training (after it every ANA quantizer is the hard stair and passes no gradient).
Each trial is scored by the hard-quantized test accuracy of its best-validation epoch; seeds
0 .. n-1 change the initialisation and batch order, never the data split. Variants run
round-robin within each seed, so a change in background load hits all of them alike, after a
one-epoch warm-up trial per variant that is not counted (kernel compilation is not charged to
the first seed). Mean and sample standard deviation over seeds; the last line is JSON.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import statistics
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from codesign.config import SYNCS, LayerQuant, TrialConfig  # noqa: E402
from codesign.quant import COMPILE_ENV_VAR  # noqa: E402
from codesign.record import Status  # noqa: E402
from codesign.space import load_space  # noqa: E402
from codesign.train import TrialResult, train_trial  # noqa: E402

SPACE = "digits_cnn"
LOW_PRECISION = LayerQuant(w_format="ternary", w_bits=2, a_bits=4)


def variants(base: TrialConfig, layer_names: list[str]) -> dict[str, TrialConfig]:
    """The compared configurations, all on the budget and annealing defaults of `base`."""

    def quantized(estimator: str, **anneal: str) -> TrialConfig:
        quant = dataclasses.replace(LOW_PRECISION, estimator=estimator)
        return dataclasses.replace(
            base,
            layers={name: quant for name in layer_names},
            anneal=dataclasses.replace(base.anneal, **anneal),
        )

    configs = {
        "float": dataclasses.replace(base, layers={}),
        "ste": quantized("ste"),
        "ana_static": quantized("ana", variance="static"),
    }
    for sync in SYNCS:
        configs[f"ana_{sync}"] = quantized("ana", variance="dynamic", sync=sync)
    return configs


def window_variants(base: TrialConfig, layer_names: list[str],
                    ends: list[float]) -> dict[str, TrialConfig]:
    """ANA at the same precision and the space's schedule, the window ending at each of `ends`."""
    quant = dataclasses.replace(LOW_PRECISION, estimator="ana")
    return {
        f"ana_{base.anneal.sync}_end{end:g}": dataclasses.replace(
            base,
            layers={name: quant for name in layer_names},
            anneal=dataclasses.replace(base.anneal, variance="dynamic", end=end),
        )
        for end in ends
    }


def with_seed(cfg: TrialConfig, seed: int, epochs: int | None = None) -> TrialConfig:
    train = dataclasses.replace(cfg.train, seed=seed, epochs=epochs or cfg.train.epochs)
    return dataclasses.replace(cfg, train=train)


def run(
    configs: dict[str, TrialConfig], seeds: int, threads: int
) -> dict[str, list[TrialResult]]:
    for cfg in configs.values():
        train_trial(with_seed(cfg, 0, epochs=1), num_threads=threads)
    results: dict[str, list[TrialResult]] = {name: [] for name in configs}
    for seed in range(seeds):
        for name, cfg in configs.items():
            result = train_trial(with_seed(cfg, seed), num_threads=threads)
            results[name].append(result)
            print(
                f"seed {seed} {name:<15} {result.status:<7} test {result.test_accuracy} "
                f"({result.seconds:.1f} s)",
                file=sys.stderr,
            )
    return results


def spread(values: list[float]) -> float:
    return statistics.stdev(values) if len(values) > 1 else 0.0


def summarise(runs: list[TrialResult]) -> dict:
    ok = [r for r in runs if r.test_accuracy is not None]
    test = [r.test_accuracy for r in ok]
    seconds = [r.seconds for r in runs]
    return {
        "test_accuracy_mean": round(statistics.fmean(test), 4) if test else None,
        "test_accuracy_std": round(spread(test), 4) if test else None,
        "val_accuracy_mean": round(statistics.fmean(r.val_accuracy for r in ok), 4) if ok else None,
        "seconds_mean": round(statistics.fmean(seconds), 3),
        "seconds_std": round(spread(seconds), 3),
        "test_accuracies": [round(a, 4) for a in test],
        "failed": sum(r.status == Status.FAILED for r in runs),
    }


def describe(cfg: TrialConfig) -> tuple[str, str, str]:
    """(precision, estimator, variance / sync) columns of one variant."""
    if not cfg.layers:
        return "float", "-", "-"
    quant = next(iter(cfg.layers.values()))
    if quant.estimator != "ana":
        return f"{quant.w_format} / {quant.a_bits}-bit", quant.estimator, "-"
    schedule = ("static" if cfg.anneal.variance == "static"
                else f"dynamic, {cfg.anneal.sync}, end {cfg.anneal.end:g}")
    return f"{quant.w_format} / {quant.a_bits}-bit", "ana", schedule


def report(base: TrialConfig, configs: dict[str, TrialConfig],
           results: dict[str, list[TrialResult]], threads: int, compile_mode: str) -> dict:
    seeds = len(next(iter(results.values())))
    summary = {name: summarise(runs) for name, runs in results.items()}
    print(
        f"digits_cnn on digits, {base.train.epochs} epochs, batch {base.train.batch_size}, "
        f"{base.train.optimizer} lr {base.train.lr}, {seeds} seed(s), {threads} thread(s), "
        f"compile {compile_mode}\n"
    )
    print("| variant | weights / activations | estimator | variance, sync "
          "| test acc (mean ± std) | val acc | s / trial (mean ± std) | failed |")
    print("|---|---|---|---|---|---|---|---|")
    for name, row in summary.items():
        precision, estimator, schedule = describe(configs[name])
        test = (f"{row['test_accuracy_mean']:.4f} ± {row['test_accuracy_std']:.4f}"
                if row["test_accuracy_mean"] is not None else "-")
        val = f"{row['val_accuracy_mean']:.4f}" if row["val_accuracy_mean"] is not None else "-"
        print(f"| {name} | {precision} | {estimator} | {schedule} | {test} | {val} "
              f"| {row['seconds_mean']:.2f} ± {row['seconds_std']:.2f} | {row['failed']} |")
    figures = {
        "space": SPACE,
        "epochs": base.train.epochs,
        "seeds": seeds,
        "threads": threads,
        "compile": compile_mode,
        "variants": summary,
    }
    print(json.dumps(figures))
    return figures


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--epochs", type=int, help="override the space's training epochs")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--compile", default="auto", choices=("auto", "0", "1"),
                        help=f"{COMPILE_ENV_VAR} for the ANA kernels")
    parser.add_argument("--window-ends", help="compare annealing windows ending at these "
                        "fractions of training, e.g. 0.6,0.8,1")
    args = parser.parse_args()
    os.environ[COMPILE_ENV_VAR] = args.compile
    space = load_space(SPACE)
    base = space.fixed_config(epochs=args.epochs)
    if args.window_ends:
        ends = [float(e) for e in args.window_ends.split(",")]
        configs = window_variants(base, space.layer_names(), ends)
    else:
        configs = variants(base, space.layer_names())
    results = run(configs, args.seeds, args.threads)
    report(base, configs, results, args.threads, args.compile)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
