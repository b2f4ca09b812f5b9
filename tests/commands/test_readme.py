"""The README's commands, read in order as a new user runs them after the quick start: each
parses, no two different searches share a run directory, and every run directory or file a
command reads was made by an earlier command or is one the README asks the reader to save."""

from __future__ import annotations

import argparse
import re
import shlex
from pathlib import Path

import pytest

from codesign.cli import build_parser
from codesign.search import default_run_dir, parse_hw
from codesign.space import shipped_spaces
from hw_models import COST_MODELS

README = Path(__file__).resolve().parents[2] / "README.md"


def readme_commands(text: str) -> list[list[str]]:
    """The `codesign ...` commands of the README's bash blocks, in order, as argv lists
    (comments, `VAR=value` prefixes and other commands of a `&&` chain dropped)."""
    commands = []
    for block in re.findall(r"```bash\n(.*?)```", text, flags=re.S):
        for line in block.splitlines():
            for part in line.split("&&"):
                words = shlex.split(part, comments=True)
                while words and re.fullmatch(r"\w+=\S*", words[0]):
                    words.pop(0)
                if words and words[0] == "codesign":
                    commands.append(words[1:])
    return commands


def saved_files(text: str) -> set[str]:
    """Files the README asks the reader to write ("Save this as `x`", or "`x`:" above a block)."""
    named = re.findall(r"Save this as `([^`]+)`", text)
    named += re.findall(r"`([\w.-]+\.\w+)`:\s*\n\s*```", text)
    return set(named)


TEXT = README.read_text()
COMMANDS = readme_commands(TEXT)
PARSER = build_parser()


def parse(argv: list[str]) -> argparse.Namespace:
    try:
        return PARSER.parse_args(argv)
    except SystemExit:
        pytest.fail(f"README command does not parse: codesign {shlex.join(argv)}")


def test_the_readme_has_the_commands_this_test_reads():
    assert ["search"] in COMMANDS  # the quick start
    assert {argv[0] for argv in COMMANDS} >= {"search", "pareto", "export", "train", "cost", "hw"}
    assert {"my_npu.yaml", "model.py", "data.py", "space.yaml"} <= saved_files(TEXT)


@pytest.mark.parametrize("argv", COMMANDS, ids=shlex.join)
def test_every_readme_command_parses(argv):
    assert parse(argv).func is not None


def _run_dir(args: argparse.Namespace) -> Path:
    if args.out is not None:
        return Path(args.out)
    assert args.space in shipped_spaces(), (
        f"search of {args.space} without --out: give it a run directory of its own"
    )
    return default_run_dir(args.space, parse_hw(args.hw))


def _names_a_file_the_reader_has(hw_item: str, files: set[str]) -> bool:
    if hw_item.endswith((".yaml", ".yml")):
        return Path(hw_item).name in files
    model = hw_item if hw_item.startswith("zigzag:") else hw_item.split(".")[0]
    return model in COST_MODELS or f"{model}.yaml" in files


def test_readme_commands_run_in_sequence_without_colliding():
    """Walks the commands in order, tracking run directories and files as they appear."""
    files = saved_files(TEXT)
    searches: dict[Path, list[str]] = {}
    for argv in COMMANDS:
        args = parse(argv)
        shown = f"codesign {shlex.join(argv)}"
        for item in parse_hw(getattr(args, "hw", None)):
            assert _names_a_file_the_reader_has(item, files), f"{shown}: unknown --hw {item}"
        config = getattr(args, "config", None)
        if config is not None:
            assert str(config) in files, f"{shown}: nothing earlier writes {config}"
        space = getattr(args, "space", None)
        if space is not None and space not in shipped_spaces():
            assert Path(space).name in files, f"{shown}: the README never writes {space}"
        if args.command == "search":
            run_dir = _run_dir(args)
            earlier = searches.setdefault(run_dir, argv)
            assert earlier == argv, (
                f"{shown} reuses {run_dir}, the run directory of `codesign "
                f"{shlex.join(earlier)}`; it would be refused"
            )
        elif args.command in ("pareto", "export"):
            assert args.out in searches, f"{shown}: no earlier search wrote {args.out}"
            if args.command == "export" and args.trial is not None:
                dest = args.dest or args.out / "export" / f"trial-{args.trial}"
                files.add(str(dest / "config.json"))
