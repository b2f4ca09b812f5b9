"""`codesign worker`: pull trials of a shared study until its budget is reached."""

from __future__ import annotations

import argparse
from pathlib import Path

from codesign.search import SAMPLERS


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "worker",
        help="run trials of a study shared through a database, until its budget is reached",
        description="Start any number of these, on any machines that reach the storage "
        "(PostgreSQL for several machines): together they finish exactly the study's budget. "
        "With --space the first one creates the study; the others may give only --storage "
        "and --study.",
    )
    parser.add_argument("--storage",
                        help="Optuna storage URL, e.g. postgresql+psycopg2://user@host/db "
                        "(default: $CODESIGN_STORAGE; a password-less URL takes the password "
                        "from ~/.pgpass or PGPASSWORD)")
    parser.add_argument("--study", required=True, help="study name")
    parser.add_argument("--trials", type=int,
                        help="finished trials the study should hold (stored as its budget)")
    parser.add_argument("--space", help="space name or YAML file: create the study if missing")
    parser.add_argument("--epochs", type=int, help="with --space: override the training epochs")
    parser.add_argument("--sampler", default="nsga2", choices=SAMPLERS.names(),
                        help="with --space: Optuna sampler (default nsga2)")
    parser.add_argument("--seed", type=int, default=0, help="with --space: search seed")
    parser.add_argument("--hw", help="with --space: cost models as objectives, comma-separated")
    parser.add_argument("--out", type=Path,
                        help="with --space: run directory for checkpoints (default runs/<space>, "
                        "or runs/<space>-<cost models> with --hw)")
    parser.add_argument("--threads", type=int, help="torch threads for each trial")
    parser.add_argument("--device", help="where this worker's trials train: auto, cpu, cuda "
                        "or cuda:N (default: the space's train.device, else auto)")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from codesign.errors import CodesignError
    from codesign.search import SearchRequest, parse_hw, run_worker
    from codesign.search.store import STORAGE_ENV, storage_from_env

    storage = args.storage or storage_from_env()
    if not storage:
        raise CodesignError(f"give --storage URL, or set {STORAGE_ENV} to the study's storage")
    create = None
    if args.space:
        create = SearchRequest(
            space=args.space, trials=args.trials or 1, epochs=args.epochs,
            sampler=args.sampler, seed=args.seed, hw=parse_hw(args.hw), storage=storage,
            study=args.study, out=args.out, device=args.device,
        )
    report = run_worker(storage, args.study, trials=args.trials, create=create,
                        threads=args.threads, device=args.device)
    print(report.describe())
    return 0
