"""The `codesign` command: one sub-command per module in `codesign.commands`.

Each command module exposes `register(subparsers)`, which adds its parser and sets
`func=run` on it. Errors a user can cause (`CodesignError`) become one line and exit code 2;
faults of the machine (a full disk, a read-only run directory) and runs that stopped short
one line and exit code 1 (`codesign.faults`). Every parser, sub-commands included, is a
`CodesignParser`, so `--help` shows each option's default.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from typing import Any, NoReturn

from codesign import __version__
from codesign.errors import CodesignError
from codesign.faults import FAULT_EXIT_CODE, Incomplete, fault_line

# Modules under codesign.commands, in the order their commands appear in --help.
COMMAND_MODULES: tuple[str, ...] = (
    "search", "worker", "pareto", "export", "train", "hw", "cost", "capacity", "listing",
)


class DefaultsHelpFormatter(argparse.HelpFormatter):
    """Appends "(default: X)" to an option's help unless the help already says its default
    or there is none to say (a flag, or an option that is off when not given)."""

    def _get_help_string(self, action: argparse.Action) -> str | None:
        text = action.help or ""
        default = action.default
        if (
            "default" in text
            or action.nargs == 0
            or not action.option_strings
            or default is None
            or default is argparse.SUPPRESS
            or default == []
        ):
            return text
        return f"{text} (default: %(default)s)"


class CodesignParser(argparse.ArgumentParser):
    """An argument parser whose help shows defaults; sub-parsers inherit the class."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("formatter_class", DefaultsHelpFormatter)
        super().__init__(*args, **kwargs)

    def error(self, message: str) -> NoReturn:
        """A mistyped option is a user mistake like any other: one line, exit code 2."""
        raise CodesignError(f"{self.prog}: {message}; see {self.prog} --help")


def build_parser() -> argparse.ArgumentParser:
    parser = CodesignParser(
        prog="codesign",
        description="Hardware-aware search of mixed-precision networks trained with ANA.",
    )
    parser.add_argument("--version", action="version", version=f"codesign {__version__}",
                        help="print the version and exit")
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
