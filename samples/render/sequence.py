"""A short rendered sequence: the therapist stepping between places on the client's back,
written as scene.mp4 + truth.jsonl (pose track v1) + studio.yaml."""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import yaml

from vision.posetrack import Frame, Header, Person, PoseTrackWriter
from vision.studio import Studio

from . import scene as S

CLIENT_ID, THERAPIST_ID = 1, 2

# where the feet go, in order: both on the paraspinals, a step apart (one high, one low), then
# one on the spine and one on the left kidney (the last two are what the safety core must flag)
KEYFRAMES = [
    S.Step("left_paraspinal_mid", "right_paraspinal_mid"),
    S.Step("left_paraspinal_upper", "right_paraspinal_low"),
    S.Step("spine_mid", "left_kidney"),
]


def steps_for(frames: int) -> list[S.Step]:
    """One Step per frame, moving through KEYFRAMES; in mid-transition the foot that travels
    further is unweighted (lifted a little), the other carries the body."""
    if frames <= 1:
        return KEYFRAMES[:1]
    out = []
    for f in range(frames):
        s = f / (frames - 1) * (len(KEYFRAMES) - 1)
        k = min(int(s), len(KEYFRAMES) - 2)
        a, b, frac = KEYFRAMES[k], KEYFRAMES[k + 1], s - k
        places = {}
        travel = {}
        for side in ("left", "right"):
            pa = np.array(S.PLACES[getattr(a, side)])
            pb = np.array(S.PLACES[getattr(b, side)])
            places[side] = tuple(pa + frac * (pb - pa))
            travel[side] = np.linalg.norm(pb - pa)
        lift = None
        if 0.2 < frac < 0.8:
            lift = "L" if travel["left"] >= travel["right"] else "R"
        out.append(S.Step(places["left"], places["right"], lift=lift))
    return out


@dataclass
class RenderedFrame:
    t: float
    bgr: np.ndarray
    people: list[Person]     # truth: client (id 1), therapist (id 2)


def studio_in_image(camera: S.Camera, bars: np.ndarray) -> Studio:
    bar_px, _ = camera.project(bars.reshape(-1, 3))
    table_px, _ = camera.project(S.table_corners())
    head_px, _ = camera.project(np.array([[S.TABLE_LENGTH / 2, 0.0, S.TABLE_TOP]]))
    return Studio(bars=bar_px.reshape(-1, 2, 2), table=table_px, table_head=head_px[0])


def render_sequence(camera_name: str, frames: int, seed: int = 0, fps: float = 10.0):
    """Yields the Studio first, then one RenderedFrame per frame."""
    import cv2
    look = S.Look.from_seed(seed)
    camera = S.Camera.preset(camera_name)
    client = S.place_client(look)
    steps = steps_for(frames)
    # the bars are placed once, at the hands of the first pose, as a studio's bars are fixed
    bars = S.bars_world(S.place_therapist(client, steps[0], look))
    yield studio_in_image(camera, bars)
    renderer = S.Renderer(camera)
    try:
        for i, step in enumerate(steps):
            therapist = S.place_therapist(client, step, look)
            shot = renderer.render(client, therapist, bars, look)
            people = []
            for pid, b in ((CLIENT_ID, client), (THERAPIST_ID, therapist)):
                px, vis = S.visibility(b.keypoints, camera, shot, owner=pid)
                people.append(Person(id=pid, kp=np.column_stack([px, vis])))
            yield RenderedFrame(i / fps, cv2.cvtColor(shot.color, cv2.COLOR_RGB2BGR), people)
    finally:
        renderer.close()


def write_sequence(camera_name: str, out: Path, frames: int = 12, seed: int = 0,
                   fps: float = 10.0) -> dict:
    import cv2
    out.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    gen = render_sequence(camera_name, frames, seed, fps)
    studio = next(gen)
    (out / "studio.yaml").write_text(yaml.safe_dump(studio.to_dict(), sort_keys=False))
    writer = cv2.VideoWriter(str(out / "scene.mp4"), cv2.VideoWriter_fourcc(*"mp4v"), fps,
                             (S.WIDTH, S.HEIGHT))
    n = 0
    render_s = 0.0
    with PoseTrackWriter(out / "truth.jsonl", Header(fps=fps, width=S.WIDTH,
                                                     height=S.HEIGHT)) as track:
        t0 = time.perf_counter()
        for frame in gen:
            render_s += time.perf_counter() - t0
            writer.write(frame.bgr)
            track.write(Frame(t=frame.t, people=frame.people))
            n += 1
            t0 = time.perf_counter()
    writer.release()
    return {"frames": n, "seconds": time.perf_counter() - started,
            "render_s_per_frame": render_s / max(n, 1)}
