"""Pose track → safety report, frame by frame.

``Auditor`` is the streaming API: the live service and the pose engine feed it one Frame at a
time with ``push`` (which returns what is known at that moment) and call ``finish`` for the
report. ``vision.session.SessionRunner`` drives it for every kind of session.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from vision.safety.backframe import BackMap, BackState
from vision.io.camera import FOOT_ABOVE_JOINTS_M
from vision.safety.grip import Bars3D, HandGrip
from vision.io.posetrack import Frame, Header
from vision.safety.profile import Profile
from vision.safety.report import (AlertOut, ClientOut, Contraindication, FeetInterval, GripInterval,
                           Report, StepOut, Summary)
from vision.safety.roles import RoleAssigner, Roles
from vision.safety.rules import AlertEvent, RuleEngine
from vision.safety.steps import FootStatus, FootTracker, params_for
from vision.io.studio import Studio
from vision.safety.zones import Atlas, default_atlas


@dataclass
class FrameStatus:
    """What the auditor knows at one moment (for a live display)."""
    t: float
    back: str                          # "established" | "suspect" | "unknown"
    feet: dict[str, FootStatus]
    hands: dict[str, str]              # "on" | "off" | "unknown"
    feet_on_client: int
    alerts: list[str] = field(default_factory=list)   # kinds of the alerts open now
    back_state: BackState | None = None   # the client's body frame now (image -> body cm)
    roles: Roles | None = None            # who is the client and who the therapist now
    events: list[AlertEvent] = field(default_factory=list)   # alerts this frame starts or ends


_OTHER = {"left": "right", "right": "left"}


class Auditor:
    def __init__(self, header: Header, studio: Studio | None = None,
                 profile: Profile | None = None, atlas: Atlas | None = None,
                 source: str | None = None):
        self.header = header
        self.studio = studio
        self.profile = profile or Profile()
        self.atlas = (atlas or default_atlas()).widened(self.profile.zone_margins())
        self.source = source
        table = None if studio is None else studio.table
        self.roles = RoleAssigner(table=table)
        self.back = BackMap(self.atlas, camera=None if studio is None else studio.camera,
                            table_top_m=studio.table_top if studio is not None else 0.65,
                            table=table, image_size=(header.width, header.height))
        self.feet = {s: FootTracker(s, self.atlas, params_for(header.source))
                     for s in ("left", "right")}
        self.hands = {s: HandGrip(s) for s in ("left", "right")}
        self.rules = RuleEngine(self.profile)
        self.bars = np.zeros((0, 2, 2)) if studio is None else studio.bars
        if studio is not None and studio.camera is not None and studio.bars_height_m:
            self.bars = Bars3D(studio.bars, studio.camera, studio.bars_height_m)   # in metres
        self._px_per_cm = float(np.hypot(header.width, header.height)) / 300.0
        self._log: list[tuple] = []     # (t, back state, feet count, left grip, right grip)
        self._feet_last: dict = {}       # the last frame's FootStatus per foot
        self._oblique: list[float] = []  # the view's estimated obliqueness while established
        self._three_point_s = 0.0        # time the back was a three-corner completion
        self._t0: float | None = None
        self._t = 0.0

    def push(self, frame: Frame) -> FrameStatus:
        t = frame.t
        if self._t0 is None:
            self._t0 = t
        self._t = t
        roles = self.roles.assign(t, frame.people)
        # covered: a foot was on the client in the last frame (the held back is not nudged)
        covered = bool(self._log) and self._log[-1][2] > 0
        back: BackState = self.back.update(t, None if roles.client is None else roles.client.kp,
                                           covered)
        if back.scale_px > 0:
            self._px_per_cm = back.scale_px
        if back.known:
            self._oblique.append(back.oblique_deg)
            if back.corners_seen < 4:
                self._three_point_s += 1.0 / self.header.fps
        tkp = None if roles.therapist is None else roles.therapist.kp
        last = self._feet_last
        feet = {s: ft.update(t, tkp, back, self._px_per_cm,
                             other_on_client=bool(last) and last[_OTHER[s]].on_client)
                for s, ft in self.feet.items()}
        self._feet_last = feet
        hands = {s: h.update(tkp, self.bars) for s, h in self.hands.items()}
        if self.studio is None:
            hands = {s: "unknown" for s in hands}
        events = self.rules.update(t, feet, hands, tkp)
        n_on = sum(f.on_client for f in feet.values())
        self._log.append((t, back.state, n_on, hands["left"], hands["right"]))
        return FrameStatus(t, back.state, feet, hands, n_on, [k for k, _ in self.rules.active],
                           back, roles, events)

    def close_alerts(self) -> list[AlertEvent]:
        """The end events of every alert still open: a live session that stops without a
        report must leave none without an end."""
        return self.rules.close(self._t)

    def finish(self) -> Report:
        t_end = self._t
        for ft in self.feet.values():
            ft.finish(t_end)
        steps = sorted([s for ft in self.feet.values() for s in ft.steps],
                       key=lambda s: (s.start_s, s.foot))
        alerts = self.rules.finish(t_end, steps)
        return self._report(steps, alerts, t_end)

    # -- report ---------------------------------------------------------------------------------
    def _report(self, steps, alerts, t_end) -> Report:
        fps = self.header.fps
        t0 = self._t0 if self._t0 is not None else 0.0
        duration = max(t_end - t0 + 1.0 / fps, 0.0) if self._log else 0.0
        ref_h = self.atlas.reference_stature_cm
        scale = (self.profile.height_cm / ref_h) if self.profile.height_cm else 1.0
        units = (f"cm, scaled to the client's stature {self.profile.height_cm:g} cm"
                 if self.profile.height_cm else
                 f"cm of a {ref_h:g} cm reference body (shoulder-to-hip = 0.288 x stature)")
        steps_out = [StepOut(foot=s.foot, start_s=round(s.start_s, 3), end_s=round(s.end_s, 3),
                             zone=s.zone, possible=s.possible, verdict=s.verdict,
                             zone_p=s.zone_p,
                             body_xy_cm=None if s.body_xy is None or s.zone == "unknown"
                             else [round(s.body_xy[0] * scale, 1), round(s.body_xy[1] * scale, 1)])
                     for s in steps]
        alerts_out = [AlertOut(kind=a.kind, severity=a.severity, start_s=round(a.start_s, 3),
                               end_s=round(a.end_s, 3), foot=a.foot, possible=a.possible)
                      for a in alerts]
        dt = 1.0 / fps
        feet_iv = _runs([(r[0], r[2]) for r in self._log], dt)
        grip = {side: [GripInterval(start_s=a, end_s=b, state=v)
                       for a, b, v in _runs([(r[0], r[3 + i]) for r in self._log], dt)]
                for i, side in enumerate(("left", "right"))}
        time_feet = {"0": 0.0, "1": 0.0, "2": 0.0}
        for a, b, n in feet_iv:
            time_feet[str(min(n, 2))] += b - a
        back_unknown = sum(dt for r in self._log if r[1] != "established")
        no_hand_loaded = sum(dt for r in self._log if r[2] >= 1 and "on" not in (r[3], r[4]))
        by_zone: dict[str, int] = {}
        for s in steps:
            by_zone[s.zone] = by_zone.get(s.zone, 0) + 1
        by_kind: dict[str, int] = {}
        for a in alerts:
            by_kind[a.kind] = by_kind.get(a.kind, 0) + 1
        n_crit = sum(a.severity == "critical" for a in alerts)
        n_warn = len(alerts) - n_crit
        if n_crit:
            verdict = "unsafe"
        elif by_zone.get("unknown") or (self._log and back_unknown > 0.5 * duration):
            verdict = "unknown"
        elif n_warn:
            verdict = "caution"
        else:
            verdict = "safe" if steps else "unknown"
        return Report(
            source=self.source, duration_s=round(duration, 3), fps=fps, frames=len(self._log),
            body_units=units,
            client=ClientOut(name=self.profile.name, height_cm=self.profile.height_cm,
                             conditions=list(self.profile.conditions),
                             contraindications=[Contraindication(**c) for c in
                                                self.profile.contraindications()]),
            steps=steps_out, alerts=alerts_out,
            feet_on_client=[FeetInterval(start_s=a, end_s=b, count=n) for a, b, n in feet_iv],
            grip=grip,
            summary=Summary(verdict=verdict, steps=len(steps), steps_by_zone=by_zone,
                            alerts_by_kind=by_kind, critical_alerts=n_crit,
                            warning_alerts=n_warn,
                            time_feet_on_client_s={k: round(v, 2) for k, v in time_feet.items()},
                            time_back_unknown_s=round(back_unknown, 2),
                            time_no_hand_on_bar_loaded_s=round(no_hand_loaded, 2),
                            warnings=self._warnings()))

    def _warnings(self) -> list[str]:
        """What limits the zones' accuracy in this session (summary.warnings)."""
        out = []
        if self._oblique and self.back.camera is None:
            ob = float(np.median(self._oblique))
            if ob >= self.back.p.oblique_min_deg:
                off = 100.0 * FOOT_ABOVE_JOINTS_M * np.tan(np.radians(ob))
                out.append(f"parallax: the camera sees the client's back at {ob:.0f} deg or more "
                           f"from straight above and the studio file has no camera, so feet may "
                           f"map up to ~{off:.0f} cm from where they stand; steps near a zone "
                           f"boundary read unknown. Add the camera to the studio file "
                           f"(docs/safety-core.md)")
        if self._three_point_s > 0:
            out.append(f"back from fewer corners: for {self._three_point_s:.1f} s a shoulder or "
                       f"hip of the client was not seen and was placed by body proportions; "
                       f"steps near a zone boundary read unknown")
        return out


def _runs(seq: list[tuple[float, object]], dt: float) -> list[tuple[float, float, object]]:
    """Run-length intervals (start, end, value) of a per-frame sequence."""
    out: list[list] = []
    for t, v in seq:
        if out and out[-1][2] == v:
            out[-1][1] = round(t + dt, 3)
        else:
            out.append([round(t, 3), round(t + dt, 3), v])
    return [tuple(r) for r in out]
