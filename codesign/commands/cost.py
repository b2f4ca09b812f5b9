"""`codesign cost`: per-layer costs and totals of one model at given bits, under cost models."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from codesign.errors import CodesignError

DEFAULT_CLASSES = 10
# Per-layer columns shown for each cost model, when it reports them.
_HEADLINE = ("bops", "latency_cycles", "energy_pj")


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "cost",
        help="hardware costs of a model at given bits (per layer and totals)",
        description="Cost one model under one or more cost models: all conv/linear layers at "
        "--w-bits/--a-bits, or per-layer bits from a trial config JSON (--config).",
    )
    parser.add_argument("--model", help="registered model or path/to/file.py:function "
                        "(default: the config's model)")
    parser.add_argument("--input", help="input shape, batch first: N,C,H,W, N,C,L or N,F "
                        "(default: one sample of the dataset's, else the model's natural size)")
    parser.add_argument("--dataset", help="dataset whose classes / image size to use")
    parser.add_argument("--num-classes", type=int,
                        help=f"output classes (default: the dataset's, else {DEFAULT_CLASSES})")
    parser.add_argument("--w-bits", type=int, help="weight bits of every layer (default 8)")
    parser.add_argument("--a-bits", type=int, help="activation bits of every layer (default 8)")
    parser.add_argument("--config", type=Path, help="trial config JSON giving per-layer bits")
    parser.add_argument("--hw", default="generic", help="cost models, comma-separated")
    parser.add_argument("--hw-dir", action="append", type=Path, default=[], metavar="DIR",
                        help="extra folder of YAML accelerators (repeatable)")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.set_defaults(func=run)


def _input_shape(text: str | None) -> tuple[int, ...] | None:
    if text is None:
        return None
    try:
        return tuple(int(part) for part in text.split(","))
    except ValueError:
        raise CodesignError(
            f"--input {text!r} must be comma-separated integers, batch first (N,C,H,W)"
        ) from None


def _layers_and_bits(args: argparse.Namespace):
    import hw_models
    from codesign.config import TrialConfig
    from codesign.network import model_layers, network_layers

    shape = _input_shape(args.input)
    if args.config is not None:
        if args.w_bits is not None or args.a_bits is not None:
            raise CodesignError("--config already gives every layer's bits; drop --w-bits/--a-bits")
        cfg = TrialConfig.from_json_file(args.config)
        if args.model and args.model != cfg.model:
            raise CodesignError(f"--model {args.model} differs from the config's '{cfg.model}'")
        layers = network_layers(cfg, shape)
        return cfg.model, layers, hw_models.BitMatrix.from_layer_quants([cfg.layers], layers.names)
    if not args.model:
        raise CodesignError("name a model with --model (or give --config)")
    classes, sample = args.num_classes or DEFAULT_CLASSES, None
    if args.dataset:
        from codesign.data import dataset_info

        info = dataset_info(args.dataset)
        classes = args.num_classes or info.num_classes
        sample = info.input_shape
    if shape is not None:
        sample = shape[1:]
    elif sample is None:
        sample = _natural_input(args.model)
    layers = model_layers(args.model, classes, sample, batch_shape=shape)
    n = len(layers.layers)
    w_bits = 8 if args.w_bits is None else args.w_bits
    a_bits = 8 if args.a_bits is None else args.a_bits
    return args.model, layers, hw_models.BitMatrix.from_bits([[w_bits] * n], [[a_bits] * n])


def _natural_input(model: str) -> tuple[int, ...]:
    """The input a registered model was made for; a model of your own needs --input."""
    from codesign.models import MODELS

    if model not in MODELS:
        raise CodesignError(
            f"model '{model}' has no natural input size; give --input N,... or --dataset"
        )
    channels, size = MODELS.get(model).natural_input
    return (channels, size, size)


def run(args: argparse.Namespace) -> int:
    import hw_models

    names = [n.strip() for n in args.hw.split(",") if n.strip()]
    if not names:
        raise CodesignError("--hw is empty; name at least one cost model, e.g. generic")
    models = [hw_models.get_cost_model(name, args.hw_dir) for name in names]
    names = [model.name for model in models]
    model_name, layers, bits = _layers_and_bits(args)
    rows = hw_models.layer_rows(layers, bits, names)
    totals = {
        name: {metric: float(values[0]) for metric, values in metrics.items()}
        for name, metrics in hw_models.score_bits(layers, bits, names).items()
    }
    if args.json:
        print(json.dumps({"model": model_name, "input_shape": list(layers.input_shape),
                          "layers": rows, "totals": totals}))
        return 0
    print(f"{model_name}, input {','.join(map(str, layers.input_shape))}")
    _print_table(rows, models)
    print()
    for name, metrics in totals.items():
        print(f"{name}: " + ", ".join(f"{k}={_fmt(v)}" for k, v in metrics.items()))
    return 0


def _fmt(value: float) -> str:
    return f"{value:.6g}"


def _precision(bits: int, fmt: str) -> str:
    return {"int": str(bits), "binary": "bin", "ternary": "ter", "pow2": f"{bits}pow2",
            "float": "float"}[fmt]


def _print_table(rows: list[dict], models: list) -> None:
    columns = ["layer", "kind", "macs", "params", "w_bits", "a_bits"]
    extra = [f"{m.name}.{metric}" for m in models for metric in _HEADLINE if metric in m.metrics]
    table = [columns + extra]
    for row in rows:
        table.append([
            row["layer"], row["kind"], _fmt(row["macs"]), _fmt(row["params"]),
            _precision(row["w_bits"], row["w_format"]), _precision(row["a_bits"], row["a_format"]),
            *(_fmt(row[key]) for key in extra),
        ])
    widths = [max(len(str(r[i])) for r in table) for i in range(len(table[0]))]
    for r in table:
        print("  ".join(str(v).ljust(w) if i < 2 else str(v).rjust(w)
                        for i, (v, w) in enumerate(zip(r, widths, strict=True))))
