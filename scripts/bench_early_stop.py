"""Benchmark: early-stop rules against none, same searches otherwise: hypervolume, wall time,
epochs trained and trials stopped.

    python scripts/bench_early_stop.py [--space digits_cnn] [--trials 20] [--epochs N]
        [--rules off,pareto,asha] [--seeds 0,1,2] [--sampler nsga2] [--out runs/bench_early_stop]

Every search is `codesign search` as a user runs it (uniform baselines queued, one local
worker) with `--early-stop RULE` or without it; for each seed the rules run one after another,
so that they share the machine's load alike. Hypervolume is the normalised one the search
reports. Epochs trained (summed over the trials) is the cost a rule saves whatever the load;
wall time includes the study's float pretraining. The last line is JSON.
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

from codesign.record import Key, Status  # noqa: E402
from codesign.search import SearchRequest, run_search  # noqa: E402

OFF = "off"


def run_rule(args: argparse.Namespace, rule: str, seed: int) -> dict[str, float]:
    started = time.perf_counter()
    report = run_search(
        SearchRequest(space=args.space, trials=args.trials, epochs=args.epochs,
                      sampler=args.sampler, seed=seed, out=args.out / f"{rule}-seed{seed}",
                      early_stop=None if rule == OFF else rule),
        stream=io.StringIO(),
    )
    frame = report.frame
    trained = frame[frame[Key.STATUS].isin([Status.OK, Status.STOPPED])]
    return {
        "hypervolume": report.hypervolume,
        "seconds": time.perf_counter() - started,
        "epochs": float(trained[Key.EPOCHS].sum()),
        "stopped": float((frame[Key.STATUS] == Status.STOPPED).sum()),
        "best_accuracy": float(trained[Key.VAL_ACCURACY].max()),
    }


def _spread(values: list[float]) -> tuple[float, float]:
    return statistics.mean(values), statistics.stdev(values) if len(values) > 1 else 0.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--space", default="digits_cnn")
    parser.add_argument("--trials", type=int, default=20)
    parser.add_argument("--epochs", type=int, help="override the space's epochs")
    parser.add_argument("--rules", default=f"{OFF},pareto,asha")
    parser.add_argument("--seeds", default="0,1,2")
    parser.add_argument("--sampler", default="nsga2")
    parser.add_argument("--out", type=Path, default=Path("runs/bench_early_stop"))
    args = parser.parse_args()
    seeds = [int(s) for s in args.seeds.split(",")]
    rules = args.rules.split(",")
    runs: dict[str, list[dict[str, float]]] = {rule: [] for rule in rules}
    for seed in seeds:
        for rule in rules:
            runs[rule].append(run_rule(args, rule, seed))
            print(json.dumps({"rule": rule, "seed": seed, **runs[rule][-1]}), flush=True)
    lines = [
        f"space {args.space}, {args.trials} trials, epochs {args.epochs or 'of the space'}, "
        f"sampler {args.sampler}, seeds {seeds}",
        "",
        "| --early-stop | hypervolume (mean ± std) | best val acc | epochs trained | "
        "trials stopped | wall s / search |",
        "|---|---|---|---|---|---|",
    ]
    summary = {}
    for rule, results in runs.items():
        stats = {key: _spread([r[key] for r in results]) for key in results[0]}
        summary[rule] = {key: mean for key, (mean, _) in stats.items()}
        hv, acc = stats["hypervolume"], stats["best_accuracy"]
        lines.append(
            f"| {rule} | {hv[0]:.4f} ± {hv[1]:.4f} | {acc[0]:.4f} ± {acc[1]:.4f} | "
            f"{stats['epochs'][0]:.1f} | {stats['stopped'][0]:.1f} | "
            f"{stats['seconds'][0]:.0f} ± {stats['seconds'][1]:.0f} |"
        )
    print("\n".join(lines))
    print(json.dumps({"space": args.space, "trials": args.trials, "epochs": args.epochs,
                      "seeds": seeds, "results": summary}))


if __name__ == "__main__":
    main()
