"""The `codesign` command: one sub-command per module in `codesign.commands`.

Each command module exposes `register(subparsers)`, which adds its parser and sets
`func=run` on it. Errors a user can cause (`CodesignError`) become one line and exit code 2;
faults of the machine (a full disk, a read-only run directory) and runs that stopped short
one line and exit code 1 (`codesign.faults`).
"""

from __future__ import annotations

import argparse
import importlib
import sys
from typing import NoReturn

from codesign.errors import CodesignError
from codesign.faults import FAULT_EXIT_CODE, Incomplete, fault_line

# Modules under codesign.commands, in the order their commands appear in --help.
COMMAND_MODULES: tuple[str, ...] = (
    "search", "worker", "pareto", "export", "train", "hw", "cost", "capacity",
)


class _Parser(argparse.ArgumentParser):
    """A mistyped option is a user mistake like any other: one line, exit code 2."""

    def error(self, message: str) -> NoReturn:
        raise CodesignError(f"{self.prog}: {message}; see {self.prog} --help")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="codesign",
        description="Hardware-aware search of mixed-precision networks trained with ANA.",
    )
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMAND_MODULES:
        importlib.import_module(f"codesign.commands.{name}").register(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
        if not getattr(args, "func", None):
            parser.print_help()
            return 2
        return int(args.func(args) or 0)
    except CodesignError as err:
        print(f"codesign: error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("codesign: interrupted; finished trials are kept in the study", file=sys.stderr)
        return 130
    except Incomplete as err:
        print(f"codesign: error: {err}", file=sys.stderr)
        return FAULT_EXIT_CODE
    except Exception as err:
        line = fault_line(err)
        if line is None:
            raise
        print(f"codesign: error: {line}", file=sys.stderr)
        return FAULT_EXIT_CODE


if __name__ == "__main__":
    sys.exit(main())
