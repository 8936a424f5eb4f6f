"""Bar grip: per hand, per moment, is the hand on an overhead bar?

A hand is on a bar when its wrist, index and pinky keypoints lie near a bar. With the studio's
camera and the bars' height (``bars_height_m``) the bars are lines in the room and the distance
is in metres, from each point's viewing ray to the bar's axis (``Bars3D``): the same for every
camera place and image size. Without them it is measured in the image, to the bar segments of
the studio file, in the therapist's shoulder widths (a hand gripping a bar seen from above is
foreshortened, its own length is no scale), which depends on the view (on the rendered demo a
gripping hand reads 0.15-0.22 shoulder widths from its bar). Both feed the same rule, in
shoulder widths (metres / SHOULDER_M with the camera): an on/off threshold pair and a few frames
of persistence (hysteresis) keep keypoint noise from making the state flicker.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from vision.safety.geometry import point_segment_distance
from vision.skeleton import FOOT_AXIS, HAND, HIPS, SHOULDERS, TORSO_PAIRS, span
from vision.vocab import Grip

# The hand's points per side, by the name vision.pictures.overlay imports.
HAND_KP = HAND
# A shoulder width in metres (0.259 x a 175 cm stature, Drillis & Contini): the unit that puts
# distances in metres on the thresholds below.
SHOULDER_M = 0.45


class Bars3D:
    """The bars as lines in the room: their image segments' rays at the bars' height."""

    def __init__(self, bars_px: np.ndarray, camera, height_m: float):
        from vision.io.camera import intersect_plane_z
        ends = intersect_plane_z(camera, np.asarray(bars_px, dtype=np.float64), height_m)
        ok = np.all(np.isfinite(ends), axis=(1, 2))
        self.p0 = ends[ok, 0]                                     # (M, 3)
        a = ends[ok, 1] - ends[ok, 0]
        self.axis = a / np.linalg.norm(a, axis=1, keepdims=True)  # (M, 3) unit
        self.camera = camera

    def __len__(self) -> int:
        return len(self.p0)

    def distance_m(self, pts_px: np.ndarray) -> np.ndarray:
        """(N, M): from each pixel's viewing ray to each bar's axis, metres (the closest
        approach of two lines)."""
        d = self.camera.rays(np.asarray(pts_px, dtype=np.float64))       # (N, 3)
        c = self.camera.centre
        n = np.cross(d[:, None, :], self.axis[None, :, :])               # (N, M, 3)
        norm = np.linalg.norm(n, axis=-1)
        w = self.p0[None, :, :] - c
        along = np.abs(np.einsum("nmk,nmk->nm", w, n)) / np.maximum(norm, 1e-9)
        # a ray parallel to a bar: the distance of the bar from the ray
        par = np.linalg.norm(np.cross(w, d[:, None, :]), axis=-1)
        return np.where(norm > 1e-6, along, par)


@dataclass
class GripParams:
    min_vis: float = 0.5
    on_dist: float = 0.18    # mean distance (shoulder widths, ~8 cm) under which it grips
    off_dist: float = 0.28   # ... over which it has let go
    persist: int = 3         # frames a new state must hold before it is taken
    let_go: float = 0.06     # ... or this much farther than its own grip distance (+ jitter)


def hand_bar_distances(kp: np.ndarray, side: str, bars: "np.ndarray | Bars3D",
                       min_vis: float = 0.5) -> np.ndarray | None:
    """Distances (3,) of the wrist, index and pinky to the bar nearest them all (NaN for a point
    not visible): image px to the bar segments, or metres from their rays to the bars' axes
    (``Bars3D``). All inf for a hand that is not raised (with the camera). None when fewer than
    two of them are visible: a hand we cannot see is not "on"."""
    pts = kp[HAND_KP[side]]
    vis = pts[:, 2] >= min_vis
    if vis.sum() < 2 or len(bars) == 0:
        return None
    if isinstance(bars, Bars3D):
        # One camera cannot tell a hand on a bar from one anywhere along the same line of
        # sight: from a ceiling camera at the head end a hand hanging beside the hips lines up
        # with the bar above it. A hand on an overhead bar is raised: its wrist lies farther
        # from the hips than the shoulders do (a hanging one lies near the hips), in any view.
        if not _raised(kp, side, min_vis):
            return np.full(len(pts), np.inf)
        d = bars.distance_m(pts[vis, :2])
    else:
        d = point_segment_distance(pts[vis, :2], bars)
    # All the hand's points near one and the same bar: the bar of the least mean distance.
    out = np.full(len(pts), np.nan)
    out[vis] = d[:, int(np.argmin(d.mean(axis=0)))]
    return out


def hand_bar_distance(kp: np.ndarray, side: str, bars: "np.ndarray | Bars3D",
                      min_vis: float = 0.5) -> float | None:
    """Mean distance of the visible wrist/index/pinky points to the nearest bar (units as
    ``hand_bar_distances``); None when fewer than two of them are visible."""
    d = hand_bar_distances(kp, side, bars, min_vis)
    return None if d is None else float(np.nanmean(d))


def _raised(kp: np.ndarray, side: str, min_vis: float) -> bool:
    """The wrist farther from the mid-hips than the mid-shoulders are (True when the torso is
    not seen well enough to tell: the distance then decides alone)."""
    wr = kp[HAND[side][0]]
    if wr[2] < min_vis or np.any(kp[TORSO_PAIRS, 2] < min_vis):
        return True
    hips = kp[HIPS, :2].mean(0)
    return bool(np.linalg.norm(wr[:2] - hips) > np.linalg.norm(kp[SHOULDERS, :2].mean(0) - hips))


def robust_shoulder_width(kp: np.ndarray, min_vis: float = 0.5) -> float | None:
    """The therapist's size in pixels as a shoulder width, robust to foreshortening: the
    largest of the shoulder width, the hip width (x 1.36, Drillis & Contini 0.259 / 0.191 H) and
    the foot length (x 1.7, 0.259 / 0.152 H). One of them is always seen nearly side-on."""
    sizes = []
    for pair, k in ((SHOULDERS, 1.0), (HIPS, 1.36), (FOOT_AXIS["left"], 1.7),
                    (FOOT_AXIS["right"], 1.7)):
        if min(kp[pair, 2]) >= min_vis:
            sizes.append(k * span(kp, pair))
    if not sizes or min(kp[SHOULDERS, 2]) < min_vis:
        return None
    return max(sizes)


def _column_quantile(a: np.ndarray, q: float) -> np.ndarray:
    """The q-quantile (linear) of each column of ``a`` over its finite values; NaN where a column
    has none. One sort for all columns (np.nanpercentile is several times slower per frame)."""
    srt = np.sort(a, axis=0)                        # NaN last
    n = np.isfinite(a).sum(axis=0)
    pos = np.maximum(n - 1, 0) * q
    lo = np.floor(pos).astype(int)
    hi = np.minimum(lo + 1, np.maximum(n - 1, 0))
    cols = np.arange(a.shape[1])
    v = srt[lo, cols] + (pos - lo) * (srt[hi, cols] - srt[lo, cols])
    return np.where(n > 0, v, np.nan)


class HandGrip:
    """On/off/unknown state of one hand with hysteresis."""

    def __init__(self, side: str, params: GripParams | None = None):
        self.side = side
        self.p = params or GripParams()
        self.state = Grip.UNKNOWN
        self._pending: str | None = None
        self._count = 0
        self._sw: list[float] = []
        self._on_d: list[np.ndarray] = []  # recent distances per point while on: its own grip
        self._grip_ref: np.ndarray | None = None  # that per point, kept after letting go
        self._grip_jit = 0.0

    def scale(self) -> float | None:
        return float(np.median(self._sw)) if self._sw else None

    def update(self, kp: np.ndarray | None, bars: "np.ndarray | Bars3D") -> Grip:
        raw = Grip.UNKNOWN
        if kp is not None and len(bars):
            d = hand_bar_distances(kp, self.side, bars, self.p.min_vis)
            if isinstance(bars, Bars3D):
                scale = SHOULDER_M    # in the room: a shoulder width in metres, whoever it is
            else:
                sw = robust_shoulder_width(kp, self.p.min_vis)
                if sw is not None and sw > 2.0:
                    self._sw.append(sw)
                    self._sw = self._sw[-300:]
                scale = self.scale()
            if d is not None and scale is not None:
                raw = self._judge(d / scale)
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
        if self.state == Grip.OFF and self._pending == Grip.ON:
            # A hand read on again, not yet for long enough: unsure, not off. The persistence
            # keeps noise from flipping the state, but 3 frames at 10 fps are the no-hands
            # alert's own 0.3 s: a hand put on the bar as the first foot lands read off (a
            # false alert) for the frames it took to be believed.
            return Grip.UNKNOWN
        return self.state

    def _judge(self, pts_rel: np.ndarray) -> Grip:
        """This frame's raw state from the hand points' distances (3,; NaN: not seen) in
        shoulder widths."""
        rel = float(np.nanmean(pts_rel))
        if self.state == Grip.ON and self._on_d:
            # A low percentile over ~2 s: the baseline must not follow a hand that drifts away
            # slowly while still counted as on. Per point: a wrist that goes out of sight
            # leaves the fingers, which lie farther from the bar's axis than the wrist's mean
            # with them, and that is no letting go (a hand read off for 2 s while it held on).
            hist = np.array(self._on_d)
            self._grip_ref = _column_quantile(hist, 0.2)
            if len(hist) >= 5:
                # how much it jitters frame to frame (noise of small images; a slow drift away
                # is not jitter)
                jit = _column_quantile(np.abs(np.diff(hist, axis=0)), 0.5)
                if np.isfinite(jit).any():
                    self._grip_jit = 1.5 * float(np.mean(jit[np.isfinite(jit)]))
        if rel >= self.p.off_dist:
            self._grip_ref = None   # clearly away: a new grip is judged afresh
        off_at, on_at = self.p.off_dist, self.p.on_dist
        near, away = rel <= on_at, rel >= off_at
        far = rel > off_at
        ref = self._grip_ref
        common = np.isfinite(pts_rel) & (np.isfinite(ref) if ref is not None else False)
        if ref is not None and common.sum() >= 2:
            # The hand's own grip distance, over the points seen now and then alike (two at
            # least: one point alone moves by more than the let-go margin as the hand turns
            # on the bar; until two are shared again the thresholds alone decide).
            now, was = float(pts_rel[common].mean()), float(ref[common].mean())
            let_go = was + self.p.let_go + 2 * self._grip_jit
            # gripping again means coming back to about the same grip distance
            near = near and now <= was + 0.5 * self.p.let_go + 2 * self._grip_jit
            away = away or now >= let_go
            far = far or now > let_go
        if near and not (self.state == Grip.ON and far):
            raw = Grip.ON
        elif away:
            raw = Grip.OFF
        else:
            raw = self.state if self.state != Grip.UNKNOWN else Grip.OFF
        if raw == Grip.ON and self.state == Grip.ON and near:
            self._on_d = (self._on_d + [pts_rel])[-60:]
        elif self.state != Grip.ON:
            self._on_d = []
        return raw

