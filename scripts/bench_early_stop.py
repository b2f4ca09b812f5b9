"""Benchmark: early-stop rules against none, same searches otherwise: hypervolume, wall time,
epochs trained and trials stopped.

    python scripts/bench_early_stop.py [--space digits_cnn] [--trials 20] [--epochs N]
        [--rules off,pareto,asha] [--seeds 0,1,2] [--sampler nsga2] [--out runs/bench_early_stop]
    python scripts/bench_early_stop.py --replay RUN_DIR [RUN_DIR ...] [--rules pareto,asha]

Every search is `codesign search` as a user runs it (uniform baselines queued, one local
worker) with `--early-stop RULE` or without it; for each seed the rules run one after another,
so that they share the machine's load alike. Hypervolume is the normalised one the search
reports. Epochs trained (summed over the trials) is the cost a rule saves whatever the load;
wall time includes the study's float pretraining. The last line is JSON.

`--replay` takes searches run without early stopping and replays each rule's decisions on
their recorded per-epoch accuracies: the same configurations in the same order, one trial
after another as one worker runs them, each rule's own stopper reading an in-memory study.
It is what the rule would have done had the sampler proposed the same configurations
(exactly so while the sampler ignores the values: the queued baselines, random search, the
first NSGA-II generation); seconds are the recorded seconds of the epochs run.
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

from codesign.config import TrialConfig  # noqa: E402
from codesign.record import Key, Status  # noqa: E402
from codesign.search import (  # noqa: E402
    STOPPERS,
    Manifest,
    SearchRequest,
    SearchSettings,
    load_study,
    run_search,
    space_hypervolume,
)
from codesign.search.results import trials_frame  # noqa: E402

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


def replay(run_dir: Path, rule: str) -> dict[str, float]:
    """The search in `run_dir` (run without early stopping) as `rule` would have run it."""
    import optuna
    from optuna.trial import TrialState

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = load_study(Manifest.read(run_dir))
    settings = SearchSettings.of_study(study)
    settings.extra = {} if rule == OFF else {"early_stop": rule}
    memory = optuna.create_study(directions=study.directions)
    epochs = stopped = 0
    seconds = 0.0
    for done in study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,)):
        trial = memory.ask()
        attrs = done.user_attrs
        for key in (Key.CONFIG, Key.COSTS, Key.FEASIBLE, Key.BASELINE_BITS):
            if key in attrs:
                trial.set_user_attr(key, attrs[key])
        values = list(done.values)
        curves = attrs.get(Key.CURVES) or []
        if curves:
            stopper = None if rule == OFF else STOPPERS.get(rule)(
                trial, settings, TrialConfig.from_dict(attrs[Key.CONFIG]), attrs[Key.COSTS])
            run = []
            for metrics in curves:
                run.append(metrics)
                if stopper is not None and stopper(dict(metrics)):
                    stopped += 1
                    break
            best = max(m["val_accuracy"] for m in run)
            epochs += len(run)
            seconds += sum(m["seconds"] for m in run)
            status = Status.STOPPED if len(run) < len(curves) else attrs[Key.STATUS]
            trial.set_user_attr(Key.STATUS, status)
            trial.set_user_attr(Key.VAL_ACCURACY, best)
            values[0] = best
        else:
            trial.set_user_attr(Key.STATUS, attrs[Key.STATUS])
        memory.tell(trial, values)
    frame = trials_frame(memory.get_trials())
    hypervolume = space_hypervolume(frame, settings.load_space(), settings.objective_list)
    trained = frame[frame[Key.STATUS].isin([Status.OK, Status.STOPPED])]
    return {"hypervolume": hypervolume, "seconds": seconds, "epochs": float(epochs),
            "stopped": float(stopped), "best_accuracy": float(trained[Key.VAL_ACCURACY].max())}


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
    parser.add_argument("--replay", type=Path, nargs="+", metavar="RUN_DIR",
                        help="replay the rules on these searches run without early stopping")
    args = parser.parse_args()
    seeds = [int(s) for s in args.seeds.split(",")]
    rules = args.rules.split(",")
    runs: dict[str, list[dict[str, float]]] = {rule: [] for rule in rules}
    for index in range(len(args.replay or seeds)):
        for rule in rules:
            if args.replay:
                runs[rule].append(replay(args.replay[index], rule))
                where = {"replay": str(args.replay[index])}
            else:
                runs[rule].append(run_rule(args, rule, seeds[index]))
                where = {"seed": seeds[index]}
            print(json.dumps({"rule": rule, **where, **runs[rule][-1]}), flush=True)
    lines = [
        f"replayed on {[str(path) for path in args.replay]}" if args.replay else
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
                      "seeds": seeds, "replay": [str(p) for p in args.replay or []],
                      "results": summary}))


if __name__ == "__main__":
    main()
