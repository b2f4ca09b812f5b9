"""References to user code: how `model:` and `dataset:` name a builder outside codesign.

A reference is, in order of precedence: a registered name; a name an installed package
declares under the entry-point group `codesign.models` / `codesign.datasets`; a file
`path/to/file.py:function` (relative to the space file, made absolute when the space is read,
so every process that runs a trial loads the very same file); or `package.module:function`.
A file is identified by its SHA-256, which a study records so that a resume after the file
changed is refused. Files are imported by path (never unpickled), once per process.
"""

from __future__ import annotations

import hashlib
import importlib
import importlib.util
import sys
from collections.abc import Callable, Container
from dataclasses import dataclass
from functools import cache
from importlib import metadata
from pathlib import Path
from typing import Any

from codesign.errors import CodesignError

MODEL_GROUP = "codesign.models"
DATASET_GROUP = "codesign.datasets"


@dataclass(frozen=True)
class Reference:
    """A parsed reference: `kind` is file, module or entry_point; `path` only for files."""

    text: str
    kind: str
    target: str
    function: str
    path: Path | None = None

    def file_hash(self) -> str | None:
        """SHA-256 of the referenced file (None for modules and entry points)."""
        if self.path is None:
            return None
        try:
            return hashlib.sha256(self.path.read_bytes()).hexdigest()
        except OSError:
            raise CodesignError(
                f"{self.text}: file {self.path} does not exist; check the path in the space "
                "file (relative to the space file)"
            ) from None


def is_reference(text: str) -> bool:
    """True for `file.py:function` and `package.module:function` (a colon names a function)."""
    return ":" in text


def canonical(text: str, base_dir: Path | None) -> str:
    """The reference with a relative file path made absolute against `base_dir`; names and
    module references unchanged."""
    if not is_reference(text):
        return text
    target, _, function = text.rpartition(":")
    if target.endswith(".py"):
        path = Path(target).expanduser()
        if not path.is_absolute() and base_dir is not None:
            path = base_dir / path
        return f"{path.resolve()}:{function}"
    return text


def parse(text: str) -> Reference:
    """Split `target:function` and tell a file from a module; names are entry points."""
    if not is_reference(text):
        return Reference(text=text, kind="entry_point", target=text, function="")
    target, _, function = text.rpartition(":")
    if not target or not function.isidentifier():
        raise CodesignError(
            f"reference '{text}' must read path/to/file.py:function or package.module:function"
        )
    if target.endswith(".py"):
        return Reference(text=text, kind="file", target=target, function=function,
                         path=Path(target))
    return Reference(text=text, kind="module", target=target, function=function)


def load_function(text: str, group: str, what: str) -> Callable[..., Any]:
    """The callable a reference (or an entry-point name of `group`) names; one line naming the
    reference and the fix when it cannot be found."""
    ref = parse(text)
    if ref.kind == "entry_point":
        found = [ep for ep in metadata.entry_points(group=group) if ep.name == text]
        if not found:
            raise CodesignError(
                f"unknown {what} '{text}': not registered and no installed package declares "
                f"it under the entry-point group '{group}'; use a registered name, "
                "path/to/file.py:function or package.module:function"
            )
        function = found[0].load()
    elif ref.kind == "file":
        function = getattr(_import_file(str(ref.path)), ref.function, None)
    else:
        try:
            module = importlib.import_module(ref.target)
        except ImportError as err:
            raise CodesignError(
                f"{what} '{text}': module '{ref.target}' cannot be imported ({err}); install "
                "it or put it on PYTHONPATH"
            ) from None
        function = getattr(module, ref.function, None)
    if function is None or not callable(function):
        where = ref.path if ref.kind == "file" else ref.target
        raise CodesignError(
            f"{what} '{text}': {where} has no function '{ref.function}'; define it or fix "
            "the name after the colon"
        )
    return function


def names_user_code(name: str, registry: Container[str], group: str) -> bool:
    """True when `name` is not registered but a reference or an entry point of `group`."""
    if name in registry:
        return False
    return is_reference(name) or name in entry_point_names(group)


def entry_point_names(group: str) -> list[str]:
    """Names installed packages declare under `group`."""
    return sorted({ep.name for ep in metadata.entry_points(group=group)})


@cache
def _import_file(path: str) -> Any:
    """Import a Python file by path as a module of its own (once per process)."""
    file = Path(path)
    if not file.is_file():
        raise CodesignError(
            f"file {file} does not exist; check the path in the space file (relative to the "
            "space file)"
        )
    name = "codesign_user_" + hashlib.sha256(str(file).encode()).hexdigest()[:12]
    spec = importlib.util.spec_from_file_location(name, file)
    if spec is None or spec.loader is None:
        raise CodesignError(f"{file} cannot be imported as Python; give a .py file")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    except Exception as err:
        del sys.modules[name]
        raise CodesignError(
            f"{file} fails on import ({type(err).__name__}: {err}); fix the file"
        ) from None
    return module


def file_hashes(*texts: str) -> dict[str, str]:
    """{reference: SHA-256 of its file} for the file references among `texts`."""
    hashes = {}
    for text in texts:
        if is_reference(text):
            digest = parse(text).file_hash()
            if digest is not None:
                hashes[text] = digest
    return hashes


def check_unchanged(recorded: dict[str, str], fix: str) -> None:
    """Refuse to go on when a file a study was made from has changed since."""
    for text, digest in recorded.items():
        now = parse(text).file_hash()
        if now != digest:
            raise CodesignError(
                f"{parse(text).path} changed since the study was made from it (SHA-256 "
                f"{digest[:12]}..., now {now[:12] if now else None}...); restore it, or {fix}"
            )
