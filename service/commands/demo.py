"""``ashiwatch demo``: the README's main job on bundled and registry-shipped sample data."""

from __future__ import annotations

from pathlib import Path

import typer

from service.errors import fail

SAMPLES = Path(__file__).resolve().parents[2] / "samples"


def register(app: typer.Typer) -> None:
    @app.command()
    def demo(
        out: Path = typer.Option(Path("out/demo"), "-o", "--out", help="folder for the results"),
        frames: int = typer.Option(100, help="frames of real footage to run the engine on"),
    ) -> None:
        """Run the pose engine on real two-person footage (shipped in the pose2sim wheel,
        fetched with pip and cached) and audit the bundled sample session."""
        from samples.registry import FetchError, pose2sim_video

        out.mkdir(parents=True, exist_ok=True)
        try:
            video = pose2sim_video("MultiPerson", 1)
        except FetchError as e:
            raise fail(f"cannot fetch the sample footage from PyPI: {e}")
        typer.echo(f"1/2 pose engine on {video.name} (pose2sim 0.10.49, two people, real footage)")
        from service.cli import app as root

        track, annotated = out / "track.jsonl", out / "annotated.mp4"
        root(["pose", str(video), "-o", str(track), "--annotate", str(annotated),
              "--max-frames", str(frames)], standalone_mode=False)
        _summarise_track(track)
        session = SAMPLES / "session.jsonl"
        typer.echo(f"2/2 safety audit of the bundled sample session {session.name}")
        root(["audit", str(session), "--studio", str(SAMPLES / "studio.yaml"),
              "--client", str(SAMPLES / "client.yaml"), "--out", str(out / "report.json")],
             standalone_mode=False)


def _summarise_track(track: Path) -> None:
    import collections

    from vision.posetrack import read_pose_track

    header, frames = read_pose_track(track)
    ids = collections.Counter(p.id for f in frames for p in f.people)
    per_id = ", ".join(f"person {i}: {n} frames" for i, n in sorted(ids.items()))
    typer.echo(f"   {len(frames)} frames at {header.width}x{header.height}; {per_id}")
