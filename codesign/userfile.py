"""A user's files and folders: every way one can be unreadable or unusable is one line.

A path that is missing or names a folder, bytes that are not UTF-8, malformed syntax, nesting
too deep for the parser, or YAML aliases that expand past `MAX_NODES` nodes (a "billion laughs"
file is a few hundred bytes and expands to 10^9 nodes) are each refused with a `CodesignError`
naming the file. YAML is read with PyYAML's safe loader only: plain data, never an object.
A folder a command writes into (`--out`, `--dest`) must not be, or lie below, a file.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from codesign.errors import CodesignError

# Nodes a YAML document may hold once its aliases are expanded: a space or accelerator file
# holds hundreds; a bomb that is refused expands to millions and more.
MAX_NODES = 100_000


def read_text(path: str | Path, what: str) -> str:
    """The UTF-8 text of the file `what` (e.g. "search space") at `path`."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise CodesignError(f"{what} {path} does not exist; check the path") from None
    except IsADirectoryError:
        raise CodesignError(f"{what} {path} is a folder; give the path of a file") from None
    except OSError as err:
        raise CodesignError(f"{what} {path} cannot be read ({err.strerror}); check the path "
                            "and its permissions") from None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as err:
        raise CodesignError(
            f"{what} {path} is not UTF-8 text (byte 0x{data[err.start]:02x} at offset "
            f"{err.start}); save it as UTF-8"
        ) from None


def load_yaml(path: str | Path, what: str) -> Any:
    """The plain data of the YAML file `what` at `path`."""
    return parse_yaml(read_text(path, what), f"{what} {path}")


def parse_yaml(text: str, where: str) -> Any:
    """The plain data of a YAML document; `where` names it in errors."""
    import yaml

    loader = yaml.SafeLoader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return None
        _check_expansion(node, where)
        return loader.construct_document(node)
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        at = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(err, "problem", None) or str(err)
        raise CodesignError(f"{where} is not valid YAML: {problem}{at}; fix the YAML "
                            "syntax") from None
    except CodesignError:
        raise
    except RecursionError:
        raise CodesignError(f"{where} is nested too deeply to read; flatten it") from None
    except ValueError as err:  # e.g. an integer of more digits than Python converts
        raise CodesignError(f"{where} is not valid YAML: {err}") from None
    finally:
        loader.dispose()


def load_json(path: str | Path, what: str) -> Any:
    """The data of the JSON file `what` at `path`."""
    text = read_text(path, what)
    try:
        return json.loads(text)
    except RecursionError:
        raise CodesignError(f"{what} {path} is nested too deeply to read; flatten it") from None
    except ValueError as err:  # JSONDecodeError, or an integer too long to convert
        raise CodesignError(f"{what} {path} is not valid JSON: {err}") from None


def check_output_folder(folder: str | Path, flag: str) -> None:
    """Refuse `folder` (given as `flag`) when a file stands at or above it, before anything
    is written there."""
    folder = Path(folder)
    for path in (folder, *folder.absolute().parents):
        if path.exists():
            if not path.is_dir():
                raise CodesignError(f"{flag} {folder}: {path} is a file, not a folder; give a "
                                    "folder to write into")
            return


def _check_expansion(root: Any, where: str) -> None:
    """Refuse a document whose aliases expand past `MAX_NODES` nodes, or refer to themselves.

    Aliases share their anchor's node, so the expanded size is counted once per node."""
    import yaml

    sizes: dict[int, int] = {}
    open_nodes: set[int] = set()

    def size(node: yaml.Node) -> int:
        key = id(node)
        if key in sizes:
            return sizes[key]
        if key in open_nodes:
            raise CodesignError(f"{where}: an alias refers to a node that holds it; "
                                "aliases must not make a cycle")
        open_nodes.add(key)
        if isinstance(node, yaml.SequenceNode):
            children = list(node.value)
        elif isinstance(node, yaml.MappingNode):
            children = [part for pair in node.value for part in pair]
        else:
            children = []
        total = 1 + sum(size(child) for child in children)
        open_nodes.discard(key)
        if total > MAX_NODES:
            raise CodesignError(
                f"{where} holds more than {MAX_NODES} values once its aliases are "
                "expanded; write the values out instead of nesting aliases"
            )
        sizes[key] = total
        return total

    size(root)
