"""The one exception type for mistakes a user can make.

The CLI turns a `CodesignError` into a single line on stderr and exit code 2, so its message
must name the culprit (file, field, layer, value) and the fix in one sentence. The message is
made one line and bounded here, where every such message is built: a value read from a user's
file may hold newlines or be of any size (an alias bomb expands to gigabytes).
"""

from __future__ import annotations

from collections.abc import Iterable

# The longest message kept whole; a longer one keeps its start (the culprit) and end (the fix).
MAX_MESSAGE = 1000
_HEAD, _TAIL = 600, 300


def one_line(text: str) -> str:
    """`text` on one line (control characters and whitespace runs made one space), elided in
    the middle beyond `MAX_MESSAGE` characters."""
    if len(text) > MAX_MESSAGE:
        cut = len(text) - _HEAD - _TAIL
        text = f"{text[:_HEAD]} ...[{cut} characters cut]... {text[-_TAIL:]}"
    return " ".join("".join(ch if ch.isprintable() else " " for ch in text).split())


class CodesignError(ValueError):
    """Bad user input: unknown name, impossible bit-width, malformed file, missing data root."""

    def __init__(self, message: object = "") -> None:
        super().__init__(one_line(str(message)))


def reject_unknown(
    given: Iterable[object], allowed: Iterable[str], where: str, what: str = "field"
) -> None:
    """The one check for unknown keys of a mapping read from a user's file: raises one line
    naming the unknown keys, where they are and the keys allowed there."""
    allowed = sorted(allowed)
    unknown = sorted(str(key) for key in given if key not in allowed)
    if unknown:
        raise CodesignError(f"{where}: unknown {what}(s) {unknown}; allowed: {allowed}")
