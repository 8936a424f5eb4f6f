"""The body's keypoints by name: BlazePose's 33 points (``KP``, from vision.io.posetrack, where
the pose-track format defines them), the torso's corners in the two orders the pipeline uses,
each side's limbs, and the lengths measured on them.

Index sets are numpy arrays (fancy indexing: ``kp[TORSO_QUAD, :2]`` is (4, 2)). The order of
a set is part of its meaning: a mean over ``TORSO_PAIRS`` and one over ``TORSO_QUAD`` add the
same points in another order, which can differ in the last bit.
"""

from __future__ import annotations

import numpy as np

from vision.io.posetrack import KP
from vision.vocab import SIDES

__all__ = ["KP", "SHOULDERS", "HIPS", "TORSO_QUAD", "TORSO_PAIRS", "LEG", "HAND", "FOOT",
           "FOOT_AXIS", "FEET", "span", "shoulder_width", "hip_width", "torso_length", "torso_centre"]

SHOULDERS = np.array([KP["left_shoulder"], KP["right_shoulder"]])
HIPS = np.array([KP["left_hip"], KP["right_hip"]])
# The torso's corners around its outline, a polygon (left shoulder, right shoulder, right hip,
# left hip): the order of the atlas's body quad (vision.safety.zones.Atlas.frame_quad).
TORSO_QUAD = np.array([KP["left_shoulder"], KP["right_shoulder"], KP["right_hip"],
                       KP["left_hip"]])
# The same corners as two pairs, shoulders then hips, left before right.
TORSO_PAIRS = np.concatenate([SHOULDERS, HIPS])

# Per side: the leg's chain (hip, knee, ankle), the hand's points and the foot's.
LEG = {side: np.array([KP[f"{side}_hip"], KP[f"{side}_knee"], KP[f"{side}_ankle"]])
       for side in SIDES}
HAND = {side: np.array([KP[f"{side}_wrist"], KP[f"{side}_index"], KP[f"{side}_pinky"]])
        for side in SIDES}
# The foot's heel and toe tip (its axis), with the ankle and knee that stand in for a point of
# it that is hidden.
FOOT = {side: {"heel": KP[f"{side}_heel"], "toe": KP[f"{side}_foot_index"],
               "ankle": KP[f"{side}_ankle"], "knee": KP[f"{side}_knee"]}
        for side in SIDES}
# The foot's axis per side: heel, toe tip.
FOOT_AXIS = {side: np.array([f["heel"], f["toe"]]) for side, f in FOOT.items()}
# Both feet's ankles, heels and toe tips.
FEET = np.array([KP["left_ankle"], KP["right_ankle"], KP["left_heel"], KP["right_heel"],
                 KP["left_foot_index"], KP["right_foot_index"]])


def span(kp: np.ndarray, pair: np.ndarray) -> float:
    """Image distance between the two keypoints of ``pair`` of a (33, 2+) keypoint array."""
    return float(np.linalg.norm(kp[pair[0], :2] - kp[pair[1], :2]))


def shoulder_width(kp: np.ndarray) -> float:
    return span(kp, SHOULDERS)


def hip_width(kp: np.ndarray) -> float:
    return span(kp, HIPS)


def torso_length(quad: np.ndarray) -> float:
    """Shoulder-midpoint to hip-midpoint distance of a (4, 2) torso quad in TORSO_QUAD order
    (``kp[TORSO_QUAD, :2]`` of a person's keypoints)."""
    return float(np.linalg.norm((quad[0] + quad[1]) / 2 - (quad[2] + quad[3]) / 2))


def torso_centre(kp: np.ndarray) -> np.ndarray:
    """(2,): the mean of the four torso corners of a (33, 2+) keypoint array."""
    return kp[TORSO_PAIRS, :2].mean(0)
