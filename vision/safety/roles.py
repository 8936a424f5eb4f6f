"""Who is who: the client (lying face-down, long torso in the table plane, nearly still) and the
therapist (standing on the client). Track ids and the order of people in a file are not trusted:
people are followed by keypoint proximity, and roles come from how each one looks and moves.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

import numpy as np

from vision.safety.geometry import points_in_polygon
from vision.io.posetrack import Person
from vision.skeleton import (FEET, HIPS, SHOULDERS, TORSO_PAIRS, TORSO_QUAD, hip_width,
                             shoulder_width, torso_centre, torso_length)


def body_scale(kp: np.ndarray) -> float:
    """A size in pixels for a person: the larger of shoulder width and torso length."""
    return max(shoulder_width(kp), torso_length(kp[TORSO_QUAD, :2]), 1.0)


def lying_score(kp: np.ndarray) -> float:
    """Torso length over the widest of shoulders and hips: about 1 for a body lying in the image
    plane, small for a standing body seen from above (its torso is foreshortened)."""
    width = max(shoulder_width(kp), hip_width(kp), 1.0)
    return torso_length(kp[TORSO_QUAD, :2]) / width


# The torso (shoulder to hip joints, 0.288 H: Drillis & Contini) on a massage table (1.8-1.95 m
# long): about a quarter of the table's length.
TORSO_PER_TABLE = 0.26


@dataclass(frozen=True)
class TableAxis:
    """The table outline seen as the client's bed: its long axis in the image and its length."""
    polygon: np.ndarray   # (K, 2) px, widened a little about its centre
    axis: np.ndarray      # (2,) unit vector along the table's long sides (either way)
    length_px: float      # the long sides' mean length in the image

    @classmethod
    def from_outline(cls, table: np.ndarray) -> "TableAxis":
        q = np.asarray(table, dtype=np.float64)
        if len(q) == 4:
            # Opposite sides: the longer pair are the long sides. Each pair is averaged, so the
            # perspective convergence of the sides mostly cancels.
            pairs = []
            for a, b, c, d in ((0, 1, 3, 2), (1, 2, 0, 3)):
                e1, e2 = q[b] - q[a], q[d] - q[c]
                n1, n2 = np.linalg.norm(e1), np.linalg.norm(e2)
                if n1 < 1e-9 or n2 < 1e-9:
                    continue
                u = e1 / n1 + (e2 / n2 if np.dot(e1, e2) >= 0 else -e2 / n2)
                pairs.append((0.5 * (n1 + n2), u))
            length, u = max(pairs, key=lambda lu: lu[0])
        else:
            import cv2
            (_, _), (w, h), deg = cv2.minAreaRect(q.astype(np.float32))
            ang = np.radians(deg if w >= h else deg + 90)
            length, u = max(w, h), np.array([np.cos(ang), np.sin(ang)])
        c = q.mean(0)
        # 10 % wider: a client's shoulder can lie on the table's edge.
        return cls(polygon=c + 1.1 * (q - c), axis=u / max(np.linalg.norm(u), 1e-12),
                   length_px=float(max(length, 1.0)))


def torso_segment(kp: np.ndarray, min_vis: float = 0.5) -> np.ndarray | None:
    """(2, 2): a shoulder point and a hip point from the confident torso keypoints — the
    shoulder and hip midpoints when both pairs are seen, else one side's shoulder and hip
    (from the side only the near ones are seen), else any shoulder and any hip. None when no
    shoulder or no hip is confident."""
    sh = [i for i in SHOULDERS if kp[i, 2] >= min_vis]
    hip = [i for i in HIPS if kp[i, 2] >= min_vis]
    if not sh or not hip:
        return None
    if len(sh) == 2 and len(hip) == 2:
        return np.stack([kp[SHOULDERS, :2].mean(0), kp[HIPS, :2].mean(0)])
    for s, h in zip(SHOULDERS, HIPS):       # left with left, right with right
        if s in sh and h in hip:
            return np.stack([kp[s, :2], kp[h, :2]])
    return np.stack([kp[sh, :2].mean(0), kp[hip, :2].mean(0)])


def partial_lying_score(kp: np.ndarray, table: TableAxis | None = None,
                        min_vis: float = 0.5) -> float | None:
    """How much a body whose torso is only partly seen looks like one lying on the table, 0..1,
    from the shoulder→hip segment of its confident points (None without one shoulder and one
    hip).

    With the table outline: the confident torso points must lie inside it (a therapist standing
    on the client is seen above the table from the side or a corner), the segment must run
    along the table's long axis (a standing body's runs up the image) and be at least half as
    long as a torso on that table (a standing body seen from above is foreshortened). Without
    it: the segment's horizontal share (a standing body is upright in a side or corner view),
    and its length against the body's own extent."""
    seg = torso_segment(kp, min_vis)
    if seg is None:
        return None
    d = seg[1] - seg[0]
    n = float(np.linalg.norm(d))
    if n < 1.0:
        return 0.0
    if table is not None:
        torso = kp[TORSO_PAIRS]
        pts = torso[torso[:, 2] >= min_vis, :2]
        inside = float(points_in_polygon(pts, table.polygon).mean())
        along = abs(float(np.dot(d / n, table.axis)))
        # Full credit from 30° off the axis down; nothing from 60° (a perspective view bends
        # the axis by a few degrees across the table).
        along = float(np.clip((along - 0.5) / (0.866 - 0.5), 0.0, 1.0))
        length = float(np.clip(n / (0.5 * TORSO_PER_TABLE * table.length_px), 0.0, 1.0))
        return inside * along * length
    conf = kp[kp[:, 2] >= min_vis, :2]
    extent = float(np.linalg.norm(conf.max(0) - conf.min(0))) if len(conf) >= 2 else n
    horizontal = abs(float(d[0])) / n
    horizontal = float(np.clip((horizontal - 0.5) / (0.866 - 0.5), 0.0, 1.0))
    # Shoulder→hip is about a third of a lying body's extent (head to ankles); a standing body
    # seen from above has its torso foreshortened to a small part of its extent.
    length = float(np.clip(n / (0.2 * max(extent, 1.0)), 0.0, 1.0))
    return horizontal * length


@dataclass(eq=False)
class _Track:
    kp: np.ndarray
    last_t: float
    first_t: float
    n: int = 0
    lying4: float = 0.0         # running mean of lying_score (all four torso corners seen)
    n4: int = 0                 # frames that measured it
    lying_p: float = 0.0        # running mean of partial_lying_score (the other frames)
    n_p: int = 0
    motion: float = 0.0         # running mean of torso speed, in body scales per second
    alone_frames: int = 0       # frames seen with nobody else in view
    feet_on_other: float = 0.0  # running share of frames with its feet over another's torso
    past: deque = field(default_factory=deque)  # (t, kp) over the last half second

    @property
    def lying(self) -> float:
        """The four-corner shape once it has been seen a few times (the stronger cue: an
        occluded client's partial torso says little), else the partial torso's reading."""
        if self.n4 >= 3 or self.n_p == 0:
            return self.lying4
        return self.lying_p


@dataclass
class Roles:
    client: Person | None
    therapist: Person | None


class RoleAssigner:
    """Call ``assign(t, people)`` once per frame; returns the client and the therapist."""

    def __init__(self, table: np.ndarray | None = None, max_gap_s: float = 2.0):
        self.table = None if table is None else np.asarray(table, dtype=np.float64)
        self._table_axis = None if self.table is None else TableAxis.from_outline(self.table)
        self.max_gap_s = max_gap_s
        self.tracks: list[_Track] = []
        self._client: _Track | None = None
        self._therapist: _Track | None = None

    def _match(self, t: float, people: list[Person]) -> list[_Track]:
        self.tracks = [tr for tr in self.tracks if t - tr.last_t <= self.max_gap_s]
        pairs = []
        for i, p in enumerate(people):
            for j, tr in enumerate(self.tracks):
                both = (p.kp[:, 2] >= 0.5) & (tr.kp[:, 2] >= 0.5)
                if both.sum() < 4:
                    continue
                d = np.median(np.linalg.norm(p.kp[both, :2] - tr.kp[both, :2], axis=1))
                cost = d / body_scale(tr.kp)
                if cost < 0.8:
                    pairs.append((cost, i, j))
        pairs.sort()
        got: dict[int, _Track] = {}
        used = set()
        # Two passes: tight first, so that a therapist standing over the client cannot take
        # the client's track; then loose for what is left (a noisy, half-hidden client is
        # still the client, not a new person).
        for gate in (0.3, 0.8):
            for cost, i, j in pairs:
                if cost >= gate or i in got or j in used:
                    continue
                got[i] = self.tracks[j]
                used.add(j)
        out = []
        for i, p in enumerate(people):
            tr = got.get(i)
            if tr is None:
                tr = _Track(kp=p.kp.copy(), last_t=t, first_t=t)
                self.tracks.append(tr)
            out.append(tr)
        return out

    def assign(self, t: float, people: list[Person]) -> Roles:
        people = [p for p in people if np.sum(p.kp[:, 2] > 0.3) >= 8]
        if not people:
            return Roles(None, None)
        tracks = self._match(t, people)
        for p, tr in zip(people, tracks):
            torso = TORSO_PAIRS
            a = 1.0 / min(tr.n + 1, 60)
            # Only confident keypoints: an occluded client's keypoints jump about and would
            # make the client look like the one who moves.
            # Speed over half a second, not frame to frame: keypoint noise divided by one frame
            # time would make a still body look restless.
            tr.past.append((t, p.kp.copy()))
            while len(tr.past) > 2 and t - tr.past[1][0] >= 0.5:
                tr.past.popleft()
            t0, k0 = tr.past[0]
            both = (p.kp[torso, 2] >= 0.5) & (k0[torso, 2] >= 0.5)
            if t - t0 >= 0.25 and both.sum() >= 2:
                speed = np.median(np.linalg.norm(p.kp[torso[both], :2] - k0[torso[both], :2],
                                                 axis=1)) / (t - t0)
                tr.motion += a * (speed / body_scale(p.kp) - tr.motion)
            if np.all(p.kp[torso, 2] >= 0.5):
                tr.n4 += 1
                tr.lying4 += (lying_score(p.kp) - tr.lying4) / min(tr.n4, 60)
            else:
                # From the side or a corner the far shoulder and hip are hidden behind the
                # body: the confident shoulder→hip segment against the table (less sure: ≤ 1).
                score = partial_lying_score(p.kp, self._table_axis)
                if score is not None:
                    tr.n_p += 1
                    tr.lying_p += (score - tr.lying_p) / min(tr.n_p, 60)
            if len(people) == 1:
                tr.alone_frames += 1
            on_other = 0.0
            for q in people:
                if q is p:
                    continue
                quad = q.kp[TORSO_QUAD, :2]
                # Feet over someone's torso, widened: that someone is the client.
                c = quad.mean(0)
                big = c + 1.6 * (quad - c)
                feet = p.kp[FEET]
                inside = points_in_polygon(feet[feet[:, 2] > 0.3, :2], big)
                on_other = max(on_other, float(inside.mean()) if inside.size else 0.0)
            tr.feet_on_other += (on_other - tr.feet_on_other) / min(tr.n + 1, 60)
            # The track remembers each keypoint where it was last seen confidently, so an
            # occluded client keeps its template.
            conf = p.kp[:, 2] >= 0.5
            tr.kp[conf] = p.kp[conf]
            tr.last_t = t
            tr.n += 1
        # The client is the best-scoring live track, present or not: when it is hidden this
        # frame, nobody else is promoted to client.
        live = {id(tr): self._client_score(tr) for tr in self.tracks}
        best = max(self.tracks, key=lambda tr: live[id(tr)])
        # Hysteresis: the client keeps the role unless someone else clearly looks more like it.
        cur = self._client if any(tr is self._client for tr in self.tracks) else None
        if cur is not None and live[id(best)] < live[id(cur)] + 0.3:
            best = cur
        self._client = best if live[id(best)] > 0.0 else None
        client = None
        present = [i for i, tr in enumerate(tracks) if tr is best]
        if self._client is not None and present:
            client = people[present[0]]
        ref = torso_centre(best.kp)
        therapist = None
        others = [(p, tr) for p, tr in zip(people, tracks) if tr is not self._client]
        if others:
            # The therapist keeps the role while seen; otherwise it is the other person nearest
            # the client (or the only other person), preferring people followed for a while.
            kept = [pt for pt in others if pt[1] is self._therapist]
            if kept:
                therapist, tr = kept[0]
            else:
                therapist, tr = min(others, key=lambda pt: (
                    pt[1].n < 10, np.linalg.norm(torso_centre(pt[0].kp) - ref)))
            self._therapist = tr
        return Roles(client, therapist)

    def _client_score(self, tr: _Track) -> float:
        score = min(tr.lying, 1.2) - 2.0 * min(tr.motion, 2.0) - 1.0 * tr.feet_on_other
        # Sessions start with the client lying alone; a therapist alone in view, standing, is
        # not made the client by it.
        if tr.alone_frames >= 10 and tr.lying >= 0.4:
            score += 0.6
        if self.table is not None:
            c = torso_centre(tr.kp)
            if not points_in_polygon(c[None], self.table)[0]:
                score -= 2.0
        if lying_score(tr.kp) < 0.35 and tr.lying < 0.35 and tr.n < 5:
            score -= 0.5
        return score
