"""`codesign export`: trials as deployable files (ONNX, QONNX, PyTorch) with config and costs."""

from __future__ import annotations

import argparse
from pathlib import Path

from codesign.commands._study import add_study_arguments


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "export",
        help="export trials: ONNX / QONNX / PyTorch model, config and per-layer costs",
        description="Write a trial's model in the chosen formats, its config.json (retrain "
        "with `codesign train --config`) and its per-layer cost table into a folder.",
    )
    add_study_arguments(parser)
    which = parser.add_mutually_exclusive_group(required=True)
    which.add_argument("--trial", type=int, help="trial number (see pareto.csv)")
    which.add_argument("--front", action="store_true", help="every Pareto-optimal trial")
    parser.add_argument("--format", default="pytorch",
                        help="comma-separated: onnx (QDQ), qonnx, pytorch (default: pytorch)")
    parser.add_argument("--check", action="store_true",
                        help="run each ONNX file on the test split next to PyTorch; exit 1 "
                        "when fewer than 99.9%% of the predictions agree")
    parser.add_argument("--dest", type=Path,
                        help="destination folder (default: <out>/export/trial-N)")
    parser.add_argument("--hw", help="more cost models for the cost table, comma-separated "
                        "(it always has the study's own and those `codesign pareto --hw` "
                        "re-scored it with)")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from codesign.deploy import export_trial_formats, front_trials, parse_formats
    from codesign.errors import CodesignError
    from codesign.search import locate_study, parse_hw
    from codesign.userfile import check_output_folder

    formats = parse_formats(args.format)
    manifest = locate_study(args.out, args.storage, args.study)
    numbers = front_trials(args.out) if args.front else [args.trial]
    if args.dest is None and args.out is None:
        raise CodesignError("with --storage/--study, name the destination with --dest DIR")
    status = 0
    for number in numbers:
        dest = args.dest if args.dest is not None else args.out / "export" / f"trial-{number}"
        if args.dest is not None and len(numbers) > 1:
            dest = args.dest / f"trial-{number}"
        check_output_folder(dest, "--dest")
        paths, agreements = export_trial_formats(manifest, number, dest, formats,
                                                 hw=parse_hw(args.hw), check=args.check)
        for kind, path in paths.items():
            print(f"{kind:>10s}: {path}")
        for agreement in agreements:
            print(f"trial {number} {agreement.line()}")
            status = status if agreement.passed else 1
    return status
