"""The zone atlas: which anatomical zone lies under a point of the client's body plane.

The atlas is data (vision/safety/atlas.yaml, documented with sources in docs/zone-atlas.md); this module
loads it and answers lookups, vectorised over points.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
import yaml

from vision.safety.geometry import (disc_grid, disc_samples, foot_loaded_parts, points_in_polygon,
                             polyline_project)
from vision.vocab import DANGER_ZONES, Side, Zone

ATLAS_PATH = Path(__file__).with_name("atlas.yaml")

# Zone names in every output. WORST_FIRST is the order used to pick a step's zone from its
# loaded parts: the first one present wins. `unknown` ranks above `safe`: a part we cannot
# place must never let the step read as safe.
ZONES = tuple(Zone)
WORST_FIRST = (Zone.SPINE, Zone.KIDNEY, Zone.NECK, Zone.POPLITEAL, Zone.SCIATIC_NOTCH, Zone.RIBS,
               Zone.UNKNOWN, Zone.SAFE, Zone.OFF_BODY)
RISKY = DANGER_ZONES
_RANK = {z: i for i, z in enumerate(WORST_FIRST)}


class AtlasError(ValueError):
    pass


@dataclass
class Atlas:
    frame: dict[str, np.ndarray]
    outline: np.ndarray                 # (K, 2): (y, half-width)
    legs_from_y: float
    zones: list[tuple[str, np.ndarray]]  # (name, polygon) in priority order
    popliteal_s: tuple[float, float]
    popliteal_d: float
    leg_half_width: np.ndarray          # (K, 2): (s, half-width)
    leg_s_max: float
    reference_stature_cm: float = 175.0
    levels: dict[str, float] = field(default_factory=dict)

    @property
    def frame_quad(self) -> np.ndarray:
        """Body-plane corners in the order left shoulder, right shoulder, right hip, left hip
        (vision.skeleton.TORSO_QUAD's)."""
        f = self.frame
        return np.array([f["left_shoulder"], f["right_shoulder"], f["right_hip"], f["left_hip"]])

    # -- lookups ------------------------------------------------------------------------------
    def zone_index(self, pts: np.ndarray, legs: dict[str, np.ndarray | None] | None = None
                   ) -> np.ndarray:
        """Zone ranks (index into WORST_FIRST) of points (N, 2) in body coordinates.

        ``legs`` maps each side to that leg's hip, knee, ankle (3, 2) in body coordinates,
        or None when not known; points below ``legs_from_y`` then read `unknown`.
        """
        p = np.asarray(pts, dtype=np.float64).reshape(-1, 2)
        out = np.full(len(p), _RANK[Zone.OFF_BODY], dtype=np.int64)
        finite = np.all(np.isfinite(p), axis=1)
        out[~finite] = _RANK[Zone.UNKNOWN]
        trunk = finite & (p[:, 1] < self.legs_from_y)
        if trunk.any():
            out[trunk] = self._trunk(p[trunk])
        leg = finite & ~trunk
        if leg.any():
            out[leg] = self._legs(p[leg], legs or {})
        return out

    def widened(self, margins: dict[str, float]) -> "Atlas":
        """A copy with the named zones grown by ``margins[zone]`` cm on every side (a client
        condition that makes a zone more dangerous widens it)."""
        if not margins:
            return self
        zones = []
        for name, poly in self.zones:
            m = margins.get(name, 0.0)
            if m:
                c = poly.mean(axis=0)
                poly = poly + m * np.sign(poly - c)
            zones.append((name, poly))
        pop = margins.get(Zone.POPLITEAL, 0.0)
        return replace(self, zones=zones, popliteal_d=self.popliteal_d + pop)

    def zone_of(self, pts: np.ndarray, legs=None) -> list[Zone]:
        return [WORST_FIRST[i] for i in self.zone_index(pts, legs)]

    def _trunk(self, p: np.ndarray) -> np.ndarray:
        half = np.interp(p[:, 1], self.outline[:, 0], self.outline[:, 1], left=-1.0, right=-1.0)
        inside = np.abs(p[:, 0]) <= half
        out = np.where(inside, _RANK[Zone.SAFE], _RANK[Zone.OFF_BODY])
        # Walk the zones from the least to the most severe so the worst one is written last.
        for name, poly in reversed(self.zones):
            hit = inside & points_in_polygon(p, poly)
            out[hit] = _RANK[name]
        return out

    def _legs(self, p: np.ndarray, legs: dict) -> np.ndarray:
        known = [v for v in (legs.get(Side.LEFT), legs.get(Side.RIGHT)) if v is not None]
        if not known:
            return np.full(len(p), _RANK[Zone.UNKNOWN])
        best_s = np.zeros(len(p))
        best_d = np.full(len(p), np.inf)
        for chain in known:
            s, d = polyline_project(p, np.asarray(chain, dtype=np.float64))
            better = d < best_d
            best_s[better], best_d[better] = s[better], d[better]
        half = np.interp(best_s, self.leg_half_width[:, 0], self.leg_half_width[:, 1])
        on = (best_d <= half) & (best_s <= self.leg_s_max) & (best_s >= -0.5)
        out = np.where(on, _RANK[Zone.SAFE], _RANK[Zone.OFF_BODY])
        lo, hi = self.popliteal_s
        pop = on & (best_s >= lo) & (best_s <= hi) & (best_d <= self.popliteal_d)
        out[pop] = _RANK[Zone.POPLITEAL]
        return out

    def foot_zone(self, heel: np.ndarray, toe: np.ndarray, legs=None,
                  uncertainty_cm: float | np.ndarray = 0.0) -> Zone:
        """Worst zone under the loaded parts (heel pad, ball) of one foot in body coordinates.

        ``uncertainty_cm`` (scalar, or per part [heel pad, ball]): how far the parts may be from
        where they are placed (an oblique view without the camera, a back completed from three
        corners, a foot seen by the heel or the toe alone). When the parts grown by it reach a
        worse zone than the parts themselves, the step could be on it: `unknown`."""
        if not (np.all(np.isfinite(heel)) and np.all(np.isfinite(toe))):
            return Zone.UNKNOWN
        centres, radii = foot_loaded_parts(np.asarray(heel), np.asarray(toe))
        ranks = self.zone_index(disc_samples(centres, radii), legs)
        zone = worst(ranks)
        extra = np.broadcast_to(np.asarray(uncertainty_cm, dtype=np.float64), (2,))
        if np.any(extra > MAX_UNCERTAINTY_CM):
            return Zone.UNKNOWN
        if np.any(extra > 0):
            wide = np.concatenate([disc_grid(c, r + e) for c, r, e in zip(centres, radii, extra)])
            if _RANK[worst(self.zone_index(wide, legs))] < _RANK[zone]:
                return Zone.UNKNOWN
        return zone


# -- a step's zone as probabilities ---------------------------------------------------------------
# A stratified sample of the standard 2-D normal: rings at the radii that split its mass into
# equal shares, points evenly spread on each ring and turned from ring to ring. Deterministic,
# so that a report is the same on every machine (a random draw is not, across numpy releases).
def _normal_2d(rings: int = 4, per_ring: int = 8) -> np.ndarray:
    q = (np.arange(rings) + 0.5) / rings
    r = np.sqrt(-2.0 * np.log(1.0 - q))
    k = np.arange(per_ring)
    ang = 2 * np.pi * (k[None, :] + 0.5 * (np.arange(rings)[:, None] % 2)) / per_ring
    return np.stack([r[:, None] * np.cos(ang), r[:, None] * np.sin(ang)], -1).reshape(-1, 2)


NORMAL_2D = _normal_2d()
# The toe tip's error is independent of the heel's: pair each heel offset with another one.
_TOE_PAIR = (11 * np.arange(len(NORMAL_2D)) + 5) % len(NORMAL_2D)

# A danger zone with at least this probability is flagged ("possible <zone>"); one with at least
# P_SURE is the step's zone without "possible". The step reads safe only when every danger zone
# is below P_FLAG: 0.9 sure that it is not on one.
P_FLAG = 0.10
P_SURE = 0.70


def zone_distribution(atlas: "Atlas", heel: np.ndarray, toe: np.ndarray, cov: np.ndarray,
                      legs=None) -> np.ndarray | None:
    """Probabilities (len(WORST_FIRST),) of the zone under one foot (the worst under its heel
    pad and ball), the heel and toe-tip points being Gaussian around ``heel`` and ``toe`` with
    covariances ``cov`` (2, 2, 2) in body cm². None when a point is not finite or is more
    unsure than MAX_UNCERTAINTY_CM (it could be anywhere on the back)."""
    heel, toe = np.asarray(heel, dtype=np.float64), np.asarray(toe, dtype=np.float64)
    cov = np.asarray(cov, dtype=np.float64)
    if not (np.all(np.isfinite(heel)) and np.all(np.isfinite(toe)) and np.all(np.isfinite(cov))):
        return None
    if np.max(np.trace(cov, axis1=-2, axis2=-1)) > 2 * MAX_UNCERTAINTY_CM ** 2:
        return None
    chol = np.linalg.cholesky(cov + 1e-6 * np.eye(2))
    hs = heel + NORMAL_2D @ chol[0].T
    ts = toe + NORMAL_2D[_TOE_PAIR] @ chol[1].T
    centres, radii = foot_loaded_parts(hs, ts)
    pts = disc_samples(centres, radii)                       # (K, 18, 2)
    ranks = atlas.zone_index(pts.reshape(-1, 2), legs).reshape(len(hs), -1).min(axis=1)
    return np.bincount(ranks, minlength=len(WORST_FIRST)) / len(hs)


def decide(p: np.ndarray) -> tuple[Zone, bool]:
    """(zone, possible) from a step's zone probabilities: whenever a danger zone reaches
    P_FLAG, the likeliest danger zone, or the worst of those that reach P_SURE (a glide's);
    ``possible`` unless it reaches P_SURE. Else safe or off the body, whichever is likelier.
    Never safe while a danger zone is within the uncertainty."""
    p = np.asarray(p, dtype=np.float64)
    danger = np.array([_RANK[z] for z in WORST_FIRST if z in RISKY])
    pd = p[danger]
    if pd.max() >= P_FLAG:
        # The likeliest danger zone (for a still foot, p is the distribution of the zone under
        # it, which sums to 1); but of zones that are each sure, the worst: only a glide has
        # two (each its peak over a different part of the path), and a glide's zone is the
        # worst it passed over, as a foot's is the worst under it (Atlas.foot_zone).
        sure = pd >= P_SURE
        i = int(danger[np.argmax(sure)] if sure.any() else danger[np.argmax(pd)])
        return WORST_FIRST[i], bool(p[i] < P_SURE)
    if p[_RANK[Zone.UNKNOWN]] >= max(p[_RANK[Zone.SAFE]], p[_RANK[Zone.OFF_BODY]]):
        return Zone.UNKNOWN, False
    return (Zone.SAFE if p[_RANK[Zone.SAFE]] >= p[_RANK[Zone.OFF_BODY]] else Zone.OFF_BODY), False


def probabilities_out(p: np.ndarray, min_p: float = 0.005) -> dict[Zone, float]:
    """The zone probabilities worth printing, worst zone first, rounded."""
    return {z: round(float(v), 3) for z, v in zip(WORST_FIRST, p) if v >= min_p}


# A foot part this unsure could be on any zone of the back (the spine to the flank is ~15 cm,
# the neck to the kidneys ~35): its zone is unknown without looking (and without sampling a
# disc of millions of points).
MAX_UNCERTAINTY_CM = 30.0


def worst(ranks: np.ndarray) -> Zone:
    """The step's zone from the zone ranks of its loaded parts.

    The worst zone present wins; parts off the body only count when no part is on it.
    """
    ranks = np.asarray(ranks)
    if ranks.size == 0:
        return Zone.UNKNOWN
    return WORST_FIRST[int(ranks.min())]


def load_atlas(path: str | Path = ATLAS_PATH) -> Atlas:
    path = Path(path)
    try:
        doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as e:
        raise AtlasError(f"{path}: cannot read the zone atlas ({e})") from None
    try:
        frame = {k: np.asarray(doc["frame"][k], dtype=np.float64)
                 for k in ("left_shoulder", "right_shoulder", "left_hip", "right_hip")}
        zones: list[tuple[str, np.ndarray]] = []
        for z in doc["zones"]:
            if z["name"] not in RISKY:
                raise AtlasError(f"{path}: unknown zone {z['name']!r}")
            poly = np.asarray(z["polygon"], dtype=np.float64)
            zones.append((z["name"], poly))
            if z.get("mirror"):
                zones.append((z["name"], poly * np.array([-1.0, 1.0])))
        # Keep the worst-first order whatever the file order, so priority is a property of the
        # zone, not of where it was written.
        zones.sort(key=lambda nz: _RANK[nz[0]])
        legs = doc["legs"]
        return Atlas(
            frame=frame,
            outline=np.asarray(doc["outline"], dtype=np.float64),
            legs_from_y=float(doc["legs_from_y"]),
            zones=zones,
            popliteal_s=tuple(map(float, legs["popliteal"]["s"])),
            popliteal_d=float(legs["popliteal"]["d_max"]),
            leg_half_width=np.asarray(legs["half_width"], dtype=np.float64),
            leg_s_max=float(legs["s_max"]),
            reference_stature_cm=float(doc.get("reference_stature_cm", 175.0)),
            levels={k: float(v) for k, v in (doc.get("levels") or {}).items()},
        )
    except (KeyError, TypeError, ValueError) as e:
        raise AtlasError(f"{path}: malformed zone atlas ({e})") from None


_DEFAULT: Atlas | None = None


def default_atlas() -> Atlas:
    global _DEFAULT
    if _DEFAULT is None:
        _DEFAULT = load_atlas()
    return _DEFAULT
