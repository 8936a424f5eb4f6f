"""The camera-placement advisor: render the studio from candidate camera places and rank them.

``ashiwatch advise studio.yaml [--out DIR] [--candidates NAME,...]`` (service/commands/advise.py)
or ``python -m samples.render.advise studio.yaml``.

The studio file's optional ``room:`` block describes the real studio (defaults: the rendered
studio of docs/rendered-scenes.md)::

    room:
      table: {length: 1.9, width: 0.72, height: 0.65}   # m; height = the table top
      bars: {height: 2.6, spread: 0.5}                   # optional: default at the raised hands
      ceiling: 3.0
      walls: {head: 1.5, foot: 1.5, left: 2.2, right: 2.2}  # free floor from the table to each wall
      obstacles:                                         # optional: boxes in the way (lamp, shelf)
        - {centre: [0.6, 0.2, 1.9], size: [0.3, 0.3, 0.2]}

Each candidate is aimed at, and given the lens (60-100 degrees horizontal) that frames, the
table top and the standing therapist up to the bars; then two typical moments are rendered (the
therapist on the client's back, arms up to the bars: both feet on the upper back, and a step
apart) after one of the client alone on the table, and each view is scored on what the safety
core needs: the client's four torso points seen (depth test) and large enough, the therapist's
heels and toe tips seen and the foot's size in pixels, the raised hands inside the frame, the
obliqueness of the view onto the back (parallax), and whether the pose engine finds both people.
"""

from __future__ import annotations

import argparse
import json
import math
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from vision.posetrack import Person
from vision.studio import StudioError, parse_studio
from vision.yamlfile import read_yaml

from . import scene as S
from .sequence import CLIENT_ID, THERAPIST_ID

TORSO = [11, 12, 23, 24]
FEET = [29, 30, 31, 32]
WRISTS = [15, 16]
HFOV_RANGE = (60.0, 100.0)   # lenses a studio can buy and mount (wider distorts heavily)
FOOT_ABOVE_JOINTS_M = 0.13   # the therapist's heel/toe points above the client's torso joints
# what each part of the score weighs (sums to 1; without the engine check the rest is rescaled)
WEIGHTS = {"client_torso_seen": 0.20, "client_size": 0.10, "feet_seen": 0.20, "foot_size": 0.10,
           "hands": 0.10, "parallax": 0.10, "engine": 0.20}
GOOD_TORSO_PX, GOOD_FOOT_PX = 120.0, 60.0   # sizes at which more pixels stop helping


class AdviseError(ValueError):
    pass


# -- the room -------------------------------------------------------------------------------
_ROOM_KEYS = {"table": {"length", "width", "height"}, "bars": {"height", "spread"},
              "ceiling": None, "walls": {"head", "foot", "left", "right"}, "obstacles": None}


def parse_room(doc: object, where: str) -> S.Room:
    """The ``room:`` block of a studio file (all optional) -> Room; a bad value is one line."""
    if not isinstance(doc, dict):
        raise AdviseError(f"{where}: a studio file is a mapping")
    try:
        parse_studio(doc, where)
    except StudioError as e:
        raise AdviseError(str(e)) from None
    room = doc.get("room") or {}
    if not isinstance(room, dict):
        raise AdviseError(f"{where}: \"room\" must be a mapping (table, bars, ceiling, walls)")
    unknown = set(room) - set(_ROOM_KEYS)
    if unknown:
        raise AdviseError(f"{where}: unknown key(s) in \"room\": {', '.join(sorted(unknown))} "
                          f"(known: {', '.join(_ROOM_KEYS)})")

    def num(v, name: str, lo: float, hi: float) -> float:
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not lo <= v <= hi:
            raise AdviseError(f"{where}: room {name} must be a number of metres in "
                              f"[{lo}, {hi}], got {v!r}")
        return float(v)

    def sub(key: str) -> dict:
        d = room.get(key) or {}
        if not isinstance(d, dict):
            raise AdviseError(f"{where}: room {key} must be a mapping "
                              f"({', '.join(sorted(_ROOM_KEYS[key]))})")
        extra = set(d) - _ROOM_KEYS[key]
        if extra:
            raise AdviseError(f"{where}: unknown key(s) in room {key}: {', '.join(sorted(extra))}")
        return d

    obstacles = []
    for i, ob in enumerate(room.get("obstacles") or []):
        try:
            centre = np.asarray(ob["centre"], dtype=np.float64)
            size = np.asarray(ob["size"], dtype=np.float64)
            assert centre.shape == (3,) and size.shape == (3,) and np.all(size > 0) and \
                np.all(np.isfinite(centre)) and np.all(np.isfinite(size))
        except (TypeError, KeyError, ValueError, AssertionError):
            raise AdviseError(f"{where}: room obstacle {i + 1} must be {{centre: [x, y, z], "
                              f"size: [sx, sy, sz]}} in metres") from None
        obstacles.append((tuple(centre.tolist()), tuple(size.tolist())))
    base = S.DEFAULT_ROOM
    table, bars, walls = sub("table"), sub("bars"), sub("walls")
    top = table.get("height", doc.get("table_top_m", base.table_top))
    r = S.Room(
        table_length=num(table.get("length", base.table_length), "table length", 1.2, 2.6),
        table_width=num(table.get("width", base.table_width), "table width", 0.5, 1.2),
        table_top=num(top, "table height", 0.3, 1.2),
        ceiling=num(room.get("ceiling", base.ceiling), "ceiling", 2.2, 6.0),
        bar_height=None if bars.get("height") is None else num(bars["height"], "bar height",
                                                                1.5, 4.0),
        bar_spread=None if bars.get("spread") is None else num(bars["spread"], "bar spread",
                                                                0.2, 1.5),
        walls=tuple(num(walls.get(k, d), f"wall distance {k}", 0.3, 10.0)
                    for k, d in zip(("head", "foot", "left", "right"), base.walls)),
        obstacles=tuple(obstacles))
    if r.bar_height is not None and not r.table_top + 1.2 < r.bar_height < r.ceiling:
        raise AdviseError(f"{where}: room bars height {r.bar_height} m must lie between the "
                          f"table top + 1.2 m and the ceiling ({r.ceiling} m)")
    if r.ceiling < r.table_top + 2.0:
        raise AdviseError(f"{where}: room ceiling {r.ceiling} m is too low for a therapist "
                          f"standing on a {r.table_top} m table")
    return r


def load_room(path: str | Path) -> S.Room:
    return parse_room(read_yaml(path, AdviseError), str(path))


# -- candidate places -------------------------------------------------------------------------
@dataclass
class Candidate:
    name: str
    where: str                 # in words
    eye: tuple[float, float, float]
    target: tuple[float, float, float] = (0.0, 0.0, 0.0)
    hfov_deg: float = 90.0
    up: tuple[float, float, float] = (0.0, 0.0, 1.0)
    straight_down: bool = False   # keep the aim vertical (only the lens is fitted)

    def camera(self, width: int, height: int) -> S.Camera:
        return S.Camera.preset(S.CameraPreset(self.eye, self.target, self.hfov_deg, self.up),
                               width, height)


def candidate_places(room: S.Room) -> list[Candidate]:
    """Ceiling centre, both ends (ceiling and high on the end wall), the four ceiling corners,
    both side walls at two heights: places a studio can mount a camera on."""
    L, W, c = room.table_length / 2, room.table_width / 2, room.ceiling - 0.05
    head, foot, left, right = room.walls
    out = [Candidate("ceiling_centre", "ceiling, straight above the table's centre", (0, 0, c),
                     straight_down=True)]
    for end, sign, free in (("head", 1.0, head), ("foot", -1.0, foot)):
        for d in sorted({min(0.6, free - 0.05), min(1.1, free - 0.05)}):
            out.append(Candidate(f"{end}_ceiling_{d:.1f}", f"ceiling, {d:.1f} m beyond the {end} "
                                 f"end", (sign * (L + d), 0, c)))
        z = min(2.3, c)
        out.append(Candidate(f"{end}_wall_{z:.1f}", f"{end}-end wall, {z:.1f} m high",
                             (sign * (L + free - 0.05), 0, z)))
    for end, sx, fx in (("head", 1.0, head), ("foot", -1.0, foot)):
        for side, sy, fy in (("left", 1.0, left), ("right", -1.0, right)):
            dx, dy = min(0.8, fx - 0.05), min(0.9, fy - 0.05)
            out.append(Candidate(f"corner_{end}_{side}",
                                 f"ceiling corner, {dx:.1f} m beyond the {end} end, {dy:.1f} m "
                                 f"to the client's {side}", (sx * (L + dx), sy * (W + dy), c)))
    for side, sy, fy in (("left", 1.0, left), ("right", -1.0, right)):
        for z in sorted({min(2.0, c), min(2.5, c)}):
            out.append(Candidate(f"{side}_wall_{z:.1f}",
                                 f"wall to the client's {side}, {fy:.1f} m from the table, "
                                 f"{z:.1f} m high", (0, sy * (W + fy - 0.05), z)))
    return out


def advised_camera(name: str, room: S.Room = S.DEFAULT_ROOM, width: int = S.WIDTH,
                   height: int = S.HEIGHT) -> S.Camera:
    """A candidate place by name, aimed and with its lens, as the advisor renders it."""
    for c in candidate_places(room):
        if c.name == name:
            return aim(c, room, width, height).camera(width, height)
    raise AdviseError(f"unknown candidate {name!r}")


def region_of_interest(room: S.Room) -> np.ndarray:
    """What the camera must frame: the table top and the box the standing therapist fills up to
    the bars (hands), over the client's back."""
    bar_z = room.bar_height or room.table_top + 1.95
    spread = (room.bar_spread or 0.55) / 2
    pts = [*S.table_corners(room)]
    for x in (-0.35, 0.55):          # where the therapist stands along the back
        for y in (-spread, spread):
            pts.append([x, y, bar_z + 0.08])
    return np.array(pts, dtype=np.float64)


def aim(c: Candidate, room: S.Room, width: int, height: int) -> Candidate:
    """Aim the camera at the middle of the region of interest and choose the narrowest lens
    (within HFOV_RANGE) that frames it with a 5 % margin."""
    roi = region_of_interest(room)
    eye = np.asarray(c.eye, dtype=np.float64)
    d = np.array([0.0, 0.0, -1.0]) if c.straight_down else roi.mean(0) - eye
    d /= np.linalg.norm(d)
    aspect = width / height
    hfov = HFOV_RANGE[1]
    for _ in range(3):
        # straight down: the table along the image's width
        up = (0.0, 1.0, 0.0) if abs(d[2]) > 0.97 else (0.0, 0.0, 1.0)
        cam = S.Camera(S.look_at(eye, eye + d, up), 1.0, width, height)
        _, R, _ = cam.opencv()
        p = (roi - eye) @ R.T
        # points behind or beside the lens cannot be framed by any lens: leave them out
        p = p[p[:, 2] > 0.05]
        ax = np.arctan2(p[:, 0], p[:, 2])
        ay = np.arctan2(p[:, 1], p[:, 2])
        if not c.straight_down:
            # re-centre on the middle of the angular extent
            mx, my = 0.5 * (ax.min() + ax.max()), 0.5 * (ay.min() + ay.max())
            d = R.T @ np.array([math.tan(mx), math.tan(my), 1.0])
            d /= np.linalg.norm(d)
        if c.straight_down:
            half_x, half_y = 1.05 * np.abs(ax).max(), 1.05 * np.abs(ay).max()
        else:
            half_x, half_y = 0.525 * (ax.max() - ax.min()), 0.525 * (ay.max() - ay.min())
        need_h = 2 * max(math.tan(min(half_x, 1.5)), math.tan(min(half_y, 1.5)) * aspect)
        hfov = float(np.clip(2 * math.degrees(math.atan(need_h / 2)), *HFOV_RANGE))
    up = (0.0, 1.0, 0.0) if abs(d[2]) > 0.97 else (0.0, 0.0, 1.0)
    return Candidate(c.name, c.where, tuple(float(v) for v in eye),
                     tuple(float(v) for v in eye + 2.0 * d), round(hfov, 1), up,
                     c.straight_down)


# -- the moments rendered ---------------------------------------------------------------------
# (left foot, right foot) in the atlas's body coordinates (reference cm), arms up to the bars
MOMENTS = [((4.0, 10.0), (-4.0, 10.0)), ((13.0, 18.0), (0.0, 30.0))]


@dataclass
class Scene:
    room: S.Room
    look: S.Look
    client: object
    alone: object              # the therapist beside the table (the client alone on it)
    therapists: list           # one per MOMENTS
    bars: np.ndarray


def build_scene(room: S.Room, seed: int = 0) -> Scene:
    from .sequence import beside_table
    look = S.Look.from_seed(seed)
    client = S.place_client(look, room)
    ths = [S.place_therapist(client, S.Step(("body", *lf), ("body", *rf)), look)
           for lf, rf in MOMENTS]
    alone = beside_table(S.place_therapist(client, S.Step(("body", *MOMENTS[0][0]),
                                                          ("body", *MOMENTS[0][1]),
                                                          arms_up=False), look), room)
    return Scene(room, look, client, alone, ths, S.bars_world(ths[0], room))


# -- scoring ----------------------------------------------------------------------------------
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


def _in_frame(px: np.ndarray, cam: S.Camera, margin: float = 0.02) -> np.ndarray:
    m = margin * np.array([cam.width, cam.height])
    return np.all((px >= m) & (px <= np.array([cam.width, cam.height]) - m), axis=1)


def view_measures(cam: S.Camera, scene: Scene, views: list[tuple[list[Person], S.Shot]]) -> dict:
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
    back = scene.client.keypoints[TORSO].mean(0)
    ray = back - cam.pose[:3, 3]
    angle = math.degrees(math.acos(min(1.0, abs(ray[2]) / np.linalg.norm(ray))))
    out["oblique_deg"] = angle
    out["parallax_cm"] = math.tan(math.radians(angle)) * FOOT_ABOVE_JOINTS_M * 100
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


# -- pictures ---------------------------------------------------------------------------------
def picture(shot: S.Shot, people: list[Person], title: str) -> np.ndarray:
    import cv2

    from vision.pose.draw import draw_people
    img = cv2.cvtColor(shot.color, cv2.COLOR_RGB2BGR)
    clipped = [Person(id=p.id, kp=np.column_stack([np.clip(p.kp[:, :2], -5000, 5000),
                                                    p.kp[:, 2]])) for p in people]
    draw_people(img, clipped, min_visibility=0.5,
                label={CLIENT_ID: "client", THERAPIST_ID: "therapist"})
    cv2.putText(img, title, (12, 32), cv2.FONT_HERSHEY_SIMPLEX, 0.9, (0, 0, 0), 4, cv2.LINE_AA)
    cv2.putText(img, title, (12, 32), cv2.FONT_HERSHEY_SIMPLEX, 0.9, (255, 255, 255), 2,
                cv2.LINE_AA)
    return img


def contact_sheet(images: list[np.ndarray], labels: list[str], cols: int = 4,
                  thumb_w: int = 400) -> np.ndarray:
    import cv2
    h = round(thumb_w * images[0].shape[0] / images[0].shape[1])
    rows = math.ceil(len(images) / cols)
    sheet = np.full((rows * (h + 30), cols * thumb_w, 3), 255, np.uint8)
    for i, (img, text) in enumerate(zip(images, labels)):
        r, c = divmod(i, cols)
        y, x = r * (h + 30), c * thumb_w
        sheet[y + 30:y + 30 + h, x:x + thumb_w] = cv2.resize(img, (thumb_w, h),
                                                             interpolation=cv2.INTER_AREA)
        cv2.putText(sheet, text, (x + 6, y + 21), cv2.FONT_HERSHEY_SIMPLEX, 0.5, (0, 0, 0), 1,
                    cv2.LINE_AA)
    return sheet


# -- the run ----------------------------------------------------------------------------------
def select(cands: list[Candidate], names: list[str] | None) -> list[Candidate]:
    """The candidates named (exactly or by a name prefix); all when ``names`` is empty."""
    wanted = [n for n in (names or []) if n]
    if not wanted:
        return cands
    known = {c.name for c in cands}
    unknown = [n for n in wanted if not any(k == n or k.startswith(n) for k in known)]
    if unknown:
        raise AdviseError(f"unknown candidate(s) {', '.join(unknown)}; known: "
                          f"{', '.join(sorted(known))}")
    return [c for c in cands if any(c.name == n or c.name.startswith(n) for n in wanted)]


def advise(room: S.Room, out: Path | None = None, names: list[str] | None = None,
           engine: bool = True, seed: int = 0, width: int = S.WIDTH, height: int = S.HEIGHT,
           candidates: list[Candidate] | None = None, log=print) -> list[ViewScore]:
    """Render, score and rank the candidates (best first); with ``out``, write a picture of each
    view, contact_sheet.png and advice.json there."""
    import cv2

    from .sequence import camera_block, studio_in_image
    cands = select(candidates if candidates is not None else candidate_places(room), names)
    # candidates without a target are aimed and given a lens here
    cands = [aim(c, room, width, height) if c.target == (0.0, 0.0, 0.0) else c for c in cands]
    scene = build_scene(room, seed)
    results: list[ViewScore] = []
    pictures: dict[str, np.ndarray] = {}
    renderer = None
    try:
        for c in cands:
            t0 = time.perf_counter()
            cam = c.camera(width, height)
            if renderer is None:
                renderer = S.Renderer(cam, room)
            renderer.camera = cam
            views, frames = [], []
            studio = studio_in_image(cam, scene.bars, room)
            for th in [scene.alone, *scene.therapists]:
                shot = renderer.render(scene.client, th, scene.bars, scene.look)
                people = []
                for pid, b in ((CLIENT_ID, scene.client), (THERAPIST_ID, th)):
                    px, vis = S.visibility(b.keypoints, cam, shot, owner=pid)
                    people.append(Person(id=pid, kp=np.column_stack([px, vis])))
                bgr = cv2.cvtColor(shot.color, cv2.COLOR_RGB2BGR)
                on_back = th is not scene.alone
                if on_back:
                    views.append((people, shot))
                # the engine sees each moment for a few frames, as in a session (tracking)
                for _ in range(2):
                    frames.append((bgr, len(frames) / 8.0, people if on_back else None))
            meas = view_measures(cam, scene, views)
            eng = engine_check(frames, studio) if engine else None
            score, parts, reasons = score_view(meas, eng)
            v = ViewScore(c.name, c.where, list(c.eye), list(c.target), c.hfov_deg, score,
                          parts, {**meas, **({"engine": eng} if eng else {})}, reasons,
                          camera_block(cam))
            results.append(v)
            pictures[c.name] = picture(views[0][1], views[0][0],
                                       f"{c.name}  {score:.0f}/100  lens {c.hfov_deg:.0f} deg")
            log(f"  {c.name}: {score:.0f} ({time.perf_counter() - t0:.1f} s)")
    finally:
        if renderer is not None:
            renderer.close()
    results.sort(key=lambda v: -v.score)
    for i, v in enumerate(results, 1):
        v.rank = i
    if out is not None:
        out.mkdir(parents=True, exist_ok=True)
        for v in results:
            v.picture = f"view_{v.rank:02d}_{v.name}.png"
            cv2.imwrite(str(out / v.picture), pictures[v.name])
        sheet = contact_sheet([pictures[v.name] for v in results],
                              [f"#{v.rank} {v.name}  {v.score:.0f}" for v in results])
        cv2.imwrite(str(out / "contact_sheet.png"), sheet)
        (out / "advice.json").write_text(json.dumps(
            {"advice": 1, "room": asdict(room), "seed": seed, "size": [width, height],
             "engine_checked": engine, "weights": WEIGHTS,
             "views": [asdict(v) for v in results]}, indent=1), encoding="utf-8")
    return results


def table_text(results: list[ViewScore]) -> str:
    lines = [f"{'rank':>4}  {'camera':<20} {'score':>5}  {'lens':>4}  why"]
    for v in results:
        lines.append(f"{v.rank:>4}  {v.name:<20} {v.score:>5.0f}  {v.hfov_deg:>3.0f}°  "
                     + "; ".join(v.reasons))
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m samples.render.advise")
    ap.add_argument("studio", type=Path)
    ap.add_argument("--out", type=Path, default=Path("out/advise"))
    ap.add_argument("--candidates", default="")
    ap.add_argument("--no-engine", action="store_true")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)
    room = load_room(args.studio)
    res = advise(room, args.out, [n.strip() for n in args.candidates.split(",") if n.strip()],
                 not args.no_engine, args.seed)
    print(table_text(res))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
