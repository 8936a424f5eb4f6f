"""python -m samples.render --camera NAME --out DIR [--seed N] [--frames N] [--fps F] [--session]"""

from __future__ import annotations

import argparse
from pathlib import Path

from .cameras import ALL_CAMERAS as CAMERAS
from .room import DEFAULT_ROOM


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m samples.render",
                                 description="Render an Ashiatsu scene with known keypoints.")
    from .candidates import candidate_places
    advised = [c.name for c in candidate_places(DEFAULT_ROOM)]
    ap.add_argument("--camera", choices=sorted(CAMERAS) + advised, default="tilted40",
                    help="a preset, or a camera-advisor candidate (default room)")
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--frames", type=int, default=12)
    ap.add_argument("--fps", type=float, default=10.0)
    ap.add_argument("--session", action="store_true",
                    help="a step on each zone (~1 s per stance; --frames ignored), with "
                         "scene.truth.json for samples.render.evaluate")
    args = ap.parse_args(argv)
    from .sequence import write_sequence
    camera = args.camera
    if camera not in CAMERAS:
        from .candidates import advised_camera
        camera = advised_camera(camera)
    info = write_sequence(camera, args.out, args.frames, args.seed, args.fps, args.session,
                          label=args.camera)
    print(f"{args.out}: {info['frames']} frames (scene.mp4, truth.jsonl, studio.yaml) in "
          f"{info['seconds']:.1f} s, {info['render_s_per_frame']:.2f} s/frame")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
