"""The options that name an existing study, shared by the commands that read one."""

from __future__ import annotations

import argparse
from pathlib import Path


def add_study_arguments(parser: argparse.ArgumentParser) -> None:
    """`--out DIR` of a search, or `--storage URL --study NAME` for any Optuna storage."""
    parser.add_argument("--out", type=Path, help="run directory of a search")
    parser.add_argument("--storage", help="Optuna storage URL (instead of --out's)")
    parser.add_argument("--study", help="study name (instead of --out's)")
