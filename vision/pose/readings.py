"""A reading's keypoints (39 landmarks of one region, image px): their geometry, the rules on
their left/right labels, and the post-processing of a frame's readings before tracking:
second regions merged into their person's reading, labels turned to agree with the feet, and a
face-down client read from the front mirrored."""

from __future__ import annotations

import numpy as np

from vision.skeleton import HIPS, SHOULDERS
from .config import EngineConfig
from .landmarks import LandmarkResult
from .plan import RegionRequest, Source
from .table import TableOutline

# Landmarks that describe the body's placement (shoulders, elbows, wrists, hips, knees, ankles)
BODY = np.array([11, 12, 13, 14, 15, 16, 23, 24, 25, 26, 27, 28])
# each of the 39 landmarks' left/right counterpart (the auxiliary points 33-38 have none)
MIRROR = np.array([0, 4, 5, 6, 1, 2, 3, 8, 7, 10, 9, 12, 11, 14, 13, 16, 15, 18, 17, 20, 19,
                   22, 21, 24, 23, 26, 25, 28, 27, 30, 29, 32, 31, 33, 34, 35, 36, 37, 38])
LEGS = np.arange(25, 33)  # knees, ankles, heels, toe tips: what the legs region re-reads
# a leg's points, hip to toe tip: the legs region's own right->left line
LEFT_LEG = np.array([23, 25, 27, 29, 31])
RIGHT_LEG = np.array([24, 26, 28, 30, 32])
# a reading's per-person arrays, all of which a row copy or a merge moves together
FIELDS = ("xy", "z", "visibility", "presence", "score")


def torso_px(xy: np.ndarray) -> float:
    """Shoulder-centre to hip-centre distance of a keypoint set, px."""
    return float(np.hypot(*(xy[SHOULDERS].mean(0) - xy[HIPS].mean(0))))


def _sine(axis: np.ndarray, lr: np.ndarray, length: float, min_width: float) -> float:
    """Sine of the angle from ``axis`` to a right->left line ``lr`` (image px, y down); 0 when
    the line is shorter than ``min_width`` of ``length`` (seen edge-on, the order of its left
    and right is down to noise)."""
    width, norm = float(np.hypot(*lr)), float(np.hypot(*axis))
    if norm == 0 or length == 0 or width < min_width * length:
        return 0.0
    return float(axis[0] * lr[1] - axis[1] * lr[0]) / (norm * width)


def _side_sine(axis: np.ndarray, xy: np.ndarray, min_width: float) -> float:
    """``_sine`` to the body's right->left line, shoulders and hips together (their mean)."""
    (ls, rs), (lh, rh) = SHOULDERS, HIPS
    lr = ((xy[ls] - xy[rs]) + (xy[lh] - xy[rh])) / 2
    return _sine(axis, lr, torso_px(xy), min_width)


def shows_front(xy: np.ndarray, margin: float = 0.3, min_width: float = 0.1) -> bool:
    """True when a body's labels say it faces the camera: with the hip->shoulder axis
    pointing up in the image, the left shoulder and hip lie on the image's right. The sine of
    the angle between the axis and the right->left line must exceed ``margin``, and the
    torso's width in the image ``min_width`` of its length, so that a torso seen edge-on
    (shoulders along the view, their order down to noise) is never called either way. (The
    rendered client's width is 0.34 of its torso from the side, 0.5-0.64 from above.)"""
    up = xy[SHOULDERS].mean(0) - xy[HIPS].mean(0)
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


def legs_contradict_feet(xy: np.ndarray, toward: np.ndarray, margin: float = 0.3,
                         min_width: float = 0.1) -> bool | None:
    """As ``labels_contradict_feet``, for a legs region's reading, on its legs' own
    right->left line (the mean of hip, knee, ankle, heel and toe tip of each side) instead of
    the torso's: the tight crop around the hips leaves the shoulders outside it, so its torso
    line is a guess. (Judged on the torso, the legs reading was turned the wrong way on
    21-31 % of the frames of two rendered head-end wall sessions and 17 % of a corner one,
    its legs flickering between the therapist's feet; docs/pose-engine.md.) True or False
    when the line says so, None when it is shorter than ``min_width`` of the torso or its
    sine under ``margin`` (legs crossed, or one in front of the other along the view)."""
    lr = xy[LEFT_LEG].mean(0) - xy[RIGHT_LEG].mean(0)
    sine = _sine(toward, lr, torso_px(xy), min_width)
    return True if sine > margin else False if sine < -margin else None


def hips_crossed(xy: np.ndarray, ref: np.ndarray, margin: float = 0.6) -> bool | None:
    """Whether a reading's hips carry the other labels than ``ref``'s (the same body's
    full reading): True when the crossed pairing is nearer by ``margin`` (its summed
    distances under ``margin`` of the straight pairing's), False for the reverse, None
    between (hips seen edge-on)."""
    (lh, rh) = HIPS
    straight = np.hypot(*(xy[lh] - ref[lh])) + np.hypot(*(xy[rh] - ref[rh]))
    crossed = np.hypot(*(xy[lh] - ref[rh])) + np.hypot(*(xy[rh] - ref[lh]))
    return True if crossed < margin * straight else False if straight < margin * crossed \
        else None


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


def _copy_row(res: LandmarkResult, to: int, src: int) -> None:
    for name in FIELDS:
        getattr(res, name)[to] = getattr(res, name)[src]


class PostProcessor:
    """A frame's readings, one row per region request, made ready for the tracker."""

    def __init__(self, cfg: EngineConfig):
        self.cfg = cfg
        self.table = TableOutline.of(cfg)

    def apply(self, res: LandmarkResult | None, requests: list[RegionRequest]
              ) -> tuple[LandmarkResult | None, list[RegionRequest]]:
        """Second readings merged into their first (their rows dropped), then a face-down
        client read from the front mirrored: one row per person-reading request."""
        if res is None:
            return res, requests
        if any(req.second for req in requests):
            res, requests = self.merge_second(res, requests)
        self.face_down(res, requests)
        return res, requests

    def merge_second(self, res: LandmarkResult, requests: list[RegionRequest]
                     ) -> tuple[LandmarkResult, list[RegionRequest]]:
        """Merge each second region's reading (row j) into its first one's (row i), and drop
        the second rows. FLIP: the turned detection region, taken only where row i sees no
        person. LEGS: where both see a person whose hips agree (within a quarter torso: the
        same body), row i's knees, ankles, heels and toe tips come from the legs region;
        where only the legs region sees one (a therapist seen from behind, whose raised arms
        make the full-body region too wide for the model to be sure), its whole reading is
        taken."""
        keep = [i for i, req in enumerate(requests) if not req.second]
        for j, req in enumerate(requests):
            if not req.second:
                continue
            i = req.first
            if req.source is Source.FLIP:
                # the turned region only where the detector's own sees no person: an
                # upside-down reading of a person can be as confident as the right one
                if res.score[i] < self.cfg.min_presence <= res.score[j]:
                    _copy_row(res, i, j)
                continue
            if res.score[j] < self.cfg.min_presence:
                continue
            self.face_the_feet(res, i, j)
            if res.score[i] < self.cfg.min_presence:
                _copy_row(res, i, j)
                continue
            xy = res.xy[i]
            torso = max(torso_px(xy), 1.0)
            if np.hypot(*(res.xy[j, HIPS].mean(0) - xy[HIPS].mean(0))) <= 0.25 * torso:
                res.xy[i, LEGS] = res.xy[j, LEGS]
                # the tight crop is less sure that a foot is in view than the full one (its
                # heel/toe visibility agreed with the rendered truth on 71-90 % of points,
                # the full crop's on 82-96 %): a point counts as seen if either saw it
                for name in ("visibility", "presence"):
                    arr = getattr(res, name)
                    arr[i, LEGS] = np.maximum(arr[i, LEGS], arr[j, LEGS])
        sub = LandmarkResult(xy=res.xy[keep], z=res.z[keep], visibility=res.visibility[keep],
                             presence=res.presence[keep], score=res.score[keep])
        return sub, [requests[i] for i in keep]

    def face_the_feet(self, res: LandmarkResult, i: int, j: int) -> None:
        """Make a standing person's left/right labels agree with the way its feet point, in
        its full reading (row i) and its legs reading (row j), each mirrored on its own:
        the legs crop's feet give the direction (closer than the full crop's). The full
        reading is judged on its torso; the legs reading on its legs' own right->left line,
        where that is clear, else on its hips against the full reading's (already turned;
        where the full reading sees a person), else on its torso. Where the feet are seen
        end-on (no direction: a head-end wall camera looking along them) only the hips rule
        speaks. Not for a body lying along the table (a face-down client's toes point to the
        foot end: its rule is ``shows_front``)."""
        toward = facing(res.xy[j])  # None: the feet seen end-on
        if toward is not None and labels_contradict_feet(res.xy[i], toward) \
                and not self._lies_on_table(res.xy[i]):
            mirror(res, i)
        legs = res.xy[j]
        if self._lies_on_table(legs):
            return
        turn = None if toward is None else legs_contradict_feet(legs, toward)
        if turn is None and res.score[i] >= self.cfg.min_presence:
            turn = hips_crossed(legs, res.xy[i])
        if turn is None and toward is not None:
            turn = labels_contradict_feet(legs, toward)
        if turn:
            mirror(res, j)

    def _lies_on_table(self, xy: np.ndarray) -> bool:
        return self.table is not None and self.table.holds_lying(xy)

    def face_down(self, res: LandmarkResult, requests: list[RegionRequest]) -> None:
        """Mirror, in place, each reading of the client (the table's regions, a lying track)
        whose labels show its front: on the table it lies face-down."""
        if self.table is None or not self.cfg.client_face_down:
            return
        for i, req in enumerate(requests):
            client = req.source is Source.TABLE or (req.track is not None and req.track.lying)
            if client and shows_front(res.xy[i]):
                mirror(res, i)
