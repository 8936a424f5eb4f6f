"""The studio file's ``room:`` block (docs/rendered-scenes.md): the real studio the camera advisor
renders, checked, with one-line errors."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from vision.io.studio import StudioError, parse_studio
from vision.io.yamlfile import read_yaml

from .room import DEFAULT_ROOM, Room


class AdviseError(ValueError):
    pass


_ROOM_KEYS = {"table": {"length", "width", "height"}, "bars": {"height", "spread"},
              "ceiling": None, "walls": {"head", "foot", "left", "right"}, "obstacles": None}


def parse_room(doc: object, where: str) -> Room:
    """The ``room:`` block of a studio file (all optional) -> Room; a bad value is one line."""
    if not isinstance(doc, dict):
        raise AdviseError(f"{where}: a studio file is a mapping")
    try:
        parse_studio(doc, where)
    except StudioError as e:
        raise AdviseError(str(e)) from None
    room = doc.get("room") or {}
    if not isinstance(room, dict):
        raise AdviseError(f"{where}: \"room\" must be a mapping (table, bars, ceiling, walls)")
    unknown = set(room) - set(_ROOM_KEYS)
    if unknown:
        raise AdviseError(f"{where}: unknown key(s) in \"room\": {', '.join(sorted(unknown))} "
                          f"(known: {', '.join(_ROOM_KEYS)})")

    def num(v, name: str, lo: float, hi: float) -> float:
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not lo <= v <= hi:
            raise AdviseError(f"{where}: room {name} must be a number of metres in "
                              f"[{lo}, {hi}], got {v!r}")
        return float(v)

    def sub(key: str) -> dict:
        d = room.get(key) or {}
        if not isinstance(d, dict):
            raise AdviseError(f"{where}: room {key} must be a mapping "
                              f"({', '.join(sorted(_ROOM_KEYS[key]))})")
        extra = set(d) - _ROOM_KEYS[key]
        if extra:
            raise AdviseError(f"{where}: unknown key(s) in room {key}: {', '.join(sorted(extra))}")
        return d

    obstacles = []
    for i, ob in enumerate(room.get("obstacles") or []):
        try:
            centre = np.asarray(ob["centre"], dtype=np.float64)
            size = np.asarray(ob["size"], dtype=np.float64)
            assert centre.shape == (3,) and size.shape == (3,) and np.all(size > 0) and \
                np.all(np.isfinite(centre)) and np.all(np.isfinite(size))
        except (TypeError, KeyError, ValueError, AssertionError):
            raise AdviseError(f"{where}: room obstacle {i + 1} must be {{centre: [x, y, z], "
                              f"size: [sx, sy, sz]}} in metres") from None
        obstacles.append((tuple(centre.tolist()), tuple(size.tolist())))
    base = DEFAULT_ROOM
    table, bars, walls = sub("table"), sub("bars"), sub("walls")
    top = table.get("height", doc.get("table_top_m", base.table_top))
    r = Room(
        table_length=num(table.get("length", base.table_length), "table length", 1.2, 2.6),
        table_width=num(table.get("width", base.table_width), "table width", 0.5, 1.2),
        table_top=num(top, "table height", 0.3, 1.2),
        ceiling=num(room.get("ceiling", base.ceiling), "ceiling", 2.2, 6.0),
        bar_height=None if bars.get("height") is None else num(bars["height"], "bar height",
                                                                1.5, 4.0),
        bar_spread=None if bars.get("spread") is None else num(bars["spread"], "bar spread",
                                                                0.2, 1.5),
        walls=tuple(num(walls.get(k, d), f"wall distance {k}", 0.3, 10.0)
                    for k, d in zip(("head", "foot", "left", "right"), base.walls)),
        obstacles=tuple(obstacles))
    if r.bar_height is not None and not r.table_top + 1.2 < r.bar_height < r.ceiling:
        raise AdviseError(f"{where}: room bars height {r.bar_height} m must lie between the "
                          f"table top + 1.2 m and the ceiling ({r.ceiling} m)")
    if r.ceiling < r.table_top + 2.0:
        raise AdviseError(f"{where}: room ceiling {r.ceiling} m is too low for a therapist "
                          f"standing on a {r.table_top} m table")
    return r


def load_room(path: str | Path) -> Room:
    return parse_room(read_yaml(path, AdviseError), str(path))
