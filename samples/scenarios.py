"""Synthetic Ashiatsu sessions with known truth, for testing and evaluating the safety core.

A 3-D stick model: a client lying prone on a table and a therapist standing on the client,
holding two overhead bars, seen by a pinhole camera (overhead or tilted). Steps are placed in
chosen zones of the atlas *robustly* (the zone holds under a small shift and turn of the foot),
hands let go of the bars on a schedule, feet are hidden, keypoints get pixel noise, and the
client's keypoints under the therapist get low confidence and garbage coordinates, as a pose
estimator would give them.

Truth (sidecar ``<name>.truth.json``): every planted foot with its zone (the atlas applied to the
true foot on the true body frame), hidden or not; no-hands, one-hand and sudden-shift intervals.

The session's world (body, bars, camera) is samples/scenario_world.py, its plan (steps, hands,
shifts) samples/scenario_plan.py, its configuration and the evaluation suites
samples/scenario_config.py.

    python -m samples.scenarios OUTDIR [--seed N] [--camera overhead|tilted] [--noise PX] ...
"""

from __future__ import annotations

import argparse
import json
from dataclasses import asdict
from pathlib import Path

import numpy as np

from vision.safety.geometry import apply_h, foot_loaded_parts
from vision.io.posetrack import KP, Frame, Header, Person, PoseTrackWriter
from vision.io.studio import Studio, save_studio

from samples.scenario_config import ScenarioConfig
from samples.scenario_plan import PlannedSession


def _unit(v):
    return v / max(np.linalg.norm(v), 1e-12)


class Session(PlannedSession):
    """One session: its world and plan (samples/scenario_world.py, samples/scenario_plan.py),
    the keypoints a pose estimator would give of it frame by frame, the studio file and the
    truth."""

    # -- keypoints at time t --------------------------------------------------------------------
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
        # engine's: the safety core adds no engine error to it (vision.safety.steps.KP_SIGMA_CM)
        return Header(fps=self.cfg.fps, width=self.cfg.width, height=self.cfg.height,
                      source="generated")

    def studio(self):
        bars = np.stack([self.camera.project(b) for b in self.bars3d])
        if not self.cfg.studio_camera:
            return Studio(bars=bars)
        return Studio(bars=bars, camera=self.studio_camera(), table_top_m=float(self.z_table))

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
