"""`codesign list`: what can be named on the command line or in a space file, one line each."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path

Rows = list[tuple[str, str]]


def _models(hw_dirs: list[Path]) -> Rows:
    from codesign.models import MODELS

    rows = []
    for name in MODELS:
        channels, size = MODELS.get(name).natural_input
        rows.append((name, f"{MODELS.describe(name)} (natural input {channels}x{size}x{size})"))
    return rows


def _datasets(hw_dirs: list[Path]) -> Rows:
    from codesign.data import DATASETS

    return [(name, DATASETS.describe(name)) for name in DATASETS]


def _spaces(hw_dirs: list[Path]) -> Rows:
    from codesign.space import load_space, shipped_spaces

    rows = []
    for name in shipped_spaces():
        rows.append((name, load_space(name).description))
    return rows


def _samplers(hw_dirs: list[Path]) -> Rows:
    from codesign.search import SAMPLERS

    return [(name, SAMPLERS.describe(name)) for name in SAMPLERS]


def _backends(hw_dirs: list[Path]) -> Rows:
    from codesign.search import BACKENDS

    return [(name, BACKENDS.describe(name)) for name in BACKENDS]


def _estimators(hw_dirs: list[Path]) -> Rows:
    from codesign.quant import ESTIMATORS

    return [(name, ESTIMATORS.describe(name)) for name in ESTIMATORS]


def _noises(hw_dirs: list[Path]) -> Rows:
    from codesign.quant import NOISES

    return [(name, NOISES.describe(name)) for name in NOISES]


def hw_rows(hw_dirs: list[Path]) -> Rows:
    """Every cost model with its description, and where it came from unless shipped."""
    import hw_models

    return [
        (name, description + ("" if source.startswith("shipped") else f"  [{source}]"))
        for name, description, source in hw_models.list_cost_models(hw_dirs)
    ]


KINDS: dict[str, tuple[Callable[[list[Path]], Rows], str]] = {
    "models": (_models, "architectures (`model:` in a space file, `--model`)"),
    "datasets": (_datasets, "datasets (`dataset:` in a space file)"),
    "spaces": (_spaces, "shipped search spaces (`--space`)"),
    "samplers": (_samplers, "Optuna samplers (`--sampler`)"),
    "backends": (_backends, "search backends (`--backend`)"),
    "estimators": (_estimators, "quantizer estimators (`estimator:` in a space file)"),
    "noises": (_noises, "ANA noise shapes (`anneal: noise:` in a space file)"),
    "hw": (hw_rows, "cost models (`--hw`)"),
}


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "list",
        help="list models, datasets, spaces, samplers, backends, estimators, noises or "
        "cost models, one line each",
        description="What can be named on the command line or in a space file, one line "
        "each. Without KIND, every kind under a heading.",
    )
    parser.add_argument("kind", nargs="?", choices=list(KINDS), metavar="KIND",
                        help=f"one of: {', '.join(KINDS)} (default: all of them)")
    parser.add_argument("--hw-dir", action="append", type=Path, default=[], metavar="DIR",
                        help="extra folder of YAML accelerators (repeatable)")
    parser.set_defaults(func=run)


def print_rows(rows: Rows, indent: str = "") -> None:
    """`name  description`, names padded to one column."""
    width = max((len(name) for name, _ in rows), default=0)
    for name, description in rows:
        print(f"{indent}{name:<{width}}  {description}".rstrip())


def run(args: argparse.Namespace) -> int:
    if args.kind is not None:
        print_rows(KINDS[args.kind][0](args.hw_dir))
        return 0
    for number, (kind, (rows, what)) in enumerate(KINDS.items()):
        if number:
            print()
        print(f"{kind}: {what}")
        print_rows(rows(args.hw_dir), indent="  ")
    return 0
