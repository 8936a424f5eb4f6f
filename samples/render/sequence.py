"""A short rendered sequence: the therapist stepping between places on the client's back,
written as scene.mp4 + truth.jsonl (pose track v1) + studio.yaml."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import yaml

from vision.io.camera import CameraModel
from vision.io.posetrack import Frame, Header, Person, PoseTrackWriter
from vision.io.studio import Studio
from vision.safety.zones import WORST_FIRST

from .cameras import CameraPreset, preset_camera
from .posing import PLACES, Look, Step, body_homography, place_client, place_therapist
from .room import DEFAULT_ROOM, Room, bars_world, table_corners
from .scene import Renderer, visibility

CLIENT_ID, THERAPIST_ID = 1, 2

# where the feet go, in order: both on the paraspinals, a step apart (one high, one low), then
# one on the spine and one on the left kidney (the last two are what the safety core must flag)
KEYFRAMES = [
    Step("left_paraspinal_mid", "right_paraspinal_mid"),
    Step("left_paraspinal_upper", "right_paraspinal_low"),
    Step("spine_mid", "left_kidney"),
]


def steps_for(frames: int) -> list[Step]:
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
            pa = np.array(PLACES[getattr(a, side)])
            pb = np.array(PLACES[getattr(b, side)])
            places[side] = tuple(pa + frac * (pb - pa))
            travel[side] = np.linalg.norm(pb - pa)
        lift = None
        if 0.2 < frac < 0.8:
            lift = "L" if travel["left"] >= travel["right"] else "R"
        out.append(Step(places["left"], places["right"], lift=lift))
    return out


@dataclass
class RenderedFrame:
    t: float
    bgr: np.ndarray
    people: list[Person]     # truth: client (id 1), therapist (id 2)
    zones: dict[str, str] | None = None       # session: the atlas's zone under each foot
    foot_seen: dict[str, bool] | None = None  # session: heel or toe tip seen by the camera


def studio_in_image(camera: CameraModel, bars: np.ndarray, room: Room = DEFAULT_ROOM) -> Studio:
    """The studio file of a render: bars, table outline and head end in the image, the true
    camera (the studio file's K, R, t: world metres, z up, origin on the floor under the table's
    centre, x toward the head end), the table top's and the bars' heights."""
    bar_px, _ = camera.project_with_depth(bars.reshape(-1, 3))
    table_px, _ = camera.project_with_depth(table_corners(room))
    head_px, _ = camera.project_with_depth(np.array([[room.table_length / 2, 0.0,
                                                      room.table_top]]))
    return Studio(bars=bar_px.reshape(-1, 2, 2), table=table_px, table_head=head_px[0],
                  camera=camera, table_top_m=room.table_top,
                  bars_height_m=round(float(bars[:, :, 2].mean()), 4))


def as_camera(camera: "str | CameraPreset | CameraModel") -> CameraModel:
    return camera if isinstance(camera, CameraModel) else preset_camera(camera)


def render_sequence(camera_name: "str | CameraPreset | CameraModel", frames: int, seed: int = 0,
                    fps: float = 10.0, session: bool = False, stances=None,
                    plan_kw: dict | None = None, look: "Look | None" = None):
    """Yields the Studio first, then one RenderedFrame per frame. ``session``: the SESSION
    stances (or ``stances``; ``frames`` is then ignored: ~1 s per stance at ``fps``), with
    each frame's truth zones; else ``frames`` frames through KEYFRAMES. The camera: a preset's
    name, a CameraPreset or a CameraModel. ``look``: instead of the seed's."""
    import cv2
    look = look or Look.from_seed(seed)
    camera = as_camera(camera_name)
    client = place_client(look)
    plan = session_plan(client, fps, stances=stances or SESSION, **(plan_kw or {})) \
        if session else None
    steps = [p.step for p in plan] if session else steps_for(frames)
    # the bars are placed once, at the hands of the first pose on the client, as a studio's
    # bars are fixed
    first = next(p.step for p in plan if not p.beside) if session else steps[0]
    bars = bars_world(place_therapist(client, first, look))
    yield studio_in_image(camera, bars)
    renderer = Renderer(camera)
    try:
        for i, step in enumerate(steps):
            therapist = place_therapist(client, step, look, bars)
            if session and plan[i].beside:
                therapist = beside_table(therapist)
            shot = renderer.render(client, therapist, bars, look)
            people = []
            for pid, b in ((CLIENT_ID, client), (THERAPIST_ID, therapist)):
                px, vis = visibility(b.keypoints, camera, shot, owner=pid)
                people.append(Person(id=pid, kp=np.column_stack([px, vis])))
            zones = seen = None
            if session:
                zones = {f: truth_zone(client, therapist.keypoints, f) for f in ("left", "right")}
                tkp = people[1].kp
                seen = {"left": bool(tkp[[29, 31], 2].max() > 0.5),
                        "right": bool(tkp[[30, 32], 2].max() > 0.5)}
            yield RenderedFrame(i / fps, cv2.cvtColor(shot.color, cv2.COLOR_RGB2BGR), people,
                                zones, seen)
    finally:
        renderer.close()


def write_sequence(camera_name: "str | CameraPreset | CameraModel", out: Path, frames: int = 12,
                   seed: int = 0, fps: float = 10.0, session: bool = False, stances=None,
                   fourcc: str = "mp4v", video_name: str = "scene.mp4",
                   label: str | None = None, plan_kw: dict | None = None,
                   look: "Look | None" = None) -> dict:
    """scene.mp4, truth.jsonl, studio.yaml (with the true camera); with ``session`` also
    scene.truth.json (the steps, their zones and the no-hands intervals, in
    samples/evaluate.compare's format)."""
    import cv2
    out.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    camera = as_camera(camera_name)
    gen = render_sequence(camera, frames, seed, fps, session, stances, plan_kw, look)
    studio = next(gen)
    (out / "studio.yaml").write_text(yaml.safe_dump(studio.to_dict(), default_flow_style=None,
                                                    sort_keys=False))
    size = (camera.width, camera.height)
    writer = cv2.VideoWriter(str(out / video_name), cv2.VideoWriter_fourcc(*fourcc), fps, size)
    if not writer.isOpened():
        raise RuntimeError(f"OpenCV cannot write {fourcc} video here")
    n = 0
    render_s = 0.0
    zones, seen = [], []
    header = Header(fps=fps, width=camera.width, height=camera.height, source="truth")
    with PoseTrackWriter(out / "truth.jsonl", header) as track:
        t0 = time.perf_counter()
        for frame in gen:
            render_s += time.perf_counter() - t0
            writer.write(frame.bgr)
            track.write(Frame(t=frame.t, people=frame.people))
            zones.append(frame.zones)
            seen.append(frame.foot_seen)
            n += 1
            t0 = time.perf_counter()
    writer.release()
    if session:
        look_client = place_client(look or Look.from_seed(seed))
        name = label or (camera_name if isinstance(camera_name, str) else "custom")
        truth = session_truth(session_plan(look_client, fps, stances=stances or SESSION,
                                           **(plan_kw or {})), zones, seen, fps, name, seed)
        (out / "scene.truth.json").write_text(json.dumps(truth, indent=1), encoding="utf-8")
    return {"frames": n, "seconds": time.perf_counter() - started,
            "render_s_per_frame": render_s / max(n, 1)}


# -- a session with known truth: a step on each zone ------------------------------------------
# Stances in the atlas's body coordinates (reference cm: x toward the client's left, y from the
# shoulder line toward the feet; docs/zone-atlas.md), for the foot's centre (mid heel-toe); one
# foot moves between stances. The zone in the comment is the design; the truth file gives the
# zone the atlas finds under each planted foot of the rendered bodies (truth_zone).
KNEE_R = "knee_R"   # the client's right knee crease (placed from the client's own knee)
KNEE_L = "knee_L"   # and the left
SESSION = [
    # (left foot, right foot, hands on the bars)
    ((4.0, 10.0), (-4.0, 10.0), True),     # both on the upper paraspinals: safe
    ((4.0, 10.0), (0.0, 30.0), True),      # right on the spine
    ((13.0, 18.0), (0.0, 30.0), True),     # left on the ribs
    ((13.0, 18.0), (-6.0, 26.0), True),    # right on the right kidney
    ((13.0, 18.0), (-4.0, 10.0), False),   # right back to the paraspinals, hands off the bars
    ((14.0, 48.0), (-4.0, 10.0), True),    # left on the gluteals (safe)
    ((14.0, 48.0), (-13.0, 50.0), True),   # right on the right gluteals (the notch: see docs)
    ((12.0, 70.0), (-13.0, 50.0), True),    # left on the hamstrings (safe)
    ((12.0, 70.0), KNEE_R, True),          # right on the back of the knee (popliteal)
]


def _body_xy(client, place) -> tuple[float, float]:
    if place in (KNEE_R, KNEE_L):
        from vision.safety.geometry import apply_h
        knee = apply_h(body_homography(client),
                       client.keypoints[[26 if place == KNEE_R else 25], :2])[0]
        return float(knee[0]), float(knee[1]) + 4.0   # the ball of the foot near the crease
    return place


def beside_table(therapist, room: Room = DEFAULT_ROOM):
    """The posed therapist moved to stand on the floor beside the table (the side away from
    the side and corner cameras), level with the client's waist."""
    feet = therapist.keypoints[[29, 30, 31, 32]].mean(0)
    shift = np.array([0.1 - feet[0], room.table_width / 2 + 0.45 - feet[1],
                      -therapist.vertices[:, 2].min()])
    return therapist.transformed(np.eye(3), shift)


@dataclass
class PlannedFrame:
    step: Step
    planted: dict[str, bool]       # "left"/"right": the foot is down on the client
    hands_on: bool                 # (for the truth: hands off the bars only counts when loaded)
    beside: bool = False           # lead-in: the therapist stands on the floor beside the table


def _options(stance) -> dict:
    """A stance's 4th item: the therapist's yaw in degrees (a number), or a dict of ``yaw``,
    ``glide`` (the foot that changes slides there under load for ``glide_s`` instead of
    stepping: the erector glide Ashiatsu is made of) and ``lift`` ("L"/"R": that foot is held
    up, the therapist on one foot)."""
    if len(stance) <= 3:
        return {}
    return {"yaw": float(stance[3])} if not isinstance(stance[3], dict) else dict(stance[3])


def session_plan(client, fps: float = 8.0, hold_s: float = 1.0, move_s: float = 0.375,
                 lead_s: float = 1.0, stances=SESSION, glide_s: float = 2.0
                 ) -> list[PlannedFrame]:
    """Frames of a session through ``stances``: each held ``hold_s``, the foot that changes
    travelling (unweighted, knee bent) for ``move_s`` between them, or gliding under load for
    ``glide_s``; first ``lead_s`` with the therapist beside the table (the client alone on it,
    as a session starts: the safety core needs to see the client's back before anyone stands
    on it)."""
    hold, move = max(1, round(hold_s * fps)), max(2, round(move_s * fps))
    glide = max(2, round(glide_s * fps))
    resolved = [(_body_xy(client, st[0]), _body_xy(client, st[1]), st[2], _options(st))
                for st in stances]
    lf0, rf0, _, _ = resolved[0]
    out: list[PlannedFrame] = [
        PlannedFrame(Step(("body", *lf0), ("body", *rf0), arms_up=False),
                     {"left": False, "right": False}, True, beside=True)
        for _ in range(round(lead_s * fps))]
    for k, (lf, rf, hands, opt) in enumerate(resolved):
        yaw, held_up = opt.get("yaw", 0.0), opt.get("lift")
        if k:
            plf, prf, phands, popt = resolved[k - 1]
            pyaw, pheld = popt.get("yaw", 0.0), popt.get("lift")
            gliding = bool(opt.get("glide"))
            n = glide if gliding else move
            for i in range(n):
                f = (i + 1) / (n + 1)
                lerp = lambda a, b: ("body", *(np.array(a) + f * (np.array(b) - np.array(a))))  # noqa: E731
                moving = "L" if plf != lf else "R"
                # a step lifts the travelling foot; a glide slides it under load (down, even if
                # it was held up in the stance before), and the other foot, if held up in the
                # stance before or after, stays up
                lift = next((h for h in (pheld, held_up) if h and h != moving), None) \
                    if gliding else moving
                down = {"left": lift != "L", "right": lift != "R"}
                # a turn pivots on the planted foot while the other travels
                out.append(PlannedFrame(Step(lerp(plf, lf), lerp(prf, rf), lift=lift,
                                               arms_up=phands and hands,
                                               yaw=pyaw + f * (yaw - pyaw)),
                                        down, phands and hands))
        for _ in range(hold):
            out.append(PlannedFrame(Step(("body", *lf), ("body", *rf), lift=held_up,
                                           arms_up=hands, yaw=yaw),
                                    {"left": held_up != "L", "right": held_up != "R"}, hands))
    return out


def truth_zone(client, therapist_kp: np.ndarray, foot: str) -> str:
    """The atlas's zone under a foot, from the 3-D truth (world xy on the table plane)."""
    from vision.safety.geometry import apply_h
    from vision.safety.zones import default_atlas
    h = body_homography(client)
    heel, toe = (29, 31) if foot == "left" else (30, 32)
    legs = {side: apply_h(h, client.keypoints[idx, :2])
            for side, idx in (("left", [23, 25, 27]), ("right", [24, 26, 28]))}
    return default_atlas().foot_zone(apply_h(h, therapist_kp[heel, :2]),
                                     apply_h(h, therapist_kp[toe, :2]), legs)


def session_truth(plan: list[PlannedFrame], zones: list[dict[str, str]],
                  foot_seen: list[dict[str, bool]], fps: float, camera: str, seed: int) -> dict:
    """Truth in samples/evaluate.compare's format: steps (foot, start_s, end_s, zone, hidden),
    no-hands intervals; a step is hidden when the camera sees neither its heel nor its toe tip
    on most of its frames."""
    steps = []
    for foot in ("left", "right"):
        i = 0
        while i < len(plan):
            if not plan[i].planted[foot]:
                i += 1
                continue
            j = i
            while j < len(plan) and plan[j].planted[foot]:
                j += 1
            seen = sum(foot_seen[k][foot] for k in range(i, j))
            # a glide crosses zones: its zone is the worst it passes over (for a still foot,
            # the zone it stands on)
            zone = min((zones[k][foot] for k in range(i, j)), key=WORST_FIRST.index)
            steps.append(dict(foot=foot, start_s=round(i / fps, 3), end_s=round(j / fps, 3),
                              zone=zone, hidden=bool(seen < 0.5 * (j - i))))
            i = j
    steps.sort(key=lambda s: (s["start_s"], s["foot"]))
    no_hands, i = [], 0
    while i < len(plan):
        if plan[i].hands_on:
            i += 1
            continue
        j = i
        while j < len(plan) and not plan[j].hands_on:
            j += 1
        no_hands.append([round(i / fps, 3), round(j / fps, 3)])
        i = j
    return dict(truth=1, config=dict(source="samples/render", camera=camera, seed=seed, fps=fps,
                                     safe_only=False),
                fps=fps, duration_s=round(len(plan) / fps, 3), steps=steps,
                no_hands=no_hands, one_hand=[], shifts=[], bars_held=not no_hands)
