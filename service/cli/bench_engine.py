"""Speed of the pose engine, measured against MediaPipe's own pipeline and TFLite's XNNPACK in
the same run, on the same 1280x720 frames (real two-person footage from a registry package).

MediaPipe runs in its own virtual environment (its pins would break ours), through
tests/golden/mediapipe_ref.py, on the very frames timed here (saved as .npy).
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np

from samples.registry import cache_dir, npm_file, pose2sim_video

from vision.io.frames import FrameSource
from vision.pose.engine import EngineConfig, PoseEngine

REPO = Path(__file__).resolve().parents[2]
MEDIAPIPE_REF = REPO / "tests" / "golden" / "mediapipe_ref.py"
MP_VERSION = "0.10.21"
NPM_POSE = ("@mediapipe/pose", "0.5.1675469404")


def letterbox(frame: np.ndarray, w: int = 1280, h: int = 720) -> np.ndarray:
    s = min(w / frame.shape[1], h / frame.shape[0])
    nw, nh = round(frame.shape[1] * s), round(frame.shape[0] * s)
    out = np.zeros((h, w, 3), np.uint8)
    x0, y0 = (w - nw) // 2, (h - nh) // 2
    out[y0:y0 + nh, x0:x0 + nw] = cv2.resize(frame, (nw, nh), interpolation=cv2.INTER_AREA)
    return out


def two_person_clip(dest: Path, frames_per_cam: int = 100, cams=(1, 2, 3, 4)) -> Path:
    """Write the MultiPerson clips, letterboxed to 1280x720, as one 30 fps mp4."""
    w = cv2.VideoWriter(str(dest), cv2.VideoWriter_fourcc(*"mp4v"), 30.0, (1280, 720))
    for cam in cams:
        cap = cv2.VideoCapture(str(pose2sim_video("MultiPerson", cam)))
        for _ in range(frames_per_cam):
            ok, f = cap.read()
            if not ok:
                break
            w.write(letterbox(f))
        cap.release()
    w.release()
    return dest


@dataclass
class EngineRun:
    threads: int
    frames: int = 0
    person_frames: int = 0  # people reported, summed over frames
    inferred: int = 0  # landmark crops actually run
    feet_people: int = 0  # people whose feet the feet model re-read
    feet_s: float = 0.0
    wall_s: float = 0.0
    stage_ms: dict = field(default_factory=dict)  # mean per frame

    @property
    def fps(self) -> float:
        return self.frames / self.wall_s

    @property
    def ms_per_person_frame(self) -> float:
        return self.wall_s * 1e3 / max(self.person_frames, 1)

    @property
    def feet_ms_per_person_frame(self) -> float:
        """The feet model's cost (crops and both passes) per person it re-read."""
        return self.feet_s * 1e3 / max(self.feet_people, 1)


def run_engine(clip: Path, threads: int, model: str = "full") -> EngineRun:
    engine = PoseEngine(EngineConfig(model=model, threads=threads))
    run = EngineRun(threads=threads)
    sums = dict(decode=0.0, detector=0.0, crops=0.0, landmarks=0.0, feet=0.0, other=0.0)
    with FrameSource(clip) as src:
        it = iter(src)
        # warm-up outside the clock: first ONNX calls allocate
        engine.process(np.zeros((720, 1280, 3), np.uint8), 0.0)
        engine.reset()
        t_start = time.perf_counter()
        while True:
            t0 = time.perf_counter()
            try:
                t, frame = next(it)
            except StopIteration:
                break
            t1 = time.perf_counter()
            res = engine.process(frame, t)
            t2 = time.perf_counter()
            tm = res.times
            sums["decode"] += t1 - t0
            sums["detector"] += tm.detector_ms / 1e3
            sums["crops"] += tm.crops_ms / 1e3
            sums["landmarks"] += tm.landmarks_ms / 1e3
            sums["feet"] += tm.feet_ms / 1e3
            sums["other"] += (t2 - t1) - (tm.detector_ms + tm.crops_ms + tm.landmarks_ms
                                          + tm.feet_ms) / 1e3
            run.feet_people += tm.feet_people
            run.feet_s += tm.feet_ms / 1e3
            run.frames += 1
            run.person_frames += len(res.frame.people)
            run.inferred += tm.people_inferred
        run.wall_s = time.perf_counter() - t_start
    run.stage_ms = {k: v * 1e3 / max(run.frames, 1) for k, v in sums.items()}
    return run


def _time_calls(fn, n: int) -> float:
    """Median milliseconds of ``fn()`` over n calls after 5 warm-ups."""
    for _ in range(5):
        fn()
    ts = []
    for _ in range(n):
        t0 = time.perf_counter()
        fn()
        ts.append((time.perf_counter() - t0) * 1e3)
    return statistics.median(ts)


def landmark_model_times(frames: np.ndarray, model: str = "full", n: int = 50) -> dict:
    """The landmark model alone on one 256x256 crop: ONNX Runtime vs TFLite XNNPACK."""
    from models import model_path

    from vision.pose.landmarks import LandmarkModel
    from vision.pose.regions import Region

    crop_region = Region(640, 360, 600, 0.0)
    out = {}
    for threads in (1, 2):
        # the engine's graph (keypoint outputs only) and the complete converted graph
        for tag, name in (("ort", f"{model}_engine"), ("ort_complete", model)):
            lm = LandmarkModel(model_path(name), threads)
            x = lm.crops(frames[0], [crop_region])
            out[f"{tag}_{threads}t_ms"] = _time_calls(lambda: lm.infer(x), n)
            x2 = np.concatenate([x, lm.crops(frames[-1], [crop_region])])
            out[f"{tag}_{threads}t_batch2_ms"] = _time_calls(lambda: lm.infer(x2), n)
    try:
        from ai_edge_litert.interpreter import Interpreter
    except ImportError:
        out["xnnpack_note"] = "ai-edge-litert not installed (pip install -e '.[dev]')"
        return out
    tfl = npm_file(*NPM_POSE, f"pose_landmark_{model}.tflite")
    x_nhwc = np.ascontiguousarray(x.transpose(0, 2, 3, 1)) if x.shape[1] == 3 else x
    for threads in (1, 2):
        it = Interpreter(model_path=str(tfl), num_threads=threads)
        it.allocate_tensors()
        idx = it.get_input_details()[0]["index"]

        def call():
            it.set_tensor(idx, x_nhwc)
            it.invoke()
        out[f"xnnpack_{threads}t_ms"] = _time_calls(call, n)
    return out


def mediapipe_python(explicit: str | None = None, create: bool = True) -> str | None:
    """A python with mediapipe==0.10.21: given, found in the cache, or made there."""
    if explicit:
        return explicit
    venv = cache_dir() / f"mediapipe-{MP_VERSION}-venv"
    py = venv / "bin" / "python"
    if py.exists():
        return str(py)
    if not create:
        return None
    print(f"creating {venv} with mediapipe=={MP_VERSION} (once; it stays out of our "
          f"environment)", file=sys.stderr)
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    r = subprocess.run([str(py), "-m", "pip", "install", "-q", f"mediapipe=={MP_VERSION}"],
                       capture_output=True, text=True)
    if r.returncode != 0:
        print(f"mediapipe install failed: {r.stderr[-400:]}", file=sys.stderr)
        return None
    return str(py)


def mediapipe_times(frames: np.ndarray, python: str) -> dict | None:
    with tempfile.TemporaryDirectory() as tmp:
        npy = Path(tmp) / "frames.npy"
        np.save(npy, frames)
        env = dict(os.environ, PYTHONPATH=str(REPO))
        r = subprocess.run([python, str(MEDIAPIPE_REF), "time", str(npy)], capture_output=True,
                           text=True, env=env)
    lines = [ln for ln in r.stdout.splitlines() if ln.startswith("{")]
    if r.returncode != 0 or not lines:
        print(f"mediapipe timing failed: {r.stderr[-400:]}", file=sys.stderr)
        return None
    return json.loads(lines[-1])


def read_frames(clip: Path, n: int) -> np.ndarray:
    out = []
    with FrameSource(clip) as src:
        for _, f in src:
            out.append(f)
            if len(out) >= n:
                break
    return np.stack(out)
