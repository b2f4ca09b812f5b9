"""`codesign capacity`: the 2sED of one configuration, measured before training."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from codesign.config import TrialConfig


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "capacity",
        help="two-scale effective dimension (2sED) of a configuration, before training",
        description="Measure the 2sED and its layer-wise lower bound of a trial's "
        "ANA-smoothed network over a few initialisations (docs/capacity.md).",
    )
    parser.add_argument("--space", default="digits_cnn", help="space name or YAML file")
    parser.add_argument("--config", type=Path, help="trial configuration JSON")
    parser.add_argument("--samples", type=int, default=32, help="input samples for the Fisher")
    parser.add_argument("--draws", type=int, default=4, help="parameter draws (initialisations)")
    parser.add_argument("--zeta", type=float, default=0.5, help="2sED mixing zeta in [0, 1)")
    parser.add_argument("--eps", type=float, help="covering radius in (0, 1); default from n")
    parser.add_argument("--seed", type=int, default=0, help="seed of inputs and draws")
    parser.add_argument("--device", help="auto, cpu, cuda or cuda:N (default: the config's "
                        "train.device, else auto)")
    parser.add_argument("--json", action="store_true", help="print one JSON result line")
    parser.set_defaults(func=run)


def _trial_config(args: argparse.Namespace) -> TrialConfig:
    if args.config is not None:
        return TrialConfig.from_json_file(args.config)
    from codesign.space import load_space

    return load_space(args.space).fixed_config()


def run(args: argparse.Namespace) -> int:
    from codesign.capacity import trial_capacity

    cfg = _trial_config(args)
    result = trial_capacity(
        cfg, samples=args.samples, seed=args.seed, draws=args.draws, zeta=args.zeta,
        eps=args.eps, device=args.device,
    )
    if args.json:
        print(json.dumps(result.to_dict()))
        return 0
    print(f"{'layer':<24} {'params':>9} {'share of lower 2sED':>20}")
    for layer in result.layers:
        print(f"{layer.name:<24} {layer.params:>9d} {layer.contribution:>20.2f}")
    print(
        f"2sED {result.two_scale_ed:.2f}, lower 2sED {result.lower_two_scale_ed:.2f}, "
        f"ED {result.effective_dimension:.2f} of d = {result.params} parameters "
        f"(zeta {result.zeta}, eps {result.eps:.4g}, kappa {result.kappa:.4g}; "
        f"{result.draws} draws x {result.samples} samples, {result.seconds:.1f} s)"
    )
    print(
        f"lower 2sED = zeta d {result.zeta * result.params:.2f} + Fisher term "
        f"{result.fisher_term:.2f}; the Fisher's rank is at most {result.rank_cap}, which "
        f"caps the Fisher term at {result.fisher_cap:.2f}"
    )
    return 0
