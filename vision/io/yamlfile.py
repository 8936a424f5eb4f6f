"""Reading the project's YAML files (studio, client profile, exercises) with one-line errors,
and with limits: these texts come from uploads, so a hostile one must not expand ("billion
laughs"), nest past the stack, or carry numbers no field could mean (docs/service.md)."""

from __future__ import annotations

import math
from pathlib import Path

import yaml

MAX_BYTES = 64 * 1024       # a studio file with a calibrated camera is ~2 KB
MAX_DEPTH = 20
MAX_NODES = 5000
MAX_NUMBER = 1e9            # |x| of any number: metres, pixels, years and ids all fit


class _Refused(Exception):
    pass


class _Loader(yaml.SafeLoader):
    """SafeLoader that refuses aliases (an alias is how a few hundred bytes expand to
    gigabytes) and counts depth and nodes while composing, before anything is built."""

    def __init__(self, stream) -> None:
        super().__init__(stream)
        self._depth = 0
        self._nodes = 0

    def compose_node(self, parent, index):
        if self.check_event(yaml.AliasEvent):
            raise _Refused("aliases (*name) are not allowed")
        self._depth += 1
        self._nodes += 1
        if self._depth > MAX_DEPTH:
            raise _Refused(f"nested deeper than {MAX_DEPTH} levels")
        if self._nodes > MAX_NODES:
            raise _Refused(f"more than {MAX_NODES} values")
        try:
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1


def _check_numbers(value) -> None:
    if isinstance(value, bool):
        return
    if isinstance(value, (int, float)):
        if not (isinstance(value, int) or math.isfinite(value)) or abs(value) > MAX_NUMBER:
            raise _Refused(f"number {value:.6g} is not finite or over {MAX_NUMBER:g}")
    elif isinstance(value, dict):
        for k, v in value.items():
            _check_numbers(k)
            _check_numbers(v)
    elif isinstance(value, list):
        for v in value:
            _check_numbers(v)


def read_yaml(path: str | Path, error: type[Exception]) -> object:
    """The parsed document; ``error("<path>[:line]: reason")`` for a missing file or bad YAML."""
    path = Path(path)
    if not path.is_file():
        raise error(f"{path}: no such file")
    if path.stat().st_size > MAX_BYTES:
        raise error(f"{path}: over the limit of {MAX_BYTES} bytes")
    return parse_yaml(path.read_text(encoding="utf-8", errors="replace"), str(path), error)


def parse_yaml(text: str, where: str, error: type[Exception]) -> object:
    """The parsed document of ``text``; ``error("<where>[:line]: reason")`` if it is not YAML
    or breaks a limit (size, depth, aliases, numbers)."""
    if len(text.encode("utf-8", "replace")) > MAX_BYTES:
        raise error(f"{where}: over the limit of {MAX_BYTES} bytes")
    loader = None
    try:
        loader = _Loader(text)     # (its reader already refuses some characters)
        doc = loader.get_single_data()
        _check_numbers(doc)
        return doc
    except _Refused as e:
        raise error(f"{where}: {e}") from None
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        at = f":{mark.line + 1}" if mark is not None else ""
        why = getattr(e, "problem", None) or getattr(e, "reason", None)
        raise error(f"{where}{at}: not valid YAML" + (f" ({why})" if why else "")) from None
    except (ValueError, OverflowError, RecursionError) as e:   # int digit limit, …
        raise error(f"{where}: not valid YAML ({type(e).__name__}: {str(e)[:80]})") from None
    finally:
        if loader is not None:
            loader.dispose()
