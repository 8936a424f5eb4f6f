"""Plane geometry for the safety core: pure numpy, vectorised over points and frames.

Nothing here knows about people or zones; it maps points between the image and the client's
body plane and measures distances to segments and polylines.
"""

from __future__ import annotations

import numpy as np


def homography(src: np.ndarray, dst: np.ndarray) -> np.ndarray:
    """3x3 projective map taking ``src`` (N>=4, 2) to ``dst`` (N, 2), by normalised DLT.

    Normalising both point sets first keeps the SVD well conditioned for pixel coordinates.
    Raises ValueError on a degenerate configuration (three of four points on a line).
    """
    src = np.asarray(src, dtype=np.float64)
    dst = np.asarray(dst, dtype=np.float64)
    if src.shape != dst.shape or src.ndim != 2 or src.shape[1] != 2 or src.shape[0] < 4:
        raise ValueError(f"homography needs two (N>=4, 2) point sets, got {src.shape}, {dst.shape}")
    ts, tt = _normaliser(src), _normaliser(dst)
    s = apply_h(ts, src)
    d = apply_h(tt, dst)
    n = len(s)
    a = np.zeros((2 * n, 9))
    a[0::2, 0:2] = s
    a[0::2, 2] = 1
    a[0::2, 6:8] = -d[:, :1] * s
    a[0::2, 8] = -d[:, 0]
    a[1::2, 3:5] = s
    a[1::2, 5] = 1
    a[1::2, 6:8] = -d[:, 1:2] * s
    a[1::2, 8] = -d[:, 1]
    _, sv, vt = np.linalg.svd(a)
    if n == 4 and sv[7] < 1e-9 * sv[0]:
        raise ValueError("degenerate quadrilateral: cannot fit a projective map")
    h = vt[-1].reshape(3, 3)
    h = np.linalg.inv(tt) @ h @ ts
    if abs(h[2, 2]) < 1e-12:
        raise ValueError("degenerate projective map")
    return h / h[2, 2]


def _normaliser(p: np.ndarray) -> np.ndarray:
    c = p.mean(axis=0)
    scale = np.sqrt(2) / max(np.mean(np.linalg.norm(p - c, axis=1)), 1e-12)
    return np.array([[scale, 0, -scale * c[0]], [0, scale, -scale * c[1]], [0, 0, 1.0]])


def apply_h(h: np.ndarray, pts: np.ndarray) -> np.ndarray:
    """Apply a 3x3 projective map to points of shape (..., 2)."""
    pts = np.asarray(pts, dtype=np.float64)
    w = pts @ h[:2, :2].T + h[:2, 2]
    z = pts @ h[2, :2] + h[2, 2]
    # Points on the horizon line of the map have no image; give them inf rather than divide by 0.
    z = np.where(np.abs(z) < 1e-12, np.nan, z)
    out = w / z[..., None]
    return np.where(np.isfinite(out), out, np.inf)


def quad_is_convex(quad: np.ndarray) -> bool:
    """True when the 4 points (in order around the quadrilateral) form a convex quadrilateral."""
    q = np.asarray(quad, dtype=np.float64)
    e = np.roll(q, -1, axis=0) - q
    cross = e[:, 0] * np.roll(e, -1, axis=0)[:, 1] - e[:, 1] * np.roll(e, -1, axis=0)[:, 0]
    return bool(np.all(cross > 0) or np.all(cross < 0))


def point_segment_distance(pts: np.ndarray, segs: np.ndarray) -> np.ndarray:
    """Distances from points (N, 2) to segments (M, 2, 2): returns (N, M)."""
    p = np.asarray(pts, dtype=np.float64)[:, None, :]
    a = np.asarray(segs, dtype=np.float64)[None, :, 0, :]
    b = np.asarray(segs, dtype=np.float64)[None, :, 1, :]
    ab = b - a
    den = np.maximum(np.sum(ab * ab, axis=-1), 1e-12)
    u = np.clip(np.sum((p - a) * ab, axis=-1) / den, 0.0, 1.0)
    return np.linalg.norm(p - (a + u[..., None] * ab), axis=-1)


def polyline_project(pts: np.ndarray, poly: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Project points (N, 2) onto a polyline (K, 2).

    Returns ``s`` (N,), the position along the polyline in segment units (0 at the first vertex,
    1 at the second, ... K-1 at the last; a point beyond an end extrapolates past it), and ``d``
    (N,), the distance to the polyline.
    """
    p = np.asarray(pts, dtype=np.float64)
    v = np.asarray(poly, dtype=np.float64)
    a, b = v[:-1], v[1:]
    ab = b - a
    den = np.maximum(np.sum(ab * ab, axis=-1), 1e-12)
    u = np.sum((p[:, None] - a[None]) * ab[None], axis=-1) / den[None]  # (N, K-1)
    # Clamp to the segment except past the two ends, so a point past the ankle reads s > K-1.
    lo = np.zeros_like(u)
    hi = np.ones_like(u)
    lo[:, 0] = -np.inf
    hi[:, -1] = np.inf
    uc = np.clip(u, lo, hi)
    near = a[None] + uc[..., None] * ab[None]
    dist = np.linalg.norm(p[:, None] - near, axis=-1)
    k = np.argmin(dist, axis=1)
    rows = np.arange(len(p))
    return k + uc[rows, k], dist[rows, k]


# The loaded parts of the foot, as fractions of the heel-to-toe-tip length L: the heel pad
# centre sits just in front of the heel point, the ball of the foot (metatarsal heads) at about
# 70 % of the length. The radius is how far from that centre the load still acts.
HEEL_AT, BALL_AT = 0.12, 0.70
HEEL_R, BALL_R = 0.06, 0.07


def foot_loaded_parts(heel: np.ndarray, toe: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Centres (..., 2, 2) [heel pad, ball] and radii (..., 2) of the foot's loaded parts."""
    heel = np.asarray(heel, dtype=np.float64)
    toe = np.asarray(toe, dtype=np.float64)
    axis = toe - heel
    length = np.linalg.norm(axis, axis=-1)
    centres = np.stack([heel + HEEL_AT * axis, heel + BALL_AT * axis], axis=-2)
    radii = np.stack([HEEL_R * length, BALL_R * length], axis=-1)
    return centres, radii


def disc_samples(centres: np.ndarray, radii: np.ndarray, n: int = 8) -> np.ndarray:
    """Sample points covering discs: (..., K, 2) centres and (..., K) radii → (..., K*(n+1), 2)."""
    ang = np.linspace(0, 2 * np.pi, n, endpoint=False)
    ring = np.concatenate([np.zeros((1, 2)), np.stack([np.cos(ang), np.sin(ang)], axis=1)])
    pts = centres[..., None, :] + radii[..., None, None] * ring  # (..., K, n+1, 2)
    return pts.reshape(*centres.shape[:-2], -1, 2)


def disc_grid(centre: np.ndarray, radius: float, spacing: float = 1.0) -> np.ndarray:
    """Points (N, 2) covering a disc densely enough that no strip wider than ``spacing`` (a
    spine 3 cm wide) can pass between them: a square grid inside it plus its rim."""
    c = np.asarray(centre, dtype=np.float64)
    r = float(radius)
    if r <= 0:
        return c[None].copy()
    k = np.arange(-np.floor(r / spacing), np.floor(r / spacing) + 1) * spacing
    gx, gy = np.meshgrid(k, k)
    g = np.stack([gx.ravel(), gy.ravel()], axis=1)
    g = g[np.hypot(g[:, 0], g[:, 1]) <= r]
    n = max(8, int(np.ceil(2 * np.pi * r / spacing)))
    ang = np.linspace(0, 2 * np.pi, n, endpoint=False)
    rim = r * np.stack([np.cos(ang), np.sin(ang)], axis=1)
    return c + np.concatenate([g, rim])


def complete_foot(seen: np.ndarray, ankle: np.ndarray, which: str, length: float | np.ndarray,
                  min_baseline: float | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Heel and toe tip (..., 2) of a foot of which only the heel or only the toe tip is seen
    (``which``), from the ankle's place on the same plane and the foot's length.

    The ankle joint lies over the foot's axis about a fifth of its length in front of the heel
    point (Drillis & Contini: foot length 0.152 H, heel to ankle ≈ 0.03 H), so the ankle gives
    the foot's direction: heel → ankle points to the toes, ankle → toe tip too. Where the seen
    point and the ankle are closer than ``min_baseline`` (default 0.1 L for the heel, 0.4 L for
    the toe) the direction is noise and the result is nan."""
    seen = np.asarray(seen, dtype=np.float64)
    ankle = np.asarray(ankle, dtype=np.float64)
    length = np.asarray(length, dtype=np.float64)
    if which == "heel":
        d = ankle - seen
        base = 0.1 * length if min_baseline is None else min_baseline
    elif which == "toe":
        d = seen - ankle
        base = 0.4 * length if min_baseline is None else min_baseline
    else:
        raise ValueError(f"which must be 'heel' or 'toe', got {which!r}")
    n = np.linalg.norm(d, axis=-1)
    with np.errstate(divide="ignore", invalid="ignore"):
        u = d / n[..., None]
    u = np.where((n >= base)[..., None], u, np.nan)
    if which == "heel":
        return seen, seen + length[..., None] * u
    return seen - length[..., None] * u, seen


def points_in_polygon(pts: np.ndarray, poly: np.ndarray) -> np.ndarray:
    """Even-odd rule point-in-polygon test: points (N, 2), polygon (K, 2) → bool (N,)."""
    p = np.asarray(pts, dtype=np.float64)
    v = np.asarray(poly, dtype=np.float64)
    x, y = p[:, 0:1], p[:, 1:2]
    x1, y1 = v[:, 0][None], v[:, 1][None]
    x2, y2 = np.roll(v[:, 0], -1)[None], np.roll(v[:, 1], -1)[None]
    crosses = (y1 > y) != (y2 > y)
    with np.errstate(divide="ignore", invalid="ignore"):
        xint = x1 + (y - y1) * (x2 - x1) / (y2 - y1)
    return np.sum(crosses & (x < xint), axis=1) % 2 == 1


def body_similarity(quad_m: np.ndarray, ref_quad: np.ndarray) -> np.ndarray:
    """The 3x3 map from a plane (metres) to body coordinates in the body's own proportions.

    ``quad_m``: the torso corners (left shoulder, right shoulder, right hip, left hip) on the
    plane of the joints; ``ref_quad``: the atlas's. A similarity (rotation or reflection,
    translation, one scale): mid-shoulders to the atlas's mid-shoulders, the shoulders-to-hips
    axis along the atlas's, the left side to the atlas's left, lengths scaled so that the torso
    has the atlas's length. Unlike a homography onto ``ref_quad`` it keeps the body's own
    taper (hip joints 0.45-0.75 of the shoulder spread between people): a narrow pelvis is not
    read as perspective. Raises ValueError for a degenerate torso."""
    q = np.asarray(quad_m, dtype=np.float64)
    ref = np.asarray(ref_quad, dtype=np.float64)
    ms, mh = (q[0] + q[1]) / 2, (q[2] + q[3]) / 2
    rs, rh = (ref[0] + ref[1]) / 2, (ref[2] + ref[3]) / 2
    length, ref_len = float(np.linalg.norm(mh - ms)), float(np.linalg.norm(rh - rs))
    if not np.isfinite(length) or length < 1e-9:
        raise ValueError("degenerate torso")
    u = (mh - ms) / length                      # shoulders -> hips on the plane
    v = np.array([-u[1], u[0]])
    if np.dot(q[0] - q[1], v) < 0:              # the body's left
        v = -v
    ru = (rh - rs) / ref_len
    rv = np.array([-ru[1], ru[0]])
    if np.dot(ref[0] - ref[1], rv) < 0:
        rv = -rv
    scale = ref_len / length
    # body = rs + scale * (rv * <p - ms, v> + ru * <p - ms, u>)
    a = scale * (np.outer(rv, v) + np.outer(ru, u))
    m = np.eye(3)
    m[:2, :2] = a
    m[:2, 2] = rs - a @ ms
    return m
