"""The client's torso corners in one frame: seen, or completed from the reference body's
proportions when the far shoulder or hip is hidden behind the client's own body (from the side
or a corner).

Three confident corners give the fourth by the affine map of the body quad's three others
(``complete_quad``); straight from the side, two corners and the studio's camera give the other
two on the joint plane in 3-D (``complete_quad_on_plane``). vision.safety.backframe holds the map made
of them over time.
"""

from __future__ import annotations

import numpy as np

from vision.io import camera as C
from vision.safety.geometry import quad_is_convex
from vision.skeleton import TORSO_QUAD, torso_length


def complete_quad(quad: np.ndarray, seen: np.ndarray, body_quad: np.ndarray) -> np.ndarray:
    """A (4, 2) torso quad with one corner missing (``seen`` False there) completed by the
    affine map that takes the body quad's three other corners to the seen ones."""
    q = np.asarray(quad, dtype=np.float64).copy()
    seen = np.asarray(seen, dtype=bool)
    src = np.c_[body_quad[seen], np.ones(3)]
    a = np.linalg.solve(src, q[seen])               # (3, 2): exact through three points
    miss = int(np.flatnonzero(~seen)[0])
    q[miss] = np.r_[body_quad[miss], 1.0] @ a
    return q


def complete_quad_on_plane(quad: np.ndarray, seen: np.ndarray, body_quad: np.ndarray,
                           camera: C.CameraModel, z: float) -> np.ndarray:
    """A (4, 2) torso quad with two corners seen, completed in 3-D: the seen corners' rays meet
    the joint plane at height ``z``; the similarity body → plane through those two points (a
    rotation, not a reflection: the client lies face down, body x = the client's left) places
    the other two, which are projected back into the image."""
    seen = np.asarray(seen, dtype=bool)
    w = C.intersect_plane_z(camera, np.asarray(quad, dtype=np.float64)[seen], z)
    if not np.all(np.isfinite(w)):
        return np.full((4, 2), np.nan)
    wc = w[:, 0] + 1j * w[:, 1]
    b = body_quad[:, 0] + 1j * body_quad[:, 1]
    bs = b[seen]
    if abs(bs[1] - bs[0]) < 1e-9:
        return np.full((4, 2), np.nan)
    a = (wc[1] - wc[0]) / (bs[1] - bs[0])
    full = a * (b - bs[0]) + wc[0]
    pts = np.c_[full.real, full.imag, np.full(4, z)]
    out = np.asarray(quad, dtype=np.float64).copy()
    out[~seen] = camera.project(pts[~seen])
    return out


def torso_corners(kp: np.ndarray, min_vis: float, body_quad: np.ndarray,
                  camera: C.CameraModel | None = None, z: float = 0.0
                  ) -> tuple[np.ndarray, int] | None:
    """The torso quad (4, 2; TORSO_QUAD order) and how many corners were seen confidently (4;
    3, the fourth then completed from the body's proportions; 2 with the camera, completed on
    the joint plane at height ``z``), or None when too few are confident or the quad is
    degenerate."""
    q = kp[TORSO_QUAD]
    seen = q[:, 2] >= min_vis
    n = int(seen.sum())
    if n < 2 or (n == 2 and camera is None):
        return None
    if n == 4:
        quad = q[:, :2]
    elif n == 3:
        quad = complete_quad(q[:, :2], seen, body_quad)
    else:
        quad = complete_quad_on_plane(q[:, :2], seen, body_quad, camera, z)
    if not np.all(np.isfinite(quad)) or not quad_is_convex(quad) or torso_length(quad) <= 5.0:
        return None
    # Three seen corners that nearly lie on a line make a wild fourth one.
    if n == 3:
        tri = quad[seen]
        e1, e2 = tri[1] - tri[0], tri[2] - tri[0]
        area = abs(e1[0] * e2[1] - e1[1] * e2[0]) / 2
        if area < 0.15 * torso_length(quad) ** 2:
            return None
    return quad, n
