"""Training data for the feet model: crops around the therapist's feet from rendered studios, with
the true ankle, heel and toe tip in each (``python -m models.feet.data``).

Each pose: a randomised look (samples/render/randomise.py: skins, clothes, studio colours,
lights, anny's body shapes), the client on the table, the therapist standing on the back
(random places from the neck to the calves, turned, one foot lifted, feet turned out, heels
raised, on the toes) or beside the table; then several random cameras, anywhere a studio could
mount one (ceiling or walls, 1.8-2.95 m, lenses 60-100°) but never within 0.35 m of one of the
camera advisor's places, which are kept for measuring (samples/render/candidates.py). Per
camera and foot a crop is cut exactly as the engine cuts it (vision/pose/feet.py) around a
simulated estimate of the landmark model's foot (the true points moved by errors as large as
BlazePose's, now and then by a whole foot), for the first pass, or around the foot found for
the second. With ``--floor`` a share of the poses has the therapist standing on the floor
anywhere around the table, turned any way, seen mostly by low cameras (0.3-1.7 m, as a phone
or a tripod films feet on the floor: the landmark model's own home ground, which the model must
not read worse than it; tried, and it did not help: docs/models.md, the committed model is
trained without it). Only the crop's window is rendered, at the frame's own pixel density, then put
through a studio camera's faults (randomise.degrade).

Output: ``shard_<seed>.npz`` in ``--out`` (default ``$ASHIWATCH_CACHE/feet``): ``x`` (N, 96,
96, 3) uint8 BGR, ``uv`` (N, 3, 2) ankle/heel/toe in crop units (0..1), ``vis`` (N, 3), ``px``
(N,) crop side in frame px, ``right`` (N,) the foot is the right one. Seeds fixed; time
printed.
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

import numpy as np

from samples.render.view_score import FEET   # the heels and toe tips

WIDTH, HEIGHT = 1280, 720
CAMERAS_PER_POSE = 4
EXCLUDE_M = 0.35


def default_out() -> Path:
    from samples.registry import cache_dir
    return cache_dir() / "feet"


def held_out_eyes() -> np.ndarray:
    """The camera advisor's candidate places (the measured ones): training cameras avoid them."""
    from samples.render.candidates import candidate_places
    from samples.render.room import DEFAULT_ROOM
    return np.array([c.eye for c in candidate_places(DEFAULT_ROOM)])


def random_camera(rng, excluded: np.ndarray):
    from samples.render.cameras import CameraPreset, preset_camera
    from samples.render.room import DEFAULT_ROOM as room
    half_l, half_w = room.table_length / 2, room.table_width / 2
    while True:
        eye = np.array([rng.uniform(-(half_l + 1.4), half_l + 1.4),
                        rng.uniform(-(half_w + 2.0), half_w + 2.0), rng.uniform(1.8, 2.95)])
        over_table = abs(eye[0]) < half_l + 0.3 and abs(eye[1]) < half_w + 0.3
        if over_table and eye[2] < 2.8:
            continue   # the standing therapist's head is there
        if np.min(np.linalg.norm(excluded - eye, axis=1)) < EXCLUDE_M:
            continue
        target = (rng.uniform(-0.6, 0.6), rng.uniform(-0.2, 0.2), rng.uniform(0.8, 1.4))
        return preset_camera(CameraPreset(tuple(eye), target, float(rng.uniform(60, 100))),
                             WIDTH, HEIGHT)


def random_step(rng):
    from samples.render.posing import Step
    from samples.render.randomise import foot_pose
    place = lambda: ("body", float(rng.uniform(-20, 20)), float(rng.uniform(-8, 95)))  # noqa: E731
    left = place()
    right = ("body", float(np.clip(left[1] - rng.uniform(4, 30), -22, 22)),
             float(np.clip(left[2] + rng.uniform(-30, 30), -8, 100)))
    if rng.random() < 0.5:
        left, right = ("body", -right[1], right[2]), ("body", -left[1], left[2])
    extra = {**foot_pose(rng, "L"), **foot_pose(rng, "R")}
    yaw = float(rng.choice([0.0, rng.uniform(-45, 45), rng.choice([-90.0, 90.0, 180.0])],
                           p=[0.3, 0.5, 0.2]))
    lift = rng.choice([None, "L", "R"], p=[0.6, 0.2, 0.2])
    return Step(left, right, lift=lift, arms_up=bool(rng.random() < 0.8), yaw=yaw, extra=extra)


def on_floor(therapist, rng):
    """The posed therapist moved onto the floor somewhere beside the table, turned any way."""
    from samples.render.posing import _yaw
    from samples.render.room import DEFAULT_ROOM as room
    R = _yaw(float(rng.uniform(0, 360)))
    feet = therapist.keypoints[FEET].mean(0)
    spot = np.array([rng.uniform(-(room.table_length / 2 + 0.6), room.table_length / 2 + 0.6),
                     rng.choice([-1, 1]) * (room.table_width / 2 + rng.uniform(0.35, 0.9)), 0.0])
    shift = spot - R @ feet
    shift[2] = -therapist.vertices[:, 2].min()   # a turn about z keeps heights: soles on the floor
    return therapist.transformed(R, shift)


def low_camera(rng, feet: np.ndarray):
    """A camera at 0.3-1.7 m, 1.2-3.5 m from the feet (``feet`` (3,) m), looking at them."""
    from samples.render.cameras import CameraPreset, preset_camera
    from samples.render.room import DEFAULT_ROOM as room
    half_l, half_w = room.table_length / 2, room.table_width / 2
    while True:
        a, r = rng.uniform(0, 2 * np.pi), rng.uniform(1.2, 3.5)
        eye = np.array([feet[0] + r * np.cos(a), feet[1] + r * np.sin(a), rng.uniform(0.3, 1.7)])
        if abs(eye[0]) < half_l + 0.1 and abs(eye[1]) < half_w + 0.1:
            continue   # inside the table
        if abs(eye[0]) > half_l + 2.5 or abs(eye[1]) > half_w + 3.0:
            continue   # beyond the studio's walls
        target = feet + np.array([*rng.normal(0, 0.3, 2), rng.uniform(0.0, 0.6)])
        return preset_camera(CameraPreset(tuple(eye), tuple(target), float(rng.uniform(45, 90))),
                             WIDTH, HEIGHT)


def simulated_estimate(rng, truth: np.ndarray) -> np.ndarray:
    """(4, 2) true ankle, heel, toe, knee px -> a landmark model's estimate of them."""
    length = max(np.linalg.norm(truth[2] - truth[1]), 8.0)
    est = truth + rng.normal(0, rng.uniform(0.05, 0.4) * length, (4, 2))
    if rng.random() < 0.2:
        est[:3] += rng.normal(0, 0.6 * length, 2)   # the whole foot misplaced
    if rng.random() < 0.1:
        est[[1, 2]] = est[[2, 1]]                    # heel and toe swapped
    return est


def depth_seen(px: np.ndarray, depth: np.ndarray, shot_depth: np.ndarray,
               tolerance: np.ndarray) -> np.ndarray:
    h, w = shot_depth.shape
    u, v = np.round(px[:, 0]).astype(int), np.round(px[:, 1]).astype(int)
    inside = (u >= 0) & (u < w) & (v >= 0) & (v < h) & (depth > 0)
    seen = np.zeros(len(px), bool)
    for du in (-2, 0, 2):
        for dv in (-2, 0, 2):
            uu, vv = np.clip(u + du, 0, w - 1), np.clip(v + dv, 0, h - 1)
            s = shot_depth[vv, uu]
            seen |= (s > 0) & (s > depth - tolerance)
    return seen & inside


def make_shard(seed: int, poses: int, out: Path, floor: float = 0.0) -> Path:
    import cv2

    from samples.render.posing import place_client, place_therapist
    from samples.render.randomise import degrade, random_look
    from samples.render.scene import Renderer
    from samples.render.sequence import beside_table
    from vision.io.camera import CameraModel
    from vision.pose.feet import FOOT_POINTS, TIGHT, WIDE, cut, foot_boxes

    rng = np.random.default_rng(seed)
    excluded = held_out_eyes()
    xs, uvs, viss, sides, feet = [], [], [], [], []
    renderer = None
    look = client = None
    for p in range(poses):
        if p % 8 == 0:   # a new look every 8 poses
            look = random_look(int(rng.integers(1 << 31)))
            client = place_client(look)
        step = random_step(rng)
        therapist = place_therapist(client, step, look)
        # (no draw when floor is 0: the shards made before it existed are made again alike)
        standing = floor > 0 and rng.random() < floor
        if standing:
            therapist = on_floor(therapist, rng)
        elif rng.random() < 0.08:
            therapist = beside_table(therapist)
        if renderer is None:
            renderer = Renderer(random_camera(rng, excluded))
        scene, _ = renderer.scene(client, therapist, np.zeros((0, 2, 3)), look)
        feet_at = therapist.keypoints[FEET].mean(0)
        for _ in range(CAMERAS_PER_POSE):
            if standing and rng.random() < 0.75:
                cam = low_camera(rng, feet_at)
            else:
                cam = random_camera(rng, excluded)
            for side in ("left", "right"):
                idx = list(FOOT_POINTS[side])
                px, dep = cam.project_with_depth(therapist.keypoints[idx])
                if (dep <= 0).any():
                    continue
                est = simulated_estimate(rng, px)
                if rng.random() < 0.5:       # first pass: around the landmark model's foot
                    kp = np.zeros((1, 33, 2))
                    kp[0, idx] = est
                    c, s = foot_boxes(kp, WIDE)
                    centre, crop = c[0, 0 if side == "left" else 1], float(s[0, 0 if side == "left" else 1])
                else:                        # second pass: around the foot the first found
                    length = np.linalg.norm(px[2] - px[1])
                    centre = px[:3].mean(0) + rng.normal(0, 0.12 * length, 2)
                    crop = max(TIGHT * length * rng.uniform(0.8, 1.25), 40.0)
                if not (0 <= centre[0] < WIDTH and 0 <= centre[1] < HEIGHT) or crop > 400:
                    continue
                win = int(2 ** np.ceil(np.log2(crop + 8)))   # the rendered window, px
                x0, y0 = np.floor(centre - win / 2)
                K = cam.K.copy()
                K[0, 2] -= x0
                K[1, 2] -= y0
                wcam = CameraModel(K=K, R=cam.R, t=cam.t, width=win, height=win)
                renderer.offscreen.viewport_width = win
                renderer.offscreen.viewport_height = win
                node = renderer.add_camera(scene, wcam)
                color, depth = renderer.offscreen.render(scene)
                scene.remove_node(node)
                wpx, wdep = wcam.project_with_depth(therapist.keypoints[idx[:3]])
                vis = depth_seen(wpx, wdep, depth, np.array([0.10, 0.06, 0.06]))
                img = degrade(cv2.cvtColor(color, cv2.COLOR_RGB2BGR), rng)
                wc = centre - np.array([x0, y0])
                xs.append(cut(img, wc[None], np.array([crop]))[0])
                uvs.append((wpx - (wc - crop / 2)) / crop)
                viss.append(vis)
                sides.append(crop)
                feet.append(side == "right")
    if renderer is not None:
        renderer.close()
    path = out / f"shard_{seed}.npz"
    np.savez_compressed(path, x=np.array(xs, np.uint8), uv=np.array(uvs, np.float32),
                        vis=np.array(viss, np.float32), px=np.array(sides, np.float32),
                        right=np.array(feet, bool))
    return path


def _work(args):
    seed, poses, out, floor = args
    return make_shard(seed, poses, Path(out), floor)


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", type=Path, default=None)
    ap.add_argument("--poses", type=int, default=2400, help="poses in all")
    ap.add_argument("--shards", type=int, default=12)
    ap.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    ap.add_argument("--seed", type=int, default=20261206, help="first shard's seed")
    ap.add_argument("--floor", type=float, default=0.0,
                    help="share of poses with the therapist on the floor, filmed low")
    a = ap.parse_args(argv)
    out = a.out or default_out()
    out.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    jobs = [(a.seed + i, a.poses // a.shards, str(out), a.floor) for i in range(a.shards)
            if not (out / f"shard_{a.seed + i}.npz").is_file()]
    run_jobs(_work, jobs, a.workers, out, started)


def run_jobs(work, jobs: list, workers: int, out: Path, started: float) -> None:
    """The shard jobs over ``workers`` spawned processes, each shard's crops and time printed."""
    import multiprocessing as mp
    with mp.get_context("spawn").Pool(workers) as pool:
        for path in pool.imap_unordered(work, jobs):
            n = len(np.load(path)["x"])
            print(f"{path.name}: {n} crops ({time.perf_counter() - started:.0f} s)", flush=True)
    print(f"data: {len(jobs)} shards made in {time.perf_counter() - started:.0f} s -> {out}")


if __name__ == "__main__":
    main()
