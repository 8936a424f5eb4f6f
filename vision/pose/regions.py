"""Rotated square regions of interest, as MediaPipe's BlazePose graphs build them.

A region is centred on the hip centre, sized from the distance to a scale point, rotated so
that the body axis points up in the crop, then enlarged 1.25x and made square in pixels.
Pure numpy; all sizes in image pixels, angles in radians (positive = clockwise on screen).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

ROI_SCALE = 1.25  # RectTransformationCalculator scale_x/scale_y in pose_detection_to_roi.pbtxt


@dataclass(frozen=True)
class Region:
    cx: float
    cy: float
    size: float  # side of the square, px
    angle: float  # radians

    def corners(self) -> np.ndarray:
        """(4, 2) corners: top-left, top-right, bottom-right, bottom-left of the crop."""
        h = self.size / 2
        local = np.array([[-h, -h], [h, -h], [h, h], [-h, h]])
        return local @ rotation(self.angle).T + [self.cx, self.cy]

    def bbox(self) -> np.ndarray:
        c = self.corners()
        return np.concatenate([c.min(0), c.max(0)])

    def crop_matrix(self, out_size: int) -> np.ndarray:
        """2x3 affine matrix taking image pixels to crop pixels (for cv2.warpAffine)."""
        return np.linalg.inv(np.vstack([self.uncrop_matrix(out_size), [0, 0, 1]]))[:2]

    def uncrop_matrix(self, out_size: int) -> np.ndarray:
        """2x3 affine matrix taking crop pixels (0..out_size) back to image pixels."""
        s = self.size / out_size
        r = rotation(self.angle) * s
        # crop pixel (u, v) -> centre + R * ((u, v) - out/2) * s
        t = np.array([self.cx, self.cy]) - r @ np.array([out_size / 2, out_size / 2])
        return np.hstack([r, t[:, None]])


def rotation(angle: float) -> np.ndarray:
    c, s = np.cos(angle), np.sin(angle)
    return np.array([[c, -s], [s, c]])


def normalize_radians(a: float) -> float:
    return float(a - 2 * np.pi * np.floor((a + np.pi) / (2 * np.pi)))


def region_from_points(center: np.ndarray, scale_point: np.ndarray,
                       scale: float = ROI_SCALE) -> Region:
    """Region from a body centre and a scale point (both (2,) px), MediaPipe's
    AlignmentPointsRectsCalculator + RectTransformationCalculator(square_long)."""
    d = np.asarray(scale_point, float) - np.asarray(center, float)
    size = 2.0 * float(np.hypot(d[0], d[1])) * scale
    # target angle 90 deg: the centre -> scale point vector ends up pointing up in the crop
    angle = normalize_radians(np.pi / 2 - np.arctan2(-d[1], d[0]))
    return Region(float(center[0]), float(center[1]), size, angle)


LEGS_SCALE = 3.5  # side of the legs region, in torso lengths (shoulder-mid to hip-mid)


def legs_region(hips: np.ndarray, shoulder_centre: np.ndarray,
                scale: float = LEGS_SCALE) -> Region:
    """A tight body region for the legs and feet: centred on the hip centre (the mean of
    ``hips``, (n, 2) px), ``scale`` torso lengths a side, hip->shoulder centre up. The tracked
    region comes from the model's full-body circle, which raised arms enlarge to ~5 torso
    lengths; in it the feet are a few crop pixels and are placed by body proportion. At 3.5
    torso the landmark model places heels and toes 2-5x closer on the rendered scenes (see
    docs/pose-engine.md); at 2.5-3 it starts cutting the feet off."""
    hip = np.asarray(hips, float).reshape(-1, 2).mean(0)
    up = np.asarray(shoulder_centre, float) - hip
    torso = max(float(np.hypot(*up)), 1.0)
    # region_from_points makes a side of 2 * |d| * ROI_SCALE
    return region_from_points(hip, hip + up / torso * (scale * torso / (2 * ROI_SCALE)))


def region_from_polygon(poly: np.ndarray, head: np.ndarray | None = None) -> list[Region]:
    """Regions covering a table outline (a 4-point polygon, px): the long axis is the body
    axis. With ``head`` (a point at the head end) one region pointing there; without it both
    directions, since head and feet can't be told apart from the table."""
    import cv2

    (cx, cy), (w, h), deg = cv2.minAreaRect(np.asarray(poly, np.float32))
    long_side = max(w, h)
    # angle of the long axis in image coordinates
    axis = np.deg2rad(deg) if w >= h else np.deg2rad(deg + 90)
    out = []
    flips = (0.0, np.pi)
    if head is not None:
        toward = np.asarray(head, float) - [cx, cy]
        flips = (0.0,) if toward @ [np.cos(axis), np.sin(axis)] >= 0 else (np.pi,)
    for flip in flips:
        # the body axis (hip -> shoulder) along the table; a lying body's box is about
        # its length, like a standing person's full-body ROI
        a = normalize_radians(axis + flip + np.pi / 2)
        out.append(Region(float(cx), float(cy), float(long_side), a))
    return out


def iou(a: np.ndarray, b: np.ndarray) -> float:
    """IoU of two axis-aligned boxes [x0, y0, x1, y1]."""
    ix = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = ix * iy
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0
