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
pose track, the onnxruntime and OpenCV versions).
"""

from __future__ import annotations

import hashlib
import json
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from vision.zones import RISKY

from .sequence import KNEE_L, KNEE_R

# -- stance plans (the atlas's body coordinates, reference cm; samples/render/sequence.py) -------
# 4th item: the therapist's yaw, or {"glide": True} (the changing foot slides there under load),
# {"lift": "L"|"R"} (that foot held up: standing on one foot).


def plans(shift: float = 0.0) -> dict[str, list]:
    """The stance plans; ``shift`` (cm) moves every place a little along the body, so that the
    report split's steps are not the development split's."""
    s = shift

    def at(x, y):
        return (x, y + s)

    return {
        # a step on each zone (the demo's plan, other places)
        "zones": [
            (at(4.5, 8), at(-4.5, 8), True),                      # upper paraspinals: safe
            (at(4.5, 8), at(0.0, 32), True),                      # right on the spine (L1-L2)
            (at(14.0, 16), at(0.0, 32), True),                    # left on the ribs
            (at(14.0, 16), at(-6.0, 30), True),                   # right on the right kidney
            (at(14.0, 16), at(-4.5, 12), False),                  # right back to safe, no hands
            (at(3.0, -7), at(-4.5, 12), True),                    # left on the neck
            (at(13.0, 47), at(-4.5, 12), True),                   # left on the gluteals: safe
            (at(13.0, 47), at(-14.0, 48), True),                  # right on the gluteals: safe
            (at(12.0, 72), at(-14.0, 48), True),                  # left on the hamstrings: safe
            (at(12.0, 72), KNEE_R, True),                         # right on the popliteal
        ],
        # glides: a foot sliding under load (down the hamstring, down the erector onto the
        # kidney, across onto the ribs), one-foot stances, full weight without hands. Places are
        # the foot's centre, the foot pointing to the head: its heel pad lies ~9.5 cm lower
        # and its ball ~5 cm higher, so the thoracic erector is safe only for y 6-12.5
        "glides": [
            (at(4.5, 8), at(-4.5, 8), True),                      # upper erectors: safe
            (at(13.0, 48), at(-4.5, 8), True),                    # left to the gluteals
            (at(13.0, 72), at(-4.5, 8), True, {"glide": True}),   # left glides down the thigh
            (at(13.0, 72), at(-4.5, 8), False),                   # full weight, no hands
            (at(13.0, 72), at(-4.5, 8), True, {"lift": "R"}),     # on the left foot alone
            (at(13.0, 72), at(-4.5, 22), True, {"glide": True}),  # right glides onto the kidney
            (at(13.0, 72), at(-4.5, 10), True),                   # right back up: safe
            (at(13.0, 72), at(-13.0, 10), True, {"glide": True}),  # right glides onto the ribs
            (at(13.0, 72), at(-13.0, 47), True),                  # right to the gluteals
            (at(13.0, 48), at(-13.0, 47), True, {"glide": True}),  # left glides back up: safe
        ],
        # a mixed plan: the spine high, the ribs on the right, the left kidney without hands,
        # the gluteals, the left knee
        "mixed": [
            (at(4.5, 10), at(-4.5, 10), True),                    # safe
            (at(0.0, 12), at(-4.5, 10), True),                    # left on the spine (T6)
            (at(0.0, 12), at(-15.0, 18), True),                   # right on the ribs
            (at(4.5, 10), at(-15.0, 18), True),                   # left back to safe
            (at(6.0, 29), at(-15.0, 18), False),                  # left on the left kidney
            (at(6.0, 29), at(-4.5, 9), True),                     # right to safe
            (at(13.0, 47), at(-4.5, 9), True),                    # left on the gluteals: safe
            (at(13.0, 47), at(-13.0, 47), True),                  # right on the gluteals: safe
            (KNEE_L, at(-13.0, 47), True),                        # left on the popliteal
        ],
    }


@dataclass(frozen=True)
class Session:
    name: str
    seed: int                # the look and the body
    camera: str              # an advisor candidate (samples/render/advise.py)
    plan: str
    shift: float = 0.0
    fps: float = 10.0

    def key(self) -> str:
        spec = json.dumps(asdict(self) | {"stances": plans(self.shift)[self.plan],
                                          "renderer": RENDERER_VERSION},
                          sort_keys=True, default=str)
        return hashlib.sha256(spec.encode()).hexdigest()[:12]


# bumped when the renderer draws the same session differently (a new cache entry)
RENDERER_VERSION = 3     # 2: raised hands turned onto the bars; 3: the bars' height in studio.yaml
PLAN_KW = {"hold_s": 1.3, "move_s": 0.4, "lead_s": 1.5, "glide_s": 2.0}

# development: the places and seeds the pipeline is tuned on (the demo is seed 0)
DEV_CAMERAS = ("head_ceiling_1.1", "head_ceiling_0.6", "corner_head_left", "corner_head_right",
               "head_wall_2.3", "left_wall_2.5")
# reported: other seeds, other places, the plans' places moved
REPORT_CAMERAS = ("foot_ceiling_1.1", "corner_foot_right", "right_wall_2.5", "corner_head_right",
                  "head_ceiling_1.1", "left_wall_2.0")


def suite(split: str = "dev") -> list[Session]:
    if split not in ("dev", "report"):
        raise ValueError(f"unknown split {split!r}: dev or report")
    seeds, cams, shift = ((1, 2, 3, 4, 5, 6), DEV_CAMERAS, 0.0) if split == "dev" else \
        ((101, 102, 103, 104, 105, 106), REPORT_CAMERAS, -1.5)
    names = ("zones", "glides", "mixed")
    out = []
    for i in range(12):
        seed, cam, plan = seeds[i % 6], cams[(i + i // 6) % 6], names[i % 3]
        out.append(Session(f"{split}{i:02d}_{plan}_{cam}_s{seed}", seed, cam, plan,
                           shift=shift))
    return out


def body_shape(seed: int) -> dict[str, float]:
    """A client far from the average: anny's phenotype spread wide (hip joints 0.45-0.75 of the
    shoulder spread among them), from the seed."""
    rng = np.random.default_rng(10_000 + seed)
    return {"height": float(rng.uniform(0.1, 0.9)), "weight": float(rng.uniform(0.15, 0.9)),
            "gender": float(rng.uniform(0.0, 1.0)), "muscle": float(rng.uniform(0.2, 0.8)),
            "proportions": float(rng.uniform(0.1, 0.9))}


# -- rendering and auditing -------------------------------------------------------------------
def cache_root() -> Path:
    from samples.registry import cache_dir
    return cache_dir() / "rendered"


def render(session: Session, root: Path | None = None) -> Path:
    """The session's folder (scene.mp4, truth.jsonl, studio.yaml, scene.truth.json), rendered
    once."""
    from . import scene as S
    from .advise import advised_camera
    from .sequence import write_sequence
    d = (root or cache_root()) / f"{session.name}-{session.key()}"
    if (d / "scene.truth.json").is_file():
        return d
    look = S.Look.from_seed(session.seed)
    look.client_shape = body_shape(session.seed)
    tmp = d.with_name(d.name + ".part")
    write_sequence(advised_camera(session.camera), tmp, seed=session.seed, fps=session.fps,
                   session=True, stances=plans(session.shift)[session.plan],
                   label=session.camera, plan_kw=PLAN_KW, look=look)
    tmp.rename(d)
    return d


def engine_track(d: Path, model: str | None = None) -> Path:
    """The pose engine (the audit's model, or ``model``) on the session's video, as a pose
    track, cached per onnxruntime and OpenCV version."""
    import cv2
    import onnxruntime

    from vision.pose.engine import AUDIT_MODEL
    from vision.pose.video import track_from_video
    from vision.posetrack import PoseTrackWriter
    from vision.studio import load_studio
    model = model or AUDIT_MODEL
    out = d / f"engine_{model}_ort{onnxruntime.__version__}_cv{cv2.__version__}.jsonl"
    if out.is_file():
        return out
    st = load_studio(d / "studio.yaml")
    header, frames, _ = track_from_video(d / "scene.mp4", model, st.table, st.table_head)
    tmp = out.with_suffix(".part")
    with PoseTrackWriter(tmp, header) as w:
        for fr in frames:
            w.write(fr)
    tmp.rename(out)
    return out


def audit(track: Path, studio: Path) -> dict:
    from vision.audit import audit_frames
    from vision.posetrack import iter_pose_track
    from vision.studio import load_studio
    header, frames = iter_pose_track(track)
    return audit_frames(header, frames, load_studio(studio), source=str(track)).model_dump()


# -- scoring ----------------------------------------------------------------------------------
def _iou(a0, a1, b0, b1) -> float:
    inter = max(0.0, min(a1, b1) - max(a0, b0))
    union = max(a1, b1) - min(a0, b0)
    return inter / union if union > 0 else 0.0


@dataclass
class Score:
    true_steps: int = 0
    found: int = 0
    zone_ok: int = 0
    danger: int = 0
    d_flagged: int = 0
    d_own: int = 0
    d_safe: int = 0
    d_unknown: int = 0
    d_missed: int = 0
    safe: int = 0
    safe_flagged: int = 0
    unknown: int = 0
    possible: int = 0
    detected: int = 0
    spurious: int = 0
    no_hands: int = 0
    no_hands_found: int = 0
    no_hands_false: int = 0
    minutes: float = 0.0
    read_safe: list = field(default_factory=list)   # (session, truth zone, t) of each

    def add(self, o: "Score") -> None:
        for k, v in asdict(o).items():
            if k == "read_safe":
                self.read_safe += o.read_safe
            else:
                setattr(self, k, getattr(self, k) + v)


def score(report: dict, truth: dict, name: str = "") -> Score:
    from samples.evaluate import compare, on_client
    tsteps = on_client(truth)
    det = report["steps"]
    pairs = sorted(((_iou(t["start_s"], t["end_s"], d["start_s"], d["end_s"]), i, j)
                    for i, t in enumerate(tsteps) for j, d in enumerate(det)
                    if t["foot"] == d["foot"]), reverse=True)
    match: dict[int, int] = {}
    used: set[int] = set()
    for iou, i, j in pairs:
        if iou < 0.3:
            break
        if i not in match and j not in used:
            match[i] = j
            used.add(j)
    s = Score(true_steps=len(tsteps), detected=len(det), spurious=len(det) - len(used),
              minutes=truth["duration_s"] / 60.0)
    for i, t in enumerate(tsteps):
        d = det[match[i]] if i in match else None
        z = None if d is None else d["zone"]
        if d is not None:
            s.found += 1
            s.zone_ok += z == t["zone"]
            s.unknown += z == "unknown"
            s.possible += bool(d.get("possible"))
        if t["hidden"]:
            continue
        if t["zone"] in RISKY:
            s.danger += 1
            if d is None:
                s.d_missed += 1
                continue
            s.d_flagged += z in RISKY
            s.d_own += z == t["zone"]
            s.d_unknown += z == "unknown"
            if z in ("safe", "off_body"):
                s.d_safe += 1
                s.read_safe.append((name, t["zone"], t["start_s"]))
        elif t["zone"] == "safe":
            s.safe += 1
            s.safe_flagged += d is not None and z in RISKY
    c = compare(report, truth)
    s.no_hands, s.no_hands_found, s.no_hands_false = c["no_hands"], c["no_hands_found"], \
        c["no_hands_false"]
    return s


INPUTS = ("video", "truth track", "truth, all seen")


def row(label: str, s: Score) -> str:
    f = lambda a, b: "–" if b == 0 else f"{a / b:.2f}"  # noqa: E731
    return (f"| {label} | {f(s.found, s.true_steps)} | {f(s.zone_ok, s.found)} | "
            f"{f(s.d_flagged, s.danger)} / {f(s.d_own, s.danger)} / {s.d_safe} / {s.d_unknown} / "
            f"{s.d_missed} | {f(s.safe_flagged, s.safe)} | {f(s.unknown, s.found)} | "
            f"{f(s.spurious, s.true_steps)} | {s.no_hands_found}/{s.no_hands} "
            f"(+{s.no_hands_false}; {s.no_hands_false / max(s.minutes / 10, 1e-9):.1f}/10 min) |")


HEAD = ("| session / input | step recall | zone accuracy | dangerous: flagged / own zone / read "
        "safe / unknown / missed | safe flagged | unknown | spurious per true step | no-hands "
        "found (+false) |\n| --- | --- | --- | --- | --- | --- | --- | --- |")


def run(split: str = "dev", only: int | None = None, echo=print, root: Path | None = None
        ) -> dict[str, Score]:
    """Render (cached), audit and score the split; prints a table per session and the totals;
    returns the totals per input."""
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
        tracks = {"video": engine_track(d), "truth track": d / "truth.jsonl",
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


# -- the pose engine's keypoint error (for vision.steps.KP_SIGMA_CM) ----------------------------
FOOT_POINTS = {"heel": (29, 30), "toe": (31, 32)}   # left, right
_TORSO = [11, 12, 24, 23]


def _torso_px(kp: np.ndarray) -> float:
    q = kp[_TORSO, :2]
    return float(np.linalg.norm((q[0] + q[1]) / 2 - (q[2] + q[3]) / 2))


def foot_errors(engine: Path, truth: Path) -> dict[str, np.ndarray]:
    """Per frame and foot where both see the point: the engine's heel and toe-tip error along
    and across the true foot's image direction, in cm at the client's torso scale (image px /
    (torso px / the atlas's 50.4 cm torso)). The engine's person is the one nearest the true
    therapist."""
    from vision.posetrack import iter_pose_track
    from vision.zones import default_atlas
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
                if ther[j, 2] >= 0.5 and est[j, 2] >= 0.5:
                    d = est[j, :2] - ther[j, :2]
                    out[name].append((d @ u / scale, d @ w / scale))
    return {k: np.asarray(v).reshape(-1, 2) for k, v in out.items()}


def keypoint_sigma(split: str = "dev", model: str | None = None, root: Path | None = None
                   ) -> dict[str, tuple[float, float]]:
    """1 sigma (along, across the foot) of the engine's heel and toe tip over the split, from
    the median absolute error (/ 0.674, the median of |N(0, 1)|), in cm at the torso scale."""
    from vision.pose.engine import AUDIT_MODEL
    errs: dict[str, list] = {"heel": [], "toe": []}
    for sess in suite(split):
        d = render(sess, root)
        e = foot_errors(engine_track(d, model or AUDIT_MODEL), d / "truth.jsonl")
        for k in errs:
            errs[k].append(e[k])
    return {k: tuple(round(float(np.median(np.abs(np.concatenate(v)[:, i])) / 0.674), 1)
                     for i in (0, 1)) for k, v in errs.items()}
