"""The one exception type for mistakes a user can make.

The CLI turns a `CodesignError` into a single line on stderr and exit code 2, so its message
must name the culprit (file, field, layer, value) and the fix in one sentence.
"""

from __future__ import annotations


class CodesignError(ValueError):
    """Bad user input: unknown name, impossible bit-width, malformed file, missing data root."""
