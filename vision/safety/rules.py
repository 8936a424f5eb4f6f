"""Rules and alerts: per-frame conditions → typed alert events (start, end) → report alerts.

The one definition of an alert is here. Each frame, ``RuleEngine.update`` returns the
``AlertEvent``s that frame tells:
- rule alerts go through a Debouncer: a condition must hold for ``min_on`` seconds to start an
  alert (its start event says when the condition began: the alert is backdated to it) and be
  gone for ``min_off`` seconds to end it, so one event gives one alert;
- a zone alert (step_on_*) starts when a foot planted on the client has a danger zone as the
  running decision of its step, and ends when it leaves it (what the live feed shows now).
The report's alerts are the rule alerts' start/end pairs, and one zone alert per finished step
in a danger zone, decided over its whole stance (``step_alerts``): the live zone alert is the
running decision of that same step.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

import numpy as np

from vision.safety.profile import Profile
from vision.skeleton import TORSO_PAIRS, shoulder_width, torso_centre
from vision.safety.steps import FootStatus, Step
from vision.vocab import ZONE_ALERT, AlertKind, Phase, Severity

# Default severities; a client profile can only raise them (see vision/safety/profile.py).
SEVERITY: dict[str, str] = {
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


@dataclass(frozen=True)
class AlertEvent:
    """An alert starting or ending, told by the frame at ``t``."""
    kind: AlertKind
    severity: Severity
    phase: Phase
    began_s: float                 # when its condition began (debounced alerts are backdated)
    t: float
    foot: str | None = None
    ended_s: float | None = None   # END: when its condition went away (debounced: before t)
    possible: bool = False         # a zone alert whose zone is possible, not sure


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
        self.active: dict[tuple[str, str | None], AlertEvent] = {}   # start events, open now
        self._ended: list[Alert] = []          # rule alerts that ended (the report's)

    @property
    def longest_delay_s(self) -> float:
        """An alert starts at most this long after its condition began (its debounce)."""
        return max(d.min_on for d in (*self.deb.values(), *self.hidden.values()))

    def severity(self, kind: str) -> Severity:
        return Severity(self.profile.severity(kind, SEVERITY[kind]))

    def _shift_speed(self, t: float, kp: np.ndarray | None) -> float:
        if kp is None or np.any(kp[TORSO_PAIRS, 2] < 0.5):
            self._torso.clear()
            return 0.0
        sw = shoulder_width(kp)
        if sw > 2.0:
            self._sw.append(sw)
        self._torso.append((t, torso_centre(kp)))
        while len(self._torso) > 2 and t - self._torso[1][0] >= self.p.shift_window_s:
            self._torso.popleft()
        t0, c0 = self._torso[0]
        if t - t0 < 0.5 * self.p.shift_window_s or not self._sw:
            return 0.0
        return float(np.linalg.norm(self._torso[-1][1] - c0) / (t - t0) / np.median(self._sw))

    def _debounced(self) -> list[tuple[str, str | None, Debouncer]]:
        return [(k, None, d) for k, d in self.deb.items()] + \
            [("foot_not_visible", s, d) for s, d in self.hidden.items()]

    def update(self, t: float, feet: dict[str, FootStatus], hands: dict[str, str],
               therapist_kp: np.ndarray | None) -> list[AlertEvent]:
        """Feed one frame; returns the alert events it tells (``self.active``: open now)."""
        n_on = sum(f.on_client for f in feet.values())
        loaded = n_on >= 1
        states = list(hands.values())
        n_hand_on = states.count("on")
        speed = self._shift_speed(t, therapist_kp)
        cond = {
            ("no_hands_on_bars", None): loaded and n_hand_on == 0 and "off" in states,
            ("one_hand_on_bars", None): loaded and n_hand_on == 1 and "off" in states,
            ("sudden_shift", None):
                loaded and speed > self.p.shift_speed * self.profile.shift_factor(),
            ("full_body_weight", None): n_on > self.max_feet,
        }
        for side, f in feet.items():
            cond[("foot_not_visible", side)] = f.on_client and not f.visible
        events: list[AlertEvent] = []
        for kind, foot, d in self._debounced():
            was = d.active_from
            d.update(t, cond.get((kind, foot), False))
            if was is None and d.active_from is not None:
                events.append(self._start(kind, foot, d.active_from, t))
            elif was is not None and d.active_from is None:
                events.append(self._end(kind, foot, t, d.closed[-1]))
        # zone alerts: the running decision of each planted foot's step
        for side, f in feet.items():
            now = ZONE_ALERT.get(f.zone) if f.on_client and f.planted else None
            before = next((k for k, s in self.active if s == side and k in _ZONE_KINDS), None)
            if now != before:
                if before is not None:
                    began = self.active[(before, side)].began_s
                    events.append(self._end(before, side, t, (began, t)))
                if now is not None:
                    events.append(self._start(now, side, t, t, f.possible))
        return events

    def _start(self, kind, foot, began, t, possible=False) -> AlertEvent:
        ev = AlertEvent(AlertKind(kind), self.severity(kind), Phase.START, began, t, foot,
                        possible=possible)
        self.active[(kind, foot)] = ev
        return ev

    def _end(self, kind, foot, t, interval) -> AlertEvent:
        del self.active[(kind, foot)]
        a, b = interval
        if kind not in _ZONE_KINDS:      # the report's zone alerts come from finished steps
            self._ended.append(Alert(kind, self.severity(kind), a, b, foot))
        return AlertEvent(AlertKind(kind), self.severity(kind), Phase.END, a, t, foot, b)

    def close(self, t: float) -> list[AlertEvent]:
        """End every open alert at ``t`` (the session is over): their end events."""
        events = []
        for kind, foot, d in self._debounced():
            if d.active_from is not None:
                d.finish(t)
                events.append(self._end(kind, foot, t, d.closed[-1]))
        for kind, foot in sorted(self.active, key=lambda k: (k[0], k[1] or "")):
            events.append(self._end(kind, foot, t, (self.active[(kind, foot)].began_s, t)))
        return events

    def finish(self, t: float, steps: list[Step]) -> list[Alert]:
        """The report's alerts: the rule alerts (open ones end at ``t``) and the steps'."""
        self.close(t)
        alerts = self._ended + step_alerts(steps, self.profile)
        alerts.sort(key=lambda a: (a.start_s, a.kind, a.foot or ""))
        return alerts


_ZONE_KINDS = frozenset(ZONE_ALERT.values())


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
