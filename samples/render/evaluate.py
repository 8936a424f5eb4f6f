"""The safety audit on rendered sessions, against their truth.

python -m samples.render.evaluate out/render_session/tilted40 [DIR ...]

Each DIR holds what `python -m samples.render --session` writes (scene.mp4, truth.jsonl,
studio.yaml, scene.truth.json). The video (through the pose engine), the truth pose track, and
the truth track with every keypoint marked seen are audited with `ashiwatch audit`, and each report is compared with the truth by
samples.evaluate.compare: step recall (a true step is found when a detected step of the same
foot covers at least half of it), zone accuracy over found steps, no-hands intervals found.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

from samples.evaluate import compare


def audit(src: Path, studio: Path, out: Path) -> tuple[dict, float]:
    t0 = time.perf_counter()
    exe = Path(sys.executable).with_name("ashiwatch")
    subprocess.run([str(exe), "audit", str(src), "--studio", str(studio), "--out", str(out)],
                   check=True, capture_output=True)
    return json.loads(out.read_text()), time.perf_counter() - t0


def video_of(d: Path) -> Path:
    """scene.mp4 (python -m samples.render) or demo.mp4 (samples/demo)."""
    return d / "scene.mp4" if (d / "scene.mp4").exists() else d / "demo.mp4"


def pose_errors(d: Path) -> dict:
    """The pose engine on the session's video against its truth track (measure.Tally)."""
    import cv2

    from vision.pose.engine import AUDIT_MODEL, EngineConfig, PoseEngine
    from vision.io.posetrack import iter_pose_track
    from vision.io.studio import load_studio

    from .measure import Tally
    studio = load_studio(d / "studio.yaml")
    engine = PoseEngine(EngineConfig(model=AUDIT_MODEL, table=studio.table,
                                     table_head=studio.table_head))
    _, truth = iter_pose_track(d / "truth.jsonl")
    cap = cv2.VideoCapture(str(video_of(d)))
    tally = Tally()
    for fr in truth:
        ok, bgr = cap.read()
        if not ok:
            break
        tally.add(list(fr.people), list(engine.process(bgr, fr.t).frame.people))
    cap.release()
    return tally.summary()


def all_seen(track: Path) -> Path:
    """The truth track with every keypoint marked seen (visibility 1): the safety core's
    geometry alone, without what the camera cannot see."""
    from vision.io.posetrack import Frame, Person, PoseTrackWriter, iter_pose_track
    out = track.with_name("truth_all_seen.jsonl")
    header, frames = iter_pose_track(track)
    with PoseTrackWriter(out, header) as w:
        for fr in frames:
            people = []
            for p in fr.people:
                kp = p.kp.copy()
                kp[:, 2] = 1.0
                people.append(Person(id=p.id, kp=kp))
            w.write(Frame(t=fr.t, people=people))
    return out


def score(report: dict, truth: dict) -> dict:
    c = compare(report, truth)
    rows = c["steps"]
    visible = [r for r in rows if not r["hidden"]]
    found = [r for r in visible if r["found"]]
    return dict(steps=len(rows), visible=len(visible), found=len(found),
                zone_ok=sum(r["zone"] == r["truth"] for r in found),
                detected=len(report["steps"]), no_hands=c["no_hands"],
                no_hands_found=c["no_hands_found"], no_hands_false=c["no_hands_false"],
                rows=rows)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m samples.render.evaluate")
    ap.add_argument("dirs", nargs="+", type=Path)
    args = ap.parse_args(argv)
    print("| camera | client found | client shoulders px | client hips px | therapist found | "
          "heels px | toes px | wrists px |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- |")
    for d in args.dirs:
        e = pose_errors(d)
        fmt = lambda k: "–" if e[k] is None else f"{e[k]:.0f}"  # noqa: E731
        print(f"| {d.name} | {e['client_found']:.0%} | {fmt('client_shoulders_px')} | "
              f"{fmt('client_hips_px')} | {e['therapist_found']:.0%} | "
              f"{fmt('therapist_heels_px')} | {fmt('therapist_toes_px')} | "
              f"{fmt('therapist_wrists_px')} |", flush=True)
    print()
    print("| camera | input | steps found (visible) | zone correct / found | detected steps "
          "| no-hands found | per step: truth→found |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    for d in args.dirs:
        truth = json.loads((d / "scene.truth.json").read_text())
        for name, src in (("truth track", d / "truth.jsonl"),
                          ("truth, all seen", all_seen(d / "truth.jsonl")),
                          ("video", video_of(d))):
            rep, secs = audit(src, d / "studio.yaml", d / f"report_{src.stem}.json")
            s = score(rep, truth)
            per = ", ".join(f"{r['truth']}→{r['zone'] or '–'}" + ("(h)" if r["hidden"] else "")
                            for r in s["rows"])
            print(f"| {d.name} | {name} | {s['found']}/{s['visible']} ({s['steps']} in all) | "
                  f"{s['zone_ok']}/{s['found']} | {s['detected']} | "
                  f"{s['no_hands_found']}/{s['no_hands']} (+{s['no_hands_false']} false) | "
                  f"{per} |  <!-- {secs:.0f} s -->", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
