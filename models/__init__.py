"""The bundled BlazePose GHUM ONNX models (Google MediaPipe, Apache-2.0; see NOTICE).

Runtime helpers only (standard library): where the files are, what the
manifest says about them, and whether a file matches its recorded sha256. The files are
produced by ``models/convert.py``; their specs are in ``manifest.json`` and ``docs/models.md``.
"""

from __future__ import annotations

import hashlib
import json
from functools import lru_cache
from pathlib import Path

MODELS_DIR = Path(__file__).resolve().parent
MANIFEST = MODELS_DIR / "manifest.json"

FILES = {
    "detector": "pose_detection.onnx",
    "lite": "pose_landmark_lite.onnx",
    "full": "pose_landmark_full.onnx",
    "heavy": "pose_landmark_heavy.onnx",
    # the same landmark models cut to the outputs the engine reads (no segmentation decoder,
    # no world landmarks): identical keypoints, about a third less work
    "lite_engine": "pose_landmark_lite_engine.onnx",
    "full_engine": "pose_landmark_full_engine.onnx",
    "heavy_engine": "pose_landmark_heavy_engine.onnx",
    # trained here on rendered studios (models/feet/): ankles, heels, toe tips from foot crops
    "feet": "feet.onnx",
    # heavy_engine with its six foot points' rows and heat-map channels re-fitted on rendered
    # studios (models/feet/head.py); the engine's model "heavy_feet". Not bundled: it measured
    # worse than the feet model on renders and than heavy on real footage (docs/models.md), so
    # it is made on the machine that wants it (BUILT) and is not in manifest.json
    "heavy_feet_engine": "pose_landmark_heavy_feet.onnx",
}
BUILT = {"heavy_feet_engine": "python -m models.feet.head data && python -m models.feet.head train"}
NAMES = ("detector", "lite", "full", "heavy")
LANDMARK_NAMES = ("lite", "full", "heavy")

__all__ = ["MODELS_DIR", "MANIFEST", "FILES", "BUILT", "ModelMissingError", "NAMES",
           "LANDMARK_NAMES", "model_path",
           "manifest", "model_info", "sha256_file", "verify"]


class ModelMissingError(FileNotFoundError):
    """A model file that is not in MODELS_DIR; the message says how to make it."""


def _check_name(name: str) -> str:
    if name not in FILES:
        raise KeyError(f"unknown model {name!r}; expected one of {', '.join(FILES)}")
    return name


def model_path(name: str) -> Path:
    """Path of the ONNX file for ``name`` ("detector", "lite", "full", "heavy")."""
    p = MODELS_DIR / FILES[_check_name(name)]
    if not p.is_file() and name in BUILT:
        raise ModelMissingError(
            f"model file {FILES[name]} is not bundled (it measured worse than the bundled ones, "
            f"docs/models.md); make it in {MODELS_DIR} with `{BUILT[name]}` (render extra)")
    if not p.is_file():
        raise ModelMissingError(
            f"model file {FILES[name]} is missing from {MODELS_DIR} "
            "(regenerate it with models/convert.py, see models/README.md)")
    return p


@lru_cache(maxsize=1)
def _manifest_cached(mtime_ns: int) -> dict:
    return json.loads(MANIFEST.read_text(encoding="utf-8"))


def manifest() -> dict:
    """The parsed ``manifest.json`` (a fresh copy each call)."""
    if not MANIFEST.is_file():
        raise FileNotFoundError(f"manifest.json is missing from {MODELS_DIR}")
    return json.loads(json.dumps(_manifest_cached(MANIFEST.stat().st_mtime_ns)))


def model_info(name: str) -> dict:
    """The manifest entry of one model (file, sha256, source, inputs, outputs, ...)."""
    return manifest()["models"][_check_name(name)]


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def verify(name: str) -> bool:
    """True when the file's sha256 equals the manifest's; raises FileNotFoundError when
    the file is missing."""
    return sha256_file(model_path(name)) == model_info(name)["sha256"]
