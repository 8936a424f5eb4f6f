"""BlazePose landmark model: rotated crops of every person -> one batched ONNX Runtime call ->
33 keypoints (+6 auxiliary) per person in image pixels.

Follows MediaPipe's pose_landmark_by_roi graph: 256x256 RGB crop in [0, 1]; 39 x (x, y, z,
visibility, presence) in crop pixels with sigmoid on the last two; sub-pixel refinement from
the 64x64 heatmap (7x7 kernel, applied where the peak confidence is >= 0.5).
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from .regions import Region, region_from_points
from .runtime import make_session

INPUT_SIZE = 256
NUM_LANDMARKS = 39
REFINE_KERNEL = 7
REFINE_MIN_CONFIDENCE = 0.5


def sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-np.clip(x, -80, 80)))


@dataclass
class LandmarkResult:
    """Landmarks of N people. xy in image px (N, 39, 2); visibility, presence (N, 39);
    person presence score (N,); z in crop px, relative depth (N, 39)."""
    xy: np.ndarray
    z: np.ndarray
    visibility: np.ndarray
    presence: np.ndarray
    score: np.ndarray

    def next_region(self, i: int) -> Region:
        """Region for the next frame from auxiliary landmarks 33 (centre) and 34 (scale)."""
        return region_from_points(self.xy[i, 33], self.xy[i, 34])


def refine_from_heatmap(xy: np.ndarray, heatmap: np.ndarray) -> np.ndarray:
    """Refine (N, L, 2) crop-pixel landmarks with (N, H, W, L) heatmap logits: the sigmoid-
    weighted mean position in a 7x7 window, where the window's peak is confident enough.
    Vectorised over people and landmarks."""
    n, hh, hw, nl = heatmap.shape
    half = (REFINE_KERNEL - 1) // 2
    cc = np.floor(xy[..., 0] / INPUT_SIZE * hw).astype(int)  # (N, L)
    cr = np.floor(xy[..., 1] / INPUT_SIZE * hh).astype(int)
    off = np.arange(-half, half + 1)
    rows = cr[..., None] + off  # (N, L, K)
    cols = cc[..., None] + off
    valid = ((rows[..., :, None] >= 0) & (rows[..., :, None] < hh)
             & (cols[..., None, :] >= 0) & (cols[..., None, :] < hw))  # (N, L, K, K)
    r = np.clip(rows, 0, hh - 1)
    c = np.clip(cols, 0, hw - 1)
    ni = np.arange(n)[:, None, None, None]
    li = np.arange(nl)[None, :, None, None]
    conf = sigmoid(heatmap[ni, r[..., :, None], c[..., None, :], li]) * valid  # (N, L, K, K)
    total = conf.sum(axis=(2, 3))
    wr = (conf * r[..., :, None]).sum(axis=(2, 3))
    wc = (conf * c[..., None, :]).sum(axis=(2, 3))
    ok = (conf.max(axis=(2, 3)) >= REFINE_MIN_CONFIDENCE) & (total > 0) \
        & (cc >= 0) & (cc < hw) & (cr >= 0) & (cr < hh)
    out = xy.copy()
    safe_total = np.where(total > 0, total, 1.0)
    out[..., 0] = np.where(ok, wc / safe_total / hw * INPUT_SIZE, xy[..., 0])
    out[..., 1] = np.where(ok, wr / safe_total / hh * INPUT_SIZE, xy[..., 1])
    return out


class LandmarkModel:
    def __init__(self, model_path, threads: int | None = None, device: str = "cpu"):
        self.session = make_session(model_path, threads, device)
        inp = self.session.get_inputs()[0]
        self.input_name = inp.name
        self.nchw = inp.shape[1] == 3
        self.batched = not isinstance(inp.shape[0], int) or inp.shape[0] != 1
        outs = self.session.get_outputs()
        by_size = {}
        for o in outs:
            dims = [d for d in o.shape[1:] if isinstance(d, int)]
            by_size[int(np.prod(dims)) if dims else 0] = o
        self.lm_name = by_size[NUM_LANDMARKS * 5].name
        self.flag_name = by_size[1].name
        hm = by_size[64 * 64 * NUM_LANDMARKS]
        self.hm_name = hm.name
        self.hm_channels_first = hm.shape[1] == NUM_LANDMARKS

    def crops(self, image: np.ndarray, regions: list[Region]) -> np.ndarray:
        """(N, 3, 256, 256) or (N, 256, 256, 3) float32 RGB in [0, 1]."""
        batch = np.empty((len(regions), INPUT_SIZE, INPUT_SIZE, 3), np.uint8)
        for i, reg in enumerate(regions):
            cv2.warpAffine(image, reg.crop_matrix(INPUT_SIZE), (INPUT_SIZE, INPUT_SIZE),
                           dst=batch[i], flags=cv2.INTER_LINEAR,
                           borderMode=cv2.BORDER_CONSTANT, borderValue=(0, 0, 0))
        # BGR -> RGB and the layout change in one pass
        rgb = batch[..., ::-1]
        x = rgb.transpose(0, 3, 1, 2) if self.nchw else rgb
        return np.ascontiguousarray(x, dtype=np.float32) * np.float32(1.0 / 255.0)

    def infer(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        names = [self.lm_name, self.flag_name, self.hm_name]
        if self.batched or len(x) == 1:
            lm, flag, hm = self.session.run(names, {self.input_name: x})
        else:  # a batch-1 model: one call per person
            parts = [self.session.run(names, {self.input_name: x[i:i + 1]}) for i in range(len(x))]
            lm, flag, hm = (np.concatenate([p[k] for p in parts]) for k in range(3))
        return lm, flag, hm

    def run(self, image: np.ndarray, regions: list[Region]) -> LandmarkResult:
        n = len(regions)
        if n == 0:
            z = np.zeros((0, NUM_LANDMARKS))
            return LandmarkResult(np.zeros((0, NUM_LANDMARKS, 2)), z, z, z, np.zeros(0))
        lm, flag, hm = self.infer(self.crops(image, regions))
        return self.decode(lm, flag, hm, regions)

    def decode(self, lm, flag, hm, regions: list[Region]) -> LandmarkResult:
        n = len(regions)
        lm = lm.reshape(n, NUM_LANDMARKS, 5).astype(np.float64)
        hm = hm.reshape((n, NUM_LANDMARKS, 64, 64) if self.hm_channels_first
                        else (n, 64, 64, NUM_LANDMARKS))
        if self.hm_channels_first:
            hm = hm.transpose(0, 2, 3, 1)
        crop_xy = refine_from_heatmap(lm[..., :2], hm)
        # crop px -> image px with each region's affine map
        mats = np.stack([r.uncrop_matrix(INPUT_SIZE) for r in regions])  # (N, 2, 3)
        xy = np.einsum("nij,nlj->nli", mats[:, :, :2], crop_xy) + mats[:, None, :, 2]
        scale = np.array([r.size / INPUT_SIZE for r in regions])
        score = np.asarray(flag, np.float64).reshape(n)  # the model applies the sigmoid
        return LandmarkResult(xy=xy, z=lm[..., 2] * scale[:, None],
                              visibility=sigmoid(lm[..., 3]), presence=sigmoid(lm[..., 4]),
                              score=score)
