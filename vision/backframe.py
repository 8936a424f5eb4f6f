"""The client's back as a map: image pixels → body coordinates (reference cm), held over time.

The client is hidden under the therapist exactly when the map matters, and pose estimates of an
occluded body are badly wrong. So the map is established while the client lies alone, held while
the therapist works, nudged only by confident observations that agree with it, and dropped
(`unknown`) when confident observations consistently disagree — the client turned or got up —
until a new one is established.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

import numpy as np

from vision.geometry import apply_h, homography, quad_is_convex
from vision.posetrack import KP
from vision.zones import Atlas, default_atlas

TORSO = np.array([KP["left_shoulder"], KP["right_shoulder"], KP["right_hip"], KP["left_hip"]])
LEG_CHAINS = {
    "left": np.array([KP["left_hip"], KP["left_knee"], KP["left_ankle"]]),
    "right": np.array([KP["right_hip"], KP["right_knee"], KP["right_ankle"]]),
}


@dataclass
class BackFrameParams:
    min_vis: float = 0.6          # a keypoint this confident is an observation
    establish_s: float = 0.5      # consistent confident observations needed to (re)establish
    agree_tol: float = 0.15       # mean torso-corner deviation, in torso lengths, to "agree"
    ema: float = 0.05             # how fast agreeing observations move the held map
    suspect_s: float = 0.4        # disagreement this long (mostly confident frames) → unknown
    moved_s: float = 1.0          # stable disagreement this long → client moved: re-establish
    disagree_frac: float = 0.7    # share of confident frames disagreeing to call it disagreement


def torso_ok(kp: np.ndarray, min_vis: float) -> bool:
    """A confident, non-degenerate torso: 4 visible corners forming a convex quadrilateral."""
    q = kp[TORSO]
    if np.any(q[:, 2] < min_vis):
        return False
    if not quad_is_convex(q[:, :2]):
        return False
    return torso_length(q[:, :2]) > 5.0


def torso_length(quad: np.ndarray) -> float:
    """Shoulder-midpoint to hip-midpoint distance of a (4, 2) torso quad (LS, RS, RH, LH)."""
    return float(np.linalg.norm((quad[0] + quad[1]) / 2 - (quad[2] + quad[3]) / 2))


@dataclass
class BackState:
    """What the map says at one moment."""
    state: str                          # "established", "suspect", "unknown"
    h: np.ndarray | None                # image → body (3x3), None unless established
    legs: dict[str, np.ndarray | None]  # per side (3, 2) hip/knee/ankle in body coordinates
    scale_px: float                     # image px per body cm near the torso (for thresholds)

    @property
    def known(self) -> bool:
        return self.state == "established" and self.h is not None


class BackMap:
    """Holds the client's body frame across frames. Call ``update`` once per frame."""

    def __init__(self, atlas: Atlas | None = None, params: BackFrameParams | None = None):
        self.atlas = atlas or default_atlas()
        self.p = params or BackFrameParams()
        self.ref: np.ndarray | None = None      # (33, 2) held keypoints
        self.ref_ok = np.zeros(33, dtype=bool)  # which held keypoints are trustworthy
        self._cand: deque = deque()             # (t, kp) consistent confident observations
        self._hist: deque = deque()             # (t, agrees: bool | None) recent judgements
        self._disagree: deque = deque()         # (t, kp) recent confident disagreeing obs
        self._h: np.ndarray | None = None
        self.moves = 0                          # times the client was seen to move

    # -- public -------------------------------------------------------------------------------
    def update(self, t: float, kp: np.ndarray | None) -> BackState:
        """Feed the client's keypoints (33, 3) for this frame, or None when not seen."""
        obs_ok = kp is not None and torso_ok(kp, self.p.min_vis)
        if self.ref is None:
            self._try_establish(t, kp if obs_ok else None)
        else:
            self._track(t, kp, obs_ok)
        return self.state(t)

    def state(self, t: float | None = None) -> BackState:
        if self.ref is None or self._h is None:
            return BackState("unknown", None, {"left": None, "right": None}, 0.0)
        st = "suspect" if self._suspect() else "established"
        legs = {}
        for side, idx in LEG_CHAINS.items():
            legs[side] = apply_h(self._h, self.ref[idx]) if self.ref_ok[idx].all() else None
        quad = self.ref[TORSO]
        scale = torso_length(quad) / float(np.linalg.norm(
            (self.atlas.frame_quad[0] + self.atlas.frame_quad[1]) / 2
            - (self.atlas.frame_quad[2] + self.atlas.frame_quad[3]) / 2))
        return BackState(st, self._h if st == "established" else None, legs, scale)

    # -- internals ----------------------------------------------------------------------------
    def _try_establish(self, t: float, kp: np.ndarray | None) -> None:
        if kp is None:
            self._cand.clear()
            return
        if self._cand:
            # Compare with the median so far, not one noisy frame.
            med = np.median(np.stack([k[TORSO, :2] for _, k in self._cand]), axis=0)
            if self._deviation(med, kp[TORSO, :2]) > self.p.agree_tol:
                self._cand.clear()
        self._cand.append((t, kp.copy()))
        if t - self._cand[0][0] >= self.p.establish_s and len(self._cand) >= 3:
            stack = np.stack([k for _, k in self._cand])
            self._set_ref(stack)
            self._cand.clear()

    def _set_ref(self, stack: np.ndarray) -> None:
        """Held keypoints = median of confident observations; legs only where seen confidently."""
        vis = stack[:, :, 2] >= self.p.min_vis
        ref = np.zeros((33, 2))
        ok = np.zeros(33, dtype=bool)
        for j in range(33):
            rows = stack[vis[:, j], j, :2]
            if len(rows) >= max(2, len(stack) // 2):
                ref[j] = np.median(rows, axis=0)
                ok[j] = True
        self.ref, self.ref_ok = ref, ok
        self._hist.clear()
        self._disagree.clear()
        self._refit()

    def _refit(self) -> None:
        try:
            self._h = homography(self.ref[TORSO], self.atlas.frame_quad)
        except ValueError:
            self._h = None

    @staticmethod
    def _deviation(a: np.ndarray, b: np.ndarray) -> float:
        """Mean corner displacement between two torso quads, in torso lengths (the mean, not
        the largest: one noisy corner of a small body should not break agreement)."""
        return float(np.mean(np.linalg.norm(a - b, axis=1)) / max(torso_length(a), 1e-6))

    def _track(self, t: float, kp: np.ndarray | None, obs_ok: bool) -> None:
        while self._hist and t - self._hist[0][0] > self.p.moved_s:
            self._hist.popleft()
        while self._disagree and t - self._disagree[0][0] > self.p.moved_s:
            self._disagree.popleft()
        if not obs_ok:
            self._hist.append((t, None))
            if kp is not None:
                self._nudge(kp, torso=False)
            return
        dev = self._deviation(self.ref[TORSO], kp[TORSO, :2])
        agrees = dev <= self.p.agree_tol
        self._hist.append((t, agrees))
        if agrees:
            self._disagree.clear()
            self._nudge(kp, torso=True)
            return
        self._disagree.append((t, kp.copy()))
        # A real move is disagreement that is both persistent and self-consistent (the client
        # lies still somewhere else); occluded garbage jumps around from frame to frame.
        if t - self._disagree[0][0] >= self.p.moved_s * 0.9 and self._share_disagree() >= \
                self.p.disagree_frac:
            recent = [k for tt, k in self._disagree if t - tt <= self.p.establish_s]
            if len(recent) >= 3 and all(
                    self._deviation(recent[-1][TORSO, :2], k[TORSO, :2]) <= self.p.agree_tol
                    for k in recent):
                self.moves += 1
                self._set_ref(np.stack(recent))

    def _share_disagree(self) -> float:
        judged = [a for _, a in self._hist if a is not None]
        return 0.0 if not judged else 1.0 - sum(judged) / len(judged)

    def _suspect(self) -> bool:
        """Mostly-disagreeing confident observations for a while: the map may be stale."""
        if not self._disagree:
            return False
        span = self._disagree[-1][0] - self._disagree[0][0]
        return span >= self.p.suspect_s and self._share_disagree() >= self.p.disagree_frac

    def _nudge(self, kp: np.ndarray, torso: bool) -> None:
        """Move held keypoints toward confident observations that agree with them."""
        tol = self.p.agree_tol * torso_length(self.ref[TORSO])
        vis = kp[:, 2] >= self.p.min_vis
        d = np.linalg.norm(kp[:, :2] - self.ref, axis=1)
        upd = vis & (d <= tol) & self.ref_ok
        if not torso:
            upd[TORSO] = False
        self.ref[upd] += self.p.ema * (kp[upd, :2] - self.ref[upd])
        # A leg keypoint never seen at establishment becomes known once seen confidently.
        new = vis & ~self.ref_ok
        new[TORSO] = False
        self.ref[new] = kp[new, :2]
        self.ref_ok |= new
        if upd[TORSO].any():
            self._refit()
