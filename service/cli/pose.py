"""``ashiwatch pose INPUT -o track.jsonl [--annotate out.mp4]``"""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from service.errors import fail


def register(app: typer.Typer) -> None:
    @app.command()
    def pose(
        input: str = typer.Argument(..., help="video file, image, camera index or camera URL"),
        out: Path = typer.Option(..., "-o", "--out", help="pose track (.jsonl) to write"),
        annotate: Optional[Path] = typer.Option(None, help="also write this video with skeletons"),
        model: str = typer.Option("full", help="landmark model: lite, full or heavy"),
        studio: Optional[Path] = typer.Option(None, help="studio file (table outline, bars)"),
        max_frames: Optional[int] = typer.Option(None, help="stop after this many frames"),
        quiet: bool = typer.Option(False, "-q", help="no progress bar"),
        device: str = typer.Option("auto", "--device", help="where the pose engine runs: auto, cpu or cuda"),
    ) -> None:
        """Run the pose engine on a video, image or camera and write a pose track."""
        from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

        from vision.io.frames import FrameSource, FrameSourceError
        from vision.pose.engine import EngineConfig, PoseEngine
        from vision.pose.video import open_writer, track_frames
        from vision.io.posetrack import Header, PoseTrackWriter

        if model not in ("lite", "full", "heavy"):
            raise fail(f"--model {model}: choose lite, full or heavy")
        from service.cli.audit import check_device
        device = check_device(device)
        from vision.io.studio import StudioError, load_studio

        try:
            st = load_studio(studio) if studio else None
        except StudioError as e:
            raise fail(str(e))
        try:
            source = FrameSource(input)
        except FrameSourceError as e:
            raise fail(str(e))
        info = source.info
        engine = PoseEngine(EngineConfig(model=model, table=st.table if st else None,
                                         table_head=st.table_head if st else None,
                                         device=device))
        header = Header(fps=info.fps, width=info.width, height=info.height, source=engine.source)
        try:
            writer = PoseTrackWriter(out, header)
            video = open_writer(annotate, info.fps, info.width, info.height) if annotate else None
        except OSError as e:
            raise fail(f"{out}: cannot write ({e.strerror or e})")
        total = info.frame_count if info.frame_count else None
        if max_frames and total:
            total = min(total, max_frames)
        n = 0
        with source, Progress(TextColumn("pose {task.fields[name]}"), BarColumn(),
                              TextColumn("{task.completed}/{task.total} frames"),
                              TimeRemainingColumn(), disable=quiet, transient=True) as bar:
            task = bar.add_task("pose", total=total, name=Path(input).name)
            try:
                for frame in track_frames(source, engine, annotate=video):
                    writer.write(frame)
                    n += 1
                    bar.advance(task)
                    if max_frames and n >= max_frames:
                        break
            except KeyboardInterrupt:
                typer.echo(f"interrupted: {n} frames written to {out}", err=True)
            finally:
                writer.close()
                if video is not None:
                    video.release()
        if source.truncated and not (max_frames and n >= max_frames):   # not our own stop
            typer.echo(f"warning: {input}: video ended after {n} of {info.frame_count} frames "
                       f"(truncated?); the track holds what was read", err=True)
        typer.echo(f"{out}: {n} frames, {info.width}x{info.height} @ {info.fps:g} fps, "
                   f"model {model}" + (f"; annotated video {annotate}" if annotate else ""))

