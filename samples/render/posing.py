"""The two people in the rendered studio: their looks from a seed, the client lying prone on the
table, and the therapist posed with the feet on chosen places of the client's back and the hands
on the bars."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from . import body as anny_body
from .room import DEFAULT_ROOM, GRIP_BELOW_BAR_M, Room

# along-spine position (0 at the hips' midpoint, 1 at the shoulders') and lateral offset (m,
# + is the client's left) of places the therapist steps on
PLACES = {
    "left_paraspinal_mid": (0.55, 0.055), "right_paraspinal_mid": (0.55, -0.055),
    "left_paraspinal_upper": (0.75, 0.06), "right_paraspinal_low": (0.30, -0.05),
    "spine_mid": (0.55, 0.0), "left_kidney": (0.22, 0.07),
}


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
    # domain randomisation (samples/render/randomise.py): the studio's colours and more lights,
    # and per-vertex textures (body, colours) -> colours; None draws the plain look
    scenery: object | None = None
    client_texture: object | None = None
    therapist_texture: object | None = None

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
    studio's camera (vision/safety/backframe.py, vision.safety.geometry.body_similarity)."""
    from vision.safety.geometry import body_similarity
    from vision.safety.zones import default_atlas
    kp = client.keypoints[:, :2]
    return body_similarity(kp[[11, 12, 24, 23]], default_atlas().frame_quad)


def target_point(client: anny_body.Body, place) -> np.ndarray:
    """A place on the client's back -> world point (xy, z of the skin). ``place`` is a PLACES
    key, (along, lateral) or ("body", x_cm, y_cm) in the atlas's body coordinates."""
    if isinstance(place, str):
        return spine_point(client, *PLACES[place])
    if len(place) == 3 and place[0] == "body":
        from vision.safety.geometry import apply_h
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
    # extra bone rotations appended to the pose (randomise.foot_pose: a foot turned out, the
    # heel raised, on the toes), e.g. {"foot.L": (("x", 30),)}
    extra: dict | None = None


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
        anny_body.therapist_pose(step.arms_up, offsets["L"], offsets["R"], step.lift,
                                 extra=step.extra),
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
                                     arm_turn=turns, extra=step.extra),
            look.therapist_shape).transformed(standing, np.zeros(3))
    return posed.transformed(np.eye(3), shift)
