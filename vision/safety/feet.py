"""The therapist's foot points, from the image onto the client's back and the floor plan.

``FootProjector`` (one per frame: ``BackState.feet``) maps a foot's points in one call that
answers both: where they are on the body map (reference cm), and, where the studio's camera is
known, on the floor plan (metres). Lengths on the floor plan are real lengths, whatever the body
map does beyond the torso (fitted to four torso points of a body whose proportions differ from
the atlas's, it stretches the legs).

Parallax: the map is the plane of the torso *joints*, inside the body; the therapist's feet are
~14 cm higher. With the camera, each point is first moved along the vertical from its height
(the skin, plus how far the point is above the sole) to the joint plane, so that it maps to where
it is on the back (vision/io/camera.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np

from vision.io import camera as C
from vision.safety.geometry import apply_h, point_segment_distance, points_in_polygon
from vision.skeleton import FEET, HIPS, SHOULDERS

# How high the heel and toe-tip keypoints are above the sole (m), for the parallax correction.
SOLE = np.array([C.HEEL_POINT_ABOVE_SOLE_M, C.TOE_POINT_ABOVE_SOLE_M])

# How far (1 sigma, m) a foot point's true height above the client's joint plane may be from the
# heights vision/io/camera.py assumes: trunk depth varies between adults (chest and buttock
# depth, SD about 2.5 cm, ANSUR II 2012), of which the joints-to-skin half and the joints' own
# height each carry part; the back's relief (shoulder blades, the lumbar hollow, the spine's
# groove between the erectors) and a heel or toe that is raised add about as much again. Seen
# at an angle theta from the vertical, it moves the foot sigma x tan(theta) across the back,
# toward or away from the camera: 2.5 cm from a camera at 45 degrees, with a 3 cm spine and a
# ball of the foot ~1 cm from it. On the rendered benchmark's 12 bodies the per-session median
# of this height error is within +-3 cm (samples/render: docs/rendered-scenes.md).
HEIGHT_SIGMA_M = 0.025


@dataclass(frozen=True)
class FootPoints:
    body: np.ndarray           # (..., 2) body coordinates, reference cm
    room: np.ndarray | None    # (..., 2) on the floor plan, metres; None without the camera


@dataclass(frozen=True)
class MappedFoot:
    """One whole foot (heel and toe tip seen) on the body."""
    heel: np.ndarray     # (2,) body cm
    toe: np.ndarray
    # The body cm that a keypoint error of a share of a foot moves a point along the foot's
    # direction in the image: large where the view foreshortens the foot (a camera at the head
    # end looking along it), small from above.
    slack: float
    # (length, that slack) to judge whether this is a foot: real cm on the floor plan with the
    # camera (the body map stretches the legs: on the rendered demo a foot on the back of the
    # knee maps ~45 body cm long), else body cm.
    judged: tuple[float, float]
    cov: np.ndarray      # (2, 2, 2): heel's and toe's covariance in body cm², from the keypoints


def _slack(four: np.ndarray) -> float:
    """The larger move of toe and heel (rows 1, 0) to their shifted copies (rows 2, 3); 0
    where a point did not map."""
    v = max(float(np.linalg.norm(four[2] - four[1])), float(np.linalg.norm(four[3] - four[0])))
    return v if np.isfinite(v) else 0.0


@dataclass(frozen=True)
class FootProjector:
    """Image points of the therapist's feet → the client's body map ``h`` (image → body cm)
    and, with ``camera``, the floor plan; ``z_joints``: the mapped joint plane's height (m)."""
    h: np.ndarray
    camera: C.CameraModel | None = None
    z_joints: float = 0.0

    def project(self, pts: np.ndarray,
                above_sole_m: float | np.ndarray = C.FOOT_POINT_ABOVE_SOLE_M) -> FootPoints:
        """Foot points (..., 2) at ``above_sole_m`` over the sole (per point or one for all) on
        the body and, with the camera, on the floor plan: one intersection of their viewing
        rays with their heights."""
        pts = np.asarray(pts, dtype=np.float64)
        if self.camera is None:
            return FootPoints(apply_h(self.h, pts), None)
        p = C.intersect_plane_z(self.camera, pts, self._heights(pts, above_sole_m))
        return FootPoints(apply_h(self.h, C.project_at_height(self.camera, p, self.z_joints)),
                          p[..., :2])

    def _heights(self, pts: np.ndarray, above_sole_m: float | np.ndarray) -> np.ndarray:
        """Heights (m) of foot points: first as if on the back; then at the skin's height
        where that puts the point (a foot on a leg stands lower). The height varies slowly
        along the body: one pass is enough."""
        table = self.z_joints - C.JOINT_PLANE_ABOVE_TABLE_M
        lift = np.asarray(above_sole_m, dtype=np.float64)
        z = self.z_joints + C.SKIN_ABOVE_JOINTS_M + lift
        body = apply_h(self.h, C.drop_to_plane(self.camera, pts, z, self.z_joints))
        return table + C.skin_above_table(np.where(np.isfinite(body[..., 1]), body[..., 1],
                                                   0.0)) + lift

    def foot(self, heel: np.ndarray, toe: np.ndarray, error_px: float,
             sigma_px: dict[str, np.ndarray], height_sigma_m: float = HEIGHT_SIGMA_M
             ) -> MappedFoot:
        """A whole foot from its heel and toe-tip pixels: ``error_px``, the keypoint error
        that gives the slack; ``sigma_px``, the keypoints' 1-sigma error (along, across the
        foot in the image) per point ("heel", "toe"), which gives the covariances. One
        mapping of eight points: the two, each moved by the error along the foot, and each
        moved by its sigma along and across it (the columns of the map's Jacobian x sigma,
        whose outer product is the point's covariance on the body). The points' height above
        the joint plane is known to ``height_sigma_m`` (HEIGHT_SIGMA_M): each is also mapped
        that much higher, and the move (along the view's direction across the back) adds to its
        covariance."""
        d = toe - heel
        n = float(np.linalg.norm(d))
        u = d / n if n > 1e-6 else np.array([0.0, 1.0])
        w = np.array([-u[1], u[0]])
        (ha, hc), (ta, tc) = sigma_px["heel"], sigma_px["toe"]
        pts = np.stack([heel, toe, toe + error_px * u, heel - error_px * u,
                        heel + ha * u, heel + hc * w, toe + ta * u, toe + tc * w, heel, toe])
        lift = SOLE[[0, 1, 1, 0, 0, 0, 1, 1, 0, 1]]     # a copy (fancy indexing)
        if self.camera is not None:
            lift[8:] += height_sigma_m                  # the last two: that much higher
        mapped = self.project(pts, lift)
        b, room = mapped.body, mapped.room
        slack = _slack(b[:4])
        judged = (float(np.linalg.norm(b[1] - b[0])), slack) if room is None else \
            (100.0 * float(np.linalg.norm(room[1] - room[0])), 100.0 * _slack(room[:4]))
        jac = np.stack([(b[4:6] - b[0]).T, (b[6:8] - b[1]).T])      # (2 points, 2, 2)
        cov = jac @ jac.transpose(0, 2, 1)
        if self.camera is not None:
            dz = b[8:10] - b[:2]                                      # (2 points, 2)
            if np.all(np.isfinite(dz)):
                cov = cov + dz[:, :, None] * dz[:, None, :]
        return MappedFoot(b[0], b[1], slack, judged, cov)


@dataclass(frozen=True)
class TableFootprint:
    """The table on the floor plan, to tell a foot that cannot be on the client, with or
    without a back map (before the back is established, a foot of unknown place would count
    as loaded: the therapist standing beside the table at the start raised no-hands alarms).

    A foot on the client stands on the skin over the table top. A foot whose seen points,
    taken at the skin's height (``z_m``: table top + skin + the point over the sole), all land
    more than ``margin_m`` beyond the table's edge is not on the client: it is on the floor
    beside the table (or in the air there). Only a decisive answer: a foot on the floor behind
    the table, seen across it, has rays that cross the table at that height, and is left to the
    back map. The margin is two HEIGHT_SIGMA_M at 45 degrees: a client's back that high or low
    moves a foot's point that far. (On the rendered benchmark's 24 sessions a foot on the
    client lies at least 17 cm inside the table's edge at that height, the therapist standing
    beside the table on the camera's side 10-120 cm outside it.)"""
    camera: C.CameraModel
    outline_m: np.ndarray      # (N, 2) the table top's corners on the floor plan, metres
    z_m: float
    margin_m: float = 2 * HEIGHT_SIGMA_M

    @classmethod
    def from_studio(cls, camera: C.CameraModel | None, table_px: np.ndarray | None,
                    table_top_m: float) -> "TableFootprint | None":
        if camera is None or table_px is None or len(table_px) < 3:
            return None
        corners = C.intersect_plane_z(camera, np.asarray(table_px, dtype=np.float64),
                                      table_top_m)[:, :2]
        if not np.all(np.isfinite(corners)):
            return None
        z = table_top_m + C.JOINT_PLANE_ABOVE_TABLE_M + C.SKIN_ABOVE_JOINTS_M + \
            C.FOOT_POINT_ABOVE_SOLE_M
        return cls(camera, corners, z)

    def beside(self, pts_px: np.ndarray) -> bool:
        """Whether every one of the image points (N, 2) of one foot lands beyond the table's
        edge by more than the margin (none: False)."""
        pts = C.intersect_plane_z(self.camera, np.asarray(pts_px, dtype=np.float64), self.z_m)
        if len(pts) == 0 or not np.all(np.isfinite(pts)):
            return False
        xy = pts[:, :2]
        return bool(not points_in_polygon(xy, self.outline_m).any() and
                    point_segment_distance(xy, self._edges).min() > self.margin_m)

    @cached_property
    def _edges(self) -> np.ndarray:
        """The outline's edges (N, 2, 2), once: both tests ask for them every frame."""
        return np.stack([self.outline_m, np.roll(self.outline_m, -1, axis=0)], axis=1)

    def stands_on_floor(self, pts_px: np.ndarray, kp: np.ndarray, min_vis: float = 0.5) -> bool:
        """Whether the therapist whose keypoints (33, 3) are ``kp`` stands on the floor, with
        this foot (its seen image points (N, 2)) beside the table, where ``beside`` cannot
        tell: behind the table, seen across it, its rays cross the table at the skin's height.

        One camera cannot tell near from far, but it sees a body's size: taken on the back,
        the feet put the body's hips and shoulders (on their viewing rays, over the feet) at
        the heights of a body scaled toward the camera by (camera height - back height) /
        camera height, about 0.65-0.75. On the floor only if a therapist standing on the back
        would be shorter than any adult (STANDING_ON_BACK_MIN_M, every seen pair), while on
        the floor the same body has an adult's heights (STANDING_ON_FLOOR_M) and this foot is
        beside the table, not under it. The body stands over the middle of its feet give or
        take a lean and a stance (BODY_OVER_FEET_M), which moves the heights by that times the
        cotangent of the rays' angle from the vertical: undecided (False) where that is more
        than HEIGHT_ERROR_M (a camera steeper than about 45 degrees over the therapist)."""
        pts = np.asarray(pts_px, dtype=np.float64)
        both = kp[FEET]
        support = both[both[:, 2] >= min_vis, :2]
        pairs = {name: ix for name, ix in (("hips", HIPS), ("shoulders", SHOULDERS))
                 if np.all(kp[ix, 2] >= min_vis)}
        if len(pts) == 0 or len(support) == 0 or not pairs:
            return False
        # taken on the back first: a body that stands there (every frame on the client) ends it
        on_back = C.intersect_plane_z(self.camera, support.mean(axis=0), self.z_m)
        if not np.all(np.isfinite(on_back)):
            return False
        mids = {name: kp[ix, :2].mean(axis=0)[None] for name, ix in pairs.items()}
        for name, mid in mids.items():
            h_back, cot = _height_over(self.camera, mid, on_back)
            if not np.isfinite(h_back) or BODY_OVER_FEET_M * cot > HEIGHT_ERROR_M or \
                    h_back >= STANDING_ON_BACK_MIN_M[name]:
                return False
        on_floor, this_on_floor = C.intersect_plane_z(
            self.camera, np.stack([support.mean(axis=0), pts.mean(axis=0)]),
            C.FOOT_POINT_ABOVE_SOLE_M)
        if not (np.all(np.isfinite(on_floor)) and np.all(np.isfinite(this_on_floor))):
            return False
        fxy = this_on_floor[None, :2]
        if points_in_polygon(fxy, self.outline_m)[0] and \
                point_segment_distance(fxy, self._edges).min() > UNDER_TABLE_M:
            return False
        for name, mid in mids.items():
            h_floor, _ = _height_over(self.camera, mid, on_floor)
            lo, hi = STANDING_ON_FLOOR_M[name]
            if not (np.isfinite(h_floor) and lo <= h_floor <= hi):
                return False
        return True


# A therapist standing on the client, its hip and shoulder joints over its soles (m): an adult
# woman of the 5th percentile's stature (1.52 m, ANSUR II 2012) at Drillis & Contini's 0.530 and
# 0.818 of it (0.81, 1.24), less 8 % for knees bent under load (0.74, 1.14), less 10 % for the
# keypoints and the camera's calibration. Below this, no adult stands on the back.
STANDING_ON_BACK_MIN_M = {"hips": 0.67, "shoulders": 1.03}
# The same body standing (or stooping) on the floor: from a stoop to a tall man's (1.95 m).
STANDING_ON_FLOOR_M = {"hips": (0.55, 1.20), "shoulders": (0.90, 1.80)}
# A foot on the floor may reach this far under the table top's edge (m): farther in, it is not
# on the floor beside the table.
UNDER_TABLE_M = 0.10
# The hips and shoulders stand over the middle of the feet within this (m: a lean on the bars,
# a stance); at most this error in their heights (m) lets the sizes be told apart.
BODY_OVER_FEET_M, HEIGHT_ERROR_M = 0.10, 0.10


def _height_over(cam: C.CameraModel, body_px: np.ndarray, foot: np.ndarray
                 ) -> tuple[float, float]:
    """The height (m) above ``foot`` (3,) of the point on the viewing ray of ``body_px`` (1, 2)
    that lies straight over it (nearest to its vertical, in the floor plan), and the ray's
    cotangent from the vertical (m of height per m across)."""
    d = cam.rays(body_px)[0]
    c = cam.centre
    dxy = d[:2]
    across = float(np.linalg.norm(dxy))
    if across < 1e-9:
        return np.nan, np.inf
    s = float(dxy @ (foot[:2] - c[:2])) / across ** 2
    if s <= 0:
        return np.nan, np.inf
    return float(c[2] + s * d[2] - foot[2]), abs(float(d[2])) / across
