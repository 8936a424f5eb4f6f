"""anny bodies posed for Ashiatsu, and their 33 BlazePose keypoints in 3-D.

anny's body frame: z up, the body faces -y, the person's left is +x, the root at the pelvis.
Bones are rotated in anny's "local-ref" parameterisation (rotations about world-aligned axes at
each bone's head); the angles below were read off the rest pose (A-pose, arms 40° out, hands in
front of the hips), not solved by inverse kinematics, which anny does not have.
"""

from __future__ import annotations

import functools
import math
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

def _default_cache() -> Path:
    from samples.registry import cache_dir  # ASHIWATCH_CACHE or ~/.cache/ashiwatch

    return cache_dir() / "anny"


CACHE_DIR = Path(os.environ.get("ANNY_CACHE_DIR") or _default_cache())


@functools.lru_cache(maxsize=1)
def _model():
    # The first build of anny's model data takes ~1 min and writes ~0.8 GB; the cache makes
    # later builds ~3 s. anny reads ANNY_CACHE_DIR when it is imported, so set it first.
    os.environ.setdefault("ANNY_CACHE_DIR", str(CACHE_DIR))
    import warnings
    with warnings.catch_warnings():
        # without warp-lang anny falls back to plain linear-blend skinning, which is all we need
        warnings.simplefilter("ignore")
        import anny
        model = anny.Anny()
        regressor = anny.KeypointsRegressor.coco(model)
    return model, regressor


def _rot(axis: str, deg: float):
    import torch
    a = math.radians(deg)
    c, s = math.cos(a), math.sin(a)
    r = torch.eye(4)
    i, j = {"x": (1, 2), "y": (2, 0), "z": (0, 1)}[axis]
    r[i, i], r[i, j], r[j, i], r[j, j] = c, -s, s, c
    return r[None]


@dataclass
class Body:
    vertices: np.ndarray    # (V, 3) metres, anny body frame
    faces: np.ndarray       # (F, 3)
    keypoints: np.ndarray   # (33, 3) BlazePose order, anny body frame
    weights: np.ndarray     # (V,) index of each vertex's dominant bone
    bone_labels: list[str]

    def transformed(self, rotation: np.ndarray, translation: np.ndarray) -> "Body":
        return Body(self.vertices @ rotation.T + translation, self.faces,
                    self.keypoints @ rotation.T + translation, self.weights, self.bone_labels)


def pose_body(bones: dict[str, tuple[tuple[str, float], ...]],
              phenotype: dict[str, float] | None = None) -> Body:
    """Pose anny: ``bones`` maps a bone label to rotations applied in order, e.g.
    ``{"upperarm01.L": (("y", -125),)}``; ``phenotype`` e.g. ``{"height": 0.4}`` (0..1)."""
    import torch
    model, regressor = _model()
    params = {}
    for bone, rotations in bones.items():
        r = torch.eye(4)[None]
        for axis, deg in rotations:
            r = _rot(axis, deg) @ r
        params[bone] = r
    with torch.no_grad():
        out = model(pose_parameters=params or None, phenotype_kwargs=phenotype or None)
    vertices = out["vertices"][0].double().numpy()
    coco = dict(zip(regressor.labels, regressor(out)[0].double().numpy()))
    heads = dict(zip(model.bone_labels, out["bone_poses"][0, :, :3, 3].double().numpy()))
    return Body(vertices=vertices, faces=model.faces.numpy().astype(np.int64),
                keypoints=blazepose_keypoints(coco, heads), weights=_dominant_bone(model),
                bone_labels=list(model.bone_labels))


@functools.lru_cache(maxsize=1)
def _dominant_bone(model) -> np.ndarray:
    # skinning weights: the bone with the largest weight per vertex, to colour clothes by body part
    for name in ("vertex_bone_weights", "skinning_weights", "weights"):
        w = getattr(model, name, None)
        if w is not None:
            break
    idx = getattr(model, "vertex_bone_indices", None)
    w = w.detach().numpy()
    if idx is None:
        return np.argmax(w, axis=1)
    return idx.detach().numpy()[np.arange(len(w)), np.argmax(w, axis=1)]


def blazepose_keypoints(coco: dict[str, np.ndarray], heads: dict[str, np.ndarray]) -> np.ndarray:
    """33 BlazePose points from anny's COCO(+feet) keypoints and bone heads.

    Eyes' inner/outer corners and the mouth are not in anny's set: they are placed from the
    eyes and nose (a quarter of the eye distance either side of each eye; the mouth below the
    nose, away from the eyes), which is what BlazePose's face points are close to anyway.
    Hands come from the bones: pinky and index at their knuckles (the heads of the first
    phalanges), the thumb at the head of its last phalanx.
    """
    kp = np.zeros((33, 3))
    le, re, nose = coco["left_eye"], coco["right_eye"], coco["nose"]
    across = re - le
    kp[0] = nose
    kp[1], kp[2], kp[3] = le + 0.25 * across, le, le - 0.25 * across
    kp[4], kp[5], kp[6] = re - 0.25 * across, re, re + 0.25 * across
    kp[7], kp[8] = coco["left_ear"], coco["right_ear"]
    mouth = nose + 0.7 * (nose - 0.5 * (le + re))
    kp[9], kp[10] = mouth - 0.3 * across, mouth + 0.3 * across
    for i, name in ((11, "shoulder"), (13, "elbow"), (15, "wrist"), (23, "hip"), (25, "knee"),
                    (27, "ankle"), (29, "heel"), (31, "big_toe")):
        kp[i], kp[i + 1] = coco[f"left_{name}"], coco[f"right_{name}"]
    for i, bone in ((17, "finger5-1"), (19, "finger2-1"), (21, "finger1-3")):
        kp[i], kp[i + 1] = heads[f"{bone}.L"], heads[f"{bone}.R"]
    return kp


# Body axes -> world axes. World: x along the table towards its head end, y across, z up.
# Prone client: head towards +x, front (-y body) down, so body y -> +z and body x -> +y.
PRONE = np.array([[0.0, 0.0, 1.0], [1.0, 0.0, 0.0], [0.0, 1.0, 0.0]])
# Standing therapist facing the head end: front (-y body) -> +x, body x -> +y, z -> z.
STANDING = np.array([[0.0, -1.0, 0.0], [1.0, 0.0, 0.0], [0.0, 0.0, 1.0]])


def client_pose() -> dict:
    # Prone with the arms along the body: the A-pose arms brought in to the sides and back
    # (the hands would otherwise be under the chest), forearms straightened, and the feet
    # pointed (plantarflexed) as on a massage table, so that the toes do not prop the body up.
    return {
        "upperarm01.L": (("y", 32), ("x", 14)), "upperarm01.R": (("y", -32), ("x", 14)),
        "lowerarm01.L": (("x", 20),), "lowerarm01.R": (("x", 20),),
        "foot.L": (("x", 45),), "foot.R": (("x", 45),),
    }


LEG_LENGTH = 0.85  # hip joint to ankle in anny's default body, metres


def therapist_pose(arms_up: bool, left_foot: tuple[float, float], right_foot: tuple[float, float],
                   lift: str | None = None, arm_turn: dict | None = None,
                   extra: dict | None = None) -> dict:
    """Standing; each foot's offset (forward, outward) in metres from where it stands at rest,
    reached by hip flexion and abduction (no IK: the legs stay straight). ``lift`` names the
    foot ("L"/"R") whose knee bends a little to take the weight off it."""
    pose: dict = {}
    for side, (forward, outward) in (("L", left_foot), ("R", right_foot)):
        sign = 1.0 if side == "L" else -1.0
        flex = -math.degrees(math.asin(np.clip(forward / LEG_LENGTH, -0.9, 0.9)))
        abduct = -sign * math.degrees(math.asin(np.clip(outward / LEG_LENGTH, -0.9, 0.9)))
        pose[f"upperleg01.{side}"] = (("y", abduct), ("x", flex))
        if lift == side:
            pose[f"lowerleg01.{side}"] = (("x", 25),)
    if arms_up:
        # arms raised overhead and out to the bars, hands at about 0.29 m from the midline;
        # ``arm_turn`` ("L"/"R" -> (degrees about y, degrees about x)) turns a raised arm so
        # that its hand reaches the bar (scene.place_therapist)
        turn = arm_turn or {}
        for side, base in (("L", -125.0), ("R", 125.0)):
            dy, dx = turn.get(side, (0.0, 0.0))
            pose[f"upperarm01.{side}"] = (("y", base + dy), ("x", dx))
    else:
        pose["upperarm01.L"] = (("y", 20),)
        pose["upperarm01.R"] = (("y", -20),)
    for bone, rotations in (extra or {}).items():
        pose[bone] = tuple(pose.get(bone, ())) + tuple(rotations)
    return pose
