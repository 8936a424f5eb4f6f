"""The plan of a generated session: where each step lands (robustly inside its zone), when the
feet move, when the hands let go of the bars and when the therapist loses balance; and the
state of all that at any time (samples/scenarios.py)."""

from __future__ import annotations

import numpy as np

from vision.safety.geometry import BALL_AT, HEEL_AT, apply_h

from samples.scenario_config import ScenarioConfig
from samples.scenario_world import SessionWorld


def _smooth(u):
    u = np.clip(u, 0.0, 1.0)
    return u * u * (3 - 2 * u)


class PlannedSession(SessionWorld):
    """A session's world with its plan of steps, hands and shifts."""

    def __init__(self, cfg: ScenarioConfig):
        super().__init__(cfg)
        self._plan()

    def _foot_zone(self, heel_b, toe_b):
        return self.atlas.foot_zone(apply_h(self.T, heel_b), apply_h(self.T, toe_b),
                                    self.legs_ref)

    def _robust(self, heel_b, toe_b, zone, margin=2.0):
        """The zone holds when the whole foot is shifted by `margin` cm or turned by 6 degrees."""
        c = (heel_b + toe_b) / 2
        for dx, dy, rot in [(0, 0, 0)] + [(margin * np.cos(a), margin * np.sin(a), 0)
                                           for a in np.linspace(0, 2 * np.pi, 8, endpoint=False)] \
                + [(0, 0, -6), (0, 0, 6)]:
            r = np.radians(rot)
            m = np.array([[np.cos(r), -np.sin(r)], [np.sin(r), np.cos(r)]])
            h = c + (heel_b - c) @ m.T + [dx, dy]
            t = c + (toe_b - c) @ m.T + [dx, dy]
            if self._foot_zone(h, t) != zone:
                return False
        return True

    def place_foot(self, zone, facing, other=None, side=None):
        """Heel and toe (body cm) of a foot whose loaded parts robustly fall in `zone`."""
        rng = self.rng
        Hc = self.Hc * 100
        for attempt in range(4000):
            if zone == "off_body":
                sgn = 1 if side == "left" else -1
                sgn = sgn * (1 if facing < 0 else -1)
                p = np.array([sgn * rng.uniform(28, 34), rng.uniform(0.62, 0.8) * Hc])
            else:
                p = np.array([rng.uniform(-25, 25), rng.uniform(-0.12, 0.9) * Hc])
            theta = np.radians(rng.normal(0, 12))
            d = np.array([np.sin(theta), facing * np.cos(theta)])
            part = rng.choice([HEEL_AT, BALL_AT, 0.41])
            heel = p - part * self.foot_len * d
            toe = heel + self.foot_len * d
            if other is not None and attempt < 3000 and \
                    np.linalg.norm((heel + toe) / 2 - other) > 75:
                continue
            if self._foot_zone(heel, toe) == zone and \
                    self._robust(heel, toe, zone, self.cfg.margin_cm):
                return heel, toe
        raise RuntimeError(f"could not place a foot in zone {zone}")

    def _plan(self):
        cfg, rng = self.cfg, self.rng
        facing = rng.choice([-1.0, 1.0])                 # -1: faces the client's head
        self.facing = facing
        t = rng.uniform(2.0, 3.0)
        self.t_enter = t
        feet = {}
        for side in ("left", "right"):
            feet[side] = self.place_foot("off_body", facing, side=side)
        # Foot keyframes: list of (t_start_swing, t_land, heel, toe) per side.
        self.plants = {s: [dict(t0=t, t1=None, heel=feet[s][0], toe=feet[s][1], zone="off_body",
                                hidden=False)] for s in feet}
        t += rng.uniform(1.0, 1.5)
        zones = ["safe"] * cfg.n_steps if cfg.safe_only else \
            [cfg.zones[i % len(cfg.zones)] for i in range(cfg.n_steps)]
        if not cfg.safe_only:
            rng.shuffle(zones)
        hidden = set(rng.choice(np.arange(1, cfg.n_steps), size=min(cfg.hidden_steps,
                                                                     cfg.n_steps - 1),
                                replace=False).tolist()) if cfg.hidden_steps else set()
        side = rng.choice(["left", "right"])
        self.first_on = None
        for i, zone in enumerate(zones):
            other = "right" if side == "left" else "left"
            op = self.plants[other][-1]
            mine = self.plants[side][-1]
            for _ in range(50):
                heel, toe = self.place_foot(zone, facing, other=(op["heel"] + op["toe"]) / 2,
                                            side=side)
                # A step moves the foot: at least 10 cm from where it stood.
                if np.linalg.norm((heel + toe - mine["heel"] - mine["toe"]) / 2) >= 10.0:
                    break
            prev = self.plants[side][-1]
            # A long stride takes longer: the foot travels at most ~80 cm/s on average.
            dist = np.linalg.norm((heel + toe) / 2 - (prev["heel"] + prev["toe"]) / 2)
            swing = max(rng.uniform(0.45, 0.7), dist / 80.0)
            dwell = rng.uniform(0.9, 2.2)
            prev = self.plants[side][-1]
            prev["t1"] = t                               # lift-off ends the previous plant
            self.plants[side].append(dict(t0=t + swing, t1=None, heel=heel, toe=toe, zone=zone,
                                          hidden=i in hidden, lift=t))
            if self.first_on is None:
                self.first_on = t + swing
            t += swing + dwell
            side = other
        self.t_end = t + rng.uniform(0.5, 1.0)
        for s in self.plants:
            self.plants[s][-1]["t1"] = self.t_end
        # Hands: 1 = on the bar. Events in the stepping phase, spaced apart.
        self.hand_events = []     # (kind, side or None, a, b)
        self.shift_events = []
        if not cfg.safe_only:
            kinds = ["no_hands"] * cfg.no_hands + ["one_hand"] * cfg.one_hand + \
                ["shift"] * cfg.shifts
            rng.shuffle(kinds)
            span = (self.first_on + 1.0, self.t_end - 1.0)
            slots = np.linspace(*span, len(kinds) + 1)
            for k, a, b in zip(kinds, slots[:-1], slots[1:]):
                if k == "shift":
                    s0 = rng.uniform(a, max(a, b - 1.0))
                    self.shift_events.append((s0, s0 + 0.15, rng.choice([-1, 1]) *
                                              rng.uniform(0.22, 0.32)))
                    continue
                dur = min(rng.uniform(1.5, 3.0), (b - a) * 0.7)
                s0 = rng.uniform(a, b - dur)
                self.hand_events.append((k, rng.choice(["left", "right"]) if k == "one_hand"
                                         else None, s0, s0 + dur))
        self.rest_pose = rng.choice(["hang", "hips", "front"])

    # -- state at time t ------------------------------------------------------------------------
    def foot_at(self, side, t):
        """(heel, toe, lift height m, plant dict or None if swinging)."""
        pl = self.plants[side]
        for k, p in enumerate(pl):
            if p["t0"] <= t < p["t1"] or (k == len(pl) - 1 and t >= p["t0"]):
                return p["heel"], p["toe"], 0.0, p
            if k > 0 and p.get("lift", p["t0"]) <= t < p["t0"]:
                q = pl[k - 1]
                u = (t - p["lift"]) / (p["t0"] - p["lift"])
                s = _smooth(u)
                return (q["heel"] + s * (p["heel"] - q["heel"]),
                        q["toe"] + s * (p["toe"] - q["toe"]), 0.12 * np.sin(np.pi * u), None)
        p = pl[0]
        return p["heel"], p["toe"], 0.0, p

    def hand_on(self, side, t):
        """1.0 on the bar ... 0.0 at rest, with 0.3 s transitions."""
        v = 1.0
        for kind, s, a, b in self.hand_events:
            if kind == "no_hands" or s == side:
                v = min(v, 1.0 - min(_smooth((t - a) / 0.3), _smooth((b + 0.3 - t) / 0.3)))
        return v

    def shift_at(self, t):
        off = 0.0
        for a, b, amp in self.shift_events:
            if t >= a:
                off += amp * (_smooth((t - a) / (b - a)) - _smooth((t - b) / 0.6))
        return off

    def _next_plant(self, side, t):
        for p in self.plants[side]:
            if p["t0"] > t:
                return p
        return None

    def _loaded_intervals(self):
        """Times with at least one foot planted on the client (not off the body)."""
        ts = np.arange(0, self.t_end, 0.01)
        on = np.zeros(len(ts), bool)
        for side, pl in self.plants.items():
            for p in pl:
                if p["zone"] != "off_body":
                    on |= (ts >= p["t0"]) & (ts < p["t1"])
        out, start = [], None
        for t, v in zip(ts, on):
            if v and start is None:
                start = t
            if not v and start is not None:
                out.append((start, t))
                start = None
        if start is not None:
            out.append((start, self.t_end))
        return out
