"""Rules and alerts: per-frame conditions → debounced alerts with kind, severity, start and end.

Every alert goes through a Debouncer: a condition must hold for ``min_on`` seconds to start an
alert (which is backdated to when it began) and be gone for ``min_off`` seconds to end it, so one
event gives one alert. Zone alerts (step_on_*) come from finished steps, one per step.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

import numpy as np

from vision.posetrack import KP
from vision.profile import Profile
from vision.steps import FootStatus, Step

# Default severities; a client profile can only raise them (see vision/profile.py).
SEVERITY = {
    "step_on_spine": "critical",
    "step_on_kidney": "critical",
    "step_on_neck": "critical",
    "step_on_popliteal": "critical",
    "step_on_sciatic_notch": "warning",
    "step_on_ribs": "warning",
    "no_hands_on_bars": "critical",
    "one_hand_on_bars": "warning",
    "sudden_shift": "critical",
    "foot_not_visible": "warning",
    "full_body_weight": "warning",
}
ZONE_ALERT = {z: f"step_on_{z}" for z in
              ("spine", "kidney", "neck", "popliteal", "sciatic_notch", "ribs")}


@dataclass
class Alert:
    kind: str
    severity: str
    start_s: float
    end_s: float
    foot: str | None = None
    possible: bool = False     # a step alert on a zone that is possible, not sure


class Debouncer:
    """Turns a per-frame boolean into intervals: on after min_on s, off after min_off s."""

    def __init__(self, min_on: float, min_off: float):
        self.min_on, self.min_off = min_on, min_off
        self.since: float | None = None     # first true time of the current run
        self.active_from: float | None = None
        self.false_since: float | None = None
        self.closed: list[tuple[float, float]] = []

    def update(self, t: float, cond: bool) -> bool:
        if cond:
            self.false_since = None
            if self.since is None:
                self.since = t
            if self.active_from is None and t - self.since >= self.min_on:
                self.active_from = self.since
        else:
            if self.active_from is not None:
                if self.false_since is None:
                    self.false_since = t
                if t - self.false_since >= self.min_off:
                    self.closed.append((self.active_from, self.false_since))
                    self.active_from = self.since = self.false_since = None
            else:
                self.since = None
        return self.active_from is not None

    def finish(self, t: float) -> None:
        if self.active_from is not None:
            end = self.false_since if self.false_since is not None else t
            self.closed.append((self.active_from, end))
        self.active_from = self.since = self.false_since = None


@dataclass
class RuleParams:
    shift_window_s: float = 0.1
    shift_speed: float = 2.6      # therapist torso speed, shoulder widths per second
    no_hands_on_s: float = 0.3
    one_hand_on_s: float = 0.5
    hidden_on_s: float = 0.3
    off_s: float = 0.4


_TORSO = [KP["left_shoulder"], KP["right_shoulder"], KP["left_hip"], KP["right_hip"]]


class RuleEngine:
    def __init__(self, profile: Profile | None = None, params: RuleParams | None = None):
        self.profile = profile or Profile()
        self.p = params or RuleParams()
        p = self.p
        self.deb = {
            "no_hands_on_bars": Debouncer(p.no_hands_on_s, p.off_s),
            "one_hand_on_bars": Debouncer(p.one_hand_on_s, p.off_s),
            "sudden_shift": Debouncer(0.03, p.off_s),   # two frames: a jolt is brief
            "full_body_weight": Debouncer(1.0, p.off_s),
        }
        self.hidden = {s: Debouncer(p.hidden_on_s, p.off_s) for s in ("left", "right")}
        self._torso: deque = deque()
        self._sw: deque = deque(maxlen=300)
        self.max_feet = self.profile.max_feet()

    def _shift_speed(self, t: float, kp: np.ndarray | None) -> float:
        if kp is None or np.any(kp[_TORSO, 2] < 0.5):
            self._torso.clear()
            return 0.0
        sw = np.linalg.norm(kp[_TORSO[0], :2] - kp[_TORSO[1], :2])
        if sw > 2.0:
            self._sw.append(sw)
        self._torso.append((t, kp[_TORSO, :2].mean(0)))
        while len(self._torso) > 2 and t - self._torso[1][0] >= self.p.shift_window_s:
            self._torso.popleft()
        t0, c0 = self._torso[0]
        if t - t0 < 0.5 * self.p.shift_window_s or not self._sw:
            return 0.0
        return float(np.linalg.norm(self._torso[-1][1] - c0) / (t - t0) / np.median(self._sw))

    def update(self, t: float, feet: dict[str, FootStatus], hands: dict[str, str],
               therapist_kp: np.ndarray | None) -> list[str]:
        """Feed one frame; returns the kinds of alerts active now."""
        n_on = sum(f.on_client for f in feet.values())
        loaded = n_on >= 1
        states = list(hands.values())
        n_hand_on = states.count("on")
        no_hands = loaded and n_hand_on == 0 and "off" in states
        one_hand = loaded and n_hand_on == 1 and "off" in states
        speed = self._shift_speed(t, therapist_kp)
        thr = self.p.shift_speed * self.profile.shift_factor()
        active = []
        for kind, cond in (("no_hands_on_bars", no_hands), ("one_hand_on_bars", one_hand),
                           ("sudden_shift", loaded and speed > thr),
                           ("full_body_weight", n_on > self.max_feet)):
            if self.deb[kind].update(t, cond):
                active.append(kind)
        for side, f in feet.items():
            if self.hidden[side].update(t, f.on_client and not f.visible):
                active.append("foot_not_visible")
        return active

    def finish(self, t: float, steps: list[Step]) -> list[Alert]:
        alerts: list[Alert] = []
        for kind, d in self.deb.items():
            d.finish(t)
            alerts += [Alert(kind, self.profile.severity(kind, SEVERITY[kind]), a, b)
                       for a, b in d.closed]
        for side, d in self.hidden.items():
            d.finish(t)
            alerts += [Alert("foot_not_visible",
                             self.profile.severity("foot_not_visible", "warning"), a, b, side)
                       for a, b in d.closed]
        alerts += step_alerts(steps, self.profile)
        alerts.sort(key=lambda a: (a.start_s, a.kind))
        return alerts


def step_alerts(steps: list[Step], profile: Profile, join_s: float = 0.3) -> list[Alert]:
    """One alert per step in a risky zone; back-to-back steps of one foot in one zone join."""
    out: list[Alert] = []
    last: dict[tuple[str, str], Alert] = {}
    for s in sorted(steps, key=lambda s: s.start_s):
        kind = ZONE_ALERT.get(s.zone)
        if kind is None:
            continue
        key = (kind, s.foot)
        prev = last.get(key)
        if prev is not None and s.start_s - prev.end_s <= join_s:
            prev.end_s = max(prev.end_s, s.end_s)
            prev.possible = prev.possible and s.possible
            continue
        a = Alert(kind, profile.severity(kind, SEVERITY[kind]), s.start_s, s.end_s, s.foot,
                  s.possible)
        out.append(a)
        last[key] = a
    return out
