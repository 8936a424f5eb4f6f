"""Synthetic Ashiatsu sessions with known truth, for testing and evaluating the safety core.

A 3-D stick model: a client lying prone on a table and a therapist standing on the client,
holding two overhead bars, seen by a pinhole camera (overhead or tilted). Steps are placed in
chosen zones of the atlas *robustly* (the zone holds under a small shift and turn of the foot),
hands let go of the bars on a schedule, feet are hidden, keypoints get pixel noise, and the
client's keypoints under the therapist get low confidence and garbage coordinates, as a pose
estimator would give them.

Truth (sidecar ``<name>.truth.json``): every planted foot with its zone (the atlas applied to the
true foot on the true body frame), hidden or not; no-hands, one-hand and sudden-shift intervals.

    python -m samples.scenarios OUTDIR [--seed N] [--camera overhead|tilted] [--noise PX] ...
"""

from __future__ import annotations

import argparse
import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from vision.camera import CameraModel
from vision.geometry import apply_h, foot_loaded_parts, homography
from vision.posetrack import KP, Frame, Header, Person, PoseTrackWriter
from vision.studio import Studio, save_studio
from vision.zones import default_atlas

ZONE_PLAN = ["safe", "spine", "safe", "kidney", "safe", "ribs", "safe", "sciatic_notch", "safe",
             "popliteal", "safe", "neck", "safe", "spine", "kidney", "safe"]


@dataclass
class ScenarioConfig:
    seed: int = 0
    fps: float = 30.0
    noise_px: float = 1.0
    camera: str = "overhead"            # "overhead" | "tilted"
    width: int = 1280
    height: int = 720
    n_steps: int = 14
    zones: list[str] = field(default_factory=lambda: list(ZONE_PLAN))
    safe_only: bool = False             # only safe steps, both hands on the bars throughout
    hidden_steps: int = 2               # steps whose foot is hidden from lift-off to lift-off
    no_hands: int = 2                   # intervals with both hands off the bars while loaded
    one_hand: int = 1
    shifts: int = 1                     # sudden shifts (loss of balance)
    occlude_client: bool = True
    margin_cm: float = 2.0              # the step's zone holds under shifts this large
    wrong_rate: float = 0.03            # occluded client keypoints confidently wrong, per frame
    shuffle_ids: bool = False           # new ids every frame (ids are never to be trusted)
    studio_camera: bool = True          # write the camera into the studio file (False: the
                                        # safety core must do without it)


# -- small helpers ------------------------------------------------------------------------------
def _smooth(u):
    u = np.clip(u, 0.0, 1.0)
    return u * u * (3 - 2 * u)


def _unit(v):
    return v / max(np.linalg.norm(v), 1e-12)


class Camera:
    def __init__(self, pos, forward, roll, f, w, h):
        fwd = _unit(np.asarray(forward, float))
        up = np.array([0.0, 0.0, 1.0]) if abs(fwd[2]) < 0.95 else np.array([1.0, 0.0, 0.0])
        right = _unit(np.cross(fwd, up))
        down = np.cross(fwd, right)
        c, s = np.cos(roll), np.sin(roll)
        right, down = c * right + s * down, -s * right + c * down
        self.R = np.stack([right, down, fwd])
        self.C = np.asarray(pos, float)
        self.f, self.w, self.h = f, w, h

    def project(self, P):
        q = (np.asarray(P, float) - self.C) @ self.R.T
        z = np.maximum(q[..., 2], 1e-3)
        return np.stack([self.f * q[..., 0] / z + self.w / 2, self.f * q[..., 1] / z + self.h / 2],
                        axis=-1)


# -- the session ----------------------------------------------------------------------------------
class Session:
    """Builds one session: world, client, plan of steps and hands, then renders frames."""

    def __init__(self, cfg: ScenarioConfig):
        self.cfg = cfg
        self.rng = np.random.default_rng(cfg.seed)
        self.atlas = default_atlas()
        rng = self.rng
        # Client: stature and proportions vary around Drillis & Contini.
        self.Hc = rng.uniform(1.50, 1.95)
        Hc = self.Hc * 100
        self.sw = 0.259 * Hc * rng.uniform(0.94, 1.06)
        self.hw = 0.191 * Hc * rng.uniform(0.94, 1.06)
        self.torso = 0.288 * Hc * rng.uniform(0.95, 1.05)
        self.thigh = 0.245 * Hc
        self.shank = 0.246 * Hc
        self.leg_spread = rng.uniform(2.0, 8.0)
        phi = rng.uniform(0, 2 * np.pi)
        self.A = np.array([np.cos(phi), np.sin(phi), 0.0])        # toward the client's feet
        self.L = np.cross(self.A, [0, 0, 1.0])                    # client's left
        self.z_table = rng.uniform(0.55, 0.70)
        self.z_back = self.z_table + rng.uniform(0.21, 0.25)   # trunk depth 21-25 cm
        # Depths below the skin, drawn from their own generator so that the plan (and so the
        # suite's sessions) stays what it was: the shoulder and hip keypoints are joint centres
        # near the middle of the trunk's depth, the knee and ankle ones a few cm above the
        # table; the therapist's heel and toe-tip points are above the sole.
        drng = np.random.default_rng([cfg.seed, 7])
        self.z_joints = self.z_table + 0.5 * (self.z_back - self.z_table) \
            + drng.uniform(-0.01, 0.01)
        # Legs on an ankle bolster (vision/camera.py): knee ~8 cm, ankle ~10 cm.
        self.z_knee = self.z_table + drng.uniform(0.07, 0.10)
        self.z_ankle = self.z_table + drng.uniform(0.085, 0.115)
        self.heel_h = drng.uniform(0.025, 0.045)
        self.toe_h = drng.uniform(0.015, 0.025)
        self.origin = np.array([rng.normal(0, 0.05), rng.normal(0, 0.05), 0.0]) \
            - self.A * 0.0033 * Hc
        # Therapist
        self.Ht = rng.uniform(1.50, 1.90)
        self.foot_len = 0.152 * self.Ht * 100                      # cm
        # Bars: along the table, each side of the midline, above head height.
        self.z_bar = self.z_back + 0.818 * self.Ht + rng.uniform(0.25, 0.40)
        self.bar_w = rng.uniform(0.28, 0.36)
        self.bars3d = [np.array([self.origin + s * self.bar_w * self.L - 0.9 * self.A,
                                 self.origin + s * self.bar_w * self.L + 1.9 * self.A])
                       for s in (+1, -1)]
        for b in self.bars3d:
            b[:, 2] = self.z_bar
        # True body frame: body cm (client's own proportions) → atlas reference cm.
        quad = np.array([[self.sw / 2, 0], [-self.sw / 2, 0], [-self.hw / 2, self.torso],
                         [self.hw / 2, self.torso]])
        self.T = homography(quad, self.atlas.frame_quad)
        self.Tinv = np.linalg.inv(self.T)
        self.legs_b = {
            "left": np.array([[self.hw / 2, self.torso],
                              [self.hw / 2 + self.leg_spread, self.torso + self.thigh],
                              [self.hw / 2 + 1.6 * self.leg_spread,
                               self.torso + self.thigh + self.shank]]),
            "right": np.array([[-self.hw / 2, self.torso],
                               [-self.hw / 2 - self.leg_spread, self.torso + self.thigh],
                               [-self.hw / 2 - 1.6 * self.leg_spread,
                                self.torso + self.thigh + self.shank]]),
        }
        self.legs_ref = {k: apply_h(self.T, v) for k, v in self.legs_b.items()}
        self.client_b, self.client_z = self._client_body()
        self.camera = self._camera()
        self._plan()

    # body cm (x lateral + left, y toward the feet) → world (m)
    def world(self, b, z=None):
        b = np.asarray(b, float)
        p = self.origin + (b[..., :1] * self.L + b[..., 1:2] * self.A) / 100.0
        p = p.copy()
        p[..., 2] = self.surface_z(b[..., 1]) if z is None else z
        return p

    def surface_z(self, y):
        # The back is a plane at z_back over the trunk and the buttocks (to the gluteal fold,
        # ~0.065 H below the hip joints); the thighs slope down to the back of the knee (~20 cm
        # above the table with an ankle bolster), the calves stay about there.
        y = np.asarray(y, float)
        return np.interp(y, [self.torso + 0.065 * self.Hc * 100, self.torso + self.thigh,
                             self.torso + self.thigh + self.shank],
                         [self.z_back, self.z_table + 0.20, self.z_table + 0.19])

    def _client_body(self):
        Hc = self.Hc * 100
        b = np.zeros((33, 2))
        b[KP["left_shoulder"]] = [self.sw / 2, 0]
        b[KP["right_shoulder"]] = [-self.sw / 2, 0]
        b[KP["left_hip"]] = [self.hw / 2, self.torso]
        b[KP["right_hip"]] = [-self.hw / 2, self.torso]
        for side, sgn in (("left", 1), ("right", -1)):
            b[KP[f"{side}_knee"]] = self.legs_b[side][1]
            b[KP[f"{side}_ankle"]] = self.legs_b[side][2]
            b[KP[f"{side}_heel"]] = self.legs_b[side][2] + [0, -3.0]
            b[KP[f"{side}_foot_index"]] = self.legs_b[side][2] + [sgn * 1.0, 0.10 * Hc]
            b[KP[f"{side}_elbow"]] = [sgn * (self.sw / 2 + 4), 0.186 * Hc]
            b[KP[f"{side}_wrist"]] = [sgn * (self.sw / 2 + 3), 0.33 * Hc]
            b[KP[f"{side}_pinky"]] = [sgn * (self.sw / 2 + 4), 0.37 * Hc]
            b[KP[f"{side}_index"]] = [sgn * (self.sw / 2 + 2), 0.37 * Hc]
            b[KP[f"{side}_thumb"]] = [sgn * (self.sw / 2 + 1), 0.35 * Hc]
            b[KP[f"{side}_eye_inner"]] = [sgn * 1.5, -0.12 * Hc]
            b[KP[f"{side}_eye"]] = [sgn * 3.0, -0.12 * Hc]
            b[KP[f"{side}_eye_outer"]] = [sgn * 4.5, -0.12 * Hc]
            b[KP[f"{side}_ear"]] = [sgn * 7.5, -0.10 * Hc]
        b[KP["nose"]] = [0, -0.135 * Hc]
        b[KP["mouth_left"]] = [2.0, -0.14 * Hc]
        b[KP["mouth_right"]] = [-2.0, -0.14 * Hc]
        z = self.surface_z(b[:, 1]) + self.rng.uniform(-0.01, 0.01, 33)
        # Joint centres lie inside the body, below the skin (the parallax the camera corrects).
        for k in ("shoulder", "hip"):
            z[[KP[f"left_{k}"], KP[f"right_{k}"]]] = self.z_joints
        z[[KP["left_knee"], KP["right_knee"]]] = self.z_knee
        z[[KP["left_ankle"], KP["right_ankle"]]] = self.z_ankle
        return b, z

    def _camera(self):
        cfg, rng = self.cfg, self.rng
        centre = self.origin + self.A * 0.0033 * self.Hc * 100
        centre[2] = self.z_back
        if cfg.camera == "overhead":
            pos = centre + [rng.normal(0, 0.2), rng.normal(0, 0.2), 0]
            pos[2] = self.z_bar + rng.uniform(0.6, 1.0)
            tilt = np.radians(rng.uniform(0, 8))
            az = rng.uniform(0, 2 * np.pi)
            fwd = np.array([np.sin(tilt) * np.cos(az), np.sin(tilt) * np.sin(az), -np.cos(tilt)])
        else:
            tilt = np.radians(rng.uniform(25, 45))
            az = rng.uniform(0, 2 * np.pi)
            dist = rng.uniform(2.6, 3.4)
            d = np.array([np.sin(tilt) * np.cos(az), np.sin(tilt) * np.sin(az), np.cos(tilt)])
            pos = centre + dist * d
            fwd = -d
        cam = Camera(pos, fwd, rng.uniform(0, 2 * np.pi), 1.0, cfg.width, cfg.height)
        # Focal length: the client and table fill about 80 % of the frame.
        Hc = self.Hc * 100
        outline = self.world(np.array([[x, y] for x in (-40, 40) for y in (-0.15 * Hc, 0.9 * Hc)]))
        q = (outline - cam.C) @ cam.R.T
        xy = q[:, :2] / q[:, 2:3]
        f = 0.8 * min(cfg.width / (2 * np.abs(xy[:, 0]).max()),
                      cfg.height / (2 * np.abs(xy[:, 1]).max()))
        cam.f = f
        return cam

    # -- planning -------------------------------------------------------------------------------
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
            part = rng.choice([HEEL_AT_T, BALL_AT_T, 0.41])
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

    def therapist_kp(self, t, feet):
        Ht = self.Ht
        heels = {s: self.world(feet[s][0]) for s in feet}
        toes = {s: self.world(feet[s][1]) for s in feet}
        for s in feet:
            heels[s][2] += feet[s][2] + self.heel_h
            toes[s][2] += feet[s][2] + self.toe_h
        P = np.zeros((33, 3))
        fdir = _unit(sum(toes[s] - heels[s] for s in feet) * [1, 1, 0])
        left = np.cross([0, 0, 1.0], fdir)
        base = np.mean([self.surface_z(feet[s][0][1]) for s in feet])
        pel = np.mean([heels[s] + 0.25 * (toes[s] - heels[s]) for s in feet], axis=0)
        pel = pel + left * self.shift_at(t)
        pel[2] = base
        for s, sg in (("left", 1), ("right", -1)):
            P[KP[f"{s}_heel"]] = heels[s]
            P[KP[f"{s}_foot_index"]] = toes[s]
            # The ankle joint: 0.039 H above the sole (Drillis & Contini).
            P[KP[f"{s}_ankle"]] = heels[s] + 0.2 * (toes[s] - heels[s]) \
                + [0, 0, 0.039 * Ht - self.heel_h]
            hip = pel + sg * left * 0.0955 * Ht + [0, 0, 0.53 * Ht]
            P[KP[f"{s}_hip"]] = hip
            ank = P[KP[f"{s}_ankle"]]
            P[KP[f"{s}_knee"]] = ank + 0.5 * (hip - ank) + fdir * 0.05
            sh = pel + sg * left * 0.1295 * Ht + [0, 0, 0.818 * Ht]
            P[KP[f"{s}_shoulder"]] = sh
            # Hand on the bar on its own side of the therapist, or at rest.
            bar = self.bars3d[0] if np.dot(sg * left, self.L) > 0 else self.bars3d[1]
            bd = _unit(bar[1] - bar[0])
            blen = np.linalg.norm(bar[1] - bar[0])
            g = bar[0] + bd * np.clip(np.dot(sh + fdir * 0.12 - bar[0], bd), 0.1, blen - 0.1)
            g[2] = self.z_bar
            sgn_i = 1 if np.dot(bd, fdir) > 0 else -1
            on = {"wrist": g - [0, 0, 0.06], "index": g + sgn_i * bd * 0.04 + [0, 0, 0.01],
                  "pinky": g - sgn_i * bd * 0.04 + [0, 0, 0.01], "thumb": g + [0, 0, 0.02]}
            if self.rest_pose == "hang":
                w = hip + sg * left * 0.08 - [0, 0, 0.10 * Ht]
            elif self.rest_pose == "hips":
                w = hip + sg * left * 0.09 + [0, 0, 0.03]
            else:
                w = pel + fdir * 0.22 + sg * left * 0.06 + [0, 0, 0.58 * Ht]
            off = {"wrist": w, "index": w + fdir * 0.06 - [0, 0, 0.05],
                   "pinky": w - fdir * 0.02 - [0, 0, 0.07], "thumb": w + fdir * 0.05}
            v = self.hand_on(s, t)
            for part in on:
                P[KP[f"{s}_{part}"]] = v * on[part] + (1 - v) * off[part]
            wr = P[KP[f"{s}_wrist"]]
            P[KP[f"{s}_elbow"]] = (sh + wr) / 2 + sg * left * 0.08
        head = pel + fdir * 0.06 + [0, 0, 0.92 * Ht]
        P[KP["nose"]] = head + fdir * 0.09
        for s, sg in (("left", 1), ("right", -1)):
            P[KP[f"{s}_eye_inner"]] = head + fdir * 0.08 + sg * left * 0.015 + [0, 0, 0.03]
            P[KP[f"{s}_eye"]] = head + fdir * 0.075 + sg * left * 0.03 + [0, 0, 0.03]
            P[KP[f"{s}_eye_outer"]] = head + fdir * 0.07 + sg * left * 0.045 + [0, 0, 0.03]
            P[KP[f"{s}_ear"]] = head + sg * left * 0.075
        P[KP["mouth_left"]] = head + fdir * 0.08 + left * 0.02 - [0, 0, 0.03]
        P[KP["mouth_right"]] = head + fdir * 0.08 - left * 0.02 - [0, 0, 0.03]
        return P

    # -- rendering ------------------------------------------------------------------------------
    def frames(self):
        cfg, rng = self.cfg, self.rng
        n = int(np.floor(self.t_end * cfg.fps))
        client_w = self.world(self.client_b, self.client_z)
        client_px = self.camera.project(client_w)
        ids = rng.choice(np.arange(1, 100), size=3, replace=False)
        t_id_change = rng.uniform(self.first_on, self.t_end)
        for i in range(n):
            t = i / cfg.fps
            people = []
            ckp = np.zeros((33, 3))
            ckp[:, :2] = client_px + rng.normal(0, cfg.noise_px, (33, 2))
            ckp[:, 2] = rng.uniform(0.85, 0.99, 33)
            face = [KP[k] for k in ("nose", "mouth_left", "mouth_right", "left_eye_inner",
                                    "right_eye_inner", "left_eye", "right_eye")]
            ckp[face, 2] = rng.uniform(0.3, 0.6, len(face))   # face down: the face is not seen
            if t >= self.t_enter:
                feet = {s: self.foot_at(s, t) for s in ("left", "right")}
                P = self.therapist_kp(t, feet)
                tpx = self.camera.project(P)
                tkp = np.zeros((33, 3))
                tkp[:, :2] = tpx + rng.normal(0, cfg.noise_px, (33, 2))
                tkp[:, 2] = rng.uniform(0.85, 0.99, 33)
                for s in ("left", "right"):
                    plant = feet[s][3]
                    nxt = self._next_plant(s, t)
                    if (plant is not None and plant["hidden"]) or (plant is None and nxt and
                                                                   nxt["hidden"]):
                        self._hide(tkp, s, rng)
                if cfg.occlude_client:
                    self._occlude(ckp, client_px, tpx, rng)
                tid = ids[1] if t < t_id_change else ids[2]
                people.append(Person(id=int(tid), kp=tkp))
            people.append(Person(id=int(ids[0]), kp=ckp))
            if cfg.shuffle_ids:
                for p, new_id in zip(people, rng.choice(np.arange(1, 100), len(people), False)):
                    p.id = int(new_id)
            rng.shuffle(people)
            yield Frame(t=round(t, 4), people=people)

    def _next_plant(self, side, t):
        for p in self.plants[side]:
            if p["t0"] > t:
                return p
        return None

    def _hide(self, tkp, side, rng):
        idx = [KP[f"{side}_heel"], KP[f"{side}_foot_index"], KP[f"{side}_ankle"]]
        tkp[idx, 2] = rng.uniform(0.02, 0.3, len(idx))
        mode = rng.random()
        if mode < 0.3:
            tkp[idx, :2] = 0.0                                   # dropped
        elif mode < 0.7:
            tkp[idx, :2] += rng.normal(0, 40, (len(idx), 2))     # garbage

    def _occlude(self, ckp, client_px, tpx, rng):
        sw = np.linalg.norm(tpx[KP["left_shoulder"]] - tpx[KP["right_shoulder"]])
        body = [KP[k] for k in ("left_hip", "right_hip", "left_shoulder", "right_shoulder")]
        legs = [KP[f"{s}_{k}"] for s in ("left", "right")
                for k in ("knee", "ankle", "heel", "foot_index")]
        d_body = np.linalg.norm(client_px[:, None] - tpx[None, body], axis=-1).min(1)
        d_legs = np.linalg.norm(client_px[:, None] - tpx[None, legs], axis=-1).min(1)
        occ = (d_body < 0.35 * sw) | (d_legs < 0.18 * sw)
        k = int(occ.sum())
        if not k:
            return
        ckp[occ, 2] = rng.uniform(0.05, 0.45, k)
        garbage = occ & (rng.random(33) < 0.6)
        ckp[garbage, :2] += rng.normal(0, 0.15 * sw, (int(garbage.sum()), 2))
        # Now and then the estimator is confidently wrong about an occluded point.
        wrong = occ & (rng.random(33) < self.cfg.wrong_rate)
        ckp[wrong, 2] = 0.8
        ckp[wrong, :2] += rng.normal(0, 0.2 * sw, (int(wrong.sum()), 2))

    # -- outputs --------------------------------------------------------------------------------
    def header(self):
        # the generator's noise (1-3.5 px, independent per frame) is its own, not the pose
        # engine's: the safety core adds no engine error to it (vision.steps.KP_SIGMA_CM)
        return Header(fps=self.cfg.fps, width=self.cfg.width, height=self.cfg.height,
                      source="generated")

    def studio(self):
        bars = np.stack([self.camera.project(b) for b in self.bars3d])
        if not self.cfg.studio_camera:
            return Studio(bars=bars)
        return Studio(bars=bars, camera=self.studio_camera(), table_top_m=float(self.z_table))

    def studio_camera(self) -> CameraModel:
        """The camera in the studio file's world: origin on the floor under the client's middle
        (standing in for the table's centre), x toward the client's head, z up."""
        cam = self.camera
        c0 = self.origin + self.A * 0.0033 * self.Hc * 100
        c0[2] = 0.0
        x = -self.A
        M = np.stack([x, np.cross([0, 0, 1.0], x), [0, 0, 1.0]])    # studio ← generator axes
        K = np.array([[cam.f, 0, cam.w / 2], [0, cam.f, cam.h / 2], [0, 0, 1.0]])
        return CameraModel(K=K, R=cam.R @ M.T, t=cam.R @ (c0 - cam.C))

    def truth(self):
        steps = []
        for side, pl in self.plants.items():
            for p in pl:
                c, _ = foot_loaded_parts(apply_h(self.T, p["heel"]), apply_h(self.T, p["toe"]))
                steps.append(dict(foot=side, start_s=round(p["t0"], 3), end_s=round(p["t1"], 3),
                                  zone=p["zone"], hidden=bool(p["hidden"]),
                                  body_xy_ref=[round(float(v), 2) for v in c.mean(0)]))
        steps.sort(key=lambda s: s["start_s"])
        loaded = self._loaded_intervals()
        no_hands = [_clip(a, b, loaded) for k, _, a, b in self.hand_events if k == "no_hands"]
        one_hand = [_clip(a, b, loaded) for k, _, a, b in self.hand_events if k == "one_hand"]
        return dict(truth=1, config=asdict(self.cfg), fps=self.cfg.fps,
                    duration_s=round(self.t_end, 3), client_stature_cm=round(self.Hc * 100, 1),
                    steps=steps,
                    no_hands=[iv for ivs in no_hands for iv in ivs],
                    one_hand=[iv for ivs in one_hand for iv in ivs],
                    shifts=[[round(a, 3), round(b, 3)] for a, b, _ in self.shift_events],
                    bars_held=not any(True for _ in self.hand_events))

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


HEEL_AT_T, BALL_AT_T = 0.12, 0.70


def _clip(a, b, intervals):
    out = []
    for x, y in intervals:
        lo, hi = max(a, x), min(b, y)
        if hi - lo > 0.3:
            out.append([round(lo, 3), round(hi, 3)])
    return out


def write_session(out_dir: str | Path, name: str, cfg: ScenarioConfig,
                  session: Session | None = None) -> dict:
    """Write NAME.jsonl, NAME.studio.yaml and NAME.truth.json; returns the truth.
    ``session``: a Session already made from ``cfg`` (a subclass: samples/exercise_sessions.py)."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    s = Session(cfg) if session is None else session
    with PoseTrackWriter(out / f"{name}.jsonl", s.header()) as w:
        for fr in s.frames():
            w.write(fr)
    save_studio(out / f"{name}.studio.yaml", s.studio(),
                comment=f"generated by samples/scenarios.py (seed {cfg.seed})")
    truth = s.truth()
    (out / f"{name}.truth.json").write_text(json.dumps(truth, indent=1), encoding="utf-8")
    return truth


def suite(kind: str = "small") -> list[tuple[str, ScenarioConfig]]:
    """The evaluation suite: cameras overhead and tilted, 25 and 30 fps, 1 and 3.5 px noise,
    plus sessions of only safe, bar-held steps."""
    if kind == "stress":
        # Harder than the goals ask: tighter placement margins, more noise, small images,
        # ids shuffled every frame, more confident garbage under the therapist.
        out = []
        for i, (camera, noise, size) in enumerate(
                [("overhead", 3.5, (640, 360)), ("tilted", 3.5, (960, 540)),
                 ("overhead", 5.0, (1280, 720)), ("tilted", 5.0, (1920, 1080)),
                 ("tilted", 1.0, (640, 360)), ("overhead", 1.0, (960, 540))]):
            out.append((f"stress_{camera}_{noise:g}px_{i}", ScenarioConfig(
                seed=5000 + i, fps=(25.0, 30.0)[i % 2], noise_px=noise, camera=camera,
                width=size[0], height=size[1], margin_cm=1.0, wrong_rate=0.1,
                shuffle_ids=True, hidden_steps=3)))
        return out
    n = {"small": 1, "large": 4}[kind]
    out = []
    seed = 1000
    for rep in range(n):
        for camera in ("overhead", "tilted"):
            for noise in (1.0, 3.5):
                fps = 30.0 if (seed % 2 == 0) else 25.0
                out.append((f"{camera}_{noise:g}px_{rep}",
                            ScenarioConfig(seed=seed, fps=fps, noise_px=noise, camera=camera)))
                seed += 1
        out.append((f"safeonly_3.5px_{rep}", ScenarioConfig(seed=seed, fps=25.0 + 5 * (rep % 2),
                                                       noise_px=3.5, safe_only=True,
                                                       hidden_steps=0, shifts=0,
                                                       camera=("overhead", "tilted")[rep % 2])))
        seed += 1
    return out


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("out_dir")
    ap.add_argument("--name", default="session")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--camera", choices=["overhead", "tilted"], default="overhead")
    ap.add_argument("--noise", type=float, default=1.0)
    ap.add_argument("--fps", type=float, default=30.0)
    ap.add_argument("--steps", type=int, default=14)
    ap.add_argument("--safe-only", action="store_true")
    a = ap.parse_args(argv)
    truth = write_session(a.out_dir, a.name, ScenarioConfig(
        seed=a.seed, camera=a.camera, noise_px=a.noise, fps=a.fps, n_steps=a.steps,
        safe_only=a.safe_only))
    print(f"{a.name}: {len(truth['steps'])} steps, {truth['duration_s']} s")


if __name__ == "__main__":
    main()
