"""The client's back as a map: image pixels → body coordinates (reference cm), held over time.

The client is hidden under the therapist exactly when the map matters, and pose estimates of an
occluded body are badly wrong. So the map is established while the client lies alone, held while
the therapist works, nudged only by confident observations that agree with it, and dropped
(`unknown`) when confident observations consistently disagree — the client turned or got up —
until a new one is established.

Parallax: the map is the plane of the torso *joints*, inside the body; the therapist's feet are
~14 cm higher. With the studio's camera known, foot points are moved to the joint plane along the
vertical before they are mapped (``BackState.feet``: vision/safety/feet.py). Without it, how
oblique the view is gets estimated from the table's outline (4 corners in the studio file: the
vanishing points of its sides) or else from the torso's shape, and an oblique view widens the
zones' uncertainty (``BackState.uncertainty_cm``): borderline steps read `unknown`.

Three-point back: from the side or a corner the far shoulder or hip is hidden behind the client's
own body. The back is then established from three confident corners, the fourth completed from
the reference body's proportions (an affine map of the three), with a larger uncertainty
(``BackState.corners_seen`` = 3) until the fourth is seen confidently. Straight from the side both
far corners are hidden: with the camera known, the two seen corners are placed on the joint
plane in 3-D and the other two completed there by the reference proportions (a similarity: the
client lies face down), ``corners_seen`` = 2; without the camera two corners are no back
(vision/safety/torso.py).
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

import numpy as np

from vision.io import camera as C
from vision.safety.feet import FootProjector, TableFootprint
from vision.safety.geometry import apply_h, body_similarity, homography
from vision.skeleton import LEG, TORSO_QUAD, torso_length
from vision.safety.torso import torso_corners
from vision.vocab import Back, Side
from vision.safety.zones import Atlas, default_atlas


@dataclass
class BackFrameParams:
    min_vis: float = 0.6          # a keypoint this confident is an observation
    establish_s: float = 0.5      # consistent confident observations needed to (re)establish
    agree_tol: float = 0.15       # mean torso-corner deviation, in torso lengths, to "agree"
    ema: float = 0.05             # how fast agreeing observations move the held map
    suspect_s: float = 0.4        # disagreement this long (mostly confident frames) → unknown
    moved_s: float = 1.0          # stable disagreement this long → client moved: re-establish
    disagree_frac: float = 0.7    # share of confident frames disagreeing to call it disagreement
    # Without the camera: how oblique the view is, estimated from the torso's shape as a lower
    # bound that allows the client's proportions to differ from the reference body's by
    # `proportion_slack` (camera.obliqueness_deg); from `oblique_min_deg` on, the zones'
    # uncertainty grows by the feet's parallax at that angle (2.3 cm at 10°).
    proportion_slack: float = 0.88
    oblique_min_deg: float = 10.0
    # A torso completed from three corners: the fourth is placed by the reference body's
    # proportions, which vary by about 6 % of the 45 cm shoulder width between people.
    three_point_cm: float = 3.0
    two_point_cm: float = 4.0     # two corners and the camera: the width is all proportions


@dataclass
class BackState:
    """What the map says at one moment."""
    state: Back
    h: np.ndarray | None                # image → body (3x3), None unless established
    legs: dict[str, np.ndarray | None]  # per side (3, 2) hip/knee/ankle in body coordinates
    scale_px: float                     # image px per body cm near the torso (for thresholds)
    camera: C.CameraModel | None = None  # the studio's camera: feet are corrected for parallax
    z_joints: float = 0.0               # height (m) of the mapped joint plane (with a camera)
    corners_seen: int = 4               # 3 or 2: torso corners completed by proportions
    oblique_deg: float = 0.0            # without a camera: the view's estimated obliqueness
    uncertainty_cm: float = 0.0         # how far a foot may be from where it maps (body cm)
    table: TableFootprint | None = None  # with the camera and the table: feet beside it

    @property
    def known(self) -> bool:
        return self.state == Back.ESTABLISHED and self.h is not None

    @property
    def feet(self) -> FootProjector:
        """The therapist's foot points → this map (and the floor plan with the camera); only
        while ``known``."""
        return FootProjector(self.h, self.camera, self.z_joints)

    def feet_to_body(self, pts: np.ndarray,
                     above_sole_m: float | np.ndarray = C.FOOT_POINT_ABOVE_SOLE_M
                     ) -> np.ndarray:
        """Image points (..., 2) of the therapist's feet → body coordinates (..., 2)
        (``FootProjector.project``)."""
        return self.feet.project(pts, above_sole_m).body


class BackMap:
    """Holds the client's body frame across frames. Call ``update`` once per frame."""

    def __init__(self, atlas: Atlas | None = None, params: BackFrameParams | None = None,
                 camera: C.CameraModel | None = None, table_top_m: float = C.DEFAULT_TABLE_TOP_M,
                 table: np.ndarray | None = None, image_size: tuple[int, int] | None = None):
        self.atlas = atlas or default_atlas()
        self.p = params or BackFrameParams()
        self.camera = camera
        self.table_top = table_top_m
        # The plane of the shoulder and hip joints, which the map is of (vision/io/camera.py).
        self.z_joints = table_top_m + C.JOINT_PLANE_ABOVE_TABLE_M
        self.table = TableFootprint.from_studio(camera, table, table_top_m)
        self.completed: list[int] = []          # torso corners completed from proportions
        self.oblique = 0.0
        # Without the camera, the table's outline tells how oblique the view is regardless of
        # the client's proportions (the torso's shape confounds the two).
        self.oblique_table = None
        if camera is None and table is not None and image_size is not None:
            self.oblique_table = C.obliqueness_from_outline(table, *image_size)
        self.ref: np.ndarray | None = None      # (33, 2) held keypoints
        self.ref_ok = np.zeros(33, dtype=bool)  # which held keypoints are trustworthy
        self._cand: deque = deque()             # (t, kp) consistent confident observations
        self._hist: deque = deque()             # (t, agrees: bool | None) recent judgements
        self._disagree: deque = deque()         # (t, kp) recent confident disagreeing obs
        self._h: np.ndarray | None = None
        self.moves = 0                          # times the client was seen to move
        self._covered = False                   # someone stands on the client this frame

    # -- public -------------------------------------------------------------------------------
    def update(self, t: float, kp: np.ndarray | None, covered: bool = False) -> BackState:
        """Feed the client's keypoints (33, 3) for this frame, or None when not seen.

        ``covered``: someone stands on the client now. A pose model fooled by the body on top
        reads the covered client with high confidence and a slow drift (up to 0.3 shoulder
        widths on rendered scenes), which nudging would follow: the held map is then only
        re-established by a real move, never nudged."""
        self._covered = covered
        obs = None if kp is None else torso_corners(kp, self.p.min_vis, self.atlas.frame_quad,
                                                    self.camera, self.z_joints)
        if obs is not None:
            # The observation as the rest of the map reads it: the completed corner in place.
            kp = kp.copy()
            kp[TORSO_QUAD, :2] = obs[0]
            if obs[1] < 4:
                miss = TORSO_QUAD[kp[TORSO_QUAD, 2] < self.p.min_vis]
                kp[miss, 2] = 0.0          # completed, not seen: never nudges the held corner
        if self.ref is None:
            self._try_establish(t, kp if obs is not None else None)
        elif obs is not None and obs[1] < 4 and not self.completed:
            # A completed observation of a back held from four seen corners: the therapist
            # covers a corner. It may refine the back where it agrees, but is too weak to say
            # that the client moved (a covered body gives confident garbage now and then).
            if self._deviation(self.ref[TORSO_QUAD], kp[TORSO_QUAD, :2]) <= self.p.agree_tol:
                self._track(t, kp, True)
            else:
                self._track(t, kp, False)
        else:
            self._track(t, kp, obs is not None)
        return self.state(t)

    def state(self, t: float | None = None) -> BackState:
        if self.ref is None or self._h is None:
            return BackState(Back.UNKNOWN, None, {Side.LEFT: None, Side.RIGHT: None}, 0.0,
                             camera=self.camera, z_joints=self.z_joints, table=self.table)
        st = Back.SUSPECT if self._suspect() else Back.ESTABLISHED
        legs = {}
        for side, idx in LEG.items():
            legs[side] = apply_h(self._h, self._leg_px(idx)) if self.ref_ok[idx].all() else None
        quad = self.ref[TORSO_QUAD]
        scale = torso_length(quad) / torso_length(self.atlas.frame_quad)
        unc = 0.0
        if len(self.completed) == 1:
            unc += self.p.three_point_cm
        elif self.completed:
            unc += self.p.two_point_cm
        if self.camera is None and self.oblique >= self.p.oblique_min_deg:
            # The feet's height above the joint plane, seen at this angle, moves them this far.
            unc += 100.0 * C.FOOT_ABOVE_JOINTS_M * np.tan(np.radians(self.oblique))
        return BackState(st, self._h if st == Back.ESTABLISHED else None, legs, scale,
                         camera=self.camera, z_joints=self.z_joints,
                         corners_seen=4 - len(self.completed),
                         oblique_deg=self.oblique, uncertainty_cm=float(unc), table=self.table)

    def _leg_px(self, idx: np.ndarray) -> np.ndarray:
        """The held hip, knee, ankle pixels, moved to the joint plane when the camera is known
        (the knee and ankle of a leg lying on the table are lower than the hips)."""
        px = self.ref[idx]
        if self.camera is None:
            return px
        z = np.array([self.z_joints, self.table_top + C.KNEE_ABOVE_TABLE_M,
                      self.table_top + C.ANKLE_ABOVE_TABLE_M])
        return C.drop_to_plane(self.camera, px, z, self.z_joints)

    # -- internals ----------------------------------------------------------------------------
    def _try_establish(self, t: float, kp: np.ndarray | None) -> None:
        if kp is None:
            self._cand.clear()
            return
        if self._cand:
            # Compare with the median so far, not one noisy frame.
            med = np.median(np.stack([k[TORSO_QUAD, :2] for _, k in self._cand]), axis=0)
            if self._deviation(med, kp[TORSO_QUAD, :2]) > self.p.agree_tol:
                self._cand.clear()
        self._cand.append((t, kp.copy()))
        if t - self._cand[0][0] >= self.p.establish_s and len(self._cand) >= 3:
            stack = np.stack([k for _, k in self._cand])
            self._set_ref(stack)
            self._cand.clear()

    def _set_ref(self, stack: np.ndarray) -> None:
        """Held keypoints = median of confident observations; legs only where seen confidently.
        A torso corner seen on fewer than half the frames is the median of its completions."""
        vis = stack[:, :, 2] >= self.p.min_vis
        ref = np.zeros((33, 2))
        ok = np.zeros(33, dtype=bool)
        for j in range(33):
            rows = stack[vis[:, j], j, :2]
            if len(rows) >= max(2, len(stack) // 2):
                ref[j] = np.median(rows, axis=0)
                ok[j] = True
        self.completed = []
        for j in TORSO_QUAD:
            if not ok[j]:
                ref[j] = np.median(stack[:, j, :2], axis=0)
                ok[j] = True
                self.completed.append(int(j))
        self.ref, self.ref_ok = ref, ok
        self._hist.clear()
        self._disagree.clear()
        self._refit()

    def _refit(self) -> None:
        try:
            self._h = homography(self.ref[TORSO_QUAD], self._body_quad(self.ref[TORSO_QUAD]))
        except ValueError:
            self._h = None
        self.oblique = self.oblique_table if self.oblique_table is not None else \
            C.obliqueness_deg(self.ref[TORSO_QUAD], self.atlas.frame_quad, self.p.proportion_slack)

    def _body_quad(self, quad_px: np.ndarray) -> np.ndarray:
        """Where the held torso corners (LS, RS, RH, LH) lie in body coordinates.

        With the studio's camera, in the client's own proportions: the corners on the joint
        plane in metres, put on the atlas's axes by a similarity (``body_similarity``). The
        image→body map is then the camera's plane homography followed by that similarity, so a
        client whose hip joints are narrower than the atlas's keeps them narrow instead of
        being read as a view in perspective (which stretched the legs and the flanks). Without
        the camera one image cannot tell taper from perspective: the atlas's own quad."""
        ref = self.atlas.frame_quad
        if self.camera is None:
            return ref
        w = C.intersect_plane_z(self.camera, quad_px, self.z_joints)[:, :2]
        try:
            return apply_h(body_similarity(w, ref), w)
        except ValueError:
            return ref

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
        dev = self._deviation(self.ref[TORSO_QUAD], kp[TORSO_QUAD, :2])
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
                    self._deviation(recent[-1][TORSO_QUAD, :2], k[TORSO_QUAD, :2]) <= self.p.agree_tol
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
        """Move held keypoints toward confident observations that agree with them (only
        while nobody stands on the client)."""
        if self._covered:
            return
        tol = self.p.agree_tol * torso_length(self.ref[TORSO_QUAD])
        vis = kp[:, 2] >= self.p.min_vis
        d = np.linalg.norm(kp[:, :2] - self.ref, axis=1)
        upd = vis & (d <= tol) & self.ref_ok
        if not torso:
            upd[TORSO_QUAD] = False
        self.ref[upd] += self.p.ema * (kp[upd, :2] - self.ref[upd])
        # A torso corner completed from proportions takes its first confident sighting that
        # fits the rest (the other corners agreed), and is then held like the others.
        for c in list(self.completed) if torso else []:
            if vis[c] and d[c] <= 2 * tol:
                self.ref[c] = kp[c, :2]
                self.completed.remove(c)
                upd[TORSO_QUAD[0]] = True       # refit below
        # A leg keypoint never seen at establishment becomes known once seen confidently.
        new = vis & ~self.ref_ok
        new[TORSO_QUAD] = False
        self.ref[new] = kp[new, :2]
        self.ref_ok |= new
        if upd[TORSO_QUAD].any():
            self._refit()
