"""The camera-placement advisor: render the studio from candidate camera places and rank them.

``ashiwatch advise studio.yaml [--out DIR] [--candidates NAME,...]`` (service/cli/advise.py)
or ``python -m samples.render.advise studio.yaml``.

The studio file's optional ``room:`` block describes the real studio (defaults: the rendered
studio of docs/rendered-scenes.md)::

    room:
      table: {length: 1.9, width: 0.72, height: 0.65}   # m; height = the table top
      bars: {height: 2.6, spread: 0.5}                   # optional: default at the raised hands
      ceiling: 3.0
      walls: {head: 1.5, foot: 1.5, left: 2.2, right: 2.2}  # free floor from the table to each wall
      obstacles:                                         # optional: boxes in the way (lamp, shelf)
        - {centre: [0.6, 0.2, 1.9], size: [0.3, 0.3, 0.2]}

Each candidate is aimed at, and given the lens (60-100 degrees horizontal) that frames, the
table top and the standing therapist up to the bars; then two typical moments are rendered (the
therapist on the client's back, arms up to the bars: both feet on the upper back, and a step
apart) after one of the client alone on the table, and each view is scored on what the safety
core needs: the client's four torso points seen (depth test) and large enough, the therapist's
heels and toe tips seen and the foot's size in pixels, the raised hands inside the frame, the
obliqueness of the view onto the back (parallax), and whether the pose engine finds both people.

The room block: samples/render/room_file.py; the candidate places and their aim:
samples/render/candidates.py; the score: samples/render/view_score.py.
"""

from __future__ import annotations

import argparse
import json
import math
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from vision.io.posetrack import Person

from .candidates import Candidate, aim, candidate_places
from .cameras import HEIGHT, WIDTH
from .posing import Look, Step, place_client, place_therapist
from .room import Room, bars_world
from .room_file import AdviseError, load_room
from .scene import Renderer, Shot, visibility
from .sequence import CLIENT_ID, THERAPIST_ID, beside_table, studio_in_image
from .view_score import WEIGHTS, ViewScore, engine_check, score_view, view_measures

# -- the moments rendered ---------------------------------------------------------------------
# (left foot, right foot) in the atlas's body coordinates (reference cm), arms up to the bars
MOMENTS = [((4.0, 10.0), (-4.0, 10.0)), ((13.0, 18.0), (0.0, 30.0))]


@dataclass
class Scene:
    room: Room
    look: Look
    client: object
    alone: object              # the therapist beside the table (the client alone on it)
    therapists: list           # one per MOMENTS
    bars: np.ndarray


def build_scene(room: Room, seed: int = 0) -> Scene:
    look = Look.from_seed(seed)
    client = place_client(look, room)
    ths = [place_therapist(client, Step(("body", *lf), ("body", *rf)), look)
           for lf, rf in MOMENTS]
    alone = beside_table(place_therapist(client, Step(("body", *MOMENTS[0][0]),
                                                          ("body", *MOMENTS[0][1]),
                                                          arms_up=False), look), room)
    return Scene(room, look, client, alone, ths, bars_world(ths[0], room))


# -- pictures ---------------------------------------------------------------------------------
def picture(shot: Shot, people: list[Person], title: str) -> np.ndarray:
    import cv2

    from vision.pose.draw import draw_people
    img = cv2.cvtColor(shot.color, cv2.COLOR_RGB2BGR)
    clipped = [Person(id=p.id, kp=np.column_stack([np.clip(p.kp[:, :2], -5000, 5000),
                                                    p.kp[:, 2]])) for p in people]
    draw_people(img, clipped, min_visibility=0.5,
                label={CLIENT_ID: "client", THERAPIST_ID: "therapist"})
    cv2.putText(img, title, (12, 32), cv2.FONT_HERSHEY_SIMPLEX, 0.9, (0, 0, 0), 4, cv2.LINE_AA)
    cv2.putText(img, title, (12, 32), cv2.FONT_HERSHEY_SIMPLEX, 0.9, (255, 255, 255), 2,
                cv2.LINE_AA)
    return img


def contact_sheet(images: list[np.ndarray], labels: list[str], cols: int = 4,
                  thumb_w: int = 400) -> np.ndarray:
    import cv2
    h = round(thumb_w * images[0].shape[0] / images[0].shape[1])
    rows = math.ceil(len(images) / cols)
    sheet = np.full((rows * (h + 30), cols * thumb_w, 3), 255, np.uint8)
    for i, (img, text) in enumerate(zip(images, labels)):
        r, c = divmod(i, cols)
        y, x = r * (h + 30), c * thumb_w
        sheet[y + 30:y + 30 + h, x:x + thumb_w] = cv2.resize(img, (thumb_w, h),
                                                             interpolation=cv2.INTER_AREA)
        cv2.putText(sheet, text, (x + 6, y + 21), cv2.FONT_HERSHEY_SIMPLEX, 0.5, (0, 0, 0), 1,
                    cv2.LINE_AA)
    return sheet


# -- the run ----------------------------------------------------------------------------------
def select(cands: list[Candidate], names: list[str] | None) -> list[Candidate]:
    """The candidates named (exactly or by a name prefix); all when ``names`` is empty."""
    wanted = [n for n in (names or []) if n]
    if not wanted:
        return cands
    known = {c.name for c in cands}
    unknown = [n for n in wanted if not any(k == n or k.startswith(n) for k in known)]
    if unknown:
        raise AdviseError(f"unknown candidate(s) {', '.join(unknown)}; known: "
                          f"{', '.join(sorted(known))}")
    return [c for c in cands if any(c.name == n or c.name.startswith(n) for n in wanted)]


def advise(room: Room, out: Path | None = None, names: list[str] | None = None,
           engine: bool = True, seed: int = 0, width: int = WIDTH, height: int = HEIGHT,
           candidates: list[Candidate] | None = None, log=print) -> list[ViewScore]:
    """Render, score and rank the candidates (best first); with ``out``, write a picture of each
    view, contact_sheet.png and advice.json there."""
    import cv2

    cands = select(candidates if candidates is not None else candidate_places(room), names)
    # candidates without a target are aimed and given a lens here
    cands = [aim(c, room, width, height) if c.target == (0.0, 0.0, 0.0) else c for c in cands]
    scene = build_scene(room, seed)
    results: list[ViewScore] = []
    pictures: dict[str, np.ndarray] = {}
    renderer = None
    try:
        for c in cands:
            t0 = time.perf_counter()
            cam = c.camera(width, height)
            if renderer is None:
                renderer = Renderer(cam, room)
            renderer.camera = cam
            views, frames = [], []
            studio = studio_in_image(cam, scene.bars, room)
            for th in [scene.alone, *scene.therapists]:
                shot = renderer.render(scene.client, th, scene.bars, scene.look)
                people = []
                for pid, b in ((CLIENT_ID, scene.client), (THERAPIST_ID, th)):
                    px, vis = visibility(b.keypoints, cam, shot, owner=pid)
                    people.append(Person(id=pid, kp=np.column_stack([px, vis])))
                bgr = cv2.cvtColor(shot.color, cv2.COLOR_RGB2BGR)
                on_back = th is not scene.alone
                if on_back:
                    views.append((people, shot))
                # the engine sees each moment for a few frames, as in a session (tracking)
                for _ in range(2):
                    frames.append((bgr, len(frames) / 8.0, people if on_back else None))
            meas = view_measures(cam, scene.client, views)
            eng = engine_check(frames, studio) if engine else None
            score, parts, reasons = score_view(meas, eng)
            v = ViewScore(c.name, c.where, list(c.eye), list(c.target), c.hfov_deg, score,
                          parts, {**meas, **({"engine": eng} if eng else {})}, reasons,
                          cam.to_dict())
            results.append(v)
            pictures[c.name] = picture(views[0][1], views[0][0],
                                       f"{c.name}  {score:.0f}/100  lens {c.hfov_deg:.0f} deg")
            log(f"  {c.name}: {score:.0f} ({time.perf_counter() - t0:.1f} s)")
    finally:
        if renderer is not None:
            renderer.close()
    results.sort(key=lambda v: -v.score)
    for i, v in enumerate(results, 1):
        v.rank = i
    if out is not None:
        out.mkdir(parents=True, exist_ok=True)
        for v in results:
            v.picture = f"view_{v.rank:02d}_{v.name}.png"
            cv2.imwrite(str(out / v.picture), pictures[v.name])
        sheet = contact_sheet([pictures[v.name] for v in results],
                              [f"#{v.rank} {v.name}  {v.score:.0f}" for v in results])
        cv2.imwrite(str(out / "contact_sheet.png"), sheet)
        (out / "advice.json").write_text(json.dumps(
            {"advice": 1, "room": asdict(room), "seed": seed, "size": [width, height],
             "engine_checked": engine, "weights": WEIGHTS,
             "views": [asdict(v) for v in results]}, indent=1), encoding="utf-8")
    return results


def table_text(results: list[ViewScore]) -> str:
    lines = [f"{'rank':>4}  {'camera':<20} {'score':>5}  {'lens':>4}  why"]
    for v in results:
        lines.append(f"{v.rank:>4}  {v.name:<20} {v.score:>5.0f}  {v.hfov_deg:>3.0f}°  "
                     + "; ".join(v.reasons))
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m samples.render.advise")
    ap.add_argument("studio", type=Path)
    ap.add_argument("--out", type=Path, default=Path("out/advise"))
    ap.add_argument("--candidates", default="")
    ap.add_argument("--no-engine", action="store_true")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)
    room = load_room(args.studio)
    res = advise(room, args.out, [n.strip() for n in args.candidates.split(",") if n.strip()],
                 not args.no_engine, args.seed)
    print(table_text(res))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
