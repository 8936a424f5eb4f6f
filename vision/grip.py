"""Bar grip: per hand, per moment, is the hand on an overhead bar?

A hand is on a bar when its wrist, index and pinky keypoints lie near a bar segment of the
studio file (image pixels). Distances are measured in the therapist's shoulder widths (a hand
gripping a bar seen from above is foreshortened, its own length is no scale) so that the rule does
not depend on the camera; an on/off threshold pair and a few frames of persistence (hysteresis)
keep keypoint noise from making the state flicker.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from vision.geometry import point_segment_distance
from vision.posetrack import KP

HAND_KP = {side: [KP[f"{side}_wrist"], KP[f"{side}_index"], KP[f"{side}_pinky"]]
           for side in ("left", "right")}


@dataclass
class GripParams:
    min_vis: float = 0.5
    on_dist: float = 0.18    # mean distance (shoulder widths, ~8 cm) under which it grips
    off_dist: float = 0.28   # ... over which it has let go
    persist: int = 3         # frames a new state must hold before it is taken
    let_go: float = 0.06     # ... or this much farther than its own grip distance (+ jitter)


def hand_bar_distance(kp: np.ndarray, side: str, bars: np.ndarray, min_vis: float = 0.5
                      ) -> float | None:
    """Mean distance (px) of the visible wrist/index/pinky points to the nearest bar segment.

    None when fewer than two of them are visible: a hand we cannot see is not "on".
    """
    pts = kp[HAND_KP[side]]
    vis = pts[:, 2] >= min_vis
    if vis.sum() < 2 or len(bars) == 0:
        return None
    # All the hand's points near one and the same bar: mean over the points, best bar.
    return float(point_segment_distance(pts[vis, :2], bars).mean(axis=0).min())


def shoulder_width(kp: np.ndarray, min_vis: float = 0.5) -> float | None:
    """The therapist's size in pixels as a shoulder width, robust to foreshortening: the
    largest of the shoulder width, the hip width (x 1.36, Drillis & Contini 0.259 / 0.191 H) and
    the foot length (x 1.7, 0.259 / 0.152 H). One of them is always seen nearly side-on."""
    sizes = []
    for a, b, k in (("left_shoulder", "right_shoulder", 1.0), ("left_hip", "right_hip", 1.36),
                    ("left_heel", "left_foot_index", 1.7),
                    ("right_heel", "right_foot_index", 1.7)):
        p, q = kp[KP[a]], kp[KP[b]]
        if min(p[2], q[2]) >= min_vis:
            sizes.append(k * float(np.linalg.norm(p[:2] - q[:2])))
    if not sizes or kp[KP["left_shoulder"], 2] < min_vis or kp[KP["right_shoulder"], 2] < min_vis:
        return None
    return max(sizes)


class HandGrip:
    """On/off/unknown state of one hand with hysteresis."""

    def __init__(self, side: str, params: GripParams | None = None):
        self.side = side
        self.p = params or GripParams()
        self.state = "unknown"
        self._pending: str | None = None
        self._count = 0
        self._sw: list[float] = []
        self._on_d: list[float] = []   # recent distances while on: this hand's own grip
        self._grip_ref: float | None = None  # that grip distance, kept after letting go
        self._grip_jit = 0.0

    def scale(self) -> float | None:
        return float(np.median(self._sw)) if self._sw else None

    def update(self, kp: np.ndarray | None, bars: np.ndarray) -> str:
        raw = "unknown"
        if kp is not None and len(bars):
            d = hand_bar_distance(kp, self.side, bars, self.p.min_vis)
            sw = shoulder_width(kp, self.p.min_vis)
            if sw is not None and sw > 2.0:
                self._sw.append(sw)
                self._sw = self._sw[-300:]
            scale = self.scale()
            if d is not None and scale is not None:
                rel = d / scale
                # A hand that lets go may still be seen near a bar (a hand hanging under it in
                # a view from above): leaving its own grip distance counts as letting go.
                off_at = self.p.off_dist
                on_at = self.p.on_dist
                if self.state == "on" and self._on_d:
                    # A low percentile over ~2 s: the baseline must not follow a hand that
                    # drifts away slowly while still counted as on.
                    # The grip distance, and how much it jitters frame to frame (noise of small
                    # images; a slow drift away is not jitter).
                    self._grip_ref = float(np.percentile(self._on_d, 20))
                    if len(self._on_d) >= 5:
                        self._grip_jit = 1.5 * float(np.median(np.abs(np.diff(self._on_d))))
                if rel >= self.p.off_dist:
                    self._grip_ref = None   # clearly away: a new grip is judged afresh
                if self._grip_ref is not None:
                    off_at = min(off_at, self._grip_ref + self.p.let_go + 2 * self._grip_jit)
                    # Gripping again means coming back to about the same grip distance.
                    on_at = min(on_at, self._grip_ref + 0.5 * self.p.let_go +
                                2 * self._grip_jit)
                if rel <= on_at and not (self.state == "on" and rel > off_at):
                    raw = "on"
                elif rel >= off_at:
                    raw = "off"
                else:
                    raw = self.state if self.state != "unknown" else "off"
                if raw == "on" and self.state == "on" and rel <= on_at:
                    self._on_d = (self._on_d + [rel])[-60:]
                elif self.state != "on":
                    self._on_d = []
        if raw == self.state:
            self._pending, self._count = None, 0
        elif raw == self._pending:
            self._count += 1
            if self._count >= self.p.persist:
                self.state, self._pending, self._count = raw, None, 0
        else:
            self._pending, self._count = raw, 1
            if self.p.persist <= 1:
                self.state, self._pending, self._count = raw, None, 0
        return self.state
