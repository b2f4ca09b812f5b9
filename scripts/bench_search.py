"""Benchmark: hypervolume against finished trials and against wall time, per searcher, on one
space over several seeds, with the uniform baselines and the integer program's seeds alone as
points.

    python scripts/bench_search.py [--space digits_cnn] [--seeds 0,1,2,3,4]
        [--searchers random,tpe,nsga2,gp,seeded,seeded+asha,seeded+pareto] [--trials 25]
        [--random-trials 60] [--epochs N] [--out runs/bench_search]
        [--figure docs/figures/bench_search.png]

Searchers (every search: local backend, one worker, so a seed fixes its sequence):

- `random`, `tpe`, `nsga2`, `gp`: the sampler alone (no baselines, no seeds);
- `seeded`: `codesign search` as shipped: the uniform baselines, then the space's sensitivity
  seeds (`search.seeds`, or `--k`), then the default sampler (NSGA-II);
- `seeded+asha`: the same with multi-fidelity (MO-ASHA, `early_stop="asha"`);
- `seeded+pareto`: the same with the Pareto stopping rule (`early_stop="pareto"`).

`random` runs to `--random-trials` (the target compares 20 trials of the best searcher with
60 of random), the others to `--trials`. After every finished trial (in completion order) the
hypervolume of the trials so far is the normalised one of `codesign search` (reference fixed
by the space), so every curve and point lives in the same box. Wall time counts from the call
of the search, so it includes the float pretraining and, for the seeded searchers, the
sensitivity. The points: the uniform baselines alone, the seeds alone, and both, read from
the seeded runs (their first trials). The last line is JSON; `--json` writes all curves.
"""

from __future__ import annotations

import argparse
import datetime
import io
import json
import math
import statistics
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402

from codesign.record import Key  # noqa: E402
from codesign.search import (  # noqa: E402
    Manifest,
    SearchRequest,
    load_study,
    run_search,
    space_hypervolume,
)
from codesign.space import load_space  # noqa: E402

SEARCHERS: dict[str, dict[str, Any]] = {
    "random": {"sampler": "random", "baselines": False, "seeds": 0},
    "tpe": {"sampler": "tpe", "baselines": False, "seeds": 0},
    "nsga2": {"sampler": "nsga2", "baselines": False, "seeds": 0},
    "gp": {"sampler": "gp", "baselines": False, "seeds": 0},
    "seeded": {"baselines": True},
    "seeded+asha": {"baselines": True, "early_stop": "asha"},
    "seeded+pareto": {"baselines": True, "early_stop": "pareto"},
}
CHECKPOINTS = (5, 10, 20, 30, 60)


def run_searcher(name: str, space: str, seed: int, trials: int, k: int | None,
                 epochs: int | None, out: Path) -> dict[str, Any]:
    """One search; its hypervolume after each finished trial and the wall time to it."""
    options = dict(SEARCHERS[name])
    if options.get("seeds", 1) and k is not None:
        options["seeds"] = k
    started = datetime.datetime.now()
    report = run_search(
        SearchRequest(space=space, trials=trials, epochs=epochs, seed=seed,
                      out=out / f"{name}-seed{seed}", **options),
        stream=io.StringIO(),
    )
    study = load_study(Manifest.read(report.run_dir))
    done = {t.number: t.datetime_complete for t in study.get_trials(deepcopy=False)
            if t.state.name == "COMPLETE"}
    order = sorted(done, key=lambda n: done[n])
    frame = report.frame.set_index("number", drop=False)
    loaded = load_space(space)
    curve = [space_hypervolume(frame.loc[order[:n]], loaded, report.objectives)
             for n in range(1, len(order) + 1)]
    seconds = [(done[n] - started).total_seconds() for n in order]
    points = {}
    for label, keys in (("uniform", [Key.BASELINE_BITS]), ("seeds", [Key.SEED_BUDGET]),
                        ("uniform+seeds", [Key.BASELINE_BITS, Key.SEED_BUDGET])):
        present = [k for k in keys if k in frame.columns]
        rows = frame[frame[present].notna().any(axis=1)] if present else frame.iloc[:0]
        if len(rows):
            points[label] = {"trials": len(rows),
                             "hypervolume": space_hypervolume(rows, loaded, report.objectives)}
    return {"hypervolume": curve, "seconds": seconds, "points": points}


def _mean_std(values: list[float]) -> tuple[float, float]:
    return statistics.mean(values), statistics.stdev(values) if len(values) > 1 else 0.0


def _at(curve: list[float], n: int) -> float | None:
    return curve[n - 1] if len(curve) >= n else None


def table(results: dict[str, list[dict[str, Any]]]) -> list[str]:
    """Markdown: hypervolume after 5, 10, 20, 30, 60 trials (mean ± std over seeds), the
    minutes per run, then the points."""
    lines = ["| searcher | " + " | ".join(f"HV @ {n}" for n in CHECKPOINTS)
             + " | min / run |", "|---" * (len(CHECKPOINTS) + 2) + "|"]
    points: dict[str, list[dict[str, float]]] = {}
    for name, runs in results.items():
        cells = []
        for n in CHECKPOINTS:
            values = [v for v in (_at(r["hypervolume"], n) for r in runs) if v is not None]
            if values:
                mean, std = _mean_std(values)
                cells.append(f"{mean:.3f} ± {std:.3f}")
            else:
                cells.append("")
        minutes = statistics.mean(r["seconds"][-1] / 60 for r in runs if r["seconds"])
        lines.append(f"| {name} | " + " | ".join(cells) + f" | {minutes:.1f} |")
        if name == "seeded":
            for r in runs:
                for label, point in r["points"].items():
                    points.setdefault(label, []).append(point)
    for label, found in points.items():
        mean, std = _mean_std([p["hypervolume"] for p in found])
        lines.append(f"| {label} alone ({found[0]['trials']} trials) | {mean:.3f} ± {std:.3f} |"
                     + " |" * len(CHECKPOINTS))
    return lines


def figure(results: dict[str, list[dict[str, Any]]], path: Path, timed: bool = True) -> Path:
    """Mean hypervolume (band: ± one std over seeds) against finished trials and, when the
    runs shared one load (`timed`), wall time; the points of the baselines and seeds alone
    on the first panel, random search's last mean as the dashed target line. The axis
    starts just below the lowest mean after 5 trials or point, where the curves differ."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(11 if timed else 6, 4.2), layout="constrained")
    by_trials, by_time = fig.subplots(1, 2, sharey=True) if timed else (fig.subplots(), None)
    floor, top = math.inf, -math.inf
    for name, runs in results.items():
        length = min(len(r["hypervolume"]) for r in runs)
        curves = np.array([r["hypervolume"][:length] for r in runs])
        x = np.arange(1, length + 1)
        mean, std = curves.mean(axis=0), curves.std(axis=0)
        floor = min(floor, float(mean[min(4, length - 1)]))
        top = max(top, float((mean + std).max()))
        (line,) = by_trials.plot(x, mean, label=name)
        by_trials.fill_between(x, mean - std, mean + std, alpha=0.15, color=line.get_color())
        if name == "random":
            for axes in filter(None, (by_trials, by_time)):
                axes.axhline(mean[-1], color=line.get_color(), linestyle="--", linewidth=0.8)
        if by_time is not None:
            end = min(r["seconds"][length - 1] for r in runs)
            grid = np.linspace(0, end, 200)
            at_time = np.array([np.interp(grid, r["seconds"][:length], r["hypervolume"][:length],
                                          left=0.0) for r in runs])
            by_time.plot(grid / 60, at_time.mean(axis=0), color=line.get_color(), label=name)
        if name == "seeded":
            for label, marker in (("uniform", "s"), ("seeds", "^"), ("uniform+seeds", "D")):
                found = [r["points"][label] for r in runs if label in r["points"]]
                if found:
                    point = statistics.mean(p["hypervolume"] for p in found)
                    floor = min(floor, point)
                    by_trials.scatter([found[0]["trials"]], [point], marker=marker,
                                      color="black", zorder=5, label=f"{label} alone")
    by_trials.set_ylim(floor - 0.01, top + 0.003)
    by_trials.set_xlabel("finished trials")
    by_trials.set_ylabel("hypervolume (normalised)")
    by_trials.legend(fontsize=8)
    by_trials.grid(alpha=0.3)
    if by_time is not None:
        by_time.set_xlabel("wall time (min), pretraining and sensitivity included")
        by_time.grid(alpha=0.3)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=120)
    return path


def _check_searchers(names: list[str]) -> None:
    unknown = [n for n in names if n not in SEARCHERS]
    if unknown:
        raise SystemExit(f"unknown searcher {unknown[0]}; choose from {', '.join(SEARCHERS)}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--space", default="digits_cnn")
    parser.add_argument("--searchers", default=",".join(SEARCHERS))
    parser.add_argument("--seeds", default="0,1,2,3,4", help="benchmark seeds")
    parser.add_argument("--trials", type=int, default=25, help="trials of every searcher "
                        "but random")
    parser.add_argument("--random-trials", type=int, default=60)
    parser.add_argument("--k", type=int, help="sensitivity seeds of the seeded searchers "
                        "(default: the space's search.seeds)")
    parser.add_argument("--epochs", type=int, help="override the space's epochs")
    parser.add_argument("--out", type=Path, default=Path("runs/bench_search"))
    parser.add_argument("--figure", type=Path, help="write the figure here")
    parser.add_argument("--json", type=Path, help="write every curve here")
    parser.add_argument("--combine", type=Path, nargs="+", metavar="JSON",
                        help="run nothing: the table and figure of curves that earlier runs "
                        "wrote with --json (e.g. one process per searcher, side by side)")
    parser.add_argument("--wall-time", action="store_true",
                        help="with --combine: draw the wall-time panel too, for runs that "
                        "shared one load (e.g. two processes at a time on two cores)")
    args = parser.parse_args()
    names = args.searchers.split(",")
    _check_searchers(names)
    seeds = [int(s) for s in args.seeds.split(",")]
    results: dict[str, list[dict[str, Any]]] = {}
    for path in args.combine or []:  # one file per searcher, or per searcher and seed
        for name, runs in json.loads(path.read_text()).items():
            results.setdefault(name, []).extend(runs)
    for name in [] if args.combine else names:
        trials = args.random_trials if name == "random" else args.trials
        results[name] = [run_searcher(name, args.space, seed, trials, args.k, args.epochs,
                                      args.out) for seed in seeds]
        print(f"{name}: final hypervolume "
              f"{[round(r['hypervolume'][-1], 4) for r in results[name]]}", flush=True)
    if not args.combine:
        print(f"space {args.space}, seeds {seeds}, trials {args.trials} (random "
              f"{args.random_trials}), epochs {args.epochs or 'of the space'}\n")
    print("\n".join(table(results)))
    if args.figure:
        # Runs from separate processes share a clock only when they shared one load.
        timed = args.wall_time or not args.combine
        print(f"figure: {figure(results, args.figure, timed=timed)}")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(results))
    summary = {name: {"hypervolume_final_mean": statistics.mean(r["hypervolume"][-1]
                                                                for r in runs)}
               for name, runs in results.items()}
    print(json.dumps({"space": args.space, "seeds": seeds, "results": summary}))


if __name__ == "__main__":
    main()
