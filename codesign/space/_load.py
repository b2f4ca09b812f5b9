"""Space files by name (shipped in the `search_spaces` package) or by path, read safely."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from codesign.errors import CodesignError
from codesign.space._parse import parse_space
from codesign.space._space import SearchSpace
from codesign.userfile import load_yaml


def space_path(name_or_path: str | Path) -> tuple[Path | None, str]:
    """Resolve a shipped space name or a file path to (path, display name)."""
    text = str(name_or_path)
    candidate = Path(text)
    if candidate.suffix in (".yaml", ".yml") or candidate.exists():
        return candidate, candidate.stem
    from importlib import resources

    shipped = resources.files("search_spaces") / f"{text}.yaml"
    if shipped.is_file():
        return Path(str(shipped)), text
    return None, text


def shipped_spaces() -> list[str]:
    """Names of the space files shipped in the `search_spaces` package."""
    from importlib import resources

    return sorted(
        entry.name.removesuffix(".yaml")
        for entry in resources.files("search_spaces").iterdir()
        if entry.name.endswith(".yaml")
    )


def load_space(name_or_path: str | Path) -> SearchSpace:
    """A shipped space by name (`digits_cnn`) or a YAML file by path, validated."""
    path, name = space_path(name_or_path)
    if path is None:
        raise CodesignError(
            f"unknown search space '{name}'; give a YAML file or one of: "
            f"{', '.join(shipped_spaces())}"
        )
    raw = load_yaml(path, "search space file")
    return parse_space(raw, source=str(path), default_name=name)


def space_from_dict(raw: dict[str, Any], source: str) -> SearchSpace:
    """Rebuild a space stored with a study (its raw mapping), e.g. for re-scoring or a worker."""
    return parse_space(raw, source=source, default_name=str(raw.get("name", "space")))
