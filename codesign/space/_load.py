"""Space files by name (shipped in the `search_spaces` package) or by path, read safely."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from codesign.errors import CodesignError
from codesign.space._parse import parse_space
from codesign.space._space import SearchSpace


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
    import yaml

    path, name = space_path(name_or_path)
    if path is None:
        raise CodesignError(
            f"unknown search space '{name}'; give a YAML file or one of: "
            f"{', '.join(shipped_spaces())}"
        )
    try:
        text = path.read_text()
    except FileNotFoundError:
        raise CodesignError(f"search space file {path} does not exist; check the path") from None
    try:
        raw = yaml.safe_load(text)
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        at = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(err, "problem", None) or "invalid YAML"
        raise CodesignError(f"search space {path}: {problem}{at}; fix the YAML syntax") from None
    return parse_space(raw, source=str(path), default_name=name)


def space_from_dict(raw: dict[str, Any], source: str) -> SearchSpace:
    """Rebuild a space stored with a study (its raw mapping), e.g. for re-scoring or a worker."""
    return parse_space(raw, source=source, default_name=str(raw.get("name", "space")))
