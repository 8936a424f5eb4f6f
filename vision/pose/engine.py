"""The pose engine: frames in, every person's 33 keypoints out, tracked with stable ids.

Per frame (MediaPipe's tracking scheme, extended to several people and to a still client):
1. each live track's region comes from its last landmarks (auxiliary points 33/34);
2. the detector runs only when nothing is tracked, when a track was lost, or every
   ``detect_every`` frames to pick up newcomers; a detection whose face is already a track's
   face is that track; unmatched detections seed new tracks;
3. with a studio table outline and no still body on the table yet, the table gives candidate
   regions (both head directions) for a client whose face the detector cannot see;
4. the landmark model runs once, batched, over all regions of the frame;
5. results are checked before they replace a track's keypoints: a person present (score),
   not a copy of another track's body, and, for a still body (the client), consistent with
   what is held. A still body is refreshed only every ``still_refresh`` frames, and while
   another person is on it its keypoints are held, with their age, instead of being re-read
   from a view where the other body covers it.
See docs/pose-engine.md.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np

from models import model_path

from ..posetrack import Frame, Person
from .detector import Detection, PoseDetector
from .landmarks import LandmarkModel, LandmarkResult
from .regions import Region, iou, region_from_points, region_from_polygon

# Landmarks that describe the body's placement (shoulders, elbows, wrists, hips, knees, ankles)
BODY = np.array([11, 12, 13, 14, 15, 16, 23, 24, 25, 26, 27, 28])
TORSO = np.array([11, 12, 23, 24])
TABLE = "table"  # owner of the regions the studio's table outline proposes


@dataclass
class EngineConfig:
    model: str = "full"  # lite | full | heavy
    threads: int | None = None
    max_people: int = 4
    detect_every: int = 10  # frames between detector passes for newcomers
    min_presence: float = 0.5  # person-present score to keep a track (MediaPipe's 0.5)
    min_detection: float = 0.5
    detector_tiles: bool = True  # also search square tiles of a wide frame for small people
    still_refresh: int = 6  # a still body's landmarks are re-read every N frames
    still_motion: float = 0.05  # torso-relative drift allowed while a body counts as still
    still_seconds: float = 1.0  # how long a body must stay within that drift to be still
    consistent: float = 0.15  # torso-relative mean shift for a new view to agree with a held one
    reid_seconds: float = 3.0  # a person found again within this time keeps the old id
    leave_after_s: float = 2.0  # an uncovered still body unseen this long has left
    hold_half_life_s: float = 120.0  # a held body's confidence halves over this time
    table: np.ndarray | None = None  # (4, 2) table outline in px, from the studio file
    table_head: np.ndarray | None = None  # (2,) a point at the head end (the face cradle)


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

    def torso_len(self) -> float:
        sh = self.xy[[11, 12]].mean(0)
        hp = self.xy[[23, 24]].mean(0)
        return max(float(np.hypot(*(sh - hp))), 1.0)

    def bbox(self) -> np.ndarray:
        pts = self.xy[:33]
        return np.concatenate([pts.min(0), pts.max(0)])


@dataclass
class StageTimes:
    detector_ms: float = 0.0
    crops_ms: float = 0.0
    landmarks_ms: float = 0.0
    post_ms: float = 0.0
    detector_runs: int = 0
    people_inferred: int = 0


@dataclass
class EngineResult:
    frame: Frame
    times: StageTimes = field(default_factory=StageTimes)


def _overlap(a: np.ndarray, b: np.ndarray) -> float:
    """Intersection area over the smaller box's area."""
    ix = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    small = min((a[2] - a[0]) * (a[3] - a[1]), (b[2] - b[0]) * (b[3] - b[1]))
    return ix * iy / small if small > 0 else 0.0


def same_body(xy_a: np.ndarray, xy_b: np.ndarray, torso: float, tol: float = 0.2) -> bool:
    """True when two keypoint sets describe the same body: most of the same-named body
    keypoints within ``tol`` torso lengths of each other."""
    d = np.hypot(*(xy_a[BODY] - xy_b[BODY]).T)
    return bool(np.mean(d < tol * torso) >= 0.5)


class PoseEngine:
    def __init__(self, config: EngineConfig | None = None, **kw):
        self.cfg = config or EngineConfig(**kw)
        if self.cfg.model not in ("lite", "full", "heavy"):
            raise ValueError(f"unknown model {self.cfg.model!r}: choose lite, full or heavy")
        self.detector = PoseDetector(model_path("detector"), self.cfg.threads,
                                     self.cfg.min_detection)
        self.landmarks = LandmarkModel(model_path(f"{self.cfg.model}_engine"), self.cfg.threads)
        self.reset()

    def reset(self) -> None:
        """Forget every track: the next frame starts from the detector."""
        self.tracks: list[Track] = []
        self.frame_index = -1
        self._next_id = 1
        self._lost_last_frame = False
        self._lost: list[tuple[float, Track]] = []  # (time lost, track) for re-identification
        self._passes = 0  # detector passes so far

    # -- one frame ------------------------------------------------------------------------
    def process(self, image: np.ndarray, t: float) -> EngineResult:
        self.frame_index += 1
        k = self.frame_index
        cfg = self.cfg
        times = StageTimes()

        # 1. which tracks to re-read this frame
        refresh = [tr for tr in self.tracks
                   if not tr.still or (k - tr.refreshed_at) >= cfg.still_refresh]
        regions: list[Region] = [tr.region for tr in refresh]
        # who each region belongs to: a track, None (a detection), or TABLE (the two head
        # directions of the table outline, alternatives of which the better is kept)
        owners: list[Track | None | str] = list(refresh)

        # 2. detector for newcomers / lost tracks
        run_detector = (not self.tracks or self._lost_last_frame
                        or (k % cfg.detect_every == 0 and len(self.tracks) < cfg.max_people))
        if run_detector:
            t0 = time.perf_counter()
            # the full frame and, in turn, one of its tiles (a detector run is ~15 ms)
            self._passes += 1
            dets = self.detector.detect(image, tiles=self._passes if cfg.detector_tiles else False)
            times.detector_ms = (time.perf_counter() - t0) * 1e3
            times.detector_runs = 1
            for det in self._unmatched(dets):
                if len(self.tracks) + len(owners) - len(refresh) >= cfg.max_people:
                    break
                regions.append(det.region())
                owners.append(None)
            # 3. the table outline seeds a client that shows no face
            if cfg.table is not None and not any(tr.still for tr in self.tracks):
                for reg in region_from_polygon(cfg.table, cfg.table_head):
                    regions.append(reg)
                    owners.append(TABLE)

        # 4. one batched landmark call
        t0 = time.perf_counter()
        if regions:
            x = self.landmarks.crops(image, regions)
            t1 = time.perf_counter()
            lm, flag, hm = self.landmarks.infer(x)
            t2 = time.perf_counter()
            res = self.landmarks.decode(lm, flag, hm, regions)
            times.crops_ms = (t1 - t0) * 1e3
            times.landmarks_ms = (t2 - t1) * 1e3
            times.people_inferred = len(regions)
            if TABLE in owners:
                self._settle_table_reading(image, res, owners)
                times.people_inferred += 1
                t2 = time.perf_counter()
        else:
            t2 = t0
            res = None
        # 5. accept, hold or drop
        self._update(res, owners, t, k)
        times.post_ms = (time.perf_counter() - t2) * 1e3
        return EngineResult(frame=self.current_frame(t), times=times)

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

    # -- helpers --------------------------------------------------------------------------
    def _tracked_at(self, hip: np.ndarray, shoulder: np.ndarray) -> bool:
        """A tracked body has its hip centre and shoulder centre both within a third of a
        torso of these points."""
        for tr in self.tracks:
            tol = tr.torso_len() / 3
            if (np.hypot(*(hip - tr.xy[[23, 24]].mean(0))) < tol
                    and np.hypot(*(shoulder - tr.xy[[11, 12]].mean(0))) < tol):
                return True
        return False

    def _unmatched(self, dets: list[Detection]) -> list[Detection]:
        """Detections that are not an already tracked body, judged by the detector's hip
        centre (keypoint 0) and shoulder centre (2). (Faces are a poor key here: heads of
        people standing close overlap, and a face-down client shows none.)"""
        return [d for d in dets if not self._tracked_at(d.keypoints[0], d.keypoints[2])]

    def _occluded(self, tr: Track) -> bool:
        """Another person's body lies over this one's torso."""
        box = np.concatenate([tr.xy[TORSO].min(0), tr.xy[TORSO].max(0)])
        return any(_overlap(box, o.bbox()) > 0.05 for o in self.tracks if o is not tr)

    def _update(self, res: LandmarkResult | None, owners: list[Track | None | str], t: float,
                k: int) -> None:
        cfg = self.cfg
        lost = False
        candidates: list[tuple[float, int]] = []  # (score, index) for new people
        n = 0 if res is None else len(owners)
        for i in range(n):
            tr = owners[i]
            score = float(res.score[i])
            if tr is None or tr == TABLE:
                if score >= cfg.min_presence:
                    candidates.append((score, i))
                continue
            xy, vis = res.xy[i], res.visibility[i]
            if tr.still:
                collapsed = any(same_body(xy, o.xy, o.torso_len())
                                for o in self.tracks if o is not tr)
                self._update_still(tr, xy, vis, score, collapsed, t, k)
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
            if any(self._second_reading(xy, o) for o in self.tracks) \
                    or self._tracked_at(xy[[23, 24]].mean(0), xy[[11, 12]].mean(0)):
                continue  # a second look at somebody already tracked
            tr = Track(id=self._reuse_id(xy), xy=xy.copy(), visibility=res.visibility[i].copy(),
                       score=score, region=res.next_region(i), seen_t=t, refreshed_at=k, born=k)
            self.tracks.append(tr)
        self._lost_last_frame = lost

    def _settle_table_reading(self, image: np.ndarray, res: LandmarkResult,
                              owners: list) -> None:
        """The table's regions are centred on the table, not on the body's hips as the model
        expects. Keep the better-seen head direction (a body read upside down has less
        visible keypoints: measured in tests/test_engine.py; the studio file can name the head
        end instead) and read it once more from the region its own landmarks give, in place."""
        idx = [i for i, o in enumerate(owners) if o == TABLE]
        best = max(idx, key=lambda i: res.visibility[i, :33].mean())
        again = self.landmarks.run(image, [res.next_region(best)])
        for i in idx:
            res.score[i] = 0.0
        for name in ("xy", "z", "visibility", "presence", "score"):
            getattr(res, name)[best] = getattr(again, name)[0]

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
        hips_close = np.hypot(*(xy[[23, 24]].mean(0) - tr.xy[[23, 24]].mean(0))) \
            < 0.25 * tr.torso_len()
        return bool(hips_close and _overlap(box, tr.bbox()) > 0.8)

    def _reuse_id(self, xy: np.ndarray) -> int:
        """The id of a person lost moments ago where this one appears (a track briefly lost
        to a bend or an overlap keeps its id), else a new id."""
        hips = xy[[23, 24]].mean(0)
        best, best_d = None, np.inf
        for _, old in self._lost:
            d = np.hypot(*(hips - old.xy[[23, 24]].mean(0)))
            if d < old.torso_len() and d < best_d and all(o.id != old.id for o in self.tracks):
                best, best_d = old, d
        if best is not None:
            self._lost = [(tl, o) for tl, o in self._lost if o is not best]
            return best.id
        self._next_id += 1
        return self._next_id - 1

    def _accept(self, tr: Track, xy, vis, score, res: LandmarkResult, i: int, t: float,
                k: int) -> None:
        tr.xy, tr.visibility, tr.score = xy.copy(), vis.copy(), score
        tr.region = res.next_region(i)
        tr.seen_t, tr.refreshed_at, tr.held = t, k, False

    def _watch_stillness(self, tr: Track, t: float) -> None:
        """A body is still once its torso has stayed within ``still_motion`` torso lengths
        of where it was for ``still_seconds`` (time, not frames: 60 fps footage moves little
        per frame)."""
        if tr.anchor_xy is None or (np.mean(np.hypot(*(tr.xy[TORSO] - tr.anchor_xy).T))
                                    > self.cfg.still_motion * tr.torso_len()):
            tr.anchor_xy, tr.anchor_t = tr.xy[TORSO].copy(), t
        tr.still = (t - tr.anchor_t) >= self.cfg.still_seconds

    def _update_still(self, tr: Track, xy, vis, score, collapsed, t, k) -> None:
        """A still body (the client, under the therapist's feet). Its keypoints are replaced
        only by a confident view of its own body: one that agrees with what is held (averaged
        in), or, while nobody covers it, any confident view (it moved, and is tracked as
        moving until it settles). A view that disagrees while another body covers it is the
        other body or a guess: the held keypoints stay. A still body that nobody covers and
        that is not found for ``leave_after_s`` has left."""
        cfg = self.cfg
        tr.refreshed_at = k
        occluded = self._occluded(tr)
        if score < cfg.min_presence or collapsed:
            tr.held = True
            if not occluded and t - tr.seen_t > cfg.leave_after_s:
                tr.score = -1.0
            return
        shift = np.mean(np.hypot(*(xy[TORSO] - tr.xy[TORSO]).T)) / tr.torso_len()
        if shift <= cfg.still_motion or (occluded and shift <= cfg.consistent):
            tr.xy = 0.5 * tr.xy + 0.5 * xy  # average views of a still body: less jitter
            tr.region = region_from_points(tr.xy[33], tr.xy[34])
            tr.visibility, tr.score, tr.seen_t, tr.held = vis.copy(), score, t, False
        elif occluded:
            tr.held = True
        else:
            tr.xy, tr.visibility, tr.score, tr.seen_t = xy.copy(), vis.copy(), score, t
            tr.region = region_from_points(xy[33], xy[34])
            tr.held, tr.still, tr.anchor_xy = False, False, None
