#!/usr/bin/env python
"""Reference keypoints and timings from MediaPipe's own BlazePose pipeline.

Run this ONLY with a separate interpreter that has ``mediapipe==0.10.21`` installed (it pins
numpy<2, protobuf<5, ...); mediapipe must never enter ashiwatch's own environments. See
``tests/golden/README.md``.

Sub-commands::

    python tests/golden/mediapipe_ref.py golden [--out DIR] [--no-multi]
        writes tests/golden/{single,multi}_camNN.json[.gz] from the pose2sim demo clips

    python tests/golden/mediapipe_ref.py time FRAMES.npy [--static] [--threads N] [--warmup N]
        times mediapipe's pipeline on uint8 BGR frames (F,H,W,3) from .npy/.npz and prints one
        JSON line (the interface ``ashiwatch bench`` relies on; keep it stable)

The graph is the one ``mp.solutions.pose.Pose`` runs (same binary graph, side packets and
calculator options). ``RefPose`` only additionally observes the graph's internal
``unfiltered_pose_landmarks`` stream, because the public ``pose_landmarks`` output drops
``presence`` in the visibility-smoothing step. With ``smooth_landmarks=False`` (and always in
image mode) the two streams carry identical x, y, z and visibility; ``golden`` re-checks this
against the stock ``Pose`` class on every image-mode frame and stores the largest difference
in the header.
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import json
import os
import statistics
import sys
import time
from pathlib import Path

os.environ.setdefault("GLOG_minloglevel", "2")  # quieter C++ logging; before the import

import cv2
import numpy as np
import mediapipe as mp
from mediapipe.calculators.tensor import inference_calculator_pb2
from mediapipe.python.solution_base import SolutionBase
from mediapipe.python.solutions import pose as mp_pose

REPO = Path(__file__).resolve().parents[2]
GOLDEN_DIR = Path(__file__).resolve().parent
MODEL_COMPLEXITY = 1  # the only complexity whose model ships inside the mediapipe wheel
MIN_DETECTION_CONFIDENCE = 0.5
MIN_TRACKING_CONFIDENCE = 0.5
IMAGE_STEP = 5
ROTATED_STEP = 10
GZIP_ABOVE = 200_000
ROTATIONS = {  # mode name -> cv2 rotate code name
    "rot90cw": "ROTATE_90_CLOCKWISE",
    "rot180": "ROTATE_180",
    "rot90ccw": "ROTATE_90_COUNTERCLOCKWISE",
}
LANDMARK_NAMES = [lm.name.lower() for lm in mp_pose.PoseLandmark]


class RefPose(SolutionBase):
    """``mp.solutions.pose.Pose`` (segmentation off) that also returns the unfiltered landmark
    stream (which keeps ``presence``) and can set XNNPACK's thread count."""

    def __init__(self, static_image_mode: bool, smooth_landmarks: bool = False,
                 threads: int | None = None):
        self._threads = threads
        super().__init__(
            binary_graph_path=mp_pose._BINARYPB_FILE_PATH,
            side_inputs={
                "model_complexity": MODEL_COMPLEXITY,
                "smooth_landmarks": smooth_landmarks and not static_image_mode,
                "enable_segmentation": False,
                "smooth_segmentation": False,
                "use_prev_landmarks": not static_image_mode,
            },
            calculator_params={
                "posedetectioncpu__TensorsToDetectionsCalculator.min_score_thresh":
                    MIN_DETECTION_CONFIDENCE,
                "poselandmarkbyroicpu__tensorstoposelandmarksandsegmentation__"
                "ThresholdingCalculator.threshold": MIN_TRACKING_CONFIDENCE,
            },
            outputs=["pose_landmarks", "unfiltered_pose_landmarks"])

    def _modify_calculator_options(self, config, calculator_params):
        super()._modify_calculator_options(config, calculator_params)
        if self._threads is None:
            return
        n = 0
        for node in config.node:
            if node.calculator.startswith("InferenceCalculator"):
                opts = node.options.Extensions[inference_calculator_pb2.InferenceCalculatorOptions.ext]
                opts.delegate.xnnpack.num_threads = int(self._threads)
                n += 1
        if n != 2:
            raise RuntimeError(f"expected 2 InferenceCalculator nodes, found {n}")

    def process(self, rgb: np.ndarray):
        return super().process(input_data={"image": rgb})


def landmarks_px(result, width: int, height: int):
    """33 x [x_px, y_px, visibility, presence] (rounded) or None when nobody was found."""
    if result.pose_landmarks is None:
        return None
    pub = result.pose_landmarks.landmark
    raw = result.unfiltered_pose_landmarks.landmark
    if len(pub) != 33 or len(raw) != 33:
        raise RuntimeError(f"unexpected landmark count {len(pub)}/{len(raw)}")
    return [[round(a.x * width, 1), round(a.y * height, 1), round(a.visibility, 3),
             round(b.presence, 3)] for a, b in zip(pub, raw)]


# ---------------------------------------------------------------------------------- golden

def _registry():
    sys.path.insert(0, str(REPO))
    from samples import registry  # stdlib only
    return registry


def read_frames(path: Path) -> np.ndarray:
    cap = cv2.VideoCapture(str(path))
    frames = []
    while True:
        ok, f = cap.read()
        if not ok:
            break
        frames.append(f)
    cap.release()
    if not frames:
        raise RuntimeError(f"could not decode {path}")
    return np.stack(frames)


def _stock_diff(stock_result, ref_result, w, h) -> float:
    """Largest |difference| in px (x, y) / visibility between stock Pose and RefPose."""
    a, b = stock_result.pose_landmarks, ref_result.pose_landmarks
    if (a is None) != (b is None):
        return float("inf")
    if a is None:
        return 0.0
    return max(max(abs(p.x - q.x) * w, abs(p.y - q.y) * h, abs(p.visibility - q.visibility))
               for p, q in zip(a.landmark, b.landmark))


def golden_clip(demo: str, cam: int, rotated: bool) -> dict:
    registry = _registry()
    package, version = registry.POSE2SIM
    member = f"Pose2Sim/Demo_{demo}/videos/cam{cam:02d}.mp4"
    video = registry.pose2sim_video(demo, cam)
    frames = read_frames(video)
    n, h, w = frames.shape[:3]
    rgb = [cv2.cvtColor(f, cv2.COLOR_BGR2RGB) for f in frames]
    modes: dict[str, dict] = {}

    # image mode, every IMAGE_STEP-th frame; stock Pose alongside as a cross-check
    out, worst = {}, 0.0
    with RefPose(static_image_mode=True) as ref, mp_pose.Pose(
            static_image_mode=True, model_complexity=MODEL_COMPLEXITY,
            enable_segmentation=False) as stock:
        for i in range(0, n, IMAGE_STEP):
            r = ref.process(rgb[i])
            worst = max(worst, _stock_diff(stock.process(rgb[i]), r, w, h))
            out[str(i)] = landmarks_px(r, w, h)
    modes["image"] = {
        "desc": f"static_image_mode=True on every {IMAGE_STEP}th original frame; "
                "pixels of the original frame",
        "image_size": [w, h], "frames": out}

    if rotated:
        for name, code in ROTATIONS.items():
            out = {}
            with RefPose(static_image_mode=True) as ref:
                for i in range(0, n, ROTATED_STEP):
                    img = cv2.rotate(rgb[i], getattr(cv2, code))
                    out[str(i)] = landmarks_px(ref.process(img), img.shape[1], img.shape[0])
            rw, rh = (h, w) if name != "rot180" else (w, h)
            modes[name] = {
                "desc": f"static_image_mode=True on every {ROTATED_STEP}th frame rotated with "
                        f"cv2.rotate(frame, cv2.{code}); pixels of the rotated image",
                "rotate": code, "image_size": [rw, rh], "frames": out}

    out = {}
    with RefPose(static_image_mode=False, smooth_landmarks=False) as ref:
        for i in range(n):
            out[str(i)] = landmarks_px(ref.process(rgb[i]), w, h)
    modes["video"] = {
        "desc": "static_image_mode=False, smooth_landmarks=False over all frames in order "
                "(detector on first frame / after loss, then ROI tracking); pixels of the "
                "original frame",
        "image_size": [w, h], "frames": out}

    header = {
        "mediapipe": mp.__version__,
        "opencv": cv2.__version__,
        "numpy": np.__version__,
        "api": "mediapipe.solutions.pose graph (pose_landmark_cpu.binarypb), "
               "enable_segmentation=False",
        "model_complexity": MODEL_COMPLEXITY,
        "min_detection_confidence": MIN_DETECTION_CONFIDENCE,
        "min_tracking_confidence": MIN_TRACKING_CONFIDENCE,
        "source": {"package": package, "version": version, "member": member,
                   "mp4_sha256": hashlib.sha256(video.read_bytes()).hexdigest(),
                   "licence": "BSD-3-Clause (pose2sim); only keypoints stored, no frames"},
        "frame_size": [w, h],
        "n_frames": n,
        "fps": cv2.VideoCapture(str(video)).get(cv2.CAP_PROP_FPS),
        "decoded_frame_md5": [hashlib.md5(f.tobytes()).hexdigest() for f in frames],
        "input": "frames decoded with cv2.VideoCapture (BGR) then cv2.cvtColor BGR2RGB",
        "columns": ["x_px", "y_px", "visibility", "presence"],
        "pixel_convention": "x_px = landmark.x * image_width, y_px = landmark.y * "
                            "image_height (MediaPipe normalized coords; no half-pixel shift)",
        "rounding": "x_px,y_px to 0.1 px; visibility,presence to 0.001",
        "presence_source": "graph stream unfiltered_pose_landmarks (public output drops it); "
                           "x,y,visibility from pose_landmarks",
        "stock_pose_max_abs_diff": round(worst, 6),
        "landmark_names": LANDMARK_NAMES,
        "null_means": "no person found in that frame",
        "command": "python tests/golden/mediapipe_ref.py golden",
    }
    return {"header": header, "modes": modes}


def write_json(obj: dict, stem: Path) -> Path:
    data = json.dumps(obj, separators=(",", ":")).encode()
    for old in (stem.with_suffix(".json"), stem.with_suffix(".json.gz")):
        old.unlink(missing_ok=True)
    if len(data) > GZIP_ABOVE:
        path = stem.with_suffix(".json.gz")
        path.write_bytes(gzip.compress(data, 9, mtime=0))
    else:
        path = stem.with_suffix(".json")
        path.write_bytes(data)
    return path


def _torso(kp: np.ndarray) -> float:
    return float(np.linalg.norm((kp[11, :2] + kp[12, :2]) / 2 - (kp[23, :2] + kp[24, :2]) / 2))


def _unrotate(kp: np.ndarray, mode: str, w: int, h: int) -> np.ndarray:
    """Rotated-image pixel coords back to original-frame coords (w,h = original size)."""
    x, y = kp[:, 0], kp[:, 1]
    if mode == "rot90cw":      # x' = h - y, y' = x
        return np.stack([y, h - x], 1)
    if mode == "rot180":       # x' = w - x, y' = h - y
        return np.stack([w - x, h - y], 1)
    return np.stack([w - y, x], 1)  # rot90ccw: x' = y, y' = w - x


def summarize(name: str, obj: dict) -> None:
    w, h = obj["header"]["frame_size"]
    img = obj["modes"]["image"]["frames"]
    print(f"{name}: {w}x{h}, stock-vs-ref max diff {obj['header']['stock_pose_max_abs_diff']}")
    for mode, m in obj["modes"].items():
        fr = m["frames"]
        kps = {int(k): np.array(v, float) for k, v in fr.items() if v is not None}
        iw, ih = m["image_size"]
        torso = [_torso(k) for k in kps.values()]
        inside = np.mean([np.mean((k[:, 0] >= 0) & (k[:, 0] <= iw) & (k[:, 1] >= 0)
                                  & (k[:, 1] <= ih)) for k in kps.values()]) if kps else 0
        line = (f"  {mode:9s} found {len(kps):3d}/{len(fr):3d}  torso "
                f"{np.mean(torso) if torso else float('nan'):6.1f}px "
                f"(min {min(torso) if torso else float('nan'):5.1f})  inside {inside:.2f}")
        missing = sorted(int(k) for k, v in fr.items() if v is None)
        if missing:
            line += f"  nobody at {missing}"
        # agreement with image mode on the same original frames (median px / torso)
        errs = []
        for i, k in kps.items():
            ref = img.get(str(i))
            if mode == "image" or ref is None:
                continue
            ref = np.array(ref, float)
            xy = k[:, :2] if mode == "video" else _unrotate(k, mode, w, h)
            errs.append(np.median(np.linalg.norm(xy - ref[:, :2], axis=1)) / _torso(ref))
        if errs:
            line += f"  vs image: median err {np.median(errs):.3f} torso (max {max(errs):.3f})"
        if mode == "video" and len(kps) > 1:
            idx = sorted(kps)
            mids = {i: (kps[i][23, :2] + kps[i][24, :2]) / 2 for i in idx}
            jumps = [(np.linalg.norm(mids[b] - mids[a]), b) for a, b in zip(idx, idx[1:])
                     if b == a + 1]
            if jumps:
                j, at = max(jumps)
                line += f"  max hip-mid jump {j:.1f}px @ {at}"
                line += f"  hip-mid x range {min(m[0] for m in mids.values()):.0f}.." \
                        f"{max(m[0] for m in mids.values()):.0f}"
        print(line)


def cmd_golden(args) -> int:
    out_dir = Path(args.out)
    out_dir.mkdir(parents=True, exist_ok=True)
    jobs = [("SinglePerson", c, True) for c in range(1, 5)]
    if not args.no_multi:
        jobs += [("MultiPerson", c, False) for c in range(1, 5)]
    total = 0
    for demo, cam, rotated in jobs:
        t0 = time.perf_counter()
        obj = golden_clip(demo, cam, rotated)
        stem = out_dir / f"{'single' if demo == 'SinglePerson' else 'multi'}_cam{cam:02d}"
        path = write_json(obj, stem)
        total += path.stat().st_size
        print(f"wrote {path.relative_to(REPO) if path.is_relative_to(REPO) else path} "
              f"({path.stat().st_size} B, {time.perf_counter() - t0:.1f}s)")
        summarize(stem.name, obj)
        sys.stdout.flush()
    print(f"total {total} B")
    return 0


# ------------------------------------------------------------------------------------ time

def load_frames(path: str) -> np.ndarray:
    if path.endswith(".npz"):
        with np.load(path) as z:
            key = "frames" if "frames" in z.files else z.files[0]
            frames = z[key]
    else:
        frames = np.load(path, allow_pickle=False)
    if frames.dtype != np.uint8 or frames.ndim != 4 or frames.shape[-1] != 3:
        raise SystemExit(f"expected uint8 BGR frames (F,H,W,3), got {frames.dtype} "
                         f"{frames.shape}")
    return frames


def cmd_time(args) -> int:
    frames = load_frames(args.frames)
    f = len(frames)
    with RefPose(static_image_mode=args.static, smooth_landmarks=False,
                 threads=args.threads) as pose:
        # warm-up (model load, XNNPACK packing), then reset so the timed run starts fresh
        # (video mode: person detector on the first timed frame, then tracking)
        for i in range(min(args.warmup, f)):
            pose.process(cv2.cvtColor(frames[i], cv2.COLOR_BGR2RGB))
        pose.reset()
        times, found = [], 0
        for fr in frames:
            t0 = time.perf_counter()
            r = pose.process(cv2.cvtColor(fr, cv2.COLOR_BGR2RGB))
            times.append((time.perf_counter() - t0) * 1000.0)
            found += r.pose_landmarks is not None
    times_sorted = sorted(times)
    p95 = times_sorted[min(len(times) - 1, int(round(0.95 * (len(times) - 1))))]
    print(json.dumps({
        "mediapipe": mp.__version__,
        "frames": f,
        "ms_per_frame": round(statistics.fmean(times), 3),
        "ms_p50": round(statistics.median(times), 3),
        "ms_p95": round(p95, 3),
        "people_found_frac": round(found / f, 4),
        "mode": "image" if args.static else "video",
        "model_complexity": MODEL_COMPLEXITY,
        "threads": args.threads if args.threads is not None else "default",
        "warmup": min(args.warmup, f),
        "image_size": [int(frames.shape[2]), int(frames.shape[1])],
        "timed": "cv2.cvtColor BGR2RGB + Pose.process per frame",
    }))
    return 0


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    g = sub.add_parser("golden", help="write golden keypoint files")
    g.add_argument("--out", default=str(GOLDEN_DIR))
    g.add_argument("--no-multi", action="store_true", help="skip the MultiPerson clips")
    t = sub.add_parser("time", help="time mediapipe on uint8 BGR frames from .npy/.npz")
    t.add_argument("frames")
    t.add_argument("--static", action="store_true", help="image mode (detector every frame)")
    t.add_argument("--threads", type=int, default=None,
                   help="XNNPACK threads for both models (default: mediapipe's default)")
    t.add_argument("--warmup", type=int, default=5)
    args = ap.parse_args(argv)
    return cmd_golden(args) if args.cmd == "golden" else cmd_time(args)


if __name__ == "__main__":
    sys.exit(main())
