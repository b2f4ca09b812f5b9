"""`codesign train`: train one configuration of a search space and report its accuracy."""

from __future__ import annotations

import argparse
import dataclasses
import json
import re
import time
from pathlib import Path

from codesign.config import TrialConfig
from codesign.errors import CodesignError


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "train",
        help="train one trial configuration with ANA and report its hard-quantized accuracy",
        description="Train one configuration: a space's defaults at uniform bits, or a trial "
        "JSON (as written by `codesign export`).",
    )
    parser.add_argument("--space", default="digits_cnn", help="space name or YAML file")
    parser.add_argument("--config", type=Path, help="trial configuration JSON")
    parser.add_argument("--w-bits", type=int, help="weight bits of every quantized layer")
    parser.add_argument("--a-bits", type=int, help="activation bits of every quantized layer")
    parser.add_argument("--epochs", type=int, help="override the training epochs")
    parser.add_argument("--seed", type=int, help="override the training seed")
    parser.add_argument("--device", help="auto, cpu, cuda or cuda:N (default: the config's "
                        "train.device, else auto)")
    parser.add_argument("--out", type=Path, help="checkpoint directory (default runs/train-*)")
    parser.add_argument("--json", action="store_true", help="end with one JSON result line")
    parser.set_defaults(func=run)


def _trial_config(args: argparse.Namespace) -> TrialConfig:
    if args.config is not None:
        if args.w_bits is not None or args.a_bits is not None:
            raise CodesignError("--config already fixes every layer's bits; drop --w-bits/--a-bits")
        cfg = TrialConfig.from_json_file(args.config)
        train = cfg.train
        if args.epochs is not None:
            train = dataclasses.replace(train, epochs=args.epochs)
        if args.seed is not None:
            train = dataclasses.replace(train, seed=args.seed)
        return dataclasses.replace(cfg, train=train)
    from codesign.space import load_space

    return load_space(args.space).fixed_config(
        w_bits=args.w_bits, a_bits=args.a_bits, epochs=args.epochs, seed=args.seed
    )


def run(args: argparse.Namespace) -> int:
    from codesign.device import resolve_device
    from codesign.quant import compile_mode
    from codesign.record import Status
    from codesign.train import ANNEALING_NOTE, clock, train_trial
    from codesign.userfile import check_output_folder

    compile_mode()  # refused before anything is written
    cfg = _trial_config(args)
    device = args.device or cfg.train.device
    resolve_device(device)
    label = re.sub(r"[^\w.-]+", "_", Path(cfg.model).name)  # a reference's file:function
    out = args.out or Path("runs") / f"train-{label}-{time.strftime('%Y%m%d-%H%M%S')}"
    check_output_folder(out, "--out")

    started = time.perf_counter()
    noted = False

    def show(metrics: dict) -> bool:
        nonlocal noted
        if args.json:
            return False
        epoch, epochs = metrics["epoch"], cfg.train.epochs
        elapsed = time.perf_counter() - started
        line = (f"epoch {epoch:3d}/{epochs}  loss {metrics['train_loss']:.4f}  "
                f"val acc (quantized) {metrics['val_accuracy']:.4f}  "
                f"elapsed {clock(elapsed)}")
        if epoch < epochs:
            line += f"  eta {clock(elapsed / epoch * (epochs - epoch))}"
        if metrics["annealing"]:
            line += f"  ({'annealing' if noted else ANNEALING_NOTE})"
            noted = True
        print(line, flush=True)
        return False

    result = train_trial(cfg, out_dir=out, on_epoch=show, device=device)
    if args.json:
        print(json.dumps(result.summary()))
    else:
        print(
            f"{result.status}: val acc {result.val_accuracy}, test acc {result.test_accuracy} "
            f"({result.epochs} epochs, {result.seconds:.1f} s); checkpoint in {out}"
        )
        if result.reason:
            print(f"reason: {result.reason}")
    return 0 if result.status != Status.FAILED else 1
