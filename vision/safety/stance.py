"""A planted foot's stance, frame by frame, and the zone of the step it makes.

Each frame that locates the foot adds its zone probabilities (vision.safety.zones.zone_distribution,
at the median of the foot's places over ``smooth_s``, with that frame's uncertainty); the
step's probability of each zone is the largest mean of them over ``peak_s``, so that a glide
that passes over the kidney was on the kidney, and for a still foot it is the mean over the
stance. A stance located on too few of its frames is `unknown`, or "possible <zone>" for a
danger zone that its located frames reach: never `safe`.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from vision.vocab import Zone
from vision.safety.zones import RISKY, WORST_FIRST, Atlas, decide, zone_distribution

if TYPE_CHECKING:
    from vision.safety.steps import StepParams


# the zone distribution of a foot seen beside the table: surely off the body
OFF_BODY_DIST = np.eye(len(WORST_FIRST))[WORST_FIRST.index(Zone.OFF_BODY)]
OFF_BODY_DIST.flags.writeable = False


def _middle(foot) -> tuple[np.ndarray, np.ndarray]:
    """A foot's loaded centre (the middle of heel and toe tip, body cm) and its covariance (2, 2)
    from ``foot`` = (heel, toe, covariance (2, 2, 2)), their errors independent."""
    heel, toe, cov = foot
    return (heel + toe) / 2, cov.sum(axis=0) / 4


@dataclass
class Stance:
    start: float
    heels: list = field(default_factory=list)
    toes: list = field(default_factory=list)
    part_heels: list = field(default_factory=list)   # located by the heel or toe alone
    part_toes: list = field(default_factory=list)
    frames: int = 0
    known: int = 0
    # The zone probabilities (WORST_FIRST order) of the located frames of the last peak_s, their
    # sum, and the largest mean over such a window so far.
    window: deque = field(default_factory=deque)
    window_sum: np.ndarray = field(default_factory=lambda: np.zeros(len(WORST_FIRST)))
    peak: np.ndarray = field(default_factory=lambda: np.zeros(len(WORST_FIRST)))
    # (t, located, peak so far) of the last frames: those after the moment the stance is closed
    # at (backdated to when the foot began to move) are the foot travelling, not the step
    tail: deque = field(default_factory=lambda: deque(maxlen=90))
    # (t, heel, toe, covariance) of the located frames of the last StepParams.smooth_s
    recent: deque = field(default_factory=deque)
    zone: Zone = Zone.UNKNOWN
    possible: bool = False
    # the loaded centres (body cm) of the first located frames and their covariances (2, 2):
    # where the stance began, to tell a foot planted again where it was from one that has
    # stepped (FootTracker's rejoin)
    first: list = field(default_factory=list)
    # the closed step this stance may continue (steps._Closed), until its place says
    joins: object = None
    # taken as down while unseen (StepParams.max_air_s): its place is not known
    unseen: bool = False

    def add(self, t: float, foot: tuple[np.ndarray, np.ndarray, np.ndarray] | None,
            whole: bool, atlas: Atlas, legs: dict, p: StepParams, beside: bool = False) -> None:
        """One frame of the stance: ``foot``, the heel, toe tip (body cm) and their covariance
        (2, 2, 2) where the frame located the foot, else None; ``whole``: located from both
        points (not completed from the heel or the toe tip alone); ``beside``: the foot is
        seen beside the table (vision.safety.feet.TableFootprint), surely off the body."""
        self.frames += 1
        if foot is not None and not beside:
            self.recent.append((t, *foot))
        while self.recent and t - self.recent[0][0] > p.smooth_s:
            self.recent.popleft()
        dist = None
        if beside:
            dist = OFF_BODY_DIST
        elif foot is not None:
            sm = list(zip(*self.recent))
            dist = zone_distribution(atlas, np.median(sm[1], axis=0), np.median(sm[2], axis=0),
                                     np.mean(sm[3], axis=0), legs)
        if dist is not None:
            self.known += 1
            self.window.append((t, dist))
            self.window_sum = self.window_sum + dist
            while t - self.window[0][0] > p.peak_s:
                self.window_sum = self.window_sum - self.window.popleft()[1]
            if len(self.window) >= min(3, self.known):
                self.peak = np.maximum(self.peak, self.window_sum / len(self.window))
            if foot is not None and not beside:   # a place on the body (beside: none)
                if len(self.first) < 3:
                    self.first.append(_middle(foot))
                (self.heels if whole else self.part_heels).append(foot[0])
                (self.toes if whole else self.part_toes).append(foot[1])
            for lst in (self.heels, self.toes, self.part_heels, self.part_toes):
                if len(lst) > 900:   # a long stand: the last ~30 s are enough
                    del lst[:300]
        self.tail.append((t, dist is not None, self.peak))
        self.zone, self.possible = self.decide(p.min_known_share)

    def end(self, t_end: float, min_known_share: float) -> None:
        """Close the stance at ``t_end``: the frames after it (the foot already travelling) are
        not part of it."""
        before = [(lo, pk) for t, lo, pk in self.tail if t <= t_end]
        after = [lo for t, lo, _ in self.tail if t > t_end]
        if after:
            self.frames -= len(after)
            self.known -= sum(after)
            self.peak = before[-1][1] if before else np.zeros(len(WORST_FIRST))
        self.zone, self.possible = self.decide(min_known_share)

    def end_place(self, t_end: float) -> tuple[np.ndarray, np.ndarray] | None:
        """Where the stance ended: the median loaded centre (body cm) of its located frames of
        the last smooth_s up to ``t_end``, and the mean covariance (2, 2) of such a centre;
        None if none was located then."""
        c = [_middle(f) for t, *f in self.recent if t <= t_end]
        if not c:
            return None
        return np.median([m for m, _ in c], axis=0), np.mean([cv for _, cv in c], axis=0)

    def absorb(self, later: "Stance", gap_frames: int, min_known_share: float) -> None:
        """Continue this (closed) stance with ``later``, the same foot planted again where it
        was: one stance over both, the frames between them counted as not located. Its zone
        probabilities are the larger of the two peaks, so a join never makes a zone likelier
        safe than either part was."""
        mine = self.peak
        self.frames += gap_frames + later.frames
        self.known += later.known
        self.peak = np.maximum(mine, later.peak)
        for name in ("heels", "toes", "part_heels", "part_toes"):
            getattr(self, name).extend(getattr(later, name))
        self.window, self.window_sum, self.recent = later.window, later.window_sum, later.recent
        self.tail = deque(((t, lo, np.maximum(pk, mine)) for t, lo, pk in later.tail),
                          maxlen=later.tail.maxlen)
        self.joins = None
        self.zone, self.possible = self.decide(min_known_share)

    def decide(self, min_known_share: float) -> tuple[Zone, bool]:
        """The zone over the whole stance, from the largest mean over peak_s of its located
        frames' zone probabilities (``decide``); unknown while too few of its frames locate
        the foot."""
        if self.known < 3:
            return Zone.UNKNOWN, False
        zone, possible = decide(self.peak)
        if self.known < min_known_share * self.frames:
            # located on too few of its frames to say it is safe, but a danger zone its located
            # frames reach is said: "possible <zone>", not a bare unknown
            return (zone, True) if zone in RISKY else (Zone.UNKNOWN, False)
        return zone, possible

    def place(self) -> tuple[np.ndarray, np.ndarray] | None:
        """The stance's heel and toe (median over its frames), for the report's step position:
        from the frames that saw the whole foot when there are a few, else from partial ones.
        (Its zone and uncertainty come from the frames' zone probabilities, not from here.)"""
        if len(self.heels) >= 3:
            return (np.median(np.asarray(self.heels), axis=0),
                    np.median(np.asarray(self.toes), axis=0))
        if len(self.heels) + len(self.part_heels) < 3:
            return None
        return (np.median(np.asarray(self.heels + self.part_heels), axis=0),
                np.median(np.asarray(self.toes + self.part_toes), axis=0))
