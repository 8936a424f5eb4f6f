"""How well a candidate camera place sees what the safety core needs (the camera advisor's score):
figures from the depth-tested truth of the rendered moments, the score and its reasons, and
whether the pose engine finds both people."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from vision.io.camera import CameraModel
from vision.io.posetrack import Person

from .scene import Shot
from .sequence import CLIENT_ID, THERAPIST_ID

TORSO = [11, 12, 23, 24]
FEET = [29, 30, 31, 32]
WRISTS = [15, 16]
# the rendered therapist's heel/toe points above the rendered client's torso joints, as measured
# on the renders (docs/rendered-scenes.md, "Why"); the safety core's own figure for real people
# is vision.io.camera.FOOT_ABOVE_JOINTS_M
RENDERED_FEET_ABOVE_JOINTS_M = 0.13
# what each part of the score weighs (sums to 1; without the engine check the rest is rescaled)
WEIGHTS = {"client_torso_seen": 0.20, "client_size": 0.10, "feet_seen": 0.20, "foot_size": 0.10,
           "hands": 0.10, "parallax": 0.10, "engine": 0.20}
GOOD_TORSO_PX, GOOD_FOOT_PX = 120.0, 60.0   # sizes at which more pixels stop helping


@dataclass
class ViewScore:
    name: str
    where: str
    eye: list
    target: list
    hfov_deg: float
    score: float = 0.0
    parts: dict = field(default_factory=dict)      # each part of the score, 0..1
    measures: dict = field(default_factory=dict)   # the figures behind them
    reasons: list = field(default_factory=list)
    camera: dict = field(default_factory=dict)     # K, R, t (the studio file's camera block)
    picture: str = ""
    rank: int = 0


def _in_frame(px: np.ndarray, cam: CameraModel, margin: float = 0.02) -> np.ndarray:
    m = margin * np.array([cam.width, cam.height])
    return np.all((px >= m) & (px <= np.array([cam.width, cam.height]) - m), axis=1)


def view_measures(cam: CameraModel, client, views: list[tuple[list[Person], Shot]]) -> dict:
    """Figures from the depth-tested truth of each moment's frame (means over the moments)."""
    m: dict[str, list] = {k: [] for k in ("client_torso_seen", "client_torso_px", "feet_seen",
                                          "heels_seen", "toes_seen", "foot_px", "hands_in_frame",
                                          "wrists_seen")}
    for people, _ in views:
        c = next(p for p in people if p.id == CLIENT_ID).kp
        t = next(p for p in people if p.id == THERAPIST_ID).kp
        m["client_torso_seen"].append(c[TORSO, 2].mean())
        m["client_torso_px"].append(np.linalg.norm(c[[11, 12], :2].mean(0) -
                                                   c[[23, 24], :2].mean(0)))
        m["feet_seen"].append(t[FEET, 2].mean())
        m["heels_seen"].append(t[[29, 30], 2].mean())
        m["toes_seen"].append(t[[31, 32], 2].mean())
        m["foot_px"].append(np.mean(np.linalg.norm(t[[29, 30], :2] - t[[31, 32], :2], axis=1)))
        m["hands_in_frame"].append(_in_frame(t[WRISTS, :2], cam).mean())
        m["wrists_seen"].append(t[WRISTS, 2].mean())
    out = {k: float(np.mean(v)) for k, v in m.items()}
    # obliqueness: the angle from vertical of the ray onto the middle of the client's back; a
    # foot point 13 cm above the torso joints lands tan(angle) * 13 cm off on the back map when
    # the map ignores that height (docs/rendered-scenes.md, "Parallax")
    back = client.keypoints[TORSO].mean(0)
    ray = back - cam.centre
    angle = math.degrees(math.acos(min(1.0, abs(ray[2]) / np.linalg.norm(ray))))
    out["oblique_deg"] = angle
    out["parallax_cm"] = math.tan(math.radians(angle)) * RENDERED_FEET_ABOVE_JOINTS_M * 100
    return out


def score_view(measures: dict, engine: dict | None) -> tuple[float, dict, list[str]]:
    """0..100 and its parts (each 0..1), with the reasons in words."""
    parts = {
        "client_torso_seen": measures["client_torso_seen"],
        "client_size": min(1.0, measures["client_torso_px"] / GOOD_TORSO_PX),
        "feet_seen": measures["feet_seen"],
        "foot_size": min(1.0, measures["foot_px"] / GOOD_FOOT_PX),
        # the raised wrists inside the frame and seen (not behind the head or the arms)
        "hands": 0.5 * (measures["hands_in_frame"] + measures["wrists_seen"]),
        # 0 cm uncorrected parallax is 1; 20 cm (a zone's width) or more is 0
        "parallax": max(0.0, 1.0 - measures["parallax_cm"] / 20.0),
    }
    if engine is not None:
        # both people found, and the therapist's heels/toe tips placed within a foot length
        err = engine.get("feet_error_foot_lengths")
        feet = 0.0 if err is None else max(0.0, 1.0 - err)
        parts["engine"] = 0.25 * (engine["client_found"] + engine["therapist_found"]) + 0.5 * feet
    weights = {k: WEIGHTS[k] for k in parts}
    total = sum(weights.values())
    score = 100.0 * sum(weights[k] * parts[k] for k in parts) / total
    r = []
    r.append(f"client torso {measures['client_torso_seen'] * 4:.1f}/4 seen, "
             f"{measures['client_torso_px']:.0f} px")
    r.append(f"feet: heels {measures['heels_seen']:.0%}, toe tips {measures['toes_seen']:.0%} "
             f"seen, {measures['foot_px']:.0f} px long")
    r.append(("raised hands in frame" if measures["hands_in_frame"] >= 0.99 else
              f"raised hands {'partly ' if measures['hands_in_frame'] > 0 else ''}out of frame")
             + f" ({measures['wrists_seen']:.0%} of wrists seen)")
    r.append(f"{measures['oblique_deg']:.0f}° off vertical (feet ~{measures['parallax_cm']:.0f} "
             f"cm off without the camera's height correction)")
    if engine is not None:
        err = engine.get("feet_error_foot_lengths")
        r.append(f"pose engine found client {engine['client_found']:.0%}, therapist "
                 f"{engine['therapist_found']:.0%} of frames"
                 + ("" if err is None else f", feet {err:.1f} foot lengths off"))
    return score, parts, r


def engine_check(frames: list[tuple[np.ndarray, float, list[Person]]], studio) -> dict:
    """The pose engine on the candidate's frames (client alone first, as a session starts):
    the share of the therapist-on-the-back frames on which it finds each person (matched by
    keypoint agreement, samples.render.measure.match)."""
    from vision.pose.engine import EngineConfig, PoseEngine

    from .measure import match
    engine = PoseEngine(EngineConfig(table=studio.table, table_head=studio.table_head))
    found = {CLIENT_ID: 0, THERAPIST_ID: 0}
    feet_err = []     # the engine's heels and toe tips off the truth, in truth foot lengths
    n = 0
    for bgr, t, truth in frames:
        people = list(engine.process(bgr, t).frame.people)
        if truth is None:
            continue
        n += 1
        matched = match(truth, people)
        for pid in matched:
            found[pid] += 1
        if THERAPIST_ID in matched:
            tk = next(p for p in truth if p.id == THERAPIST_ID).kp
            foot = np.linalg.norm(tk[[29, 30], :2] - tk[[31, 32], :2], axis=1).mean()
            d = np.linalg.norm(tk[FEET, :2] - matched[THERAPIST_ID].kp[FEET, :2], axis=1)
            feet_err.append(float(np.median(d)) / max(foot, 1.0))
    return {"client_found": found[CLIENT_ID] / max(n, 1),
            "therapist_found": found[THERAPIST_ID] / max(n, 1), "frames": n,
            "feet_error_foot_lengths": float(np.median(feet_err)) if feet_err else None}
