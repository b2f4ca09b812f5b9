"""The command line as a user meets it: --version, `codesign list`, and help on every option."""

from __future__ import annotations

import argparse
import subprocess
import sys
from collections.abc import Iterator

import pytest

import codesign
from codesign import cli
from codesign.commands.listing import KINDS
from codesign.data import DATASETS
from codesign.models import MODELS
from codesign.quant import ESTIMATORS
from codesign.search import SAMPLERS
from codesign.space import shipped_spaces
from hw_models import COST_MODELS


def test_version_prints_the_package_version():
    result = subprocess.run([sys.executable, "-m", "codesign", "--version"],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == f"codesign {codesign.__version__}"


@pytest.mark.parametrize(("kind", "names"), [
    ("models", MODELS.names()),
    ("datasets", DATASETS.names()),
    ("samplers", SAMPLERS.names()),
    ("estimators", ESTIMATORS.names()),
    ("spaces", shipped_spaces()),
    ("hw", COST_MODELS.names()),
])
def test_list_prints_one_line_per_entry(kind, names, capsys):
    assert cli.main(["list", kind]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert [line.split()[0] for line in lines] == sorted(names)
    assert all(len(line.split(maxsplit=1)) == 2 for line in lines)  # every entry described


def test_list_without_kind_shows_every_kind_under_its_heading(capsys):
    assert cli.main(["list"]) == 0
    out = capsys.readouterr().out
    headings = [line.split(":")[0] for line in out.splitlines() if line and line[0] != " "]
    assert headings == list(KINDS)
    assert "  digits_cnn" in out and "  nsga2" in out


Parser = argparse.ArgumentParser


def _parsers(parser: Parser, path: str) -> Iterator[tuple[str, Parser]]:
    yield path, parser
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                yield from _parsers(sub, f"{path} {name}")


PARSERS = dict(_parsers(cli.build_parser(), "codesign"))


@pytest.mark.parametrize("path", sorted(PARSERS))
def test_every_option_has_help_and_shows_its_default(path):
    parser = PARSERS[path]
    formatter = parser._get_formatter()
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            continue
        name = "/".join(action.option_strings) or action.dest
        assert action.help, f"{path} {name} has no help"
        takes_value = action.nargs != 0 and action.option_strings
        if takes_value and action.default not in (None, []):
            shown = formatter._expand_help(action)
            assert "default" in shown and str(action.default) in shown, (
                f"{path} {name}: help does not show its default {action.default!r}: {shown}"
            )
    parser.format_help()  # every help string formats (no stray % signs)
