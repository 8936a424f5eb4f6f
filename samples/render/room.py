"""The rendered studio's fixed geometry: the table, the ceiling, the free floor around the table,
obstacles, and where the bars go.

World frame: metres, origin on the floor under the table's centre, x along the table towards its
head end (the face cradle), y across it, z up.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from vision.io.camera import DEFAULT_TABLE_TOP_M

from . import body as anny_body

TABLE_LENGTH, TABLE_WIDTH = 1.90, 0.72
CEILING = 3.0
BAR_RADIUS = 0.02


@dataclass(frozen=True)
class Room:
    """The studio's fixed geometry (m). ``bar_height``/``bar_spread`` None: the bars go where
    the therapist's raised hands are (a studio fits its bars to its therapists). ``walls``: the
    free floor from the table to each wall (head end, foot end, the client's left, right), for
    the camera advisor's candidate places."""
    table_length: float = TABLE_LENGTH
    table_width: float = TABLE_WIDTH
    table_top: float = DEFAULT_TABLE_TOP_M   # Ashiatsu tables are low: the bars stay in reach
    ceiling: float = CEILING
    bar_height: float | None = None
    bar_spread: float | None = None
    walls: tuple[float, float, float, float] = (1.5, 1.5, 2.2, 2.2)
    # boxes that can stand between a camera and the table (a lamp, a shelf): (centre, size), m
    obstacles: tuple = ()

    @property
    def head_x(self) -> float:
        return self.table_length / 2


DEFAULT_ROOM = Room()

# a gripping hand: the wrist keypoint this far under the bar's axis (a ~3 cm bar in the palm)
GRIP_BELOW_BAR_M = 0.04


def bars_world(therapist: anny_body.Body, room: Room = DEFAULT_ROOM) -> np.ndarray:
    """(2, 2, 3) bar segments along the table, at the height and spread of the raised hands
    (or the room's own, when it gives them)."""
    wrists = therapist.keypoints[[15, 16]]
    z = wrists[:, 2].mean() + GRIP_BELOW_BAR_M if room.bar_height is None else \
        room.bar_height
    ys = (wrists[0, 1], wrists[1, 1]) if room.bar_spread is None else \
        (room.bar_spread / 2, -room.bar_spread / 2)
    half = room.table_length / 2 + 0.2
    return np.array([[[-half, y, z], [half, y, z]] for y in ys])


def table_corners(room: Room = DEFAULT_ROOM) -> np.ndarray:
    l, w, top = room.table_length / 2, room.table_width / 2, room.table_top
    return np.array([[l, w, top], [l, -w, top], [-l, -w, top], [-l, w, top]])
