"""Kendall tau and mean relative error of more cost models against the whole-network
latencies an earlier `codesign hw validate` run printed, without measuring again.

    python scripts/validate_more_models.py SPACE VALIDATE_OUTPUT MODEL[,MODEL...] [--seed 0]

The configurations are redrawn with `hw validate`'s seed (same space, same count, same
order), so each row is what the run would have printed for that model. Prints table rows.
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402

from codesign.network import network_layers  # noqa: E402
from codesign.profile._validate import kendall_tau, random_configs  # noqa: E402
from codesign.space import load_space  # noqa: E402
from hw_models import score_configs  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("space")
    parser.add_argument("output", type=Path, help="what `codesign hw validate` printed")
    parser.add_argument("models")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    text = args.output.read_text()
    measured = np.array([float(ms) * 1e-3
                         for ms in re.findall(r"\] whole network ([0-9.]+) ms", text)])
    cfgs = random_configs(load_space(args.space), len(measured), args.seed)
    layers = network_layers(cfgs[0])
    for name in args.models.split(","):
        predicted = score_configs(cfgs, [name], layers)[name]["latency_s"]
        error = float(np.mean(np.abs(predicted - measured) / measured))
        print(f"| {name} | latency_s | {kendall_tau(predicted, measured):.2f} | {error:.1%} |")


if __name__ == "__main__":
    main()
