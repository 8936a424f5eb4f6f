"""The studio's camera (pinhole, OpenCV convention) and the parallax of the therapist's feet.

World frame (metres): z up, origin on the floor under the centre of the table top, x along the
table toward its head end (face cradle), y = z × x (for a client lying face down with the head at
+x, +y is the client's left). Camera: ``x_cam = R @ x_world + t``, camera x right, y down, z
forward (OpenCV), pixels ``u ~ K @ x_cam``; no lens distortion (the keypoints are taken to be in
an undistorted image).

Why this module exists: the back map (vision/safety/backframe.py) is the projective map of the plane of
the client's shoulder and hip *joints*, which lie inside the body (about 12 cm above the table
top), while the therapist's heel and toe tip lie on the skin, another ~13 cm higher. A point that
is not in the mapped plane is mapped where its viewing ray crosses that plane: from a camera
looking at 40° that is 10 cm away from the point's own place. With the camera known the feet are
*lifted*: each foot point's ray is intersected with the horizontal plane at the foot's height,
and the 3-D point found is taken straight down to the joint plane and reprojected into the image
(``drop_to_plane``); the back map then places it correctly. All functions are pure and
vectorised over points.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

# Heights above the table top (m), for a client lying face down. Anthropometric averages, so
# each is good to a few cm; what matters for the parallax is the difference between the feet
# and the joint plane (see docs/safety-core.md, "Parallax").
#   - The trunk's sagittal depth (chest depth, buttock depth) of adults is about 23-27 cm
#     (Pheasant & Haslegrave, *Bodyspace*, 3rd ed., table 2.5; ANSUR II 2012). The shoulder
#     (glenohumeral) and hip joint centres lie near the middle of that depth, so the plane of the
#     four torso keypoints lies about half a trunk depth above the table.
#   - The back's skin over the erector spinae and the gluteals is the other half-depth higher,
#     a little less under a therapist's weight (soft tissue compresses by 1-2 cm).
#   - The pose keypoints of the foot are not on the sole: BlazePose's heel is the back of the
#     heel (the calcaneal tuberosity, 3-4 cm up) and the toe tip the end of the big toe (~2 cm).
#   - Legs: the knee's depth is about 10 cm and the ankle's about 7 cm (same sources), so legs
#     lying flat have their joint centres 4-5 cm above the table; but a prone client usually
#     lies with a bolster under the ankles (10-15 cm), which raises the ankle to ~10 cm and the
#     knee to ~8 cm, and the back of the knee's skin to ~17 cm. The values below assume the
#     bolster; legs flat on the table put the knee ~4 cm lower (a 3 cm error at 40°).
#   - Along the legs the skin comes down from the buttocks to the back of the knee and the calf
#     (thigh depth ~17 cm at the gluteal fold, knee ~10 cm, calf ~11 cm, ankle ~7 cm): the
#     therapist's foot on a leg stands lower than on the back (SKIN_PROFILE).
JOINT_PLANE_ABOVE_TABLE_M = 0.12
SKIN_ABOVE_JOINTS_M = 0.11
HEEL_POINT_ABOVE_SOLE_M = 0.035
TOE_POINT_ABOVE_SOLE_M = 0.02
FOOT_POINT_ABOVE_SOLE_M = 0.5 * (HEEL_POINT_ABOVE_SOLE_M + TOE_POINT_ABOVE_SOLE_M)
FOOT_ABOVE_JOINTS_M = SKIN_ABOVE_JOINTS_M + FOOT_POINT_ABOVE_SOLE_M   # ~0.14: the parallax's lever
KNEE_ABOVE_TABLE_M = 0.08
ANKLE_ABOVE_TABLE_M = 0.10
# the skin at the back of the knee and over the calves, with the bolster (SKIN_PROFILE)
KNEE_SKIN_ABOVE_TABLE_M = 0.20
CALF_SKIN_ABOVE_TABLE_M = 0.19
DEFAULT_TABLE_TOP_M = 0.65
# The back's skin above the table (m) along the body: (y in reference body cm, height); flat over
# the trunk and the buttocks down to the gluteal fold (~11 cm below the hip joints, y ≈ 62), then
# down the thighs to the back of the knee (thigh 0.245 H: y ≈ 93; 15-17 cm with an ankle bolster,
# more where the foot bridges the hollow of the knee from the calf and the thigh: 20 cm),
# the calves about as high.
SKIN_PROFILE = np.array([[-40.0, JOINT_PLANE_ABOVE_TABLE_M + SKIN_ABOVE_JOINTS_M],
                         [62.0, JOINT_PLANE_ABOVE_TABLE_M + SKIN_ABOVE_JOINTS_M],
                         [93.0, KNEE_SKIN_ABOVE_TABLE_M], [140.0, CALF_SKIN_ABOVE_TABLE_M]])


def skin_above_table(y_cm: np.ndarray) -> np.ndarray:
    """Height (m) of the client's skin above the table top at body y (reference cm)."""
    return np.interp(np.asarray(y_cm, dtype=np.float64), SKIN_PROFILE[:, 0], SKIN_PROFILE[:, 1])


class CameraError(ValueError):
    pass


@dataclass(frozen=True)
class CameraModel:
    """Pinhole camera: K (3x3, px), R (3x3), t (3,) with x_cam = R @ x_world + t (world in m);
    the image's size in pixels where the camera comes with its frames (a renderer's: a studio
    file's camera does not carry it)."""
    K: np.ndarray
    R: np.ndarray
    t: np.ndarray
    width: int | None = None
    height: int | None = None

    @property
    def centre(self) -> np.ndarray:
        """The camera's position in the world (m)."""
        return -self.R.T @ self.t

    def to_dict(self) -> dict:
        return {"K": np.round(self.K, 3).tolist(), "R": np.round(self.R, 6).tolist(),
                "t": np.round(self.t, 4).tolist()}

    def project(self, pts: np.ndarray) -> np.ndarray:
        """World points (..., 3) → pixels (..., 2); points behind the camera give inf."""
        uv, depth = self.project_with_depth(pts)
        out = np.where(depth[..., None] > 1e-9, uv, np.inf)
        return np.where(np.isfinite(out), out, np.inf)

    def project_with_depth(self, pts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """World points (..., 3) → pixels (..., 2) and depth along the optical axis (..., m).
        Points behind the camera keep their (mirrored) pixels, with a negative depth: a depth
        test reads them as not seen."""
        p = np.asarray(pts, dtype=np.float64) @ self.R.T + self.t
        q = p @ self.K.T
        with np.errstate(divide="ignore", invalid="ignore"):
            return q[..., :2] / q[..., 2:3], p[..., 2]

    def rays(self, uv: np.ndarray) -> np.ndarray:
        """Unit viewing directions (..., 3) in the world of pixels (..., 2)."""
        uv = np.asarray(uv, dtype=np.float64)
        h = np.concatenate([uv, np.ones(uv.shape[:-1] + (1,))], axis=-1)
        d = np.linalg.solve(self.K, h.reshape(-1, 3).T).T.reshape(h.shape) @ self.R
        return d / np.linalg.norm(d, axis=-1, keepdims=True)

    def ray_angle_deg(self, uv: np.ndarray) -> np.ndarray:
        """Angle (deg) of each pixel's viewing ray from the vertical (0 = straight down)."""
        d = self.rays(uv)
        return np.degrees(np.arccos(np.clip(-d[..., 2], -1.0, 1.0)))


def camera_from_dict(doc: object, where: str) -> CameraModel:
    """Validate the studio file's ``camera`` block; one-line CameraError on bad input."""
    if not isinstance(doc, dict):
        raise CameraError(f"{where}: \"camera\" must be a mapping with K, R and t")
    out = {}
    for key, shape in (("K", (3, 3)), ("R", (3, 3)), ("t", (3,))):
        if key not in doc:
            raise CameraError(f"{where}: \"camera\" needs {key}")
        try:
            a = np.asarray(doc[key], dtype=np.float64)
        except (TypeError, ValueError):
            a = np.zeros(0)
        if a.shape != shape or not np.all(np.isfinite(a)):
            raise CameraError(f"{where}: camera {key} must be a {'x'.join(map(str, shape))} "
                              f"array of numbers")
        out[key] = a
    K, R = out["K"], out["R"]
    if not (K[0, 0] > 0 and K[1, 1] > 0 and abs(K[1, 0]) < 1e-9 and np.allclose(K[2], [0, 0, 1])):
        raise CameraError(f"{where}: camera K must be [[fx, s, cx], [0, fy, cy], [0, 0, 1]] "
                          f"with fx, fy > 0")
    if not np.allclose(R @ R.T, np.eye(3), atol=1e-3) or np.linalg.det(R) < 0:
        raise CameraError(f"{where}: camera R must be a rotation matrix (orthonormal, det +1)")
    # Re-orthonormalise: a matrix rounded to 6 digits in a YAML file is not exactly a rotation.
    u, _, vt = np.linalg.svd(R)
    return CameraModel(K=K, R=u @ vt, t=out["t"])


def intrinsics(focal_px: float, width: int, height: int) -> np.ndarray:
    """K of square pixels with the principal point at the image centre."""
    return np.array([[focal_px, 0, width / 2], [0, focal_px, height / 2], [0, 0, 1.0]])


# OpenGL's camera axes (looks along -z, +y up) → OpenCV's, and back
_GL_FLIP = np.diag([1.0, -1.0, -1.0])


def camera_from_gl_pose(pose: np.ndarray, focal_px: float, width: int, height: int
                        ) -> CameraModel:
    """From a 4x4 camera-to-world pose in OpenGL's convention (looks along -z, +y up), as
    pyrender uses, and a focal length with the principal point at the image centre."""
    w2c = np.linalg.inv(np.asarray(pose, dtype=np.float64))
    return CameraModel(K=intrinsics(focal_px, width, height), R=_GL_FLIP @ w2c[:3, :3],
                       t=_GL_FLIP @ w2c[:3, 3])


def gl_pose(cam: CameraModel) -> np.ndarray:
    """The camera's 4x4 camera-to-world pose in OpenGL's convention (camera_from_gl_pose's
    inverse), for pyrender."""
    pose = np.eye(4)
    pose[:3, :3] = cam.R.T @ _GL_FLIP
    pose[:3, 3] = cam.centre
    return pose


def look_at(eye, target, K: np.ndarray, up=None, roll_rad: float = 0.0,
            width: int | None = None, height: int | None = None) -> CameraModel:
    """A camera at ``eye`` looking at ``target`` (world m), image up toward ``up``, by default
    world +z when it can be (or +x when looking straight down); then turned ``roll_rad`` about
    its axis (from image x toward image y)."""
    eye = np.asarray(eye, dtype=np.float64)
    fwd = np.asarray(target, dtype=np.float64) - eye
    fwd /= np.linalg.norm(fwd)
    if up is None:
        up = np.array([0.0, 0.0, 1.0]) if abs(fwd[2]) < 0.99 else np.array([1.0, 0.0, 0.0])
    right = np.cross(fwd, np.asarray(up, dtype=np.float64))
    right /= np.linalg.norm(right)
    down = np.cross(fwd, right)
    if roll_rad:
        c, s = np.cos(roll_rad), np.sin(roll_rad)
        right, down = c * right + s * down, -s * right + c * down
    R = np.stack([right, down, fwd])
    return CameraModel(K=np.asarray(K, dtype=np.float64), R=R, t=-R @ eye, width=width,
                       height=height)


def intersect_plane_z(cam: CameraModel, uv: np.ndarray, z: np.ndarray | float) -> np.ndarray:
    """World points (..., 3) where the viewing rays of pixels (..., 2) cross the horizontal
    plane(s) at height ``z`` (scalar or (...,)). Rays that do not reach the plane in front of the
    camera give inf."""
    d = cam.rays(uv)
    c = cam.centre
    z = np.broadcast_to(np.asarray(z, dtype=np.float64), d.shape[:-1])
    with np.errstate(divide="ignore", invalid="ignore"):
        s = (z - c[2]) / d[..., 2]
    s = np.where(np.isfinite(s) & (s > 0), s, np.nan)
    p = c + s[..., None] * d
    return np.where(np.isfinite(p), p, np.inf)


def drop_to_plane(cam: CameraModel, uv: np.ndarray, z_point: np.ndarray | float,
                  z_plane: float) -> np.ndarray:
    """Pixels (..., 2) of image points whose 3-D points lie at height ``z_point``, moved to the
    pixels of the points straight below (or above) them at height ``z_plane``.

    This is the parallax correction: a homography of the plane ``z_plane`` maps the returned
    pixels to where the original points are in that plane's coordinates (their vertical
    projection)."""
    return project_at_height(cam, intersect_plane_z(cam, uv, z_point), z_plane)


def project_at_height(cam: CameraModel, pts: np.ndarray, z_plane: float) -> np.ndarray:
    """Pixels (..., 2) of the points straight below (or above) world points (..., 3) at
    height ``z_plane``; points that did not reach their plane (inf) stay inf."""
    p = np.array(pts, dtype=np.float64)
    p[..., 2] = np.where(np.isfinite(p[..., 2]), z_plane, np.inf)
    return cam.project(p)


# -- without the camera -------------------------------------------------------------------------
def obliqueness_deg(image_quad: np.ndarray, body_quad: np.ndarray, slack: float = 1.0) -> float:
    """How far (deg) the camera looks away from the normal of a plane, from one quadrilateral
    seen in the image and its expected shape on the plane (e.g. the torso's joints and the
    reference body's proportions). The best affine map body → image has singular values
    s1 ≥ s2; a plane seen at angle θ is foreshortened by cos θ across the tilt, so
    θ = arccos(s2 / s1).

    The expected shape is only expected: a client's shoulder width and torso length differ from
    the reference body's by up to ~12 % in their ratio, which a straight view cannot tell from
    foreshortening. ``slack`` < 1 gives a lower bound that allows for it:
    θ = arccos(min(1, (s2 / s1) / slack)); with 0.88 a straight view reads 0° and a 40° view
    reads 17-40° depending on the client's proportions."""
    b = np.asarray(body_quad, dtype=np.float64)
    q = np.asarray(image_quad, dtype=np.float64)
    bc, qc = b - b.mean(0), q - q.mean(0)
    a, *_ = np.linalg.lstsq(bc, qc, rcond=None)
    s = np.linalg.svd(a, compute_uv=False)
    if s[0] <= 0:
        return 90.0
    return float(np.degrees(np.arccos(np.clip(s[1] / s[0] / slack, 0.0, 1.0))))


def obliqueness_from_outline(outline_px: np.ndarray, width: int, height: int,
                             hfov_deg: float = 70.0) -> float | None:
    """How far (deg) from the table top's normal the camera sees the table's centre, from the
    table's 4 corners in the image alone (any size of table, any order around it).

    Opposite sides of a rectangle meet at two vanishing points, which span the plane's horizon
    line h; with the principal point at the image centre the plane's normal in camera
    coordinates is K^T h. The focal length comes from the two vanishing directions being
    perpendicular, f² = -(v1 - c)·(v2 - c), or, when that is not measurable (a side seen
    without convergence), from ``hfov_deg``. A straight view has no horizon: 0°. None when the
    outline is not 4 finite points."""
    q = np.asarray(outline_px, dtype=np.float64)
    if q.shape != (4, 2) or not np.all(np.isfinite(q)):
        return None
    c = np.array([width / 2.0, height / 2.0])
    # Centred, scaled coordinates keep the homogeneous arithmetic well conditioned.
    s = max(width, height)
    p = np.c_[(q - c) / s, np.ones(4)]
    lines = [np.cross(p[i], p[(i + 1) % 4]) for i in range(4)]
    v1, v2 = np.cross(lines[0], lines[2]), np.cross(lines[1], lines[3])
    horizon = np.cross(v1, v2)
    if np.linalg.norm(horizon[:2]) < 1e-12 * max(abs(horizon[2]), 1e-300):
        return 0.0
    f = 0.5 * width / np.tan(np.radians(hfov_deg) / 2) / s
    if abs(v1[2]) > 1e-9 and abs(v2[2]) > 1e-9:
        f2 = -np.dot(v1[:2] / v1[2], v2[:2] / v2[2])
        if f2 > 0 and 0.3 * width / s <= np.sqrt(f2) <= 3.0 * width / s:
            f = float(np.sqrt(f2))
    n = np.array([f * horizon[0], f * horizon[1], horizon[2]])     # K^T h, K = diag(f, f, 1)
    centre = (q.mean(0) - c) / s
    ray = np.array([centre[0], centre[1], f])
    cos = abs(np.dot(ray, n)) / (np.linalg.norm(ray) * np.linalg.norm(n))
    return float(np.degrees(np.arccos(np.clip(cos, 0.0, 1.0))))


def solve_camera_from_table(table_px: np.ndarray, table_length_m: float, table_width_m: float,
                            width: int, height: int, table_top_m: float = DEFAULT_TABLE_TOP_M,
                            hfov_deg: float | None = None, focal_px: float | None = None
                            ) -> CameraModel:
    """The camera from the table top's 4 corners in the image, in the order head-left,
    head-right, foot-right, foot-left (left/right: +y/-y of the world, the client's left/right),
    and the table's size: cv2.solvePnP (IPPE for a plane) with the principal point at the image
    centre and the focal length given, or from the horizontal field of view (default 70°)."""
    import cv2

    q = np.asarray(table_px, dtype=np.float64)
    if q.shape != (4, 2) or not np.all(np.isfinite(q)):
        raise CameraError("the table outline must be 4 [x, y] corners for a camera to be solved")
    if focal_px is None:
        focal_px = 0.5 * width / np.tan(np.radians(hfov_deg or 70.0) / 2)
    K = intrinsics(focal_px, width, height)
    L, W = table_length_m / 2, table_width_m / 2
    # Solved on the table top's own plane (z = 0 there, as IPPE wants), then lifted to it.
    obj = np.array([[L, W, 0.0], [L, -W, 0.0], [-L, -W, 0.0], [-L, W, 0.0]])
    ok, rvec, tvec = cv2.solvePnP(obj, q, K, None, flags=cv2.SOLVEPNP_IPPE)
    if not ok:
        raise CameraError("could not solve the camera from the table outline")
    R, _ = cv2.Rodrigues(rvec)
    cam = CameraModel(K=K, R=R, t=tvec.reshape(3) - R[:, 2] * table_top_m)
    if cam.centre[2] <= table_top_m:
        raise CameraError("the table outline gives a camera below the table top: check the "
                          "corners' order (head-left, head-right, foot-right, foot-left)")
    return cam
