"""The one exception type for mistakes a user can make.

The CLI turns a `CodesignError` into a single line on stderr and exit code 2, so its message
must name the culprit (file, field, layer, value) and the fix in one sentence.
"""

from __future__ import annotations

from collections.abc import Iterable


class CodesignError(ValueError):
    """Bad user input: unknown name, impossible bit-width, malformed file, missing data root."""


def reject_unknown(
    given: Iterable[object], allowed: Iterable[str], where: str, what: str = "field"
) -> None:
    """The one check for unknown keys of a mapping read from a user's file: raises one line
    naming the unknown keys, where they are and the keys allowed there."""
    allowed = sorted(allowed)
    unknown = sorted(str(key) for key in given if key not in allowed)
    if unknown:
        raise CodesignError(f"{where}: unknown {what}(s) {unknown}; allowed: {allowed}")
