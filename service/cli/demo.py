"""``ashiwatch demo``: the README's main job: the safety audit of the bundled rendered session."""

from __future__ import annotations

import importlib.util
import json
import os
import time
from pathlib import Path

import typer

from service.errors import fail

SAMPLES = Path(__file__).resolve().parents[2] / "samples"
DEMO = SAMPLES / "demo"
DANGER = ("spine", "kidney", "neck", "sciatic_notch", "ribs", "popliteal")


def register(app: typer.Typer) -> None:
    @app.command()
    def demo(
        out: Path = typer.Option(Path("out/demo"), "-o", "--out", help="folder for the results"),
        footage: bool = typer.Option(False, "--footage/--no-footage",
                                     help="also run the pose engine on real two-person footage "
                                          "(the pose2sim wheel, fetched from PyPI and cached)"),
        frames: int = typer.Option(100, help="with --footage: frames of it to run the engine on"),
    ) -> None:
        """Audit the bundled rendered session (samples/demo: ~20 s, a step on each zone, a moment
        without hands on the bars) through the pose engine: report.json, report.html, and what
        was found against the session's truth."""
        from service.cli import app as root

        video, studio = DEMO / "demo.mp4", DEMO / "studio.yaml"
        for f in (video, studio, DEMO / "scene.truth.json"):
            if not f.is_file():
                raise fail(f"{f}: the bundled demo file is missing (re-create it with "
                           f"python -m samples.render.demo; see samples/demo/README.md)")
        out.mkdir(parents=True, exist_ok=True)
        report = out / "report.json"
        # relative to where it runs (the README runs it from the project folder), so that the
        # report names the same source in every clone: reports are compared byte for byte
        args = ["audit", os.path.relpath(video), "--studio", os.path.relpath(studio),
                "--out", str(report)]
        if importlib.util.find_spec("vision.pictures.reporting.html") is not None:
            args += ["--html", str(out / "report.html")]
        typer.echo(f"safety audit of the bundled rendered session samples/demo/{video.name} "
                   f"(pose engine on the video, studio file with the camera)")
        t0 = time.perf_counter()
        rc = root(args, standalone_mode=False)
        if rc not in (None, 0) or not report.is_file():
            raise typer.Exit(code=rc or 2)   # the audit has said why, in one line
        typer.echo(against_truth(json.loads(report.read_text()),
                                 json.loads((DEMO / "scene.truth.json").read_text()))
                   + f" ({time.perf_counter() - t0:.0f} s)")
        if footage:
            _footage(out, frames, root)


def against_truth(report: dict, truth: dict) -> str:
    """One line: the dangerous steps of the session's truth, and which the audit found in
    their zone (samples.evaluate.compare: a detected step of the same foot covering half)."""
    from samples.evaluate import compare
    c = compare(report, truth)
    danger = [r for r in c["steps"] if r["truth"] in DANGER and not r["hidden"]]
    got = [r for r in danger if r["found"] and r["zone"] == r["truth"]]
    parts = ", ".join(f"{r['truth']}{'' if r in got else ' (' + (r['zone'] or 'missed') + ')'}"
                      for r in danger)
    return (f"truth: {len(danger)} dangerous steps; found in their zone {len(got)}/{len(danger)}: "
            f"{parts}; no-hands moments found {c['no_hands_found']}/{c['no_hands']}"
            f" (+{c['no_hands_false']} false)")


def _footage(out: Path, frames: int, root) -> None:
    from samples.registry import FetchError, pose2sim_video
    try:
        video = pose2sim_video("MultiPerson", 1)
    except FetchError as e:
        raise fail(f"cannot fetch the sample footage from PyPI: {e}")
    typer.echo(f"pose engine on {video.name} (pose2sim 0.10.49, two people, real footage)")
    track, annotated = out / "track.jsonl", out / "annotated.mp4"
    root(["pose", str(video), "-o", str(track), "--annotate", str(annotated),
          "--max-frames", str(frames)], standalone_mode=False)
    _summarise_track(track)


def _summarise_track(track: Path) -> None:
    import collections

    from vision.io.posetrack import read_pose_track

    header, frames = read_pose_track(track)
    ids = collections.Counter(p.id for f in frames for p in f.people)
    per_id = ", ".join(f"person {i}: {n} frames" for i, n in sorted(ids.items()))
    typer.echo(f"   {len(frames)} frames at {header.width}x{header.height}; {per_id}")
