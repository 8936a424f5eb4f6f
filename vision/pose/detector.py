"""BlazePose person detector: letterboxed frame -> SSD anchors -> weighted NMS -> detections.

Follows MediaPipe's pose_detection_cpu graph: 224x224 input in [-1, 1], 2254 anchors,
12 values per anchor (face box + 4 keypoints), sigmoid scores, weighted non-max suppression.
The box is the FACE; keypoint 0 is the hip centre, 1 the full-body scale/rotation point,
2 the shoulder centre, 3 an upper-body scale point.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from .regions import Region, region_from_points
from .runtime import make_session

INPUT_SIZE = 224
MIN_SCORE = 0.5
# A tile showing part of a body (legs only, say) can yield a weak "person" there; what a tile
# adds beyond the whole frame's people must be surer than the frame's own threshold.
TILE_MIN_SCORE = 0.7
NMS_IOU = 0.3


@dataclass
class Detection:
    score: float
    face_box: np.ndarray  # [x0, y0, x1, y1] px
    keypoints: np.ndarray  # (4, 2) px

    def region(self) -> Region:
        return region_from_points(self.keypoints[0], self.keypoints[1])


def ssd_anchor_centers() -> np.ndarray:
    """(2254, 2) anchor centres in [0, 1], SsdAnchorsCalculator order for BlazePose:
    strides 8, 16, 32, 32, 32; 2 anchors per layer per cell, layers of equal stride merged."""
    strides = [8, 16, 32, 32, 32]
    out = []
    i = 0
    while i < len(strides):
        j = i
        while j < len(strides) and strides[j] == strides[i]:
            j += 1
        per_cell = 2 * (j - i)  # aspect ratio 1.0 + interpolated scale, per layer
        n = int(np.ceil(INPUT_SIZE / strides[i]))
        ys, xs = np.meshgrid((np.arange(n) + 0.5) / n, (np.arange(n) + 0.5) / n, indexing="ij")
        cells = np.stack([xs.ravel(), ys.ravel()], axis=1)
        out.append(np.repeat(cells, per_cell, axis=0))
        i = j
    return np.concatenate(out)


ANCHORS = ssd_anchor_centers()


def _box_iou(box: np.ndarray, boxes: np.ndarray) -> np.ndarray:
    ix = np.clip(np.minimum(box[2], boxes[:, 2]) - np.maximum(box[0], boxes[:, 0]), 0, None)
    iy = np.clip(np.minimum(box[3], boxes[:, 3]) - np.maximum(box[1], boxes[:, 1]), 0, None)
    inter = ix * iy
    area = (box[2] - box[0]) * (box[3] - box[1])
    areas = (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])
    return inter / np.maximum(area + areas - inter, 1e-9)


def weighted_nms(scores: np.ndarray, boxes: np.ndarray, kps: np.ndarray,
                 iou_threshold: float = NMS_IOU) -> list[tuple[float, np.ndarray, np.ndarray]]:
    """MediaPipe's WEIGHTED non-max suppression: each cluster's box and keypoints are the
    score-weighted mean of its members, with the best member's score."""
    order = np.argsort(-scores)
    scores, boxes, kps = scores[order], boxes[order], kps[order]
    alive = np.ones(len(scores), bool)
    out = []
    for i in range(len(scores)):
        if not alive[i]:
            continue
        members = alive & (_box_iou(boxes[i], boxes) > iou_threshold)
        members[i] = True
        w = scores[members][:, None]
        box = (boxes[members] * w).sum(0) / w.sum()
        kp = (kps[members] * w[:, :, None]).sum(0) / w.sum()
        out.append((float(scores[i]), box, kp))
        alive &= ~members
    return out


def square_tiles(image: np.ndarray, overlap: float = 0.25) -> list[tuple[int, int, int]]:
    """(x0, y0, side) of square tiles covering a frame along its long side, or none for a
    nearly square frame."""
    h, w = image.shape[:2]
    side, long = min(h, w), max(h, w)
    if long < 1.3 * side:
        return []
    n = int(np.ceil((long - side) / (side * (1 - overlap)))) + 1
    starts = np.linspace(0, long - side, n).round().astype(int)
    return [(int(s), 0, side) if w >= h else (0, int(s), side) for s in starts]


class PoseDetector:
    def __init__(self, model_path, threads: int | None = None, min_score: float = MIN_SCORE,
                 device: str = "cpu"):
        self.session = make_session(model_path, threads, device)
        inp = self.session.get_inputs()[0]
        self.input_name = inp.name
        self.nchw = inp.shape[1] == 3
        outs = self.session.get_outputs()
        # identify outputs by shape: regressors (...,12), scores (...,1)
        self.reg_name = next(o.name for o in outs if o.shape[-1] == 12)
        self.score_name = next(o.name for o in outs if o.shape[-1] == 1)
        self.min_score = min_score

    def letterbox(self, image: np.ndarray) -> tuple[np.ndarray, float, float, float]:
        """Scale the frame into 224x224 keeping aspect, padded with black; returns the
        model input and (scale, pad_x, pad_y) to map back."""
        h, w = image.shape[:2]
        scale = INPUT_SIZE / max(h, w)
        nw, nh = round(w * scale), round(h * scale)
        px, py = (INPUT_SIZE - nw) / 2, (INPUT_SIZE - nh) / 2
        m = np.array([[scale, 0, px], [0, scale, py]], np.float32)
        boxed = cv2.warpAffine(image, m, (INPUT_SIZE, INPUT_SIZE), flags=cv2.INTER_LINEAR,
                               borderMode=cv2.BORDER_CONSTANT, borderValue=(0, 0, 0))
        rgb = cv2.cvtColor(boxed, cv2.COLOR_BGR2RGB)
        x = rgb.astype(np.float32) * (2.0 / 255.0) - 1.0
        x = x.transpose(2, 0, 1)[None] if self.nchw else x[None]
        return np.ascontiguousarray(x), scale, px, py

    def detect(self, image: np.ndarray, tiles: bool | int = False) -> list[Detection]:
        """People in the frame. With ``tiles``, also look in overlapping square tiles along
        the frame's long side: a 224-px detector letterboxing a wide frame sees small
        people too small; a person found in the frame and in a tile keeps the frame's reading.
        ``tiles=True`` looks in every tile; an int looks in that one tile (modulo their
        number), so that a tracker can visit one per pass (each view costs a detector run)."""
        views = [(0, 0, image)]
        if tiles is not False:
            boxes = square_tiles(image)
            if boxes and tiles is not True:
                boxes = [boxes[int(tiles) % len(boxes)]]
            views += [(x0, y0, image[y0:y0 + s, x0:x0 + s]) for x0, y0, s in boxes]
        found: list[Detection] = []
        for x0, y0, view in views:
            x, scale, px, py = self.letterbox(view)
            reg, raw = self.session.run([self.reg_name, self.score_name], {self.input_name: x})
            for d in self.decode(reg.reshape(-1, 12), raw.reshape(-1), scale, px, py):
                if view is not image and d.score < TILE_MIN_SCORE:
                    continue
                d.face_box = d.face_box + [x0, y0, x0, y0]
                d.keypoints = d.keypoints + [x0, y0]
                # the whole frame's reading of a person wins (it is MediaPipe's); a tile adds
                # only people not found yet. A tile holding part of a body can also read a
                # person already found with another face box but the same hip centre.
                if not any(_box_iou(d.face_box, o.face_box[None])[0] > NMS_IOU
                           or np.hypot(*(d.keypoints[0] - o.keypoints[0]))
                           < 0.08 * o.region().size for o in found):
                    found.append(d)
        return found

    def decode(self, reg: np.ndarray, raw_scores: np.ndarray, scale: float, px: float,
               py: float) -> list[Detection]:
        scores = 1.0 / (1.0 + np.exp(-np.clip(raw_scores.astype(np.float64), -100, 100)))
        keep = scores >= self.min_score
        if not keep.any():
            return []
        reg, scores, anchors = reg[keep], scores[keep], ANCHORS[keep]
        # values are in 224-px units relative to the anchor centre (fixed anchor size 1)
        c = reg[:, 0:2] / INPUT_SIZE + anchors
        wh = reg[:, 2:4] / INPUT_SIZE
        boxes = np.concatenate([c - wh / 2, c + wh / 2], axis=1) * INPUT_SIZE
        kps = (reg[:, 4:12].reshape(-1, 4, 2) / INPUT_SIZE + anchors[:, None, :]) * INPUT_SIZE
        out = []
        for s, box, kp in weighted_nms(scores, boxes, kps):
            # undo the letterbox: model px -> image px
            box = (box - [px, py, px, py]) / scale
            kp = (kp - [px, py]) / scale
            out.append(Detection(score=s, face_box=box, keypoints=kp))
        return out
