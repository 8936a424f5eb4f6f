"""The pose engine's keypoints against the renders' truth, with and without the feet model
(``ashiwatch evaluate --rendered --feet-error``, issue "Feet seen to a centimetre").

Per session of a split (samples/render/bench_suite.py; none of them, nor their seeds, looks
or camera places, is in the feet model's training data: models/feet/data.py), the engine's track
of the video with the feet model and without it is matched to the truth per frame
(samples.render.measure.match: by keypoint agreement, never by id); errors in image px
(1280 x 720) over the points the truth sees: the therapist's heels and toe tips, the client's
shoulders and hips. Printed per camera place and in total: median and 90th percentile.
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np

from .bench_suite import render, suite
from .benchmark import engine_track
from .measure import MEASURED, match
from .sequence import CLIENT_ID, THERAPIST_ID

PARTS = ((THERAPIST_ID, "heels"), (THERAPIST_ID, "toes"), (CLIENT_ID, "shoulders"),
         (CLIENT_ID, "hips"))


def errors(engine: Path, truth: Path) -> dict[str, list[float]]:
    from vision.io.posetrack import iter_pose_track
    _, tf = iter_pose_track(truth)
    _, ef = iter_pose_track(engine)
    out: dict[str, list[float]] = {part: [] for _, part in PARTS}
    for t_fr, e_fr in zip(tf, ef):
        matched = match(t_fr.people, e_fr.people)
        for t in t_fr.people:
            f = matched.get(t.id)
            if f is None:
                continue
            for pid, part in PARTS:
                if pid != t.id:
                    continue
                idx = MEASURED[pid][part]
                seen = t.kp[idx, 2] > 0.5
                d = np.linalg.norm(t.kp[idx, :2] - f.kp[idx, :2], axis=1)
                out[part].extend(d[seen].tolist())
    return out


def _cell(v: list[float]) -> str:
    if not v:
        return "–"
    return f"{np.median(v):.1f} / {np.percentile(v, 90):.1f}"


def run(split: str = "report", only: int | None = None, echo=print,
        root: Path | None = None) -> dict:
    from vision.pose.engine import AUDIT_MODEL
    started = time.perf_counter()
    per_cam: dict[str, dict[bool, dict[str, list[float]]]] = {}
    for sess in suite(split)[:only]:
        d = render(sess, root)
        for feet in (False, True):
            e = errors(engine_track(d, AUDIT_MODEL, feet=feet), d / "truth.jsonl")
            slot = per_cam.setdefault(sess.camera, {}).setdefault(feet, {})
            for k, v in e.items():
                slot.setdefault(k, []).extend(v)
    cols = [part for _, part in PARTS]
    echo(f"engine:{AUDIT_MODEL}, {split} split: px median / p90 over points the truth sees")
    echo("| camera | feet model | " + " | ".join(cols) + " |")
    echo("|" + " --- |" * (len(cols) + 2))
    total: dict[bool, dict[str, list[float]]] = {False: {}, True: {}}
    for cam, by in per_cam.items():
        for feet in (False, True):
            echo(f"| {cam} | {'on' if feet else 'off'} | " +
                 " | ".join(_cell(by[feet][c]) for c in cols) + " |")
            for c in cols:
                total[feet].setdefault(c, []).extend(by[feet][c])
    for feet in (False, True):
        echo(f"| **all** | {'on' if feet else 'off'} | " +
             " | ".join(_cell(total[feet][c]) for c in cols) + " |")
    echo(f"run time {time.perf_counter() - started:.0f} s")
    return {("on" if f else "off"): {c: (float(np.median(v)), float(np.percentile(v, 90)))
                                     for c, v in total[f].items() if v} for f in total}
