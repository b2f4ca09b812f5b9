"""`codesign search`: run (or resume) a search and write its Pareto front."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from codesign.search import BACKENDS, DEFAULT_STOPPER, SAMPLERS, STOPPERS


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "search",
        help="search per-layer bits and ANA settings; write the Pareto front",
        description="Search a space (default: digits_cnn, embedded data) with Optuna, locally "
        "or on Ray. Running the same command again resumes the study.",
    )
    parser.add_argument("--space", default="digits_cnn", help="space name or YAML file")
    parser.add_argument("--trials", type=int, default=20,
                        help="finished trials the study should hold (default 20)")
    parser.add_argument("--epochs", type=int, help="override the space's training epochs")
    parser.add_argument("--sampler", default="nsga2", choices=SAMPLERS.names(),
                        help="Optuna sampler (default nsga2)")
    parser.add_argument("--seed", type=int, default=0, help="sampler and training seed")
    parser.add_argument("--hw", help="cost models as objectives, comma-separated "
                        "(NAME, NAME.METRIC or a YAML path); default: the space's objectives")
    parser.add_argument("--backend", default="local", choices=BACKENDS.names(),
                        help="where trials run: local processes or a Ray cluster")
    parser.add_argument("--address", help="Ray cluster address HOST:PORT (with --backend ray)")
    parser.add_argument("--workers", type=int, help="parallel trials (default: 1 locally, "
                        "as many as the Ray cluster's CPUs allow)")
    parser.add_argument("--cpus-per-trial", type=int, help="CPUs (torch threads) per trial "
                        "(default: the space's resources, else as the machine allows)")
    parser.add_argument("--gpus-per-trial", type=float,
                        help="GPUs per Ray trial (default: the space's resources, else 0)")
    parser.add_argument("--device", help="where trials train: auto (the GPU a trial was "
                        "given, else cuda:0, else the CPU), cpu, cuda or cuda:N "
                        "(default: the space's train.device, else auto)")
    parser.add_argument("--storage", help="Optuna storage URL (default: $CODESIGN_STORAGE, "
                        "else SQLite in --out); a password-less PostgreSQL URL takes the "
                        "password from ~/.pgpass or PGPASSWORD")
    parser.add_argument("--study", help="study name (default: the space's name)")
    parser.add_argument("--out", type=Path, help="run directory (default runs/<space>, or "
                        "runs/<space>-<cost models> with --hw)")
    parser.add_argument("--capacity", type=int, default=0, metavar="SAMPLES",
                        help="also record each trial's lower 2sED (capacity_2sed) from this "
                        "many input samples (default 0: off)")
    parser.add_argument("--early-stop", nargs="?", const=DEFAULT_STOPPER, choices=STOPPERS.names(),
                        metavar="RULE",
                        help="stop hopeless trials after their annealing window: 'pareto' once "
                        "a finished trial beats a trial's optimistic final accuracy at no higher "
                        "cost; 'asha' (MO-ASHA) at rungs of the epochs unless in the top third "
                        f"by non-dominated rank (bare --early-stop: {DEFAULT_STOPPER})")
    parser.add_argument("--seeds", type=int, metavar="K",
                        help="start a new study with K configurations an integer program picks "
                        "from per-layer sensitivities (Hessian trace x quantization error) at "
                        "K cost budgets, after the baselines; 0: off (default: the space's "
                        "search.seeds)")
    parser.add_argument("--no-baselines", dest="baselines", action="store_false",
                        help="do not start a new study with the uniform-precision configs "
                        "(highest, median and lowest bits)")
    parser.add_argument("--json", action="store_true", help="end with one JSON summary line")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from codesign.search import SearchRequest, parse_hw, run_search

    request = SearchRequest(
        space=args.space, trials=args.trials, epochs=args.epochs, sampler=args.sampler,
        seed=args.seed, hw=parse_hw(args.hw), backend=args.backend, address=args.address,
        workers=args.workers, cpus_per_trial=args.cpus_per_trial,
        gpus_per_trial=args.gpus_per_trial, storage=args.storage, study=args.study,
        out=args.out, capacity_samples=args.capacity,
        early_stop=args.early_stop, baselines=args.baselines, device=args.device,
        seeds=args.seeds,
    )
    report = run_search(request)
    print_report(report)
    if args.json:
        print(json.dumps(report.summary()))
    return 0


def print_report(report) -> None:
    """The front table, hypervolume and the files written."""
    print()
    print(report.table)
    print(f"hypervolume (normalised): {report.hypervolume:.4f}")
    seeds = report.summary()["seeds"]
    if seeds:
        on_front = [n for n in seeds if n in report.front]
        print(f"sensitivity seeds (integer program): trials {', '.join(map(str, seeds))}; "
              f"on the front: {', '.join(map(str, on_front)) or 'none'}")
    for kind, path in report.paths.items():
        print(f"{kind:>8s}: {path}")
