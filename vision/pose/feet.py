"""The feet model: each foot re-read from a high-resolution crop, as MediaPipe re-crops hands for
its hand model (models/feet/, docs/models.md).

BlazePose places heels and toe tips from a whole-body crop in which a foot is a few pixels; the
feet model sees a square crop around one foot, cut from the frame at full resolution around the
landmark model's own ankle, heel and toe tip, and returns the ankle, heel and toe tip in it with
a visibility each. It runs twice per foot: the first crop is wide enough to find a foot that
the landmark model placed half a foot off; the second is centred on what the first found. All
crops of a frame go through one batched ONNX Runtime call per pass. Right feet are mirrored
into left ones (``flip_right``) before the model and back after it: the model always looks for
a left foot, so in a crop that holds both feet it knows which one it is after.

The crop's geometry (``foot_boxes``, ``cut``) is shared with the training data (models/feet/
data.py), so the model is trained on the crops it will be given.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from .runtime import make_session

INPUT = 96          # the model's square input, px
# BlazePose indices per foot: ankle, heel, toe tip (foot_index), knee
FOOT_POINTS = {"left": (27, 29, 31, 25), "right": (28, 30, 32, 26)}
OUT_POINTS = ("ankle", "heel", "toe")
# the feet model's points in the 33 (left row, right row) and the knees
OUT_INDEX = np.array([FOOT_POINTS[s][:3] for s in ("left", "right")])
KNEE_INDEX = np.array([FOOT_POINTS[s][3] for s in ("left", "right")])
WIDE, TIGHT = 3.2, 2.4   # crop side in foot lengths: first pass, second pass
MIN_SIDE_PX = 40.0


def foot_length(ankle: np.ndarray, heel: np.ndarray, toe: np.ndarray,
                knee: np.ndarray) -> np.ndarray:
    """A foot's length in px from a possibly wrong estimate: the heel-toe distance, but not
    less than the ankle-toe distance or a third of the shank (a heel or toe estimate fallen
    onto the other end of the foot makes heel-toe short; a foreshortened shank is short from
    above, hence only a third). Vectorised over (..., 2)."""
    ht = np.linalg.norm(toe - heel, axis=-1)
    at = np.linalg.norm(toe - ankle, axis=-1)
    shank = np.linalg.norm(knee - ankle, axis=-1)
    return np.maximum.reduce([ht, 0.9 * at, shank / 3.0])


def foot_boxes(kp: np.ndarray, scale: float = WIDE) -> tuple[np.ndarray, np.ndarray]:
    """(P, 33, >=2) keypoints -> crop centres (P, 2, 2) and sides (P, 2) for the left and right
    foot of each person."""
    kp = np.asarray(kp, dtype=np.float64)[..., :2]
    centres, sides = [], []
    for side in ("left", "right"):
        a, h, t, k = (kp[:, i] for i in FOOT_POINTS[side])
        centres.append((a + h + t) / 3.0)
        sides.append(np.maximum(scale * foot_length(a, h, t, k), MIN_SIDE_PX))
    return np.stack(centres, axis=1), np.stack(sides, axis=1)


def crop_matrix(centre: np.ndarray, side: float) -> np.ndarray:
    """The 2x3 affine map from image pixel indices to the crop's (INPUT x INPUT) for
    cv2.warpAffine. Keypoints are continuous coordinates in which pixel i spans [i, i + 1]
    (its centre at i + 0.5), in the image and in the crop alike."""
    s = INPUT / side
    b = INPUT / 2 - 0.5 + 0.5 * s
    return np.array([[s, 0.0, b - s * centre[0]], [0.0, s, b - s * centre[1]]])


def cut(image: np.ndarray, centres: np.ndarray, sides: np.ndarray) -> np.ndarray:
    """(N, 2) centres, (N,) sides -> (N, INPUT, INPUT, 3) uint8 crops (outside the frame:
    black)."""
    out = np.zeros((len(centres), INPUT, INPUT, 3), np.uint8)
    for i, (c, s) in enumerate(zip(centres, sides)):
        # bilinear, as the training crops are cut (models/feet/data.py calls this function)
        out[i] = cv2.warpAffine(image, crop_matrix(c, s), (INPUT, INPUT), flags=cv2.INTER_LINEAR,
                                borderMode=cv2.BORDER_CONSTANT)
    return out


def flip_right(crops: np.ndarray | None, uv: np.ndarray | None, right: np.ndarray):
    """Mirror the rows of right feet (``right`` (N,) bool) left to right: crops (N, H, W, 3)
    and/or crop-normalised points (N, K, 2). Its own inverse; (copies, the inputs are kept)."""
    if crops is not None:
        crops = crops.copy()
        crops[right] = crops[right][:, :, ::-1]
    if uv is not None:
        uv = uv.copy()
        uv[right, :, 0] = 1.0 - uv[right, :, 0]
    return crops, uv


def to_image(uv: np.ndarray, centres: np.ndarray, sides: np.ndarray) -> np.ndarray:
    """Crop-normalised (N, K, 2) in [0, 1] -> image px."""
    return centres[:, None, :] + (uv - 0.5) * sides[:, None, None]


# Both feet read nearer each other than this share of how far apart the landmark model has them:
# one foot's crop found the other foot (a crop holding both feet; on the rendered corner and wall
# views 10-36 % of the frames, those points 30-70 px off at the median).
COLLAPSE_SHARE = 0.35


def collapsed_foot(read: np.ndarray, base: np.ndarray, knee: np.ndarray) -> np.ndarray:
    """Which foot's reading to drop: (P, 2) bool, left and right, for readings ``read`` and the
    landmark model's own points ``base`` (P, 2, 3, 2: left/right; ankle, heel, toe tip) and the
    knees (P, 2, 2). Where the two feet's heels and toe tips came out on top of each other while
    the landmark model holds them at least half a foot apart, the foot that moved farther from
    its own estimate is the one that went to the other foot: it keeps the landmark model's."""
    sep = lambda x: np.linalg.norm(x[:, 0, 1:] - x[:, 1, 1:], axis=-1).mean(-1)  # noqa: E731
    length = foot_length(base[:, :, 0], base[:, :, 1], base[:, :, 2], knee).min(axis=1)
    apart = sep(base)
    hit = (sep(read) < COLLAPSE_SHARE * apart) & (apart > 0.5 * length)
    moved = np.linalg.norm(read - base, axis=-1).mean(-1)                 # (P, 2)
    out = np.zeros(moved.shape, dtype=bool)
    out[np.arange(len(moved)), np.argmax(moved, axis=1)] = True
    return out & hit[:, None]


@dataclass
class FeetReading:
    """Per crop: ankle, heel, toe tip in image px (N, 3, 2) and their visibility (N, 3)."""
    xy: np.ndarray
    visibility: np.ndarray


class FeetModel:
    """The ONNX feet model: (N, INPUT, INPUT, 3) uint8 BGR crops -> crop-normalised points and
    visibilities."""

    def __init__(self, path, threads: int | None = None, device: str = "cpu"):
        self.session = make_session(path, threads, device)
        self.input = self.session.get_inputs()[0].name

    def infer(self, crops: np.ndarray, right: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Crops as cut, ``right`` (N,) which of them hold a right foot -> uv (N, 3, 2) in the
        crops as cut, visibility (N, 3)."""
        crops, _ = flip_right(crops, None, right)
        uv, vis = self.session.run(None, {self.input: crops})
        _, uv = flip_right(None, uv.astype(np.float64), right)
        return uv, vis.astype(np.float64)

    def read(self, image: np.ndarray, kp: np.ndarray) -> FeetReading:
        """Both feet of each of (P, 33, >=2) people: (2P, ...) rows, left then right per person."""
        centres, sides = foot_boxes(kp, WIDE)
        centres, sides = centres.reshape(-1, 2), sides.reshape(-1)
        right = np.tile([False, True], len(kp))
        uv, _ = self.infer(cut(image, centres, sides), right)
        first = to_image(uv, centres, sides)
        # second pass: centred on what the first found, at a side from the foot it found
        a, h, t = first[:, 0], first[:, 1], first[:, 2]
        length = np.maximum(np.linalg.norm(t - h, axis=-1), 0.9 * np.linalg.norm(t - a, axis=-1))
        centres2 = first.mean(axis=1)
        sides2 = np.clip(TIGHT * length, MIN_SIDE_PX, sides)
        uv, vis = self.infer(cut(image, centres2, sides2), right)
        return FeetReading(xy=to_image(uv, centres2, sides2), visibility=vis)
