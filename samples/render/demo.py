"""The bundled demo session (samples/demo/): a ~20 s rendered session with a step in each zone.

python -m samples.render.demo [--out samples/demo] [--camera NAME]

Writes demo.mp4 (1280x720, 10 fps, mp4v: OpenCV's writer here has no H.264 encoder),
studio.yaml (bars, table and the true camera), truth.jsonl (both people's truth keypoints, a
pose track), scene.truth.json (every step with its zone, the no-hands intervals) and
manifest.json (sha256 of each file, the camera, the command). The render is deterministic: the
same command on the same package versions gives the same files.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import time
from pathlib import Path

from .cameras import ALL_CAMERAS, preset_camera
from .sequence import KNEE_R

DEMO_DIR = Path(__file__).resolve().parents[1] / "demo"
FILES = ("demo.mp4", "studio.yaml", "truth.jsonl", "scene.truth.json")
FPS = 10.0
SEED = 0
# the camera-advisor candidate the demo is seen from (docs/rendered-scenes.md, "Demo"): first of
# 15 in the advisor's ranking for the default studio, and the best of the four places measured
# on rendered sessions for dangerous steps found from video
CAMERA = "head_ceiling_1.1"
PLAN = {"hold_s": 1.3, "move_s": 0.4, "lead_s": 1.5}

# (left foot, right foot, hands on the bars[, therapist's yaw in degrees]); feet in the atlas's
# body coordinates (reference cm: x toward the client's left, y from the shoulder line toward
# the feet). The comment is the zone the atlas finds under the foot that moved (the truth file
# has the zones of the rendered bodies).
STANCES = [
    ((4.0, 10.0), (-4.0, 10.0), True),          # both on the upper paraspinals: safe
    ((4.0, 10.0), (0.0, 30.0), True),           # right on the spine
    ((13.0, 18.0), (0.0, 30.0), True),          # left on the ribs
    ((13.0, 18.0), (-6.0, 26.0), True),         # right on the right kidney
    ((13.0, 18.0), (-4.0, 10.0), False),        # right back to safe, hands off the bars
    ((3.0, -6.0), (-4.0, 10.0), True),          # left on the back of the neck
    ((14.0, 48.0), (-4.0, 10.0), True),         # left on the gluteals: safe
    ((14.0, 48.0), (-13.0, 50.0), True),        # right on the gluteals: safe
    ((12.0, 70.0), (-13.0, 50.0), True),        # left on the hamstrings: safe
    ((12.0, 70.0), KNEE_R, True),               # right on the back of the knee: popliteal
    # turned across the body (facing the client's left), arms down: the right heel on the
    # right sciatic notch (a foot facing the head end cannot load the notch alone; see docs)
    ((12.0, 70.0), (12.0, 52.0), False, 90.0),
]


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def make_demo(out: Path = DEMO_DIR, camera: str = CAMERA) -> dict:
    from .candidates import advised_camera
    from .sequence import write_sequence
    cam = preset_camera(camera) if camera in ALL_CAMERAS else advised_camera(camera)
    t0 = time.perf_counter()
    info = write_sequence(cam, out, seed=SEED, fps=FPS, session=True, stances=STANCES,
                          video_name="demo.mp4", label=camera, plan_kw=PLAN)
    truth = json.loads((out / "scene.truth.json").read_text())
    manifest = {
        "demo": 1,
        "source": "rendered by samples/render (anny 0.6.2 bodies, pyrender 0.1.45 on OSMesa)",
        "command": f"python -m samples.render.demo --camera {camera}",
        "camera": camera, "seed": SEED, "fps": FPS, "size": [cam.width, cam.height],
        "frames": info["frames"], "duration_s": truth["duration_s"],
        "zones": sorted({s["zone"] for s in truth["steps"]}),
        "sha256": {f: sha256(out / f) for f in FILES},
        "licence": "Apache-2.0 (ashiwatch); anny's body assets CC0-1.0",
    }
    (out / "manifest.json").write_text(json.dumps(manifest, indent=1) + "\n", encoding="utf-8")
    manifest["render_s"] = round(time.perf_counter() - t0, 1)
    return manifest


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m samples.render.demo")
    ap.add_argument("--out", type=Path, default=DEMO_DIR)
    ap.add_argument("--camera", default=CAMERA,
                    help="a preset or a camera-advisor candidate (default room)")
    args = ap.parse_args(argv)
    m = make_demo(args.out, args.camera)
    print(f"{args.out}: {m['frames']} frames, {m['duration_s']} s, zones {', '.join(m['zones'])} "
          f"({m['render_s']} s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
