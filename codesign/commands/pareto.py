"""`codesign pareto`: rewrite a study's front, optionally re-scored under other cost models."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from codesign.commands._study import add_study_arguments


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "pareto",
        help="re-score a finished study under any cost model and rewrite its front",
        description="Read a study, re-score every trial under --hw cost models (shipped or "
        "plugged in) without retraining, and rewrite trials.csv, pareto.csv and the figures.",
    )
    add_study_arguments(parser)
    parser.add_argument("--hw", help="cost models to re-score under and optimise, "
                        "comma-separated (default: the study's own objectives, as stored)")
    parser.add_argument("--report-dir", type=Path,
                        help="where to write the report (default: --out; with --hw, a folder "
                        "of its own, <out>/rescored-<cost models>, so the run's report stays)")
    parser.add_argument("--json", action="store_true", help="end with one JSON summary line")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from codesign.commands.search import print_report
    from codesign.errors import CodesignError
    from codesign.search import locate_study, parse_hw, report_study, rescore_dir
    from codesign.userfile import check_output_folder

    manifest = locate_study(args.out, args.storage, args.study)
    hw = parse_hw(args.hw)
    report_dir = args.report_dir
    if report_dir is None and args.out is not None:
        report_dir = rescore_dir(args.out, hw) if hw else args.out
    if report_dir is None:
        raise CodesignError("with --storage/--study, say where to write with --report-dir DIR")
    check_output_folder(report_dir, "--report-dir" if args.report_dir else "--out")
    report = report_study(manifest, report_dir.resolve(), hw=hw)
    print_report(report)
    if args.json:
        print(json.dumps(report.summary()))
    return 0
