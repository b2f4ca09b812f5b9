"""One registry pattern for models, datasets, estimators, noises and cost models.

A decorator fills a dict; `names()` and `get()` read it. Tests parametrise over `names()` so a
new entry is tested the day it is added.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Generic, TypeVar

from codesign.errors import CodesignError

T = TypeVar("T")


class Registry(Generic[T]):
    """Named entries of one kind, each with a one-line description."""

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self._entries: dict[str, T] = {}
        self._descriptions: dict[str, str] = {}

    def register(self, name: str, description: str | None = None) -> Callable[[T], T]:
        """Decorator: `@REGISTRY.register("name")` above a class or factory function."""

        def add(entry: T) -> T:
            self.add(name, entry, description)
            return entry

        return add

    def add(self, name: str, entry: T, description: str | None = None) -> None:
        if name in self._entries:
            raise ValueError(f"{self.kind} '{name}' is registered twice")
        self._entries[name] = entry
        doc = description or (getattr(entry, "__doc__", None) or "").strip()
        self._descriptions[name] = doc.splitlines()[0] if doc else ""

    def get(self, name: str) -> T:
        try:
            return self._entries[name]
        except KeyError:
            choices = ", ".join(sorted(self._entries)) or "(none registered)"
            raise CodesignError(
                f"unknown {self.kind} '{name}'; choose one of: {choices}"
            ) from None

    def describe(self, name: str) -> str:
        self.get(name)
        return self._descriptions[name]

    def names(self) -> list[str]:
        return sorted(self._entries)

    def __contains__(self, name: object) -> bool:
        return name in self._entries

    def __iter__(self) -> Iterator[str]:
        return iter(self.names())

    def __len__(self) -> int:
        return len(self._entries)
