"""ZigZag results on disk: one JSON file per (accelerator, mapping, ZigZag version).

The file name is a hash of the accelerator and mapping file contents, the ZigZag version and
the evaluation settings; inside, entries are keyed by layer shape and precisions. JSON only
(read with `json.loads`, never unpickled); written atomically (temporary file, then rename),
merged with what another process wrote meanwhile, so concurrent scorers lose nothing worse
than a repeated evaluation. The folder is `$CODESIGN_ZIGZAG_CACHE`, else
`$XDG_CACHE_HOME/codesign/zigzag`, else `~/.cache/codesign/zigzag`.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from pathlib import Path
from typing import Any

CACHE_ENV = "CODESIGN_ZIGZAG_CACHE"
FORMAT = 2  # bump when the evaluation pipeline or the entry layout changes


def cache_dir() -> Path:
    explicit = os.environ.get(CACHE_ENV)
    if explicit:
        return Path(explicit)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "codesign" / "zigzag"


def content_hash(*parts: bytes | str) -> str:
    digest = hashlib.sha256()
    for part in parts:
        digest.update(part.encode() if isinstance(part, str) else part)
        digest.update(b"\0")
    return digest.hexdigest()[:24]


class ResultCache:
    """Entries of one accelerator / mapping / ZigZag version, in memory and on disk."""

    def __init__(self, key: str) -> None:
        self.path = cache_dir() / f"{key}.json"
        self.entries: dict[str, dict[str, Any]] = self._read()

    def _read(self) -> dict[str, dict[str, Any]]:
        try:
            data = json.loads(self.path.read_text())
        except (OSError, ValueError):
            return {}  # absent or unreadable: re-evaluate, never fail on a cache
        if not isinstance(data, dict) or data.get("format") != FORMAT:
            return {}
        entries = data.get("entries")
        return entries if isinstance(entries, dict) else {}

    def get(self, key: str) -> dict[str, Any] | None:
        return self.entries.get(key)

    def put(self, key: str, value: dict[str, Any]) -> None:
        self.entries[key] = value

    def save(self) -> None:
        """Merge with the file as it is now and replace it atomically."""
        merged = {**self._read(), **self.entries}
        self.entries = merged
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=self.path.parent, suffix=".tmp")
        try:
            with os.fdopen(fd, "w") as handle:
                json.dump({"format": FORMAT, "entries": merged}, handle, sort_keys=True)
            os.replace(tmp, self.path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
