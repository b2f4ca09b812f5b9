"""`codesign hw`: list the cost models (shipped, YAML plug-ins, entry points) and show one."""

from __future__ import annotations

import argparse
import inspect
from pathlib import Path


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "hw",
        help="list cost models / accelerators, or show one",
        description="Cost models: the generic counts, shipped accelerators, YAML tables found "
        "on --hw-dir / $CODESIGN_HW_PATH and classes under the entry-point group "
        "codesign.hw_models.",
    )
    actions = parser.add_subparsers(dest="hw_action", metavar="ACTION", required=True)
    listing = actions.add_parser("list", help="names and one-line descriptions")
    show = actions.add_parser("show", help="assumptions, precisions and metrics of one model")
    show.add_argument("name", help="cost model name, or path of a YAML accelerator")
    for sub in (listing, show):
        sub.add_argument("--hw-dir", action="append", type=Path, default=[], metavar="DIR",
                         help="extra folder of YAML accelerators (repeatable)")
        sub.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import hw_models

    if args.hw_action == "list":
        rows = hw_models.list_cost_models(args.hw_dir)
        width = max(len(name) for name, _, _ in rows)
        for name, description, source in rows:
            origin = "" if source.startswith("shipped") else f"  [{source}]"
            print(f"{name:<{width}}  {description}{origin}")
        return 0
    hw_models.load_plugins(args.hw_dir)
    model = hw_models.get_cost_model(args.name, args.hw_dir)
    print(f"{model.name} ({hw_models.source_of(model.name)})")
    doc = getattr(model, "description", "") or inspect.cleandoc(type(model).__doc__ or "")
    print()
    print(doc)
    print()
    for key, value in model.details().items():
        if isinstance(value, list):
            print(f"{key}:")
            for item in value:
                print(f"  {item}")
        else:
            print(f"{key}: {value}")
    print(f"metrics: {', '.join(model.metrics)}")
    return 0
