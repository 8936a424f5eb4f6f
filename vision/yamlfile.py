"""Reading the project's YAML files (studio, client profile) with one-line errors."""

from __future__ import annotations

from pathlib import Path

import yaml


def read_yaml(path: str | Path, error: type[Exception]) -> object:
    """The parsed document; ``error("<path>[:line]: reason")`` for a missing file or bad YAML."""
    path = Path(path)
    if not path.is_file():
        raise error(f"{path}: no such file")
    return parse_yaml(path.read_text(encoding="utf-8"), str(path), error)


def parse_yaml(text: str, where: str, error: type[Exception]) -> object:
    """The parsed document of ``text``; ``error("<where>[:line]: not valid YAML")`` if it is not."""
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        at = f":{mark.line + 1}" if mark is not None else ""
        raise error(f"{where}{at}: not valid YAML") from None
