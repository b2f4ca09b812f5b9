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
    profile = actions.add_parser(
        "profile", help="measure this machine's per-layer latency and write a cost model",
        description="Time each distinct layer of the space's network (or --config's) at "
        "every precision the runtime runs natively (int8, float) and write a YAML "
        "accelerator for --hw.")
    profile.add_argument("--out", type=Path, required=True, help="YAML file to write")
    validate = actions.add_parser(
        "validate", help="rank cost models against whole-network measurements here",
        description="Measure N random configurations of the space on this machine (whole "
        "network and per-layer sum) and compare each model's prediction: Kendall tau and "
        "mean relative error.")
    validate.add_argument("--hw", required=True,
                          help="cost models (or model.metric columns), comma-separated")
    validate.add_argument("--against", required=True,
                          help="the device file written by `codesign hw profile`")
    validate.add_argument("--configs", type=int, default=50, help="random configurations")
    validate.add_argument("--seed", type=int, default=0, help="seed of the random configurations")
    validate.add_argument("--json", action="store_true", help="print one JSON object")
    for sub in (profile, validate):
        sub.add_argument("--space", default="digits_cnn", help="search space name or file")
        sub.add_argument("--runtime", default="onnxruntime", help="runtime to measure with")
        sub.add_argument("--threads", type=int, default=1, help="runtime threads")
    profile.add_argument("--config", type=Path, help="trial config JSON (its architecture)")
    for sub in (listing, show, profile, validate):
        sub.add_argument("--hw-dir", action="append", type=Path, default=[], metavar="DIR",
                         help="extra folder of YAML accelerators (repeatable)")
        sub.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import hw_models

    if args.hw_action == "profile":
        return _profile(args)
    if args.hw_action == "validate":
        return _validate(args)
    if args.hw_action == "list":
        from codesign.commands.listing import hw_rows, print_rows

        print_rows(hw_rows(args.hw_dir))
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


def _profile(args: argparse.Namespace) -> int:
    from codesign.config import TrialConfig
    from codesign.network import network_layers
    from codesign.profile import profile_device
    from codesign.space import load_space

    if args.config is not None:
        cfg = TrialConfig.from_json_file(args.config)
        label = f"{cfg.model} from {args.config}"
    else:
        space = load_space(args.space)
        cfg = space.fixed_config()
        label = f"{space.model} of space {space.name}"
    layers = network_layers(cfg)
    print(f"profiling {label}, input {','.join(map(str, layers.input_shape))}", flush=True)
    spec = profile_device(layers, args.out, label, args.runtime, args.threads)
    print(f"wrote {args.out}: use it with --hw {args.out} (model name '{spec['name']}')")
    return 0


def _validate(args: argparse.Namespace) -> int:
    import json

    import hw_models
    from codesign.profile import validate_models
    from codesign.space import load_space

    hw_models.load_plugins(args.hw_dir)
    space = load_space(args.space)
    result = validate_models(space, hw_models.split_hw_names(args.hw), args.against,
                             args.configs, args.seed, args.threads)
    if args.json:
        print(json.dumps(result))
        return 0
    print(f"{result['model']}, {result['configs']} random configurations: measured whole "
          f"network {result['measured_mean_s'] * 1e3:.3f} ms on average; per-layer sum "
          f"{result['per_layer_sum_mean_s'] * 1e3:.3f} ms (mean relative error "
          f"{result['per_layer_sum_relative_error']:.1%}, Kendall tau "
          f"{result['per_layer_sum_kendall_tau']:.2f})")
    print("| model | metric | Kendall tau vs measured | mean relative error |")
    print("|---|---|---|---|")
    for row in result["models"]:
        error = row["mean_relative_error"]
        print(f"| {row['model']} | {row['metric']} | {row['kendall_tau']:.2f} | "
              f"{'-' if error != error else f'{error:.1%}'} |")
    return 0
