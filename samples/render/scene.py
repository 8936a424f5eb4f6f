"""The studio (table, bars, camera presets), the two posed people in it, and the renderer.

World frame: metres, origin on the floor under the table's centre, x along the table towards its
head end (the face cradle), y across it, z up.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

import numpy as np

from . import body as anny_body

TABLE_TOP = 0.65            # m; Ashiatsu tables are low so that the bars stay within reach
TABLE_LENGTH, TABLE_WIDTH = 1.90, 0.72
CEILING = 3.0
BAR_RADIUS = 0.02
WIDTH, HEIGHT = 1280, 720


@dataclass(frozen=True)
class Room:
    """The studio's fixed geometry (m). ``bar_height``/``bar_spread`` None: the bars go where
    the therapist's raised hands are (a studio fits its bars to its therapists). ``walls``: the
    free floor from the table to each wall (head end, foot end, the client's left, right), for
    the camera advisor's candidate places."""
    table_length: float = TABLE_LENGTH
    table_width: float = TABLE_WIDTH
    table_top: float = TABLE_TOP
    ceiling: float = CEILING
    bar_height: float | None = None
    bar_spread: float | None = None
    walls: tuple[float, float, float, float] = (1.5, 1.5, 2.2, 2.2)
    # boxes that can stand between a camera and the table (a lamp, a shelf): (centre, size), m
    obstacles: tuple = ()

    @property
    def head_x(self) -> float:
        return self.table_length / 2


DEFAULT_ROOM = Room()

# along-spine position (0 at the hips' midpoint, 1 at the shoulders') and lateral offset (m,
# + is the client's left) of places the therapist steps on
PLACES = {
    "left_paraspinal_mid": (0.55, 0.055), "right_paraspinal_mid": (0.55, -0.055),
    "left_paraspinal_upper": (0.75, 0.06), "right_paraspinal_low": (0.30, -0.05),
    "spine_mid": (0.55, 0.0), "left_kidney": (0.22, 0.07),
}


@dataclass
class CameraPreset:
    eye: tuple[float, float, float]
    target: tuple[float, float, float]
    hfov_deg: float
    up: tuple[float, float, float] = (0.0, 0.0, 1.0)


# eye, target: see docs/rendered-scenes.md for why these places. Studio placements: cameras on
# the ceiling (2.9-2.95 m), 0.8-1.1 m beyond the table, or high on a wall beside it (1.8 m from
# its edge), 75-90 degree lenses,
# aimed so that the table top and the standing therapist (head ~2.5 m, hands at the bars
# ~2.6 m) fill most of the frame. The first framing (100 degree lenses, 2.3 m beyond the head
# end) is kept as FIRST_FRAMING for comparison.
HEAD_X, FOOT_X = TABLE_LENGTH / 2, -TABLE_LENGTH / 2


def _pitched(eye, pitch_deg: float, yaw_deg: float = 0.0, dist: float = 2.0):
    """A target ``dist`` m from ``eye``, looking down ``pitch_deg`` towards heading ``yaw_deg``
    (degrees counter-clockwise from world +x: 0 faces the head end, 180 the foot end)."""
    p, y = np.radians(pitch_deg), np.radians(yaw_deg)
    d = np.array([np.cos(p) * np.cos(y), np.cos(p) * np.sin(y), -np.sin(p)])
    return tuple(float(v) for v in np.asarray(eye) + dist * d)


def _towards(eye, target, pitch_deg: float):
    """Looking down ``pitch_deg`` in the vertical plane through ``eye`` and ``target``."""
    yaw = np.degrees(np.arctan2(target[1] - eye[1], target[0] - eye[0]))
    return _pitched(eye, pitch_deg, yaw)


CAMERAS = {
    # on the ceiling straight above the table's centre, the table along the image's width:
    # a 75 degree lens keeps the whole table (and the client's feet) in view; the raised hands,
    # 0.35 m under the lens, fall outside the frame (no lens shows them from there)
    "overhead": CameraPreset(eye=(0.0, 0.0, CEILING - 0.05), target=(0.0, 0.0, 0.0),
                             hfov_deg=75.0, up=(0.0, 1.0, 0.0)),
    # ceiling, 1.1 m beyond the head end, looking down 40 degrees along the table
    # (the therapist faces this camera)
    "tilted40": CameraPreset(eye=(HEAD_X + 1.1, 0.0, CEILING - 0.05),
                             target=_pitched((HEAD_X + 1.1, 0.0, CEILING - 0.05), 40.0, 180.0),
                             hfov_deg=86.0),
    # the same from the foot end (behind the therapist, who stands further from this end: a
    # 90 degree lens, 38 degrees down, keeps the raised hands and the foot end in view)
    "tilted40_foot": CameraPreset(eye=(FOOT_X - 1.1, 0.0, CEILING - 0.05),
                                  target=_pitched((FOOT_X - 1.1, 0.0, CEILING - 0.05), 38.0, 0.0),
                                  hfov_deg=90.0),
    # high on the wall beside the table's middle (1.8 m from its edge), looking down ~22 degrees
    "side": CameraPreset(eye=(0.0, -TABLE_WIDTH / 2 - 1.8, 2.5),
                         target=_pitched((0.0, -TABLE_WIDTH / 2 - 1.8, 2.5), 22.0, 90.0),
                         hfov_deg=80.0),
    # a ceiling corner at the foot end, 0.8 m beyond the table and 0.9 m aside of it, looking
    # down 35 degrees at the table's centre (90 degree lens): from behind the therapist, over the shoulder
    "corner": CameraPreset(eye=(FOOT_X - 0.8, -TABLE_WIDTH / 2 - 0.9, 2.9),
                           target=_towards((FOOT_X - 0.8, -TABLE_WIDTH / 2 - 0.9, 2.9),
                                           (0.0, 0.0), 35.0),
                           hfov_deg=90.0),
    # the same corner at the head end (36 degrees down, 88 degree lens): the therapist's face is in view
    "corner_head": CameraPreset(eye=(HEAD_X + 0.8, -TABLE_WIDTH / 2 - 0.9, 2.9),
                                target=_towards((HEAD_X + 0.8, -TABLE_WIDTH / 2 - 0.9, 2.9),
                                                (0.0, 0.0), 36.0),
                                hfov_deg=88.0),
}

# the first framing (2026-11-23 measurement): 100 degree lenses from far beyond the table
FIRST_FRAMING = {
    "overhead_first": CameraPreset(eye=(0.0, 0.0, CEILING - 0.05), target=(0.0, 0.0, 0.0),
                                   hfov_deg=100.0, up=(1.0, 0.0, 0.0)),
    "tilted40_first": CameraPreset(eye=(0.95 + 2.30, 0.0, CEILING - 0.05),
                                   target=(0.0, 0.0, CEILING - 0.05 - 3.25 * np.tan(np.radians(40.0))),
                                   hfov_deg=100.0),
    "side_first": CameraPreset(eye=(0.0, -3.0, 1.75), target=(0.0, 0.0, 1.55), hfov_deg=80.0),
    "corner_first": CameraPreset(eye=(-2.3, -1.8, 2.85), target=(0.0, 0.0, 1.45), hfov_deg=80.0),
}
ALL_CAMERAS = {**CAMERAS, **FIRST_FRAMING}


def look_at(eye, target, up) -> np.ndarray:
    """Camera-to-world pose in OpenGL's convention (the camera looks along its -z, +y up)."""
    eye, target, up = (np.asarray(v, dtype=np.float64) for v in (eye, target, up))
    back = eye - target
    back /= np.linalg.norm(back)
    right = np.cross(up, back)
    right /= np.linalg.norm(right)
    pose = np.eye(4)
    pose[:3, 0], pose[:3, 1], pose[:3, 2], pose[:3, 3] = right, np.cross(back, right), back, eye
    return pose


@dataclass
class Camera:
    pose: np.ndarray        # 4x4 camera-to-world
    focal: float            # px
    width: int = WIDTH
    height: int = HEIGHT

    @classmethod
    def preset(cls, name: "str | CameraPreset", width: int = WIDTH,
               height: int = HEIGHT) -> "Camera":
        p = ALL_CAMERAS[name] if isinstance(name, str) else name
        focal = 0.5 * width / np.tan(np.radians(p.hfov_deg) / 2)
        return cls(look_at(p.eye, p.target, p.up), focal, width, height)

    def opencv(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """K, R, t in OpenCV's convention (x_cam = R @ x_world + t; the camera looks down its
        +z, image y down), reproducing ``project`` exactly. pyrender's camera is OpenGL's (looks
        down -z, y up): the same axes with y and z negated. Pixel coordinates are continuous
        with (0, 0) at the image's top-left corner (a pixel's centre at +0.5), as the pose
        engine's keypoints are (normalised x times the width)."""
        world_to_cam = np.linalg.inv(self.pose)
        flip = np.diag([1.0, -1.0, -1.0])
        R = flip @ world_to_cam[:3, :3]
        t = flip @ world_to_cam[:3, 3]
        K = np.array([[self.focal, 0.0, self.width / 2], [0.0, self.focal, self.height / 2],
                      [0.0, 0.0, 1.0]])
        return K, R, t

    def project(self, points: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """World points (N, 3) -> pixels (N, 2) and depth along the view axis (N,)."""
        world_to_cam = np.linalg.inv(self.pose)
        p = points @ world_to_cam[:3, :3].T + world_to_cam[:3, 3]
        depth = -p[:, 2]
        with np.errstate(divide="ignore", invalid="ignore"):
            u = self.width / 2 + self.focal * p[:, 0] / depth
            v = self.height / 2 - self.focal * p[:, 1] / depth
        return np.stack([u, v], axis=1), depth


@dataclass
class Look:
    """What the seed varies: skin, clothes, light, body shape."""
    client_skin: np.ndarray
    therapist_skin: np.ndarray
    towel: np.ndarray
    therapist_top: np.ndarray
    therapist_shorts: np.ndarray
    light_dir: np.ndarray
    light_intensity: float
    client_shape: dict = field(default_factory=dict)
    therapist_shape: dict = field(default_factory=dict)

    @classmethod
    def from_seed(cls, seed: int) -> "Look":
        rng = np.random.default_rng(seed)
        skins = np.array([[0.96, 0.80, 0.69], [0.87, 0.67, 0.52], [0.70, 0.50, 0.37],
                          [0.55, 0.38, 0.26], [0.36, 0.24, 0.17]])
        cloth = lambda: rng.uniform(0.1, 0.9, 3)  # noqa: E731
        shape = lambda: {"height": float(rng.uniform(0.35, 0.65)),  # noqa: E731
                         "weight": float(rng.uniform(0.35, 0.65)),
                         "gender": float(rng.uniform(0.0, 1.0))}
        d = np.array([rng.uniform(-0.5, 0.5), rng.uniform(-0.5, 0.5), -1.0])
        return cls(skins[rng.integers(len(skins))], skins[rng.integers(len(skins))],
                   np.array([0.92, 0.92, 0.88]) * rng.uniform(0.8, 1.0), cloth(), cloth(),
                   d / np.linalg.norm(d), float(rng.uniform(2.5, 4.0)), shape(), shape())


def spine_point(client: anny_body.Body, along: float, lateral: float) -> np.ndarray:
    """A point on the client's back (world xy, z of the skin there)."""
    kp = client.keypoints
    hips, shoulders = kp[[23, 24]].mean(0), kp[[11, 12]].mean(0)
    xy = hips[:2] + along * (shoulders[:2] - hips[:2]) + np.array([0.0, lateral])
    return np.array([*xy, surface_height(client, xy)])


def body_homography(client: anny_body.Body):
    """World xy (table plane) -> the atlas's body coordinates (reference cm), in the client's
    own proportions from its shoulder and hip joints, as the safety core maps them with the
    studio's camera (vision/backframe.py, vision.geometry.body_similarity)."""
    from vision.geometry import body_similarity
    from vision.zones import default_atlas
    kp = client.keypoints[:, :2]
    return body_similarity(kp[[11, 12, 24, 23]], default_atlas().frame_quad)


def target_point(client: anny_body.Body, place) -> np.ndarray:
    """A place on the client's back -> world point (xy, z of the skin). ``place`` is a PLACES
    key, (along, lateral) or ("body", x_cm, y_cm) in the atlas's body coordinates."""
    if isinstance(place, str):
        return spine_point(client, *PLACES[place])
    if len(place) == 3 and place[0] == "body":
        from vision.geometry import apply_h
        xy = apply_h(np.linalg.inv(body_homography(client)), np.array([place[1:]], float))[0]
        return np.array([*xy, surface_height(client, xy)])
    return spine_point(client, *place)


def surface_height(client: anny_body.Body, xy: np.ndarray, radius: float = 0.04) -> float:
    near = np.linalg.norm(client.vertices[:, :2] - xy, axis=1) < radius
    # nothing near: the table top, which is where the client's lowest vertex lies
    return float(client.vertices[near, 2].max()) if near.any() else \
        float(client.vertices[:, 2].min())


def place_client(look: Look, room: Room = DEFAULT_ROOM) -> anny_body.Body:
    b = anny_body.pose_body(anny_body.client_pose(), look.client_shape)
    prone = b.transformed(anny_body.PRONE, np.zeros(3))
    # lying on the table top, the crown of the head at the head end (the face cradle's place)
    shift = np.array([room.table_length / 2 - prone.vertices[:, 0].max() + 0.05, 0.0,
                      room.table_top - prone.vertices[:, 2].min()])
    return prone.transformed(np.eye(3), shift)


@dataclass
class Step:
    left: str | tuple   # a PLACES key, (along, lateral) or ("body", x_cm, y_cm) for each foot
    right: str | tuple
    lift: str | None = None  # "L"/"R": that foot carries no weight (knee bent a little)
    arms_up: bool = True
    yaw: float = 0.0         # degrees the therapist is turned from facing the head end (+90:
    #                          facing the client's left side, across the body)


def _yaw(deg: float) -> np.ndarray:
    a = np.radians(deg)
    return np.array([[np.cos(a), -np.sin(a), 0.0], [np.sin(a), np.cos(a), 0.0], [0.0, 0.0, 1.0]])


def place_therapist(client: anny_body.Body, step: Step, look: Look,
                    bars: np.ndarray | None = None) -> anny_body.Body:
    """The therapist posed so that the feet land on the step's places on the client's back,
    and, with ``bars`` (2, 2, 3) and the arms up, the hands on the bars."""
    targets = {s: target_point(client, p) for s, p in (("L", step.left), ("R", step.right))}
    turn = _yaw(step.yaw)
    standing = turn @ anny_body.STANDING
    rest = anny_body.pose_body(anny_body.therapist_pose(step.arms_up, (0, 0), (0, 0)),
                               look.therapist_shape).transformed(standing, np.zeros(3))
    rest_feet = {"L": rest.keypoints[[29, 31]].mean(0), "R": rest.keypoints[[30, 32]].mean(0)}
    centre = 0.5 * (targets["L"] + targets["R"])
    rest_centre = 0.5 * (rest_feet["L"] + rest_feet["R"])
    # each foot's wanted offset from its rest place, in the therapist's (forward, outward)
    # terms: forward is world +x turned by the yaw; outward is the therapist's left for the
    # left foot, right for the right
    offsets = {}
    for s, sign in (("L", 1.0), ("R", -1.0)):
        d = turn.T @ ((targets[s] - centre) - (rest_feet[s] - rest_centre))
        offsets[s] = (d[0], sign * d[1])
    posed = anny_body.pose_body(
        anny_body.therapist_pose(step.arms_up, offsets["L"], offsets["R"], step.lift),
        look.therapist_shape).transformed(standing, np.zeros(3))
    feet = {"L": posed.keypoints[[29, 31]].mean(0), "R": posed.keypoints[[30, 32]].mean(0)}
    xy = centre[:2] - 0.5 * (feet["L"][:2] + feet["R"][:2])
    if step.lift in ("L", "R"):
        # one foot carries the body: that foot lands on its place (the lifted one is near its)
        w = "R" if step.lift == "L" else "L"
        xy = targets[w][:2] - feet[w][:2]
    # height: the lowest sole vertex of the weight-bearing foot (or feet) rests on the skin
    lift = 0.0
    for s in ("L", "R"):
        if step.lift == s:
            continue
        near = np.linalg.norm(posed.vertices[:, :2] - feet[s][:2], axis=1) < 0.12
        near &= posed.vertices[:, 2] < posed.keypoints[27 if s == "L" else 28, 2]
        sole = posed.vertices[near, 2].min()
        skin = surface_height(client, feet[s][:2] + xy, radius=0.06)
        lift = max(lift, skin - sole)
    shift = np.array([*xy, lift])
    if bars is not None and step.arms_up:
        # The arms are posed, not solved: as the therapist walks along the back, steps to the
        # side and stands higher or lower, raised hands drift off fixed bars (10-20 cm seen).
        # Turn each upper arm about the shoulder so that its wrist points at its grip (the
        # nearest bar, the wrist GRIP_BELOW_BAR_M under the bar's axis, where it is along it).
        turns = {}
        for s, sh, wr in (("L", 11, 15), ("R", 12, 16)):
            w = posed.keypoints[wr] + shift
            bar = min(bars, key=lambda b: abs(b[0, 1] - w[1]))
            grip = np.array([w[0], bar[0, 1], bar[0, 2] - GRIP_BELOW_BAR_M])
            d0 = standing.T @ (w - (posed.keypoints[sh] + shift))
            d1 = standing.T @ (grip - (posed.keypoints[sh] + shift))
            dy = np.arctan2(d1[0], d1[2]) - np.arctan2(d0[0], d0[2])
            c, si = np.cos(dy), np.sin(dy)
            d0 = np.array([c * d0[0] + si * d0[2], d0[1], -si * d0[0] + c * d0[2]])
            dx = np.arctan2(d1[2], d1[1]) - np.arctan2(d0[2], d0[1])
            turns[s] = (float(np.degrees(dy)), float(np.degrees(dx)))
        posed = anny_body.pose_body(
            anny_body.therapist_pose(step.arms_up, offsets["L"], offsets["R"], step.lift,
                                     arm_turn=turns),
            look.therapist_shape).transformed(standing, np.zeros(3))
    return posed.transformed(np.eye(3), shift)


# a gripping hand: the wrist keypoint this far under the bar's axis (a ~3 cm bar in the palm)
GRIP_BELOW_BAR_M = 0.04


def bars_world(therapist: anny_body.Body, room: Room = DEFAULT_ROOM) -> np.ndarray:
    """(2, 2, 3) bar segments along the table, at the height and spread of the raised hands
    (or the room's own, when it gives them)."""
    wrists = therapist.keypoints[[15, 16]]
    z = wrists[:, 2].mean() + 0.04 if room.bar_height is None else room.bar_height
    ys = (wrists[0, 1], wrists[1, 1]) if room.bar_spread is None else \
        (room.bar_spread / 2, -room.bar_spread / 2)
    half = room.table_length / 2 + 0.2
    return np.array([[[-half, y, z], [half, y, z]] for y in ys])


def table_corners(room: Room = DEFAULT_ROOM) -> np.ndarray:
    l, w, top = room.table_length / 2, room.table_width / 2, room.table_top
    return np.array([[l, w, top], [l, -w, top], [-l, -w, top], [-l, w, top]])


def body_colours(b: anny_body.Body, skin: np.ndarray, clothes: dict[str, np.ndarray]) -> np.ndarray:
    """Per-vertex RGB: skin, with clothes painted by the vertex's dominant bone."""
    colours = np.tile(skin, (len(b.vertices), 1))
    labels = np.array(b.bone_labels)[b.weights]
    for prefix, colour in clothes.items():
        colours[np.char.startswith(labels, prefix)] = colour
    return colours


@dataclass
class Shot:
    color: np.ndarray       # (H, W, 3) uint8 RGB
    depth: np.ndarray       # (H, W) m along the view axis; 0 = nothing
    owner: np.ndarray       # (H, W) int: 0 nothing/studio, 1 client, 2 therapist


def _import_pyrender():
    os.environ.setdefault("PYOPENGL_PLATFORM", "osmesa")
    if not hasattr(np, "infty"):
        np.infty = np.inf  # pyrender 0.1.45 still spells it the NumPy 1 way
    import pyrender
    return pyrender


class Renderer:
    def __init__(self, camera: Camera, room: Room = DEFAULT_ROOM):
        self.pyrender = _import_pyrender()
        self.camera = camera   # may be replaced between frames (same width and height)
        self.room = room
        self.offscreen = self.pyrender.OffscreenRenderer(camera.width, camera.height)

    def close(self) -> None:
        self.offscreen.delete()

    def render(self, client: anny_body.Body, therapist: anny_body.Body, bars: np.ndarray,
               look: Look) -> Shot:
        import trimesh
        pr = self.pyrender
        scene = pr.Scene(ambient_light=np.full(3, 0.35), bg_color=np.array([0.55, 0.55, 0.6, 1.0]))
        people = []
        for b, skin, clothes in (
                (client, look.client_skin, {"pelvis": look.towel, "upperleg": look.towel}),
                (therapist, look.therapist_skin,
                 {"spine": look.therapist_top, "clavicle": look.therapist_top,
                  "pelvis": look.therapist_shorts, "upperleg": look.therapist_shorts})):
            mesh = trimesh.Trimesh(b.vertices, b.faces, vertex_colors=body_colours(b, skin, clothes),
                                   process=False)
            people.append(scene.add(pr.Mesh.from_trimesh(mesh, smooth=True)))
        room = self.room
        table = trimesh.creation.box((room.table_length, room.table_width, room.table_top))
        table.apply_translation((0, 0, room.table_top / 2))
        table.visual.vertex_colors = (90, 60, 40, 255)
        scene.add(pr.Mesh.from_trimesh(table, smooth=False))
        floor = trimesh.creation.box((8.0, 8.0, 0.02))
        floor.visual.vertex_colors = (150, 140, 125, 255)
        scene.add(pr.Mesh.from_trimesh(floor, smooth=False))
        for centre, size in room.obstacles:
            box = trimesh.creation.box(size)
            box.apply_translation(centre)
            box.visual.vertex_colors = (70, 70, 75, 255)
            scene.add(pr.Mesh.from_trimesh(box, smooth=False))
        for a, b in bars:
            bar = trimesh.creation.cylinder(BAR_RADIUS, segment=(a, b))
            bar.visual.vertex_colors = (200, 200, 205, 255)
            scene.add(pr.Mesh.from_trimesh(bar, smooth=False))
        light = np.eye(4)
        light[:3, :3] = look_at((0, 0, 0), look.light_dir, (0, 1, 0) if abs(look.light_dir[1]) < 0.9
                                else (1, 0, 0))[:3, :3]
        scene.add(pr.DirectionalLight(intensity=look.light_intensity), pose=light)
        cam = self.camera
        scene.add(pr.IntrinsicsCamera(cam.focal, cam.focal, cam.width / 2, cam.height / 2,
                                      znear=0.05, zfar=20.0), pose=cam.pose)
        color, depth = self.offscreen.render(scene)
        seg_map = {people[0]: (1, 1, 1), people[1]: (2, 2, 2)}
        for node in scene.mesh_nodes:
            seg_map.setdefault(node, (0, 0, 0))
        seg, _ = self.offscreen.render(scene, flags=pr.RenderFlags.SEG, seg_node_map=seg_map)
        return Shot(color=color, depth=depth, owner=seg[..., 0].astype(np.int64))


def visibility(kp_world: np.ndarray, camera: Camera, shot: Shot, owner: int,
               tolerance: float = 0.12) -> tuple[np.ndarray, np.ndarray]:
    """Keypoints -> pixels and visibility (1 seen, 0 hidden or outside the frame).

    A keypoint is seen when the surface the camera sees at its pixel belongs to the same
    person and lies within ``tolerance`` in front of it. Joints sit inside the body, up to
    ~10 cm under the skin (hips, shoulders), hence the tolerance; the owner test is what tells
    "under the therapist's foot" from "under its own skin".
    """
    px, depth = camera.project(kp_world)
    u = np.round(px[:, 0]).astype(np.int64)
    v = np.round(px[:, 1]).astype(np.int64)
    inside = (u >= 0) & (u < camera.width) & (v >= 0) & (v < camera.height) & (depth > 0)
    seen = np.zeros(len(kp_world), dtype=bool)
    # a 5x5 neighbourhood: a joint on the silhouette's edge (wrist, ankle) is seen if any of
    # the pixels around it shows its own body at its depth
    for du in (-2, 0, 2):
        for dv in (-2, 0, 2):
            uu = np.clip(u + du, 0, camera.width - 1)
            vv = np.clip(v + dv, 0, camera.height - 1)
            surface = shot.depth[vv, uu]
            seen |= (shot.owner[vv, uu] == owner) & (surface > 0) & \
                (surface > depth - tolerance)
    return px, (seen & inside).astype(np.float64)
