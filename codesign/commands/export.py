"""`codesign export`: one trial's configuration, checkpoint and per-layer cost table."""

from __future__ import annotations

import argparse
from pathlib import Path

from codesign.commands._study import add_study_arguments


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "export",
        help="export one trial: config, checkpoint and per-layer costs",
        description="Write a trial's config.json (retrain with `codesign train --config`), its "
        "checkpoint model.pt and its per-layer cost table into a folder.",
    )
    add_study_arguments(parser)
    parser.add_argument("--trial", type=int, required=True, help="trial number (see pareto.csv)")
    parser.add_argument("--dest", type=Path,
                        help="destination folder (default: <out>/export/trial-N)")
    parser.add_argument("--hw", help="extra cost models for the cost table, comma-separated")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from codesign.errors import CodesignError
    from codesign.search import export_trial, locate_study, parse_hw

    manifest = locate_study(args.out, args.storage, args.study)
    dest = args.dest
    if dest is None:
        if args.out is None:
            raise CodesignError("with --storage/--study, name the destination with --dest DIR")
        dest = args.out / "export" / f"trial-{args.trial}"
    paths = export_trial(manifest, args.trial, dest, hw=parse_hw(args.hw))
    for kind, path in paths.items():
        print(f"{kind:>10s}: {path}")
    return 0
