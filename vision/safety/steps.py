"""Steps: a therapist's foot planted on the client, located on the zone atlas.

The foot is an area: heel (29/30) and toe tip (31/32) give its axis and length, and the load
goes through the heel pad and the ball (vision.safety.geometry.foot_loaded_parts). A step is a foot
that comes to rest after moving; its zone is the worst zone under its loaded parts, taken at the
median of its positions over the step so that keypoint noise averages out. A foot or a back that
is not seen confidently makes the zone `unknown`, never `safe`.

A foot of which only the heel or only the toe tip is seen (the other under the calf, or behind
the foot) is located by the seen point and its ankle, which gives the foot's direction
(vision.safety.geometry.complete_foot), with the foot's length measured when it was last seen whole;
such a location is less sure, and its zone carries that uncertainty (borderline: `unknown`).

Each frame's foot points go onto the body (and the floor plan) in one mapping, by the back's
FootProjector (vision/safety/feet.py); a planted foot's frames make its stance, whose zone
vision/safety/stance.py decides.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

import numpy as np

from vision.safety.backframe import BackState
from vision.safety.feet import HEIGHT_SIGMA_M, SOLE
from vision.safety.geometry import complete_foot, foot_loaded_parts
from vision.skeleton import FOOT, HIPS
from vision.safety.stance import Stance
from vision.vocab import Zone
from vision.safety.zones import Atlas, decide, default_atlas, probabilities_out, zone_distribution


# The heel and toe-tip keypoints' error by the pose track's source (Header.source): 1 sigma
# (along the foot, across it) in the image, in cm at the torso's image scale. The engine reads
# a foot short along its own axis far more than it misplaces it sideways. The engine's: its
# median absolute error on the rendered benchmark's development sessions over 0.674 (the
# median of |N(0, 1)|), per model (docs/safety-core.md, "A step's zone under uncertainty").
# A renderer's truth: exact. The scenario generator's: its own per-frame noise, which averages
# out over a stance.
# Unknown: the least accurate model's.
# Measured by `ashiwatch evaluate --rendered --split dev --keypoint-error` (2026-12-07, commit
# after 5371b40: the engine's one-client and legs rules, the steps' visibility gate 0.3; the
# locked onnxruntime 1.32.0 / OpenCV 5.1.0.95; 12 sessions, 6 camera places; over points the
# truth sees and whose visibility passes the gate, as the steps use them).
KP_SIGMA_CM: dict[str | None, dict[str, tuple[float, float]]] = {
    "engine:heavy": {"heel": (3.0, 2.1), "toe": (5.2, 2.0)},
    # with the feet model (vision/pose/feet.py; models/feet.onnx sha256 00b41be5…, 2026-12-06)
    "engine:heavy+feet": {"heel": (2.2, 1.6), "toe": (0.8, 0.9)},
    "engine:full": {"heel": (3.9, 2.9), "toe": (5.9, 3.1)},
    # the live feed's reading (service/api/cameras.py) with a studio table; measured
    # 2026-12-07 after 8a9c25a the same way (heavy+feet and full came out as above again)
    "engine:full+feet": {"heel": (2.3, 1.8), "toe": (1.1, 1.1)},
    "engine:lite": {"heel": (7.7, 5.1), "toe": (10.3, 4.4)},
    "truth": {"heel": (0.0, 0.0), "toe": (0.0, 0.0)},
    "generated": {"heel": (0.0, 0.0), "toe": (0.0, 0.0)},
}
KP_SIGMA_CM[None] = KP_SIGMA_CM["engine:lite"]


# Durations are compared with this much slack: frame times are multiples of the frame interval,
# and a duration that is exactly a threshold in frames (four hidden frames at 10 fps: 0.3 s)
# must not fall either side of it by floating-point rounding (6.5 - 6.2 < 0.3).
EPS_S = 1e-6


def params_for(source: str | None) -> "StepParams":
    """Step parameters for keypoints from ``source`` (a pose track header's). A model read with
    the feet model, or with its feet re-fitted, that was not measured so takes the landmark
    model's own figure (both place feet nearer on renders, so that errs wide)."""
    if source not in KP_SIGMA_CM and source and source.endswith("+feet"):
        source = source[: -len("+feet")]
    # a landmark model with its feet re-fitted (heavy_feet), not measured: its base model's
    if source not in KP_SIGMA_CM and source and source.endswith("_feet"):
        source = source[: -len("_feet")]
    # The scenario generator places the feet at exactly the heights vision/io/camera.py
    # assumes; every other source films bodies whose heights differ from them.
    return StepParams(kp_sigma_cm=dict(KP_SIGMA_CM.get(source, KP_SIGMA_CM[None])),
                      height_sigma_m=0.0 if source == "generated" else HEIGHT_SIGMA_M)


@dataclass
class StepParams:
    # Heel and toe at least this confident to see the foot. BlazePose's visibility is low on
    # feet it places well from the side walls (dev05, left_wall_2.5: heels and toes the truth
    # sees at median visibility 0.06-0.46, yet 9-12 px off at the median against 7 px for the
    # confident ones): at 0.5 the therapist's feet there were never seen and no step was
    # reported for 13 s. The keypoint error (kp_sigma_cm) is measured at this same gate.
    min_vis: float = 0.3
    window_s: float = 0.25      # speed = displacement over this window
    v_still: float = 20.0       # cm/s (reference body): below this the foot is at rest
    v_move: float = 30.0        # cm/s: above this (2 frames running) the foot moves again
    settle_s: float = 0.12      # at rest this long to count as planted
    min_step_s: float = 0.4     # shorter plants are not steps
    v_knee: float = 30.0        # hidden foot: knee speed beyond what the hips explain (cm/s)
    # plausible heel-to-toe length: real cm on the floor plan with the studio camera, else
    # reference cm on the body map
    foot_len_cm: tuple[float, float] = (10.0, 45.0)
    # How far a heel or toe-tip keypoint may be off, as a share of a foot seen square-on near
    # the torso (the pose engine on rendered scenes: heels and toes 8-14 px off on a ~52 px
    # foot). Seen along the view, such an error changes the measured length by many cm, so the
    # plausible length widens by what that error is worth there.
    kp_error_share: float = 0.25
    min_known_share: float = 0.5  # share of a step's frames that must locate it for a zone
    beside_frames: int = 3      # seen this many frames running off the table (or back onto it)
    hide_split_s: float = 0.3   # a located step whose foot is then hidden this long is split
    # A foot is in the air between stances for well under a second (a swing: ~0.4 s). One not
    # seen for longer, lifted or never yet planted, while the therapist's other foot stands on
    # the client, is taken as down at a place unknown: its own `unknown` step (and a
    # foot-not-visible alert), not no step at all. From the left wall (dev05) the engine's far
    # foot read under the visibility gate for 6.6 s while it stood on the spine and the ribs.
    max_air_s: float = 1.0
    # A planted foot whose speed could not be measured for a while (its points hidden or
    # changing) and that is then found this far (body cm) from where it was has stepped, unseen:
    # a new step. A glide is seen moving slowly all along and stays one step.
    jump_cm: float = 8.0
    # A stance that begins within rejoin_s of the last one's end (closed by a moment of fast or
    # hidden keypoints, not by the foot going onto the floor or jumping) and whose first located
    # place is near where that one ended (FootTracker._rejoin_radius_cm: within the places' own
    # uncertainty, rejoin_floor_cm to rejoin_cm) is the same planted foot: one step. A foot
    # that steps is lifted for longer (on the rendered dev split, consecutive true steps come
    # 0.2-0.3 s apart as detected).
    rejoin_s: float = 0.15
    rejoin_cm: float = 8.0
    rejoin_floor_cm: float = 1.0
    rejoin_z: float = 2.5       # the radius in sigmas of the places' uncertainty
    # A foot seen by the heel or the toe tip alone. Its length: this foot's median measured
    # length, or 0.152 x the reference stature (Drillis & Contini) before it was measured.
    default_foot_cm: float = 26.6
    # How far (cm) the heel pad and the ball may be from where the completion puts them: from
    # the heel, the direction rests on a ~5 cm heel-ankle baseline (±10° at 1 cm of noise,
    # 3.5 cm at the ball); from the toe tip, on a ~20 cm one, but the foot's length (±10 %)
    # moves the heel pad along the axis.
    partial_uncertainty_cm: dict = field(default_factory=lambda: {"heel": (0.5, 4.0),
                                                                   "toe": (3.0, 1.0)})
    ankle_above_sole_m: float = 0.07   # the ankle joint over the sole: 0.039 H (Drillis)
    # The keypoints' own error on the heel and toe tip (1 sigma along and across the foot in
    # the image), in cm at the client's torso scale in the image (image px = this x px per body
    # cm): KP_SIGMA_CM of the track's source. Mapped to the body through the view (a foot seen
    # along the view is far less sure along its length), it is the uncertainty of every
    # located frame, on top of the back's and the completion's.
    kp_sigma_cm: dict = field(default_factory=lambda: dict(KP_SIGMA_CM[None]))
    # With the studio's camera: how far (1 sigma, m) the feet's height above the client's joint
    # plane may be from camera.py's (vision.safety.feet.HEIGHT_SIGMA_M); seen at an angle, it
    # moves them across the back toward or away from the camera.
    height_sigma_m: float = HEIGHT_SIGMA_M
    # A planted foot's place in each frame is the median of its located places over this long:
    # noise that changes from frame to frame averages out (what is left is the keypoints'
    # systematic error, kp_sigma_cm), while a glide's path is followed.
    smooth_s: float = 0.4
    # A step's probability of each zone is the largest mean over this long of its frames'
    # probabilities: a glide that passes over the kidney was on the kidney, for a still foot it
    # is the mean over the stance.
    peak_s: float = 0.5


@dataclass
class Step:
    foot: str
    start_s: float
    end_s: float
    zone: Zone
    body_xy: tuple[float, float] | None   # loaded centre, reference cm
    hidden_share: float = 0.0
    possible: bool = False    # a danger zone within the uncertainty, not sure: "possible <zone>"
    zone_p: dict[str, float] = field(default_factory=dict)   # probability of each zone

    @property
    def verdict(self) -> str:
        return f"possible {self.zone}" if self.possible else self.zone


@dataclass
class _Closed:
    """The last step a foot closed, which a stance planted again where it ended continues."""
    stance: Stance
    step: Step


@dataclass
class FootStatus:
    """One foot at one moment."""
    foot: str
    visible: bool
    planted: bool
    zone: Zone         # the running zone of the current step, or of the foot where it is now
    on_client: bool    # planted and not off the body (unknown counts: it may carry weight)
    possible: bool = False   # the zone is a danger zone within the uncertainty, not sure


@dataclass
class _Sighting:
    """One frame's view of a foot: seen whole, or by the heel or the toe tip alone (with its
    ankle), and, on a known back, where its heel and toe tip are on the body (cm) and their
    covariance (2, 2, 2) from the keypoints, the completion and the length (not the back's)."""
    whole: bool
    partial: str | None = None     # "heel" / "toe": seen by that point alone
    heel: np.ndarray | None = None
    toe: np.ndarray | None = None
    cov: np.ndarray | None = None


class FootTracker:
    """The planted/moving state of one foot, frame by frame."""

    def __init__(self, side: str, atlas: Atlas | None = None, params: StepParams | None = None):
        self.side = side
        self.atlas = atlas or default_atlas()
        self.p = params or StepParams()
        self.hist: deque = deque()      # (t, centre px) of visible frames
        self.knee_hist: deque = deque()
        self.hidden_since: float | None = None
        self.unmeasured_since: float | None = None   # planted, speed unknown since
        self.last_place: np.ndarray | None = None    # body cm, the last frame with a speed
        self.still_since: float | None = None
        self.fast_frames = 0
        self.plant: Stance | None = None
        self.other_since: float | None = None     # the other foot on the client since
        self.steps: list[Step] = []
        self.closed: _Closed | None = None        # the last step, while a stance may continue it
        self.dt = 0.0                             # the last frame interval
        self.t_prev: float | None = None
        self.lengths: deque = deque(maxlen=60)   # measured foot lengths (body cm)
        self.offset_px: np.ndarray | None = None  # toe - heel in the image, last seen whole
        self.pattern: tuple | None = None         # which foot points were seen last frame
        # beside the table or not (TableFootprint), as last settled; since when (t, frames) it
        # has been seen otherwise
        self.beside: bool | None = None
        self.beside_flip: tuple[float, int] | None = None
        self.beside_last = 0.0                    # the last frame seen as settled

    def _speed(self, hist: deque, t: float, xy: np.ndarray, scale: float,
               window: float | None = None) -> float | None:
        window = window or self.p.window_s
        hist.append((t, xy))
        while len(hist) > 2 and t - hist[1][0] >= window:
            hist.popleft()
        t0, xy0 = hist[0]
        if t - t0 < 0.5 * window:
            return None
        return float(np.linalg.norm(xy - xy0) / (t - t0) / scale)

    def update(self, t: float, kp: np.ndarray | None, back: BackState, px_per_cm: float,
               other_on_client: bool = False) -> FootStatus:
        """One frame: the therapist's keypoints (None: no therapist), the back, its scale;
        ``other_on_client``: the other foot stood on the client in the last frame."""
        if not other_on_client:
            self.other_since = None
        elif self.other_since is None:
            self.other_since = t
        if self.t_prev is not None and t > self.t_prev:
            self.dt = t - self.t_prev
        self.t_prev = t
        sight = self._sight(kp, back, px_per_cm)
        seen = sight.whole or sight.partial is not None
        if seen and self.plant is not None and self.plant.unseen:
            # found: where it stood while unseen is not known, so what follows is a new step,
            # planted once it is seen at rest (on the back or on the floor)
            self._close(t, rejoin=False)
            self.still_since = None
        speed = self._foot_speed(t, kp, sight, px_per_cm) if seen else \
            self._knee_speed(t, kp, px_per_cm)
        # A hidden foot is judged by its knee, which also moves with the body: ask for more
        # evidence before calling a hidden planted foot lifted.
        need_fast = 2 if seen else 4

        # State machine with hysteresis: planted after settle_s at rest, unplanted after two
        # fast frames. A hidden foot with nothing to judge by keeps its state.
        if speed is not None:
            if speed < self.p.v_still:
                if self.still_since is None:
                    self.still_since = t - 0.5 * self.p.window_s
                self.fast_frames = 0
            elif speed > self.p.v_move:
                self.fast_frames += 1
                self.still_since = None
            if self.plant is None and self.still_since is not None and \
                    t - self.still_since >= self.p.settle_s - EPS_S:
                self._plant(max(self.still_since, 0.0))
            elif self.plant is not None and self.fast_frames >= need_fast:
                self._close(t - 0.5 * self.p.window_s)
        # Seen beyond the table's edge: on the floor, whatever the back map (known or not) says.
        # Or, behind the table seen across it, a body too small to stand on the back. The
        # foot's confident points are enough (it is not hidden): before the back is known its
        # length is judged at a guessed scale, which rejects feet seen end-on from the head or
        # the foot end.
        # A located step whose foot then disappears is closed where it was seen; what follows
        # is a step of unknown zone. Otherwise a hidden next step would merge with it and the
        # located zone (the spine, say) would be lost in an `unknown`.
        beside = self._beside(kp, back)
        if seen or beside:
            self._beside_change(t, beside)
            self.hidden_since = None
        elif self.hidden_since is None:
            self.hidden_since = t
        if self.plant is not None and self.hidden_since is not None and self.plant.known > 0 and \
                t - self.hidden_since >= self.p.hide_split_s - EPS_S:
            start = self.hidden_since
            self._close(start)
            self._plant(start)
        if self.plant is None and not seen and not beside and back.known and \
                self.hidden_since is not None and self.other_since is not None:
            since = max(self.hidden_since, self.other_since)
            if t - since >= self.p.max_air_s - EPS_S:
                self._plant(since)
                self.plant.unseen = True
        heel_b, toe_b = sight.heel, sight.toe
        located = heel_b is not None and np.all(np.isfinite(heel_b)) and \
            np.all(np.isfinite(toe_b))
        if self.plant is None:
            self.unmeasured_since = self.last_place = None
        elif speed is None:
            if self.unmeasured_since is None:
                self.unmeasured_since = t
        elif located:
            place = (heel_b + toe_b) / 2
            if self.unmeasured_since is not None and self.last_place is not None and \
                    np.linalg.norm(place - self.last_place) > self.p.jump_cm:
                start = self.unmeasured_since
                self._close(start, rejoin=False)
                self._plant(start)
            self.unmeasured_since = None
            self.last_place = place
        cov = sight.cov + back.uncertainty_cm ** 2 * np.eye(2) if located else None
        if self.plant is not None:
            self.plant.add(t, (heel_b, toe_b, cov) if located else None, sight.partial is None,
                           self.atlas, back.legs, self.p, beside=beside)
            if self.plant.joins is not None and len(self.plant.first) >= 3:
                self._rejoin()
            zone, possible = self.plant.zone, self.plant.possible
        elif located and not beside:
            dist = zone_distribution(self.atlas, heel_b, toe_b, cov, back.legs)
            zone, possible = decide(dist) if dist is not None else (Zone.UNKNOWN, False)
        else:
            zone, possible = Zone.UNKNOWN, False
        if beside:
            # now, whatever the stance has decided so far (it may not have enough frames)
            zone, possible = Zone.OFF_BODY, False
        planted = self.plant is not None
        return FootStatus(self.side, seen, planted, zone,
                          planted and zone != Zone.OFF_BODY, possible)

    def _beside(self, kp: np.ndarray | None, back: BackState) -> bool:
        """Whether the foot's confident points say it is on the floor beside the table."""
        if kp is None or back.table is None:
            return False
        pts = self._seen_px(kp)
        return len(pts) > 0 and (back.table.beside(pts) or back.table.stands_on_floor(pts, kp))

    def _beside_change(self, t: float, beside: bool) -> None:
        """A foot that goes from the floor onto the table or back (seen so on ``beside_frames``
        running, so that a keypoint jumping near the edge does not split a stance) ends its
        stance where it went: one stance is never on both."""
        if self.beside is None or beside == self.beside:
            self.beside, self.beside_flip, self.beside_last = beside, None, t
            return
        since, n = self.beside_flip or (t, 0)
        self.beside_flip = (since, n + 1)
        if n + 1 < self.p.beside_frames:
            return
        if self.plant is not None:
            # the old stance ends with its last frame seen where it was
            self._close(self.beside_last, rejoin=False)
            self._plant(since)
            self.unmeasured_since = self.last_place = None
        self.beside, self.beside_flip, self.beside_last = beside, None, t

    def _seen_px(self, kp: np.ndarray) -> np.ndarray:
        """The foot's heel, toe tip and ankle pixels that are seen confidently."""
        ix = FOOT[self.side]
        idx = [ix[k] for k in ("heel", "toe", "ankle")]
        return kp[idx, :2][kp[idx, 2] >= self.p.min_vis]

    def _sight(self, kp: np.ndarray | None, back: BackState, px_per_cm: float) -> _Sighting:
        """How the foot is seen this frame and, on a known back, where it is on the body. A
        whole foot of a length no foot has (confident but implausible: garbage coordinates),
        or a point too far from its ankle to be of the same foot, is not seen."""
        if kp is None:
            return _Sighting(False)
        ix = FOOT[self.side]
        hv, tv = bool(kp[ix["heel"], 2] >= self.p.min_vis), bool(kp[ix["toe"], 2] >=
                                                                 self.p.min_vis)
        if hv and tv:
            return self._sight_whole(kp[ix["heel"], :2], kp[ix["toe"], :2], back, px_per_cm)
        if hv == tv or not kp[ix["ankle"], 2] >= self.p.min_vis:
            return _Sighting(False)
        partial = "heel" if hv else "toe"
        gap = np.linalg.norm(kp[ix[partial], :2] - kp[ix["ankle"], :2]) / px_per_cm
        if gap > self.p.foot_len_cm[1]:
            return _Sighting(False)
        if not back.known:
            return _Sighting(False, partial)
        seen_b, ankle_b = back.feet.project(
            kp[[ix[partial], ix["ankle"]], :2],
            np.array([SOLE[1 if partial == "toe" else 0], self.p.ankle_above_sole_m])).body
        heel_b, toe_b = complete_foot(seen_b, ankle_b, partial, self._known_length())
        # the seen point's own error (at the torso's scale) and the completion's
        var = max(self.p.kp_sigma_cm[partial]) ** 2 + \
            np.asarray(self.p.partial_uncertainty_cm[partial], dtype=np.float64) ** 2
        return _Sighting(False, partial, heel_b, toe_b, var[:, None, None] * np.eye(2))

    def _sight_whole(self, heel: np.ndarray, toe: np.ndarray, back: BackState,
                     px_per_cm: float) -> _Sighting:
        """A foot of which both points are seen: its length judged (``MappedFoot.judged``: on
        the body plane, as the image scale varies across a tilted view, or in real cm on the
        floor plan with the camera; in image px at the torso's scale without a back), and
        remembered while plausible."""
        lo, hi = self.p.foot_len_cm
        if not back.known:
            length = np.linalg.norm(heel - toe) / px_per_cm
            return _Sighting(bool(lo <= length <= hi))
        foot = back.feet.foot(heel, toe, self.p.kp_error_share * self.p.default_foot_cm * px_per_cm,
                              {k: np.asarray(self.p.kp_sigma_cm[k]) * px_per_cm
                               for k in ("heel", "toe")}, self.p.height_sigma_m)
        length, slack = foot.judged
        if not (lo - slack <= length <= hi + slack):
            return _Sighting(False)
        measured = float(np.linalg.norm(foot.heel - foot.toe))
        if lo <= measured <= hi:
            self.lengths.append(measured)
        heel_b, toe_b, stretch = self._true_length(foot.heel, foot.toe, foot.slack, length)
        return _Sighting(True, None, heel_b, toe_b, foot.cov + stretch ** 2 * np.eye(2))

    def _foot_speed(self, t: float, kp: np.ndarray, sight: _Sighting, px_per_cm: float
                    ) -> float | None:
        """The speed of the seen foot points' centre. A foot that slides slowly under load (a
        glide) stays planted: one step, its path judged whole; it ends when the foot moves off
        faster."""
        ix = FOOT[self.side]
        pattern = (sight.whole, sight.partial)
        if sight.whole:
            self.offset_px = kp[ix["toe"], :2] - kp[ix["heel"], :2]
            pts = kp[[ix["heel"], ix["toe"], ix["ankle"]], :2]
        elif self.offset_px is not None:
            # The hidden point where it was relative to the seen one when last seen whole,
            # so that the foot's centre does not jump when a point hides (a fake move).
            seen = kp[ix[sight.partial], :2]
            other = seen + self.offset_px if sight.partial == "heel" else seen - self.offset_px
            pts = np.stack([seen, other, kp[ix["ankle"], :2]])
            pattern = (True, None)
        else:
            pts = kp[[ix[sight.partial], ix["ankle"]], :2]
        if pattern != self.pattern:
            # A different set of points has a different centre: restart the speed.
            self.hist.clear()
        self.pattern = pattern
        self.knee_hist.clear()
        return self._speed(self.hist, t, pts.mean(0), px_per_cm)

    def _knee_speed(self, t: float, kp: np.ndarray | None, px_per_cm: float) -> float | None:
        """A hidden foot: the knee stands in for it. The knee sits about halfway between hip
        and ankle, so with the foot planted it moves at half the hips' speed; what is left over
        is the foot moving. Unsure means planted: a hidden foot that may carry weight is not
        let off."""
        self.hist.clear()
        self.pattern = None
        knee = FOOT[self.side]["knee"]
        if kp is None or not (kp[knee, 2] >= self.p.min_vis and
                              np.all(kp[HIPS, 2] >= self.p.min_vis)):
            self.knee_hist.clear()
            return None
        rel = kp[knee, :2] - 0.5 * kp[HIPS, :2].mean(0)
        # A longer window: one knee and two hips are noisier than a whole foot.
        ks = self._speed(self.knee_hist, t, rel, px_per_cm, 2 * self.p.window_s)
        return None if ks is None else (0.0 if ks < self.p.v_knee else 10 * self.p.v_move)

    def _known_length(self) -> float:
        return float(np.median(self.lengths)) if len(self.lengths) >= 5 else \
            self.p.default_foot_cm

    def _true_length(self, heel_b: np.ndarray, toe_b: np.ndarray, slack: float,
                     judged: float) -> tuple[np.ndarray, np.ndarray, float]:
        """A foot measured shorter or longer than a foot can be (accepted within the slack of
        a foreshortened view) keeps its centre and direction and takes this foot's length. Its
        heel pad and ball may then be anywhere within the slack along the view: that is their
        uncertainty (third value; 0 for a foot of plausible length), so that a zone it could
        reach reads `unknown`, never the better zone. ``judged``: the length that says
        whether it is a foot (``MappedFoot.judged``: real cm with the camera)."""
        lo, hi = self.p.foot_len_cm
        d = toe_b - heel_b
        n = float(np.linalg.norm(d))
        if lo <= judged <= hi:
            return heel_b, toe_b, 0.0
        c = (heel_b + toe_b) / 2
        u = d / n if n > 1e-6 else np.array([0.0, 1.0])
        half = u * self._known_length() / 2
        return c - half, c + half, float(slack)

    def _plant(self, start: float) -> None:
        """A new stance from ``start`` (never before the last step's end: a foot makes one step
        at a time), to continue the last step if it turns out planted where that one ended."""
        if self.steps:
            start = max(start, self.steps[-1].end_s)
        self.plant = Stance(start=start)
        c = self.closed
        if c is not None and start - c.step.end_s <= self.p.rejoin_s + EPS_S:
            self.plant.joins = c

    def _rejoin(self) -> None:
        """Decide whether the current stance, which may continue the last step, does: where
        both are located and it begins within ``_rejoin_radius_cm`` of where that step ended.
        A stance never located is its own step (`unknown`): hidden, the foot may have gone
        anywhere."""
        pl, c = self.plant, self.plant.joins
        pl.joins = None
        end = c.stance.end_place(c.step.end_s) if pl.first else None
        if end is None:
            return
        place, end_cov = end
        begun = np.median([m for m, _ in pl.first], axis=0)
        cov = end_cov + np.mean([cv for _, cv in pl.first], axis=0)
        if np.linalg.norm(begun - place) > self._rejoin_radius_cm(cov):
            return
        if self.steps and self.steps[-1] is c.step:
            self.steps.pop()
        gap = int(round((pl.start - c.step.end_s) / self.dt)) if self.dt > 0 else 0
        c.stance.absorb(pl, max(gap, 0), self.p.min_known_share)
        self.plant = c.stance
        self.closed = None

    def _rejoin_radius_cm(self, cov: np.ndarray) -> float:
        """How near (body cm) where the last step ended a stance must begin to continue it:
        rejoin_z x the larger axis of ``cov``, the two places' uncertainty (each the middle of a
        heel and a toe tip, with the keypoints' error, the completion, the height and the
        back's), not less than rejoin_floor_cm, not more than rejoin_cm (a keypoint glitch is
        not worth more). From exact keypoints seen from above that is ~5 cm: a foot lifted out
        of sight and set down 6 cm over, from the spine onto the kidney, is a new step (dev00's
        truth track), while from video the engine's error keeps it near rejoin_cm."""
        sigma = float(np.sqrt(max(np.linalg.eigvalsh(cov).max(), 0.0)))
        return float(np.clip(self.p.rejoin_z * sigma, self.p.rejoin_floor_cm, self.p.rejoin_cm))

    def _close(self, t_end: float, rejoin: bool = True) -> None:
        if self.plant is not None and self.plant.joins is not None:
            self._rejoin()      # closed before it was located enough to tell: by what it has
        pl = self.plant
        self.plant = None
        self.fast_frames = 0
        if pl is None or t_end - pl.start < self.p.min_step_s - EPS_S:
            return
        pl.end(t_end, self.p.min_known_share)
        if pl.zone == Zone.OFF_BODY:
            return     # beside the client (on the floor), no danger zone near: not a step on it
        xy = None
        loc = pl.place() if pl.known else None
        if loc is not None:
            centres, _ = foot_loaded_parts(loc[0], loc[1])
            xy = tuple(float(v) for v in centres.mean(0))
        step = Step(self.side, pl.start, max(t_end, pl.start), pl.zone, xy,
                    1.0 - pl.known / max(pl.frames, 1), pl.possible,
                    probabilities_out(pl.peak) if pl.known else {})
        self.steps.append(step)
        self.closed = _Closed(pl, step) if rejoin else None

    def finish(self, t_end: float) -> None:
        if self.plant is not None:
            self._close(t_end)
