"""The pose engine on rendered scenes, against their truth.

python -m samples.render.measure [--frames N] [--seed N] [--cameras overhead,tilted40,...]

Engine people are matched to truth people by keypoint agreement (the assignment with the least
total median keypoint distance), never by id. A truth person counts as found in a frame when
an engine person is matched to it with a median keypoint distance under one truth torso length.
"""

from __future__ import annotations

import argparse
import itertools
import time
from dataclasses import dataclass, field

import numpy as np

from vision.io.posetrack import Person

from .sequence import CLIENT_ID, THERAPIST_ID, render_sequence

# what each person is measured on (BlazePose indices)
MEASURED = {
    CLIENT_ID: {"shoulders": [11, 12], "hips": [23, 24]},
    THERAPIST_ID: {"heels": [29, 30], "toes": [31, 32], "wrists": [15, 16]},
}
ROLE = {CLIENT_ID: "client", THERAPIST_ID: "therapist"}


def torso_px(kp: np.ndarray) -> float:
    return max(float(np.linalg.norm(kp[[11, 12], :2].mean(0) - kp[[23, 24], :2].mean(0))), 10.0)


def keypoint_distance(truth: np.ndarray, found: np.ndarray) -> float:
    return float(np.median(np.linalg.norm(truth[:, :2] - found[:, :2], axis=1)))


def match(truth: list[Person], found: list[Person]) -> dict[int, Person]:
    """truth id -> the engine person assigned to it (least total median distance)."""
    if not truth or not found:
        return {}
    cost = np.array([[keypoint_distance(t.kp, f.kp) for f in found] for t in truth])
    best, best_cost = None, np.inf
    n = min(len(truth), len(found))
    for rows in itertools.permutations(range(len(truth)), n):
        for cols in itertools.permutations(range(len(found)), n):
            c = cost[list(rows), list(cols)].sum()
            if c < best_cost:
                best, best_cost = list(zip(rows, cols)), c
    return {truth[r].id: found[c] for r, c in best
            if cost[r, c] < torso_px(truth[r].kp)}


@dataclass
class Tally:
    frames: int = 0
    found: dict[int, int] = field(default_factory=lambda: {CLIENT_ID: 0, THERAPIST_ID: 0})
    errors: dict[tuple[int, str], list[float]] = field(default_factory=dict)
    # the same errors, only over keypoints the truth marks visible
    visible_errors: dict[tuple[int, str], list[float]] = field(default_factory=dict)

    def add(self, truth: list[Person], found: list[Person]) -> None:
        self.frames += 1
        matched = match(truth, found)
        for t in truth:
            f = matched.get(t.id)
            if f is None:
                continue
            self.found[t.id] += 1
            for part, idx in MEASURED[t.id].items():
                d = np.linalg.norm(t.kp[idx, :2] - f.kp[idx, :2], axis=1)
                self.errors.setdefault((t.id, part), []).extend(d.tolist())
                seen = t.kp[idx, 2] > 0.5
                self.visible_errors.setdefault((t.id, part), []).extend(d[seen].tolist())

    def summary(self) -> dict:
        out = {"frames": self.frames}
        for pid, role in ROLE.items():
            out[f"{role}_found"] = self.found[pid] / max(self.frames, 1)
            for part in MEASURED[pid]:
                e = self.errors.get((pid, part), [])
                out[f"{role}_{part}_px"] = float(np.median(e)) if e else None
                v = self.visible_errors.get((pid, part), [])
                out[f"{role}_{part}_visible_px"] = float(np.median(v)) if v else None
        return out


def measure_camera(camera: str, frames: int, seed: int = 0, model: str = "full") -> dict:
    from vision.pose.engine import EngineConfig, PoseEngine
    gen = render_sequence(camera, frames, seed)
    studio = next(gen)
    engine = PoseEngine(EngineConfig(model=model, table=studio.table,
                                     table_head=studio.table_head))
    tally = Tally()
    for frame in gen:
        result = engine.process(frame.bgr, frame.t)
        tally.add(frame.people, list(result.frame.people))
    return tally.summary()


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m samples.render.measure")
    ap.add_argument("--cameras", default="overhead,tilted40,tilted40_foot,side,corner,corner_head")
    ap.add_argument("--frames", type=int, default=12)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--model", default="full")
    args = ap.parse_args(argv)
    cols = ["client_found", "client_shoulders_px", "client_hips_px", "therapist_found",
            "therapist_heels_px", "therapist_toes_px", "therapist_wrists_px"]
    print("| camera | " + " | ".join(cols) + " |")
    print("|" + " --- |" * (len(cols) + 1))
    for cam in args.cameras.split(","):
        t0 = time.perf_counter()
        s = measure_camera(cam, args.frames, args.seed, args.model)
        cells = []
        for c in cols:
            v = s[c]
            vis = s.get(c.replace("_px", "_visible_px"))
            if v is None:
                cells.append("–")
            elif c.endswith("found"):
                cells.append(f"{v:.0%}")
            else:
                cells.append(f"{v:.0f}" + (f" ({vis:.0f})" if vis is not None else ""))
        print(f"| {cam} | " + " | ".join(cells) + f" |  <!-- {time.perf_counter() - t0:.0f} s -->",
              flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
