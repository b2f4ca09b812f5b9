"""Override rules of a space file: layers chosen by name (regex) or position get other fields."""

from __future__ import annotations

import re
from dataclasses import dataclass

from codesign.space._choice import Choice


@dataclass(frozen=True)
class LayerRule:
    """An override: layers whose name fully matches `pattern` (or at `index`) get `fields`.

    A rule that sets bits but no format gives its layers the format those bits imply, so
    `w_bits: 8` means 8 bits even where `layers` offers ternary or binary weights.
    """

    fields: dict[str, Choice]
    pattern: str | None = None
    index: int | None = None

    def selects(self, name: str, position: int, count: int) -> bool:
        if self.index is not None:
            return -count <= self.index < count and position == self.index % count
        return self.pattern is not None and re.fullmatch(self.pattern, name) is not None

    def describe(self) -> str:
        return f"match '{self.pattern}'" if self.pattern is not None else f"index {self.index}"
