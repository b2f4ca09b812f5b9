"""Benchmark: hypervolume of the front after the same number of trials, per sampler, against
the uniform-precision baselines, on one space over several seeds.

    python scripts/bench_search.py [--space digits_cnn] [--trials 20] [--epochs 10]
        [--samplers nsga2,tpe,random] [--seeds 0,1,2] [--out runs/bench_search]

Every search runs with the local backend and one worker, so a seed fixes its sequence of
configurations. Hypervolume is the normalised one of `codesign search` (reference fixed by the
space: accuracy 0 and 1.1 times the costs of its most precise config; ideal accuracy 1 and zero
cost), so every run and baseline is measured in the same box. A baseline is a single point:
every layer the space lets the search choose at 8, 4 or 2 bits (layers the space fixes keep
their bits), trained with the space's defaults. Searches run without those baselines queued
unless `--baselines` is given. The last line is JSON.
"""

from __future__ import annotations

import argparse
import io
import json
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import pandas as pd  # noqa: E402

from codesign.network import config_costs  # noqa: E402
from codesign.record import Key, Status  # noqa: E402
from codesign.search import (  # noqa: E402
    SearchRequest,
    run_search,
    space_hypervolume,  # noqa: E402
)
from codesign.space import load_space  # noqa: E402
from codesign.train import train_trial  # noqa: E402

UNIFORM_BITS = (8, 4, 2)


def _spread(values: list[float]) -> tuple[float, float]:
    return statistics.mean(values), statistics.stdev(values) if len(values) > 1 else 0.0


def run_sampler(space: str, sampler: str, seed: int, trials: int, epochs: int | None,
                out: Path, baselines: bool) -> dict[str, float]:
    started = time.perf_counter()
    name = f"{sampler}{'+baselines' if baselines else ''}-seed{seed}"
    report = run_search(
        SearchRequest(space=space, trials=trials, epochs=epochs, sampler=sampler, seed=seed,
                      out=out / name, baselines=baselines),
        stream=io.StringIO(),
    )
    frame = report.frame
    trained = frame[frame[Key.STATUS] == Status.OK]
    return {
        "hypervolume": report.hypervolume,
        "front_size": len(report.front),
        "best_accuracy": float(trained["val_accuracy"].max()) if len(trained) else 0.0,
        "infeasible": int((frame[Key.STATUS] == Status.INFEASIBLE).sum()),
        "seconds": time.perf_counter() - started,
    }


def run_baseline(space_name: str, bits: int, seed: int, epochs: int | None) -> dict[str, float]:
    space = load_space(space_name)
    cfg = space.fixed_config(w_bits=bits, a_bits=bits, epochs=epochs, seed=seed)
    result = train_trial(cfg)
    costs = config_costs(cfg, space.cost_models)
    row = {"number": 0, "state": "COMPLETE", "feasible": True,
           "val_accuracy": result.val_accuracy}
    for model, metrics in costs.items():
        row.update({f"{model}.{metric}": value for metric, value in metrics.items()})
    frame = pd.DataFrame([row])
    return {
        "hypervolume": space_hypervolume(frame, space, space.objectives),
        "val_accuracy": result.val_accuracy,
        "test_accuracy": result.test_accuracy,
        "seconds": result.seconds,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--space", default="digits_cnn")
    parser.add_argument("--trials", type=int, default=20)
    parser.add_argument("--epochs", type=int, help="override the space's epochs")
    parser.add_argument("--samplers", default="nsga2,tpe,random")
    parser.add_argument("--seeds", default="0,1,2")
    parser.add_argument("--out", type=Path, default=Path("runs/bench_search"))
    parser.add_argument("--baselines", action="store_true",
                        help="start each search with the space's uniform configs (the default "
                        "of `codesign search`); off compares the samplers alone")
    parser.add_argument("--no-uniform", action="store_true", help="skip the uniform rows")
    args = parser.parse_args()
    seeds = [int(s) for s in args.seeds.split(",")]
    results: dict[str, dict[str, float]] = {}
    lines = [
        f"space {args.space}, {args.trials} trials, epochs {args.epochs or 'of the space'}, "
        f"seeds {seeds}",
        "",
        "| run | hypervolume (mean ± std) | best val acc | front size | s / run |",
        "|---|---|---|---|---|",
    ]
    for sampler in args.samplers.split(","):
        runs = [run_sampler(args.space, sampler, seed, args.trials, args.epochs, args.out,
                            args.baselines) for seed in seeds]
        hv = _spread([r["hypervolume"] for r in runs])
        acc = _spread([r["best_accuracy"] for r in runs])
        secs = _spread([r["seconds"] for r in runs])
        front = statistics.mean(r["front_size"] for r in runs)
        label = f"{sampler} + baselines" if args.baselines else sampler
        results[label] = {"hypervolume_mean": hv[0], "hypervolume_std": hv[1],
                            "best_accuracy_mean": acc[0], "seconds_mean": secs[0]}
        lines.append(f"| {label} | {hv[0]:.4f} ± {hv[1]:.4f} | {acc[0]:.4f} ± {acc[1]:.4f} "
                     f"| {front:.1f} | {secs[0]:.0f} |")
        print(lines[-1], flush=True)
    for bits in () if args.no_uniform else UNIFORM_BITS:
        runs = [run_baseline(args.space, bits, seed, args.epochs) for seed in seeds]
        hv = _spread([r["hypervolume"] for r in runs])
        acc = _spread([r["val_accuracy"] for r in runs])
        secs = _spread([r["seconds"] for r in runs])
        results[f"uniform_{bits}"] = {"hypervolume_mean": hv[0], "hypervolume_std": hv[1],
                                      "best_accuracy_mean": acc[0], "seconds_mean": secs[0]}
        lines.append(f"| all {bits} bits | {hv[0]:.4f} ± {hv[1]:.4f} | {acc[0]:.4f} ± "
                     f"{acc[1]:.4f} | 1 | {secs[0]:.0f} |")
        print(lines[-1], flush=True)
    print("\n".join(lines))
    print(json.dumps({"space": args.space, "trials": args.trials, "epochs": args.epochs,
                      "seeds": seeds, "results": results}))


if __name__ == "__main__":
    main()
