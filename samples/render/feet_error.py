"""The pose engine's keypoints against the renders' truth: the audit's landmark model alone,
with the feet model, and with its foot outputs re-fitted (``heavy_feet``)
(``ashiwatch evaluate --rendered --feet-error``, issue "Feet seen to a centimetre").

Per session of a split (samples/render/bench_suite.py; none of them, nor their seeds, looks
or camera places, is in the feet model's training data: models/feet/data.py), the engine's track
of the video in each reading is matched to the truth per frame
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


# the readings compared: the audit's landmark model alone, with the feet model, and the same
# model with its own foot outputs re-fitted on renders (models/feet/head.py)
READINGS = (("heavy", False), ("heavy", True), ("heavy_feet", False))


def run(split: str = "report", only: int | None = None, echo=print,
        root: Path | None = None, readings=READINGS) -> dict:
    from vision.pose.config import reading_name
    started = time.perf_counter()
    per_cam: dict[str, dict[str, dict[str, list[float]]]] = {}
    for sess in suite(split)[:only]:
        d = render(sess, root)
        for model, feet in readings:
            e = errors(engine_track(d, model, feet=feet), d / "truth.jsonl")
            slot = per_cam.setdefault(sess.camera, {}).setdefault(reading_name(model, feet), {})
            for k, v in e.items():
                slot.setdefault(k, []).extend(v)
    cols = [part for _, part in PARTS]
    names = [reading_name(m, f) for m, f in readings]
    echo(f"{split} split: px median / p90 over points the truth sees")
    echo("| camera | reading | " + " | ".join(cols) + " |")
    echo("|" + " --- |" * (len(cols) + 2))
    total: dict[str, dict[str, list[float]]] = {n: {} for n in names}
    for cam, by in per_cam.items():
        for n in names:
            echo(f"| {cam} | {n} | " + " | ".join(_cell(by[n][c]) for c in cols) + " |")
            for c in cols:
                total[n].setdefault(c, []).extend(by[n][c])
    for n in names:
        echo(f"| **all** | {n} | " + " | ".join(_cell(total[n][c]) for c in cols) + " |")
    echo(f"run time {time.perf_counter() - started:.0f} s")
    return {n: {c: (float(np.median(v)), float(np.percentile(v, 90)))
                for c, v in total[n].items() if v} for n in total}
