"""The camera advisor's candidate places (where a studio can mount a camera), each aimed at the
table and the standing therapist and given the narrowest lens that frames them."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from vision.io.camera import CameraModel, look_at

from .cameras import HEIGHT, WIDTH, CameraPreset, preset_camera
from .room import DEFAULT_ROOM, Room, table_corners
from .room_file import AdviseError

HFOV_RANGE = (60.0, 100.0)   # lenses a studio can buy and mount (wider distorts heavily)


@dataclass
class Candidate:
    name: str
    where: str                 # in words
    eye: tuple[float, float, float]
    target: tuple[float, float, float] = (0.0, 0.0, 0.0)
    hfov_deg: float = 90.0
    up: tuple[float, float, float] = (0.0, 0.0, 1.0)
    straight_down: bool = False   # keep the aim vertical (only the lens is fitted)

    def camera(self, width: int, height: int) -> CameraModel:
        return preset_camera(CameraPreset(self.eye, self.target, self.hfov_deg, self.up),
                               width, height)


def candidate_places(room: Room) -> list[Candidate]:
    """Ceiling centre, both ends (ceiling and high on the end wall), the four ceiling corners,
    both side walls at two heights: places a studio can mount a camera on."""
    L, W, c = room.table_length / 2, room.table_width / 2, room.ceiling - 0.05
    head, foot, left, right = room.walls
    out = [Candidate("ceiling_centre", "ceiling, straight above the table's centre", (0, 0, c),
                     straight_down=True)]
    for end, sign, free in (("head", 1.0, head), ("foot", -1.0, foot)):
        for d in sorted({min(0.6, free - 0.05), min(1.1, free - 0.05)}):
            out.append(Candidate(f"{end}_ceiling_{d:.1f}", f"ceiling, {d:.1f} m beyond the {end} "
                                 f"end", (sign * (L + d), 0, c)))
        z = min(2.3, c)
        out.append(Candidate(f"{end}_wall_{z:.1f}", f"{end}-end wall, {z:.1f} m high",
                             (sign * (L + free - 0.05), 0, z)))
    for end, sx, fx in (("head", 1.0, head), ("foot", -1.0, foot)):
        for side, sy, fy in (("left", 1.0, left), ("right", -1.0, right)):
            dx, dy = min(0.8, fx - 0.05), min(0.9, fy - 0.05)
            out.append(Candidate(f"corner_{end}_{side}",
                                 f"ceiling corner, {dx:.1f} m beyond the {end} end, {dy:.1f} m "
                                 f"to the client's {side}", (sx * (L + dx), sy * (W + dy), c)))
    for side, sy, fy in (("left", 1.0, left), ("right", -1.0, right)):
        for z in sorted({min(2.0, c), min(2.5, c)}):
            out.append(Candidate(f"{side}_wall_{z:.1f}",
                                 f"wall to the client's {side}, {fy:.1f} m from the table, "
                                 f"{z:.1f} m high", (0, sy * (W + fy - 0.05), z)))
    return out


def advised_camera(name: str, room: Room = DEFAULT_ROOM, width: int = WIDTH,
                   height: int = HEIGHT) -> CameraModel:
    """A candidate place by name, aimed and with its lens, as the advisor renders it."""
    for c in candidate_places(room):
        if c.name == name:
            return aim(c, room, width, height).camera(width, height)
    raise AdviseError(f"unknown candidate {name!r}")


def region_of_interest(room: Room) -> np.ndarray:
    """What the camera must frame: the table top and the box the standing therapist fills up to
    the bars (hands), over the client's back."""
    bar_z = room.bar_height or room.table_top + 1.95
    spread = (room.bar_spread or 0.55) / 2
    pts = [*table_corners(room)]
    for x in (-0.35, 0.55):          # where the therapist stands along the back
        for y in (-spread, spread):
            pts.append([x, y, bar_z + 0.08])
    return np.array(pts, dtype=np.float64)


def aim(c: Candidate, room: Room, width: int, height: int) -> Candidate:
    """Aim the camera at the middle of the region of interest and choose the narrowest lens
    (within HFOV_RANGE) that frames it with a 5 % margin."""
    roi = region_of_interest(room)
    eye = np.asarray(c.eye, dtype=np.float64)
    d = np.array([0.0, 0.0, -1.0]) if c.straight_down else roi.mean(0) - eye
    d /= np.linalg.norm(d)
    aspect = width / height
    hfov = HFOV_RANGE[1]
    for _ in range(3):
        # straight down: the table along the image's width
        up = (0.0, 1.0, 0.0) if abs(d[2]) > 0.97 else (0.0, 0.0, 1.0)
        R = look_at(eye, eye + d, np.eye(3), up=up).R
        p = (roi - eye) @ R.T
        # points behind or beside the lens cannot be framed by any lens: leave them out
        p = p[p[:, 2] > 0.05]
        ax = np.arctan2(p[:, 0], p[:, 2])
        ay = np.arctan2(p[:, 1], p[:, 2])
        if not c.straight_down:
            # re-centre on the middle of the angular extent
            mx, my = 0.5 * (ax.min() + ax.max()), 0.5 * (ay.min() + ay.max())
            d = R.T @ np.array([math.tan(mx), math.tan(my), 1.0])
            d /= np.linalg.norm(d)
        if c.straight_down:
            half_x, half_y = 1.05 * np.abs(ax).max(), 1.05 * np.abs(ay).max()
        else:
            half_x, half_y = 0.525 * (ax.max() - ax.min()), 0.525 * (ay.max() - ay.min())
        need_h = 2 * max(math.tan(min(half_x, 1.5)), math.tan(min(half_y, 1.5)) * aspect)
        hfov = float(np.clip(2 * math.degrees(math.atan(need_h / 2)), *HFOV_RANGE))
    up = (0.0, 1.0, 0.0) if abs(d[2]) > 0.97 else (0.0, 0.0, 1.0)
    return Candidate(c.name, c.where, tuple(float(v) for v in eye),
                     tuple(float(v) for v in eye + 2.0 * d), round(hfov, 1), up,
                     c.straight_down)
