"""`ashiwatch audit`, `ashiwatch calibrate`, `ashiwatch evaluate`: the safety core's commands."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Optional

import typer

from service.errors import fail


def _load_inputs(studio: Optional[Path], client: Optional[Path]):
    from vision.profile import ProfileError, load_profile
    from vision.studio import StudioError, load_studio
    try:
        st = load_studio(studio) if studio else None
        prof = load_profile(client) if client else None
    except (StudioError, ProfileError) as e:
        raise fail(str(e))
    return st, prof


def _open_track(path: Path, model: Optional[str], studio=None):
    """(header, frames, total frames or None) of a pose track or of a video through the
    pose engine."""
    from vision.frames import FrameSourceError
    from vision.posetrack import PoseTrackError, iter_pose_track
    if path.suffix.lower() == ".jsonl":
        try:
            header, frames = iter_pose_track(path)
        except PoseTrackError as e:
            raise fail(str(e))
        return header, frames, None
    from vision.pose.video import track_from_video
    try:
        header, frames, source = track_from_video(
            path, model or "full", table=None if studio is None else studio.table,
            table_head=None if studio is None else studio.table_head)
    except FrameSourceError as e:
        raise fail(str(e))
    return header, frames, source.info.frame_count


def audit(
    input: Path = typer.Argument(..., help="a pose track (.jsonl) or a video"),
    studio: Optional[Path] = typer.Option(None, "--studio", help="studio file (bars, table)"),
    client: Optional[Path] = typer.Option(None, "--client", help="client profile (conditions)"),
    out: Optional[Path] = typer.Option(None, "--out", help="write the report here (JSON)"),
    model: Optional[str] = typer.Option(None, "--model", help="pose model for video input (default: the engine's)"),
) -> None:
    """Audit a session: steps, their zones, bar grip and alerts, as a JSON report."""
    from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

    from vision.audit import Auditor
    from vision.posetrack import PoseTrackError
    if model is not None and model not in ("lite", "full", "heavy"):
        raise fail(f"--model {model}: choose lite, full or heavy")
    st, prof = _load_inputs(studio, client)
    header, frames, total = _open_track(input, model, st)
    aud = Auditor(header, st, prof, source=str(input))
    # a video goes through the pose engine: show progress on long work (stderr)
    with Progress(TextColumn("audit {task.fields[name]}"), BarColumn(),
                  TextColumn("{task.completed} frames"), TimeRemainingColumn(),
                  disable=total is None, transient=True) as bar:
        task = bar.add_task("audit", total=total, name=input.name)
        try:
            for fr in frames:
                aud.push(fr)
                bar.advance(task)
        except PoseTrackError as e:
            raise fail(str(e))
    report = aud.finish()
    text = report.model_dump_json(indent=1)
    if out is None:
        typer.echo(text)
        return
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(text + "\n", encoding="utf-8")
    except OSError as e:
        raise fail(f"{out}: cannot write the report ({e.strerror})")
    typer.echo(summary_line(report, out))


def summary_line(report, out: Path) -> str:
    """One line for a person: what the audit found and where the report is."""
    import collections
    zones = collections.Counter(s.zone for s in report.steps)
    danger = {z: n for z, n in zones.items() if z not in ("safe", "off_body")}
    sev = collections.Counter(a.severity for a in report.alerts)
    return (f"{out}: {report.duration_s:.1f} s, {len(report.steps)} steps "
            f"({', '.join(f'{n} {z}' for z, n in sorted(danger.items())) or 'none in danger zones'}), "
            f"{sev.get('critical', 0)} critical and {sev.get('warning', 0)} warning alerts")


def calibrate(
    frame: Path = typer.Argument(..., help="an image of the studio (a frame of the video)"),
    out: Path = typer.Option(Path("studio.yaml"), "--out", help="studio file to write"),
    max_bars: int = typer.Option(4, "--max-bars", help="keep at most this many bars"),
) -> None:
    """Propose the overhead bars from an image (line detection); check them before use."""
    from vision.calibrate import CalibrationError, propose_studio
    from vision.studio import save_studio
    try:
        studio = propose_studio(frame, max_bars=max_bars)
    except CalibrationError as e:
        raise fail(str(e))
    save_studio(out, studio, comment=(
        f"proposed by `ashiwatch calibrate {frame}`: CHECK these bar segments against the image\n"
        "bars: [[[x1, y1], [x2, y2]], ...] in image pixels; table: optional polygon"))
    typer.echo(f"{out}: {len(studio.bars)} bar segment(s) proposed; check them before use")


def evaluate(
    suite: str = typer.Option("small", "--suite", help="small | large | stress"),
    work: Optional[Path] = typer.Option(None, "--work", help="keep generated sessions here"),
    as_json: bool = typer.Option(False, "--json", help="print the figures as JSON"),
) -> None:
    """Generate sessions with known truth and measure step recall, zone accuracy and alerts."""
    from samples.evaluate import format_table, run_suite
    if suite not in ("small", "large", "stress"):
        raise fail(f"--suite {suite!r}: expected small, large or stress")
    res = run_suite(suite, work)
    typer.echo(json.dumps(res, indent=1) if as_json else format_table(res))


def register(app: typer.Typer) -> None:
    app.command("audit")(audit)
    app.command("calibrate")(calibrate)
    app.command("evaluate")(evaluate)
