"""The pose engine: frames in, every person's 33 keypoints out, tracked with stable ids.

Per frame (MediaPipe's tracking scheme, extended to several people and to a still client):
1. each live track's region comes from its last landmarks (auxiliary points 33/34);
2. the detector runs only when nothing is tracked, when a track was lost, or every
   ``detect_every`` frames to pick up newcomers; a detection whose face is already a track's
   face is that track; unmatched detections seed new tracks;
3. with a studio table outline and no still body on the table yet, the table gives candidate
   regions (both head directions) for a client whose face the detector cannot see;
   with a table (``refine``), each moving person also gets a tight legs region, and each new
   detection its region turned upside down, in the same batch;
4. the landmark model runs once, batched, over all regions of the frame; second regions are
   merged into their person's reading; a client read from the front is mirrored (face-down);
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

import cv2
import numpy as np

from models import model_path

from ..posetrack import Frame, Person
from .detector import Detection, PoseDetector
from .landmarks import LandmarkModel, LandmarkResult
from .regions import Region, iou, legs_region, region_from_points, region_from_polygon
from .runtime import resolve_device

# Landmarks that describe the body's placement (shoulders, elbows, wrists, hips, knees, ankles)
BODY = np.array([11, 12, 13, 14, 15, 16, 23, 24, 25, 26, 27, 28])
TORSO = np.array([11, 12, 23, 24])
# each of the 39 landmarks' left/right counterpart (the auxiliary points 33-38 have none)
MIRROR = np.array([0, 4, 5, 6, 1, 2, 3, 8, 7, 10, 9, 12, 11, 14, 13, 16, 15, 18, 17, 20, 19,
                   22, 21, 24, 23, 26, 25, 28, 27, 30, 29, 32, 31, 33, 34, 35, 36, 37, 38])
TABLE = "table"  # owner of the regions the studio's table outline proposes
LEGS = np.arange(25, 33)  # knees, ankles, heels, toe tips: what the legs region re-reads
FLIP = "flip"  # owner tag of a detection's region turned upside down
# The landmark model for recorded sessions (audits, trainee scores): `heavy` is ~2.7x the
# cost of `full` (80 vs 30 ms a 1280x720 frame here) but on the rendered head-end views it
# read the client's hips 2-7 px off instead of 14-19 and the therapist's heels 6-8 instead of
# 12-20 (docs/pose-engine.md). Live cameras keep `full` (EngineConfig's default).
AUDIT_MODEL = "heavy"


@dataclass
class EngineConfig:
    model: str = "full"  # lite | full | heavy
    threads: int | None = None
    device: str = "cpu"  # cpu | cuda | auto (vision.pose.runtime.resolve_device)
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
    # Ashiatsu works on the back: the body on the table lies face-down, so a camera above the
    # table sees its back. Readings of it that show the front are mirrored (BlazePose cannot
    # tell a back from a front without a face and labels such bodies the other way round).
    client_face_down: bool = True
    # Second regions in the same batched landmark call: each moving person's legs and feet
    # from a tight region (one more crop per moving person per frame), and each new detection
    # turned upside down as well (detector frames only). None: on with a studio table.
    refine: bool | None = None


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

    def torso_len(self) -> float:
        return max(torso_px(self.xy), 1.0)

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


def torso_px(xy: np.ndarray) -> float:
    """Shoulder-centre to hip-centre distance of a keypoint set, px."""
    return float(np.hypot(*(xy[[11, 12]].mean(0) - xy[[23, 24]].mean(0))))


def _side_sine(axis: np.ndarray, xy: np.ndarray, min_width: float) -> float:
    """Sine of the angle from ``axis`` (image px, y down) to the body's right->left line
    (shoulders and hips together); 0 for a torso narrower in the image than ``min_width`` of
    its length (seen edge-on, the order of its left and right is down to noise)."""
    lr = (xy[11] - xy[12]) + (xy[23] - xy[24])
    width = float(np.hypot(*lr)) / 2
    norm, length = float(np.hypot(*axis)), torso_px(xy)
    if norm == 0 or length == 0 or width < min_width * length:
        return 0.0
    return float(axis[0] * lr[1] - axis[1] * lr[0]) / (norm * 2 * width)


def shows_front(xy: np.ndarray, margin: float = 0.3, min_width: float = 0.1) -> bool:
    """True when a body's labels say it faces the camera: with the hip->shoulder axis
    pointing up in the image, the left shoulder and hip lie on the image's right. The sine of
    the angle between the axis and the right->left line must exceed ``margin``, and the
    torso's width in the image ``min_width`` of its length, so that a torso seen edge-on
    (shoulders along the view, their order down to noise) is never called either way. (The
    rendered client's width is 0.34 of its torso from the side, 0.5-0.64 from above.)"""
    up = xy[[11, 12]].mean(0) - xy[[23, 24]].mean(0)
    # image y points down: a back seen upright has its left on the image left (sine < 0)
    return _side_sine(up, xy, min_width) > margin


def facing(xy: np.ndarray, min_len: float = 0.1) -> np.ndarray | None:
    """The way a standing body faces, in the image: the mean heel->toe-tip direction of its
    two feet (unit vector), or None when the feet are too short in the image (under
    ``min_len`` torso lengths: seen end-on, their direction is noise). It does not depend on
    which foot is labelled left."""
    f = (xy[31] - xy[29] + xy[32] - xy[30]) / 2
    n = float(np.hypot(*f))
    return f / n if n > 0 and n >= min_len * torso_px(xy) else None


def labels_contradict_feet(xy: np.ndarray, toward: np.ndarray, margin: float = 0.3,
                           min_width: float = 0.1) -> bool:
    """True when a standing body's left/right labels say the opposite of its feet. The
    floor is seen from above by any studio camera (ceiling or high on a wall), so the view
    of it is not mirrored: a body facing ``toward`` (image px, y down) has its left shoulder
    and hip on the side where toward x (left - right) < 0. Seen from the head end and
    above, BlazePose labelled the therapist's upper body the other way round on ~half the
    frames of the rendered demo (the scalp, not a face, faces the camera) while the feet
    kept pointing the right way. As in ``shows_front``, a torso narrower than ``min_width``
    of its length and a sine under ``margin`` are never called."""
    return _side_sine(toward, xy, min_width) > margin


def mirror(res: LandmarkResult, i: int) -> None:
    """Swap reading i's left and right labels in place."""
    for name in ("xy", "z", "visibility", "presence"):
        arr = getattr(res, name)
        arr[i] = arr[i][MIRROR]


def same_body(xy_a: np.ndarray, xy_b: np.ndarray, torso: float, tol: float = 0.2) -> bool:
    """True when two keypoint sets describe the same body: most of the same-named body
    keypoints within ``tol`` torso lengths of each other."""
    d = np.hypot(*(xy_a[BODY] - xy_b[BODY]).T)
    return bool(np.mean(d < tol * torso) >= 0.5)


class PoseEngine:
    @property
    def source(self) -> str:
        """What a pose track's header names as its keypoints' maker (vision.posetrack.Header)."""
        return f"engine:{self.cfg.model}"

    def __init__(self, config: EngineConfig | None = None, **kw):
        self.cfg = config or EngineConfig(**kw)
        if self.cfg.model not in ("lite", "full", "heavy"):
            raise ValueError(f"unknown model {self.cfg.model!r}: choose lite, full or heavy")
        self.device = resolve_device(self.cfg.device)
        self.detector = PoseDetector(model_path("detector"), self.cfg.threads,
                                     self.cfg.min_detection, device=self.device)
        self.landmarks = LandmarkModel(model_path(f"{self.cfg.model}_engine"), self.cfg.threads,
                                       device=self.device)
        # the studio table's outline and long axis (unit vector), fixed for the engine's life
        self._table = self._table_axis = None
        if self.cfg.table is not None:
            self._table = np.asarray(self.cfg.table, np.float32).reshape(-1, 1, 2)
            (_, _), (w, h), deg = cv2.minAreaRect(self._table)
            a = np.deg2rad(deg if w >= h else deg + 90)
            self._table_axis = np.array([np.cos(a), np.sin(a)])
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
        refine = cfg.refine if cfg.refine is not None else cfg.table is not None

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
                if len(self.tracks) + owners.count(None) >= cfg.max_people:
                    break
                regions.append(det.region())
                owners.append(None)
                if refine:
                    # The detector reads a standing person seen from behind and above upside
                    # down (its "face" below the hips: rendered corner view); the landmark
                    # model then sees no person (score 0.1-0.2) where the turned region gives
                    # 0.9-1.0. It is taken only where the detector's own region sees nobody.
                    r = regions[-1]
                    regions.append(Region(r.cx, r.cy, r.size, r.angle + np.pi))
                    owners.append((FLIP, len(regions) - 2))
            # 3. the table outline seeds a client that shows no face
            if cfg.table is not None and not any(tr.still for tr in self.tracks):
                for reg in region_from_polygon(cfg.table, cfg.table_head):
                    regions.append(reg)
                    owners.append(TABLE)

        # the moving people's legs and feet, from a tight second region each (merged into
        # their reading before step 5): on the rendered scenes, 2-5x closer heels and toes
        if refine:
            for i, tr in enumerate(refresh):
                if not tr.still and not tr.lying:
                    regions.append(legs_region(tr.xy[[23, 24]], tr.xy[[11, 12]].mean(0)))
                    owners.append((LEGS, i))

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
            if any(isinstance(o, tuple) for o in owners):
                res, owners = self._merge_second(res, owners)
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
    def _merge_second(self, res: LandmarkResult, owners: list) -> tuple[LandmarkResult, list]:
        """Merge each second region's reading into its first one's (row i), and drop the
        second rows. ``(FLIP, i)``: the turned detection region, taken only where row i sees
        no person. ``(LEGS, i)``: where both see a person whose hips agree (within a quarter
        torso: the same body), row i's knees, ankles, heels and toe tips come from the legs
        region; where only the legs region sees one (a therapist seen from behind, whose
        raised arms make the full-body region too wide for the model to be sure), its whole
        reading is taken."""
        keep = [i for i, o in enumerate(owners) if not isinstance(o, tuple)]
        for j, o in enumerate(owners):
            if not isinstance(o, tuple):
                continue
            i = o[1]
            if o[0] is FLIP:
                # the turned region only where the detector's own sees no person: an
                # upside-down reading of a person can be as confident as the right one
                if res.score[i] < self.cfg.min_presence <= res.score[j]:
                    for name in ("xy", "z", "visibility", "presence", "score"):
                        getattr(res, name)[i] = getattr(res, name)[j]
                continue
            if res.score[j] < self.cfg.min_presence:
                continue
            self._face_the_feet(res, i, j)
            if res.score[i] < self.cfg.min_presence:
                for name in ("xy", "z", "visibility", "presence", "score"):
                    getattr(res, name)[i] = getattr(res, name)[j]
                continue
            xy = res.xy[i]
            torso = max(torso_px(xy), 1.0)
            if np.hypot(*(res.xy[j, [23, 24]].mean(0) - xy[[23, 24]].mean(0))) <= 0.25 * torso:
                res.xy[i, LEGS] = res.xy[j, LEGS]
                # the tight crop is less sure that a foot is in view than the full one (its
                # heel/toe visibility agreed with the rendered truth on 71-90 % of points,
                # the full crop's on 82-96 %): a point counts as seen if either saw it
                for name in ("visibility", "presence"):
                    arr = getattr(res, name)
                    arr[i, LEGS] = np.maximum(arr[i, LEGS], arr[j, LEGS])
        sub = LandmarkResult(xy=res.xy[keep], z=res.z[keep], visibility=res.visibility[keep],
                             presence=res.presence[keep], score=res.score[keep])
        return sub, [owners[i] for i in keep]

    def _face_the_feet(self, res: LandmarkResult, i: int, j: int) -> None:
        """Make a standing person's left/right labels agree with the way its feet point, in
        its full reading (row i) and its legs reading (row j), each mirrored on its own:
        the legs crop's feet give the direction (closer than the full crop's). Not for a body
        lying along the table (a face-down client's toes point to the foot end: its rule is
        ``shows_front``)."""
        toward = facing(res.xy[j])
        if toward is None:
            return
        for row in (i, j):
            xy = res.xy[row]
            if labels_contradict_feet(xy, toward) and not (
                    self.cfg.table is not None and self._on_table(xy) and self._along_table(xy)):
                mirror(res, row)

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
        """Another person's body lies over this one's torso (a body lying still under this
        one does not cover it: the client does not cover the therapist standing on it)."""
        box = np.concatenate([tr.xy[TORSO].min(0), tr.xy[TORSO].max(0)])
        return any(_overlap(box, o.bbox()) > 0.05 for o in self.tracks
                   if o is not tr and not self._lies_under(o, tr))

    def _on_table(self, xy: np.ndarray) -> bool:
        """The torso's centre lies inside the table outline (always, without a table). On
        the rendered scenes the client's lies 0.3-0.9 torso inside, the therapist's, standing
        on it, 0.2-2.5 torso outside: the standing body's hips are higher than the table."""
        if self._table is None:
            return True
        c = xy[TORSO].mean(0)
        return cv2.pointPolygonTest(self._table, (float(c[0]), float(c[1])), False) > 0

    def _along_table(self, xy: np.ndarray) -> bool:
        """The torso's axis lies within 30 degrees of the table's long axis in the image."""
        up = xy[[11, 12]].mean(0) - xy[[23, 24]].mean(0)
        return abs(float(up @ self._table_axis)) >= np.cos(np.pi / 6) * np.hypot(*up)

    def _lies_under(self, a: Track, b: Track) -> bool:
        """Of two overlapping bodies, ``a`` is the one underneath: still, and still before
        ``b`` (the client settles on the table before the therapist climbs on), on the table
        if the studio gives one. Only the body underneath is held while covered; a therapist
        standing still on the client is still re-read every frame."""
        def key(tr: Track):
            return (not self._on_table(tr.xy), not tr.still, tr.anchor_t, tr.born)
        return a.still and key(a) < key(b)

    def _update(self, res: LandmarkResult | None, owners: list[Track | None | str], t: float,
                k: int) -> None:
        cfg = self.cfg
        lost = False
        candidates: list[tuple[float, int]] = []  # (score, index) for new people
        n = 0 if res is None else len(owners)
        for i in range(n):
            tr = owners[i]
            score = float(res.score[i])
            if (cfg.table is not None and cfg.client_face_down
                    and (tr == TABLE or (isinstance(tr, Track) and tr.lying))
                    and shows_front(res.xy[i])):
                mirror(res, i)
            if tr is None or tr == TABLE:
                if score >= cfg.min_presence:
                    candidates.append((score, i))
                continue
            xy, vis = res.xy[i], res.visibility[i]
            if tr.still or (tr.lying and self._occluded(tr)):
                # the client on the table, still or covered before it has lain still for a
                # second (a therapist may climb on at once): held while another body covers it
                collapsed = any(same_body(xy, o.xy, o.torso_len())
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
            if any(self._second_reading(xy, o) for o in self.tracks) \
                    or self._tracked_at(xy[[23, 24]].mean(0), xy[[11, 12]].mean(0)):
                continue  # a second look at somebody already tracked
            tr = Track(id=self._reuse_id(xy), xy=xy.copy(), visibility=res.visibility[i].copy(),
                       score=score, region=res.next_region(i), seen_t=t, refreshed_at=k, born=k,
                       lying=owners[i] == TABLE)
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
        still = (t - tr.anchor_t) >= self.cfg.still_seconds
        # a body standing still on a body already lying still (the therapist in a stance on
        # the client) stays a moving body: read every frame, never held
        tr.still = still and not any(
            o is not tr and o.still and self._lies_under(o, tr)
            and _overlap(tr.bbox(), o.bbox()) > 0.05 for o in self.tracks)
        tr.lying = tr.lying or (tr.still and self.cfg.table is not None and self._on_table(tr.xy)
                                and self._along_table(tr.xy))

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
        shift = np.mean(np.hypot(*(xy[TORSO] - tr.xy[TORSO]).T)) / tr.torso_len()
        if shift <= cfg.still_motion and not occluded:
            tr.xy = 0.5 * tr.xy + 0.5 * xy  # average views of a still body: less jitter
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
                *(xy[TORSO] - tr.pending).T)) > cfg.consistent * tr.torso_len()):
            # the client on the table moved, or a body nobody tracks covers it (from straight
            # above the therapist is seldom found): a move is taken once the next view agrees
            tr.pending, tr.held = xy[TORSO].copy(), True
        else:
            tr.xy, tr.visibility, tr.score, tr.seen_t = xy.copy(), vis.copy(), score, t
            tr.region = region_from_points(xy[33], xy[34])
            tr.held, tr.still, tr.anchor_xy, tr.pending = False, False, None, None
