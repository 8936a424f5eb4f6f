"""The rendered benchmark: the verdict from pixels, end to end, on a suite of rendered sessions.

``ashiwatch evaluate --rendered [--split dev|report]`` renders (once, cached outside the
repository) a suite of sessions: bodies and looks from a seed, with client shapes far apart
(anny's height, weight, proportions, muscle, gender), seen from the camera advisor's places,
through three stance plans (a step on each zone; long glides along the erector spinae with
one-foot stances and a moment of full weight without hands; a mixed plan). Each session is
audited three ways, as `ashiwatch audit` would: the video through the pose engine (heavy), the
renderer's truth track (hidden keypoints marked), and that track with every keypoint seen; and
scored against the session's truth:

- step recall: a true step is found by a detected step of the same foot with temporal IoU >= 0.3
  (matched greedily, best IoU first, each detected step used once);
- zone accuracy: found steps whose zone is the true zone (a "possible <zone>" counts with its
  zone);
- dangerous steps (true zone a danger zone, not hidden): flagged (found in any danger zone, sure
  or possible), in their own zone, read safe (found as safe or off the body), unknown, missed;
- safe steps flagged: true safe steps found in a danger zone;
- spurious steps per true step: detected steps matched to no true step;
- no-hands moments found, and false ones (samples.evaluate.compare's rule).

The ``dev`` split is what the pipeline is developed on; the ``report`` split has other seeds,
camera places and stance positions and is what docs/rendered-scenes.md reports. Renders and pose
tracks are cached under ``$ASHIWATCH_CACHE/rendered`` (keyed by the session's spec and, for the
pose track, the engine's source and the onnxruntime and OpenCV versions).

The sessions and their renders: samples/render/bench_suite.py; the scoring:
samples/render/bench_score.py.
"""

from __future__ import annotations

import hashlib
import json
import time
from pathlib import Path

import numpy as np

from .bench_score import HEAD, Score, row, score
from .bench_suite import render, suite


# -- auditing ---------------------------------------------------------------------------------
def engine_code_tag() -> str:
    """The pose engine's source (vision/pose/*.py), hashed: a cached track is made again when
    the engine's code changes, not only its libraries (a change to how readings are merged
    once went unseen behind tracks cached per library version)."""
    h = hashlib.sha256()
    for f in sorted((Path(__file__).resolve().parents[2] / "vision" / "pose").glob("*.py")):
        h.update(f.name.encode() + b"\0" + f.read_bytes())
    return h.hexdigest()[:8]


def engine_track(d: Path, model: str | None = None, feet: bool | None = None) -> Path:
    """The pose engine (the audit's model, or ``model``; with the feet model or not, by default
    as the engine is set for the session's studio: vision.pose.config.EngineConfig.reads_feet)
    on the session's video, as a pose track, cached per engine source (``engine_code_tag``),
    onnxruntime and OpenCV version and feet model."""
    import cv2
    import onnxruntime

    from vision.pose.engine import AUDIT_MODEL
    from vision.pose.video import track_from_video
    from vision.io.posetrack import PoseTrackWriter
    from vision.io.studio import load_studio
    from vision.pose.config import EngineConfig
    model = model or AUDIT_MODEL
    st = load_studio(d / "studio.yaml")
    feet = EngineConfig(table=st.table).reads_feet if feet is None else feet
    from models import model_info
    tag = f"_feet{model_info('feet')['sha256'][:8]}" if feet else ""
    if model.endswith("_feet"):   # built here (models.BUILT), not bundled: named by its file
        from models import model_path, sha256_file
        tag = f"_{sha256_file(model_path(model + '_engine'))[:8]}{tag}"
    out = d / (f"engine_{model}{tag}_code{engine_code_tag()}"
               f"_ort{onnxruntime.__version__}_cv{cv2.__version__}.jsonl")
    if out.is_file():
        return out
    header, frames, _ = track_from_video(d / "scene.mp4", model, st.table, st.table_head,
                                         feet=feet)
    tmp = out.with_suffix(".part")
    with PoseTrackWriter(tmp, header) as w:
        for fr in frames:
            w.write(fr)
    tmp.rename(out)
    return out


def audit(track: Path, studio: Path) -> dict:
    from vision.session import audit_frames
    from vision.io.posetrack import iter_pose_track
    from vision.io.studio import load_studio
    header, frames = iter_pose_track(track)
    return audit_frames(header, frames, load_studio(studio), source=str(track)).model_dump()


INPUTS = ("video", "truth track", "truth, all seen")


def run(split: str = "dev", only: int | None = None, echo=print, root: Path | None = None,
        feet: bool | None = None, model: str | None = None) -> dict[str, Score]:
    """Render (cached), audit and score the split (the video read by ``model``, default the
    audit's, with the feet model or not: ``engine_track``); prints a table per session and the totals; returns the totals per
    input."""
    from .evaluate import all_seen
    t0 = time.perf_counter()
    sessions = suite(split)[:only] if only else suite(split)
    totals = {k: Score() for k in INPUTS}
    echo(HEAD)
    for sess in sessions:
        t1 = time.perf_counter()
        d = render(sess, root)
        t_render = time.perf_counter() - t1
        truth = json.loads((d / "scene.truth.json").read_text())
        tracks = {"video": engine_track(d, model, feet=feet), "truth track": d / "truth.jsonl",
                  "truth, all seen": all_seen(d / "truth.jsonl")}
        for k, tr in tracks.items():
            sc = score(audit(tr, d / "studio.yaml"), truth, sess.name)
            totals[k].add(sc)
            echo(row(f"{sess.name} / {k}", sc))
        echo(f"|  | <!-- {sess.name}: render {t_render:.0f} s, all {time.perf_counter() - t1:.0f}"
             f" s --> | | | | | | | |")
    for k, s in totals.items():
        echo(row(f"**all {len(sessions)} / {k}**", s))
    for name, zone, t in totals["video"].read_safe:
        echo(f"read safe from video: {name} {zone} step at {t:.1f} s")
    echo(f"rendered benchmark ({split}, {len(sessions)} sessions): "
         f"{time.perf_counter() - t0:.0f} s")
    return totals


# -- the pose engine's keypoint error (for vision.safety.steps.KP_SIGMA_CM) ----------------------------
FOOT_POINTS = {"heel": (29, 30), "toe": (31, 32)}   # left, right
_TORSO = [11, 12, 24, 23]


def _torso_px(kp: np.ndarray) -> float:
    q = kp[_TORSO, :2]
    return float(np.linalg.norm((q[0] + q[1]) / 2 - (q[2] + q[3]) / 2))


def foot_errors(engine: Path, truth: Path) -> dict[str, np.ndarray]:
    """Per frame and foot where the truth sees the point and the engine's visibility passes the
    steps' gate (StepParams.min_vis): the engine's heel and toe-tip error along
    and across the true foot's image direction, in cm at the client's torso scale (image px /
    (torso px / the atlas's 50.4 cm torso)). The engine's person is the one nearest the true
    therapist."""
    from vision.io.posetrack import iter_pose_track
    from vision.safety.steps import StepParams
    from vision.safety.zones import default_atlas
    gate = StepParams().min_vis
    q = default_atlas().frame_quad
    ref_len = float(np.linalg.norm((q[0] + q[1]) / 2 - (q[2] + q[3]) / 2))
    _, tf = iter_pose_track(truth)
    _, ef = iter_pose_track(engine)
    out: dict[str, list] = {"heel": [], "toe": []}
    for t_fr, e_fr in zip(tf, ef):
        people = {p.id: p.kp for p in t_fr.people}
        if len(people) < 2 or not e_fr.people:
            continue
        client, ther = people[1], people[2]
        scale = _torso_px(client) / ref_len
        torso = ther[_TORSO, :2]
        est = min(e_fr.people, key=lambda p: float(np.linalg.norm(p.kp[_TORSO, :2] - torso,
                                                                  axis=1).mean())).kp
        for side in (0, 1):
            h, t = FOOT_POINTS["heel"][side], FOOT_POINTS["toe"][side]
            u = ther[t, :2] - ther[h, :2]
            n = float(np.linalg.norm(u))
            if n < 1.0:
                continue
            u /= n
            w = np.array([-u[1], u[0]])
            for name, j in (("heel", h), ("toe", t)):
                # the engine's point as the steps see it: at their visibility gate
                if ther[j, 2] >= 0.5 and est[j, 2] >= gate:
                    d = est[j, :2] - ther[j, :2]
                    out[name].append((d @ u / scale, d @ w / scale))
    return {k: np.asarray(v).reshape(-1, 2) for k, v in out.items()}


def keypoint_sigma(split: str = "dev", model: str | None = None, root: Path | None = None,
                   feet: bool = False) -> dict[str, tuple[float, float]]:
    """1 sigma (along, across the foot) of the engine's heel and toe tip over the split, from
    the median absolute error (/ 0.674, the median of |N(0, 1)|), in cm at the torso scale."""
    from vision.pose.engine import AUDIT_MODEL
    errs: dict[str, list] = {"heel": [], "toe": []}
    for sess in suite(split):
        d = render(sess, root)
        e = foot_errors(engine_track(d, model or AUDIT_MODEL, feet=feet), d / "truth.jsonl")
        for k in errs:
            errs[k].append(e[k])
    return {k: tuple(round(float(np.median(np.abs(np.concatenate(v)[:, i])) / 0.674), 1)
                     for i in (0, 1)) for k, v in errs.items()}
