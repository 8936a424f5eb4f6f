"""The feet model on real footage: ``python -m tests.feet_real`` (from the project root).

Real people on the pose2sim clips (video mode, full landmark model), the heels and toe tips
against MediaPipe's own pipeline (the goldens, tests/golden/): px median and p90 with the feet
model off (the landmark model's own feet) and on, and heavy against heavy_feet (its feet
re-fitted on renders). There is no hand-labelled truth for these
clips, so this measures how far the model moves the feet from MediaPipe's, not which is
right; docs/models.md says what the crops show. The issue on the feet model asks that real
footage get no worse; this is its figure (docs/models.md, "The feet model")."""

from __future__ import annotations

import time

import numpy as np

from tests.goldens import golden_clips, load_golden, source_video
from tests.test_engine import closest, read_frames
from vision.pose.config import reading_name
from vision.pose.engine import EngineConfig, PoseEngine

POINTS = {"heels": [29, 30], "toes": [31, 32]}


def distances(feet: bool | None, threads: int = 2, model: str = "full") -> dict[str, dict[str, np.ndarray]]:
    """clip -> point group -> px distances to the golden over the frames both found someone."""
    out = {}
    for clip in golden_clips():
        gold = load_golden(clip)
        fps = gold["header"]["fps"]
        engine = PoseEngine(EngineConfig(model=model, feet=feet, threads=threads))
        d = {k: [] for k in POINTS}
        for k, frame in enumerate(read_frames(source_video(gold["header"]))):
            people = engine.process(frame, k / fps).frame.people
            g = gold["video"].get(k)
            p = None if g is None else closest(people, g)
            if p is not None:
                for name, idx in POINTS.items():
                    d[name].extend(np.linalg.norm(p.kp[idx, :2] - g[idx, :2], axis=1))
        out[clip] = {k: np.asarray(v) for k, v in d.items()}
    return out


# the readings: the full model (MediaPipe's own in the goldens) as the engine reads footage
# without a studio table by default (None: the feet model off), without and with the feet
# model; heavy against heavy_feet (heavy with its foot outputs re-fitted on renders,
# models/feet/head.py), whose difference is what the refit does to real feet
READINGS = (("full", None), ("full", False), ("full", True), ("heavy", False), ("heavy_feet", False))


def label(reading: tuple[str, bool | None]) -> str:
    model, feet = reading
    return f"{model} (default, no studio)" if feet is None else reading_name(model, feet)


def main() -> None:
    started = time.perf_counter()
    runs = {(m, f): distances(f, model=m) for m, f in READINGS}
    fmt = lambda a: f"{np.median(a):.1f} / {np.percentile(a, 90):.1f}" if len(a) else "-"  # noqa: E731
    print("px median / p90 from MediaPipe's pipeline (pose2sim clips, video mode; the goldens "
          "are MediaPipe's full model)")
    print("| clip | reading | heels | toes |\n| --- | --- | --- | --- |")
    for clip in runs[READINGS[0]]:
        for r in READINGS:
            d = runs[r][clip]
            print(f"| {clip} | {label(r)} | {fmt(d['heels'])} | {fmt(d['toes'])} |")
    for r in READINGS:
        cat = {k: np.concatenate([runs[r][c][k] for c in runs[r]]) for k in POINTS}
        both = np.concatenate(list(cat.values()))
        print(f"| **all** | {label(r)} | {fmt(cat['heels'])} | {fmt(cat['toes'])} |"
              f"  (heels and toes {fmt(both)})")
    print(f"run time {time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main()
