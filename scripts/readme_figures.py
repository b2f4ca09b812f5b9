"""Regenerate the README's figures from the default study.

    nice python scripts/readme_figures.py [--out runs/digits_cnn] [--skip-zigzag]

Runs the quick start's `codesign search` (the default space, 20 trials; a run directory that
already holds the study is resumed, so nothing is retrained), re-scores it with
`codesign pareto --hw zigzag:tpu_like,zigzag:dimc` (into its own folder), and copies into
docs/figures/: `digits_front.png` (the front, pareto.png), `digits_layers.png` (the per-layer
figure of the front, layers.png) and `digits_zigzag_front.png` (the ZigZag re-scoring).
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
FIGURES = ROOT / "docs" / "figures"
ZIGZAG = "zigzag:tpu_like,zigzag:dimc"


def codesign(*args: str) -> None:
    """Run the `codesign` command of this checkout, as a user would."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(
        [str(ROOT), *filter(None, [os.environ.get("PYTHONPATH")])])}
    print("$ codesign " + " ".join(args), flush=True)
    subprocess.run([sys.executable, "-m", "codesign", *args], check=True, env=env)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "runs" / "digits_cnn",
                        help="run directory of the default study (default: runs/digits_cnn)")
    parser.add_argument("--skip-zigzag", action="store_true",
                        help="leave digits_zigzag_front.png as it is")
    args = parser.parse_args()
    codesign("search", "--out", str(args.out))
    FIGURES.mkdir(parents=True, exist_ok=True)
    copies = {"digits_front.png": args.out / "pareto.png",
              "digits_layers.png": args.out / "layers.png"}
    if not args.skip_zigzag:
        rescored = args.out / "rescored-zigzag-tpu_like+zigzag-dimc"
        codesign("pareto", "--out", str(args.out), "--hw", ZIGZAG, "--report-dir", str(rescored))
        copies["digits_zigzag_front.png"] = rescored / "pareto.png"
    for name, source in copies.items():
        shutil.copyfile(source, FIGURES / name)
        print(f"{FIGURES / name} <- {source}")


if __name__ == "__main__":
    main()
