"""Tracking: which readings replace a track's keypoints, which are held, which people are
new, lost or found again, with stable ids.

Readings are checked before they replace a track's keypoints: a person present (score), not a
copy of another track's body, and, for a still body (the client), consistent with what is
held. A still body is refreshed only every ``still_refresh`` frames (vision.pose.plan), and
while another person is on it its keypoints are held, with their age, instead of being re-read
from a view where the other body covers it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from vision.io.posetrack import Frame, Person
from vision.skeleton import HIPS, SHOULDERS, TORSO_PAIRS, torso_centre
from .config import EngineConfig
from .detector import Detection
from .landmarks import LandmarkResult
from .plan import RegionRequest, Source
from .readings import same_body, torso_px
from .regions import Region, iou, region_from_points
from .table import TableOutline


@dataclass
class Track:
    id: int
    xy: np.ndarray  # (39, 2) px
    visibility: np.ndarray  # (39,)
    score: float
    region: Region
    seen_t: float  # time of the keypoints held
    anchor_xy: np.ndarray | None = None  # torso where the current still window began
    anchor_t: float = 0.0
    held: bool = False
    still: bool = False  # lying still: refreshed less often, held while covered
    refreshed_at: int = 0
    born: int = 0  # frame index the track began: the older of two tracks on one body wins
    lying: bool = False  # the client: read from the table's region, or still along the table
    pending: np.ndarray | None = None  # a lying body's torso in a view that disagreed
    lying_len: float | None = None  # a lying body's torso length (px) as seen lying still

    def torso_len(self) -> float:
        return max(torso_px(self.xy), 1.0)

    def bbox(self) -> np.ndarray:
        pts = self.xy[:33]
        return np.concatenate([pts.min(0), pts.max(0)])


def overlap(a: np.ndarray, b: np.ndarray) -> float:
    """Intersection area over the smaller box's area."""
    ix = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    small = min((a[2] - a[0]) * (a[3] - a[1]), (b[2] - b[0]) * (b[3] - b[1]))
    return ix * iy / small if small > 0 else 0.0


def _hip_centre(xy: np.ndarray) -> np.ndarray:
    return xy[HIPS].mean(0)


class Tracker:
    def __init__(self, cfg: EngineConfig):
        self.cfg = cfg
        self.table = TableOutline.of(cfg)
        self.reset()

    def reset(self) -> None:
        """Forget every track."""
        self.tracks: list[Track] = []
        self.lost_last_frame = False  # a track was lost: the detector looks again
        self._next_id = 1
        self._lost: list[tuple[float, Track]] = []  # (time lost, track) for re-identification

    def current_frame(self, t: float) -> Frame:
        people = []
        for tr in sorted(self.tracks, key=lambda tr: tr.id):
            vis = tr.visibility[:33]
            if tr.held:
                # an honest confidence for keypoints re-used from an earlier view
                vis = vis * 0.5 ** (max(0.0, t - tr.seen_t) / self.cfg.hold_half_life_s)
            kp = np.column_stack([tr.xy[:33], np.clip(vis, 0, 1)])
            people.append(Person(id=tr.id, kp=kp, presence=round(tr.score, 3)))
        return Frame(t=t, people=people)

    def tracked_at(self, hip: np.ndarray, shoulder: np.ndarray) -> bool:
        """A tracked body has its hip centre and shoulder centre both within a third of a
        torso of these points."""
        for tr in self.tracks:
            tol = tr.torso_len() / 3
            if (np.hypot(*(hip - _hip_centre(tr.xy))) < tol
                    and np.hypot(*(shoulder - tr.xy[SHOULDERS].mean(0))) < tol):
                return True
        return False

    def unmatched(self, dets: list[Detection]) -> list[Detection]:
        """Detections that are not an already tracked body, judged by the detector's hip
        centre (keypoint 0) and shoulder centre (2). (Faces are a poor key here: heads of
        people standing close overlap, and a face-down client shows none.)"""
        return [d for d in dets if not self.tracked_at(d.keypoints[0], d.keypoints[2])]

    # -- one frame's readings ------------------------------------------------------------
    def update(self, res: LandmarkResult | None, requests: list[RegionRequest], t: float,
               k: int) -> None:
        """Accept, hold or drop frame ``k``'s readings (one row per request, second regions
        already merged: vision.pose.readings.PostProcessor) at time ``t``."""
        cfg = self.cfg
        lost = False
        candidates: list[tuple[float, int]] = []  # (score, index) for new people
        n = 0 if res is None else len(requests)
        for i in range(n):
            req, score = requests[i], float(res.score[i])
            if req.newcomer:
                if score >= cfg.min_presence:
                    candidates.append((score, i))
                continue
            tr = req.track
            xy, vis = res.xy[i], res.visibility[i]
            covered = tr.lying and self._occluded(tr)
            stretched = tr.lying and not covered and self._stretched(tr, xy)
            if tr.still or covered or stretched:
                # the client on the table, still or covered before it has lain still for a
                # second (a therapist may climb on at once): held while another body covers it
                # or while its readings are of another body's length
                collapsed = stretched or any(same_body(xy, o.xy, o.torso_len())
                                             for o in self.tracks if o is not tr)
                was_still = tr.still
                self._update_still(tr, xy, vis, score, collapsed, t, k)
                if tr.score < 0:
                    lost = True  # the detector looks again next frame (the same id if found)
                elif not was_still and not tr.held:
                    self._watch_stillness(tr, t)
                continue
            if score < cfg.min_presence:
                tr.score = -1.0  # lost: the region no longer holds a person
                lost = True
                continue
            self._accept(tr, xy, vis, score, res, i, t, k)
            self._watch_stillness(tr, t)
        # two moving tracks now reading the same body: one region slid onto the other person.
        # The older track keeps the body; the younger is lost (and found again if real).
        live = sorted((tr for tr in self.tracks if tr.score >= 0), key=lambda tr: tr.born)
        for j, young in enumerate(live):
            if not young.still and any(old.score >= 0 and same_body(young.xy, old.xy,
                                                                   old.torso_len())
                                       for old in live[:j]):
                young.score = -1.0
                lost = True
        self._lost = [(tl, tr) for tl, tr in self._lost if t - tl <= cfg.reid_seconds]
        self._lost += [(t, tr) for tr in self.tracks if tr.score < 0]
        self.tracks = [tr for tr in self.tracks if tr.score >= 0]

        # new people, best first, never a copy of a tracked body or of each other
        for score, i in sorted(candidates, reverse=True):
            if len(self.tracks) >= cfg.max_people:
                break
            xy = res.xy[i]
            if any(self._second_reading(xy, o) or self._rereads_client(xy, o)
                   for o in self.tracks) \
                    or self.tracked_at(_hip_centre(xy), xy[SHOULDERS].mean(0)):
                continue  # a second look at somebody already tracked
            tr = Track(id=self._reuse_id(xy), xy=xy.copy(), visibility=res.visibility[i].copy(),
                       score=score, region=res.next_region(i), seen_t=t, refreshed_at=k, born=k,
                       lying=requests[i].source is Source.TABLE)
            self.tracks.append(tr)
        self.lost_last_frame = lost

    # -- the rules --------------------------------------------------------------------------
    def _on_table(self, xy: np.ndarray) -> bool:
        """The torso's centre lies inside the table outline (always, without a table)."""
        return self.table is None or self.table.holds(xy)

    def _occluded(self, tr: Track) -> bool:
        """Another person's body lies over this one's torso (a body lying still under this
        one does not cover it: the client does not cover the therapist standing on it)."""
        torso = tr.xy[TORSO_PAIRS]
        box = np.concatenate([torso.min(0), torso.max(0)])
        return any(overlap(box, o.bbox()) > 0.05 for o in self.tracks
                   if o is not tr and not self._lies_under(o, tr))

    def _lies_under(self, a: Track, b: Track) -> bool:
        """Of two overlapping bodies, ``a`` is the one underneath: still or lying on the
        table, and ahead of ``b`` in being on the table (if the studio gives one), lying,
        still, and still first (the client settles on the table before the therapist climbs
        on). Only the body underneath is held while covered; a therapist standing still on
        the client is still re-read every frame."""
        def key(tr: Track):
            return (not self._on_table(tr.xy), not tr.lying, not tr.still, tr.anchor_t,
                    tr.born)
        # lying and not still: the client covered before it lay still for a second
        return (a.still or a.lying) and key(a) < key(b)

    @staticmethod
    def _second_reading(xy: np.ndarray, tr: Track) -> bool:
        """Keypoints that re-read a tracked body: the same body (looser than for two live
        tracks: a newcomer must be clearly someone else), the same box, or a body folded
        inside the track's box around the same hip centre (an upside-down guess)."""
        if same_body(xy, tr.xy, tr.torso_len(), tol=0.35):
            return True
        box = np.concatenate([xy[:33].min(0), xy[:33].max(0)])
        if iou(box, tr.bbox()) > 0.7:
            return True
        hips_close = np.hypot(*(_hip_centre(xy) - _hip_centre(tr.xy))) < 0.25 * tr.torso_len()
        return bool(hips_close and overlap(box, tr.bbox()) > 0.8)

    def _stretched(self, tr: Track, xy: np.ndarray) -> bool:
        """A reading of a lying body whose torso is longer or shorter in the image than the
        held one by more than ``lying_stretch``: the body lying on the table cannot change its
        length in a fixed camera's view, so this is a reading of the therapist standing over
        it, or of both (rendered dev06, head_ceiling_0.6: the client's hips read 0.55 torso
        toward the therapist's, the shoulders in place, while the therapist went untracked;
        the client's track followed, and then took the therapist's detection for a second
        look at itself). Such readings, uncovered (covered views are judged by their shift:
        ``_update_still``), count as not finding the body: held, and after
        ``leave_after_s`` of them it has left (found again from the detector). Only once the
        body has lain still (``lying_len``): a first reading from the table's region is
        rougher than the ones that follow."""
        if tr.lying_len is None:
            return False  # not yet seen lying still: no length to hold it to
        return abs(torso_px(xy) / tr.lying_len - 1.0) > self.cfg.lying_stretch

    def _rereads_client(self, xy: np.ndarray, tr: Track, parallel: float = 0.9,
                        near: float = 1.0, min_len: float = 0.6) -> bool:
        """A newcomer's keypoints that re-read the client lying on the table (``tr``, a lying
        track) rather than find somebody new: a torso on the table, parallel to the client's
        (shoulder->hip directions within ~25 deg: cosine over ``parallel``), at least
        ``min_len`` of its length, centred within ``near`` of its torso lengths of the
        client's. The detector finds the therapist climbing on, and the landmark model,
        given the therapist's region, reads the long, clear body under the therapist's
        feet, stretched or shifted along it (rendered dev06, head_ceiling_0.6: shoulders and
        hips 0.5-0.8 torso off the client's, too far for the same body). Nobody standing
        looks so: seen from the head end a standing torso points the other way (the
        shoulders farther from the camera's foot point than the hips), from the side across
        the table, and from the foot end it projects beyond the client's head."""
        if not tr.lying or (self.table is not None and not self.table.holds(xy)):
            return False
        v = xy[HIPS].mean(0) - xy[SHOULDERS].mean(0)
        w = tr.xy[HIPS].mean(0) - tr.xy[SHOULDERS].mean(0)
        nv, nw = float(np.hypot(*v)), float(np.hypot(*w))
        if nv < min_len * nw or nw == 0 or float(v @ w) < parallel * nv * nw:
            return False
        return bool(np.hypot(*(torso_centre(xy) - torso_centre(tr.xy))) < near * nw)

    def _reuse_id(self, xy: np.ndarray) -> int:
        """The id of a person lost moments ago where this one appears (a track briefly lost
        to a bend or an overlap keeps its id), else a new id."""
        hips = _hip_centre(xy)
        best, best_d = None, np.inf
        for _, old in self._lost:
            d = np.hypot(*(hips - _hip_centre(old.xy)))
            if d < old.torso_len() and d < best_d and all(o.id != old.id for o in self.tracks):
                best, best_d = old, d
        if best is not None:
            self._lost = [(tl, o) for tl, o in self._lost if o is not best]
            return best.id
        self._next_id += 1
        return self._next_id - 1

    @staticmethod
    def _accept(tr: Track, xy, vis, score, res: LandmarkResult, i: int, t: float,
                k: int) -> None:
        tr.xy, tr.visibility, tr.score = xy.copy(), vis.copy(), score
        tr.region = res.next_region(i)
        tr.seen_t, tr.refreshed_at, tr.held = t, k, False

    def _watch_stillness(self, tr: Track, t: float) -> None:
        """A body is still once its torso has stayed within ``still_motion`` torso lengths
        of where it was for ``still_seconds`` (time, not frames: 60 fps footage moves little
        per frame)."""
        if tr.anchor_xy is None or (np.mean(np.hypot(*(tr.xy[TORSO_PAIRS] - tr.anchor_xy).T))
                                    > self.cfg.still_motion * tr.torso_len()):
            tr.anchor_xy, tr.anchor_t = tr.xy[TORSO_PAIRS].copy(), t
        still = (t - tr.anchor_t) >= self.cfg.still_seconds
        # a body standing still on a body lying under it (the therapist in a stance on the
        # client, still or lying on the table) stays a moving body: read every frame, never
        # held (refreshed every few frames, its feet froze in place: a lift seen late)
        tr.still = still and not any(
            o is not tr and self._lies_under(o, tr)
            and overlap(tr.bbox(), o.bbox()) > 0.05 for o in self.tracks)
        # one client per table: a second body still along it is the therapist standing still
        # on the client (seen from a head-end ceiling, a standing torso lies along the table
        # in the image too), never a second client to hold while covered
        tr.lying = tr.lying or (tr.still and self.table is not None
                                and self.table.holds_lying(tr.xy)
                                and not any(o.lying for o in self.tracks if o is not tr))
        if tr.still and tr.lying and tr.lying_len is None:
            tr.lying_len = tr.torso_len()  # a second's steady views of it lying

    def _update_still(self, tr: Track, xy, vis, score, collapsed, t, k) -> None:
        """A still or lying body (the client, under the therapist's feet). Its keypoints are
        replaced only by a confident view of its own body: one that agrees with what is held
        while nobody covers it (averaged in), or, while nobody covers it, a view that
        disagrees (it moved, and is tracked as moving until it settles; for the client on the
        table, once two views agree). While another body covers it, a view that agrees within
        ``consistent`` confirms the held keypoints without moving them, and one that
        disagrees is the other body or a guess: the held keypoints stay. A body lying on the
        table that nobody covers and that is not found for ``leave_after_s`` has left; a
        still body that is not lying (someone standing beside the table) has left as soon as
        its region shows nobody: held, it would stay a ghost where it stood (rendered demo:
        the therapist held beside the table for 2 s while standing on the client, taken
        for the therapist by the safety core)."""
        cfg = self.cfg
        tr.refreshed_at = k
        occluded = self._occluded(tr)
        if score < cfg.min_presence or collapsed:
            tr.held = True
            if not occluded and t - tr.seen_t > (cfg.leave_after_s if tr.lying else 0.0):
                tr.score = -1.0
            return
        shift = np.mean(np.hypot(*(xy[TORSO_PAIRS] - tr.xy[TORSO_PAIRS]).T)) / tr.torso_len()
        if shift <= cfg.still_motion and not occluded:
            tr.xy = 0.5 * tr.xy + 0.5 * xy  # average views of a still body: less jitter
            if tr.lying:
                # its length as it lies uncovered: what later readings are held to (a length
                # taken from each accepted reading would follow a slow drift)
                tr.lying_len = tr.torso_len()
            tr.region = region_from_points(tr.xy[33], tr.xy[34])
            tr.visibility, tr.score, tr.seen_t, tr.held = vis.copy(), score, t, False
            tr.pending = None
        elif occluded and shift <= cfg.consistent:
            # the body is where it was, read through the other body's legs: a view that
            # confirms the held keypoints but is not averaged in (covered views are biased
            # the same way frame after frame: averaging them moved the client's hips by
            # 10-20 px over a rendered session)
            tr.score, tr.seen_t, tr.held, tr.pending = score, t, False, None
        elif occluded:
            tr.held = True
        elif tr.lying and (tr.pending is None or np.mean(np.hypot(
                *(xy[TORSO_PAIRS] - tr.pending).T)) > cfg.consistent * tr.torso_len()):
            # the client on the table moved, or a body nobody tracks covers it (from straight
            # above the therapist is seldom found): a move is taken once the next view agrees
            tr.pending, tr.held = xy[TORSO_PAIRS].copy(), True
        else:
            tr.xy, tr.visibility, tr.score, tr.seen_t = xy.copy(), vis.copy(), score, t
            tr.region = region_from_points(xy[33], xy[34])
            tr.held, tr.still, tr.anchor_xy, tr.pending = False, False, None, None
