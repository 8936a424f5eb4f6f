"""The zone atlas as drawable shapes in body coordinates (reference cm; x + toward the client's
left, y from the shoulder line toward the feet). Used by the frame overlay (projected into the
image) and by the report's back map (drawn as SVG), so both show the same zones."""

from __future__ import annotations

import numpy as np

from vision.safety.zones import Atlas

# Segment lengths for drawing legs when the client's own are not known (Drillis & Contini,
# fractions of stature: thigh 0.245 H, shank 0.246 H).
THIGH, SHANK = 0.245, 0.246


def outline_polygon(atlas: Atlas) -> np.ndarray:
    """The trunk's outline (head to buttocks) as a closed polygon (K, 2)."""
    y, hw = atlas.outline[:, 0], atlas.outline[:, 1]
    left = np.stack([hw, y], axis=1)
    right = np.stack([-hw, y], axis=1)[::-1]
    return np.concatenate([left, right])


def trunk_zones(atlas: Atlas) -> list[tuple[str, np.ndarray]]:
    """(zone, polygon) of the trunk zones, least severe first so that the worst is drawn on
    top (the atlas lists them worst first). Draw them clipped to ``outline_polygon``."""
    return list(reversed(atlas.zones))


def reference_legs(atlas: Atlas) -> dict[str, np.ndarray]:
    """Straight legs of the reference body: hip, knee, ankle (3, 2) per side."""
    h = atlas.reference_stature_cm
    out = {}
    for side in ("left", "right"):
        hip = atlas.frame[f"{side}_hip"]
        out[side] = np.array([hip, hip + [0, THIGH * h], hip + [0, (THIGH + SHANK) * h]])
    return out


def _along(chain: np.ndarray, s: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Points at positions ``s`` (0 hip, 1 knee, 2 ankle) along a leg chain, and the unit
    normals of their segments."""
    s = np.clip(np.asarray(s, dtype=np.float64), 0.0, 2.0)
    seg = np.minimum(s.astype(int), 1)
    frac = s - seg
    a, b = chain[seg], chain[seg + 1]
    d = b - a
    n = np.linalg.norm(d, axis=1, keepdims=True)
    u = d / np.where(n > 1e-9, n, 1.0)
    return a + frac[:, None] * d, np.stack([-u[:, 1], u[:, 0]], axis=1)


def band(chain: np.ndarray, s0: float, s1: float, half_width, n: int = 12) -> np.ndarray:
    """Polygon of the strip of a leg chain between positions s0 and s1, ``half_width`` cm on
    either side (a number, or (K, 2) rows of (s, half-width) to interpolate)."""
    s = np.linspace(s0, s1, n)
    p, nrm = _along(np.asarray(chain, dtype=np.float64), s)
    if np.ndim(half_width) == 0:
        w = np.full(n, float(half_width))
    else:
        hw = np.asarray(half_width, dtype=np.float64)
        w = np.interp(s, hw[:, 0], hw[:, 1])
    return np.concatenate([p + nrm * w[:, None], (p - nrm * w[:, None])[::-1]])


def leg_polygon(atlas: Atlas, chain: np.ndarray) -> np.ndarray:
    return band(chain, 0.0, min(2.0, atlas.leg_s_max), atlas.leg_half_width)


def popliteal_polygon(atlas: Atlas, chain: np.ndarray) -> np.ndarray:
    lo, hi = atlas.popliteal_s
    return band(chain, lo, hi, atlas.popliteal_d)
