"""The rendered studio's camera presets (places, aims and lenses) and the camera made from one."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from vision.io.camera import CameraModel, intrinsics, look_at

from .room import CEILING, TABLE_LENGTH, TABLE_WIDTH

WIDTH, HEIGHT = 1280, 720


@dataclass
class CameraPreset:
    eye: tuple[float, float, float]
    target: tuple[float, float, float]
    hfov_deg: float
    up: tuple[float, float, float] = (0.0, 0.0, 1.0)


# eye, target: see docs/rendered-scenes.md for why these places. Studio placements: cameras on
# the ceiling (2.9-2.95 m), 0.8-1.1 m beyond the table, or high on a wall beside it (1.8 m from
# its edge), 75-90 degree lenses,
# aimed so that the table top and the standing therapist (head ~2.5 m, hands at the bars
# ~2.6 m) fill most of the frame. The first framing (100 degree lenses, 2.3 m beyond the head
# end) is kept as FIRST_FRAMING for comparison.
HEAD_X, FOOT_X = TABLE_LENGTH / 2, -TABLE_LENGTH / 2


def _pitched(eye, pitch_deg: float, yaw_deg: float = 0.0, dist: float = 2.0):
    """A target ``dist`` m from ``eye``, looking down ``pitch_deg`` towards heading ``yaw_deg``
    (degrees counter-clockwise from world +x: 0 faces the head end, 180 the foot end)."""
    p, y = np.radians(pitch_deg), np.radians(yaw_deg)
    d = np.array([np.cos(p) * np.cos(y), np.cos(p) * np.sin(y), -np.sin(p)])
    return tuple(float(v) for v in np.asarray(eye) + dist * d)


def _towards(eye, target, pitch_deg: float):
    """Looking down ``pitch_deg`` in the vertical plane through ``eye`` and ``target``."""
    yaw = np.degrees(np.arctan2(target[1] - eye[1], target[0] - eye[0]))
    return _pitched(eye, pitch_deg, yaw)


CAMERAS = {
    # on the ceiling straight above the table's centre, the table along the image's width:
    # a 75 degree lens keeps the whole table (and the client's feet) in view; the raised hands,
    # 0.35 m under the lens, fall outside the frame (no lens shows them from there)
    "overhead": CameraPreset(eye=(0.0, 0.0, CEILING - 0.05), target=(0.0, 0.0, 0.0),
                             hfov_deg=75.0, up=(0.0, 1.0, 0.0)),
    # ceiling, 1.1 m beyond the head end, looking down 40 degrees along the table
    # (the therapist faces this camera)
    "tilted40": CameraPreset(eye=(HEAD_X + 1.1, 0.0, CEILING - 0.05),
                             target=_pitched((HEAD_X + 1.1, 0.0, CEILING - 0.05), 40.0, 180.0),
                             hfov_deg=86.0),
    # the same from the foot end (behind the therapist, who stands further from this end: a
    # 90 degree lens, 38 degrees down, keeps the raised hands and the foot end in view)
    "tilted40_foot": CameraPreset(eye=(FOOT_X - 1.1, 0.0, CEILING - 0.05),
                                  target=_pitched((FOOT_X - 1.1, 0.0, CEILING - 0.05), 38.0, 0.0),
                                  hfov_deg=90.0),
    # high on the wall beside the table's middle (1.8 m from its edge), looking down ~22 degrees
    "side": CameraPreset(eye=(0.0, -TABLE_WIDTH / 2 - 1.8, 2.5),
                         target=_pitched((0.0, -TABLE_WIDTH / 2 - 1.8, 2.5), 22.0, 90.0),
                         hfov_deg=80.0),
    # a ceiling corner at the foot end, 0.8 m beyond the table and 0.9 m aside of it, looking
    # down 35 degrees at the table's centre (90 degree lens): from behind the therapist, over the shoulder
    "corner": CameraPreset(eye=(FOOT_X - 0.8, -TABLE_WIDTH / 2 - 0.9, 2.9),
                           target=_towards((FOOT_X - 0.8, -TABLE_WIDTH / 2 - 0.9, 2.9),
                                           (0.0, 0.0), 35.0),
                           hfov_deg=90.0),
    # the same corner at the head end (36 degrees down, 88 degree lens): the therapist's face is in view
    "corner_head": CameraPreset(eye=(HEAD_X + 0.8, -TABLE_WIDTH / 2 - 0.9, 2.9),
                                target=_towards((HEAD_X + 0.8, -TABLE_WIDTH / 2 - 0.9, 2.9),
                                                (0.0, 0.0), 36.0),
                                hfov_deg=88.0),
}

# the first framing (2026-11-23 measurement): 100 degree lenses from far beyond the table
FIRST_FRAMING = {
    "overhead_first": CameraPreset(eye=(0.0, 0.0, CEILING - 0.05), target=(0.0, 0.0, 0.0),
                                   hfov_deg=100.0, up=(1.0, 0.0, 0.0)),
    "tilted40_first": CameraPreset(eye=(0.95 + 2.30, 0.0, CEILING - 0.05),
                                   target=(0.0, 0.0, CEILING - 0.05 - 3.25 * np.tan(np.radians(40.0))),
                                   hfov_deg=100.0),
    "side_first": CameraPreset(eye=(0.0, -3.0, 1.75), target=(0.0, 0.0, 1.55), hfov_deg=80.0),
    "corner_first": CameraPreset(eye=(-2.3, -1.8, 2.85), target=(0.0, 0.0, 1.45), hfov_deg=80.0),
}
ALL_CAMERAS = {**CAMERAS, **FIRST_FRAMING}




def preset_camera(preset: "str | CameraPreset", width: int = WIDTH, height: int = HEIGHT
                  ) -> CameraModel:
    """The camera of a preset (by name, or a CameraPreset) for an image of ``width`` x
    ``height`` px. Pixel coordinates are continuous with (0, 0) at the image's top-left corner
    (a pixel's centre at +0.5), as the pose engine's keypoints are (normalised x times the
    width)."""
    p = ALL_CAMERAS[preset] if isinstance(preset, str) else preset
    focal = 0.5 * width / np.tan(np.radians(p.hfov_deg) / 2)
    return look_at(p.eye, p.target, intrinsics(focal, width, height), up=p.up, width=width,
                   height=height)
