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


def _open_track(path: Path, model: Optional[str], studio=None, on_image=None):
    """(header, frames, total frames or None) of a pose track or of a video through the
    pose engine (``on_image(image, frame)`` sees each video image, for snapshots)."""
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
            table_head=None if studio is None else studio.table_head, on_image=on_image)
    except FrameSourceError as e:
        raise fail(str(e))
    return header, frames, source.info.frame_count


def audit(
    input: Path = typer.Argument(..., help="a pose track (.jsonl) or a video"),
    studio: Optional[Path] = typer.Option(None, "--studio", help="studio file (bars, table)"),
    client: Optional[Path] = typer.Option(None, "--client", help="client profile (conditions)"),
    out: Optional[Path] = typer.Option(None, "--out", help="write the report here (JSON)"),
    model: Optional[str] = typer.Option(None, "--model", help="pose model for video input (default: the engine's)"),
    html: Optional[Path] = typer.Option(None, "--html", help="write the report as one HTML page (docs/reports.md)"),
    pdf: Optional[Path] = typer.Option(None, "--pdf", help="write the same page as a PDF (needs chromium)"),
    snapshots: Optional[Path] = typer.Option(None, "--snapshots", help="video input: one picture per alert here (default: beside the --html file)"),
) -> None:
    """Audit a session: steps, their zones, bar grip and alerts, as a JSON report (and an
    HTML/PDF report with one snapshot per alert)."""
    from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

    from vision.audit import Auditor
    from vision.posetrack import PoseTrackError
    if model is not None and model not in ("lite", "full", "heavy"):
        raise fail(f"--model {model}: choose lite, full or heavy")
    st, prof = _load_inputs(studio, client)
    is_track = input.suffix.lower() == ".jsonl"
    snap_dir = _snapshot_dir(snapshots, html, pdf, is_track)
    if pdf is not None:
        _check_chromium()      # before a long audit, not after it
    latest: dict = {}          # the newest video image, for the snapshots
    header, frames, total = _open_track(
        input, model, st, on_image=None if snap_dir is None else
        (lambda image, frame: latest.__setitem__("image", image)))
    aud = Auditor(header, st, prof, source=str(input))
    snap = None
    if snap_dir is not None:
        from vision.snapshots import AlertSnapshots
        try:
            snap = AlertSnapshots.for_auditor(snap_dir, aud)
        except OSError as e:
            raise fail(f"{snap_dir}: cannot write snapshots here ({e.strerror})")
    # a video goes through the pose engine: show progress on long work (stderr)
    with Progress(TextColumn("audit {task.fields[name]}"), BarColumn(),
                  TextColumn("{task.completed} frames"), TimeRemainingColumn(),
                  disable=total is None, transient=True) as bar:
        task = bar.add_task("audit", total=total, name=input.name)
        try:
            for fr in frames:
                status = aud.push(fr)
                if snap is not None and "image" in latest:
                    snap.push(latest.pop("image"), fr, status)
                bar.advance(task)
        except PoseTrackError as e:
            raise fail(str(e))
        except OSError as e:
            raise fail(f"{snap_dir}: cannot write snapshots ({e})")
    report = aud.finish()
    try:
        shots = None if snap is None else snap.finish(report)
    except OSError as e:
        raise fail(f"{snap_dir}: cannot write snapshots ({e})")
    if shots is not None and snapshots is not None:
        typer.echo(f"{snapshots}: {len(shots)} snapshots of {len(report.alerts)} alerts "
                   f"(index.json)")
    text = report.model_dump_json(indent=1)
    if html is not None or pdf is not None:
        note = "no snapshot: pose-track input" if is_track else None
        try:
            _write_pages(report, html, pdf, shots, note, input)
        finally:
            if snap_dir is not None and snapshots is None and html is None:
                import shutil   # a PDF alone: its snapshots were only needed inside it
                shutil.rmtree(snap_dir, ignore_errors=True)
    if out is None:
        if html is None and pdf is None:
            typer.echo(text)
        return
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(text + "\n", encoding="utf-8")
    except OSError as e:
        raise fail(f"{out}: cannot write the report ({e.strerror})")
    typer.echo(summary_line(report, out))


def _snapshot_dir(snapshots: Optional[Path], html: Optional[Path], pdf: Optional[Path],
                  is_track: bool) -> Optional[Path]:
    """Where alert snapshots go: --snapshots, else beside the HTML page (NAME_snapshots/), else
    (a PDF only) a temporary folder; none for a pose track, which has no pictures."""
    if is_track:
        if snapshots is not None:
            raise fail("--snapshots needs a video input: a pose track has no pictures")
        return None
    if snapshots is not None:
        return snapshots
    if html is not None:
        return html.with_name(html.stem + "_snapshots")
    if pdf is not None:
        import tempfile
        return Path(tempfile.mkdtemp(prefix="ashiwatch-snapshots-"))
    return None


def _check_chromium() -> None:
    from vision.reporting.pdf import ChromiumMissing, find_chromium
    try:
        find_chromium()
    except ChromiumMissing as e:
        raise fail(f"--pdf: {e}")


def _write_pages(report, html: Optional[Path], pdf: Optional[Path], shots, note, input: Path
                 ) -> None:
    """The HTML page (and the PDF printed from it); one line per file written."""
    import tempfile

    from vision.reporting.html import write_html
    from vision.reporting.pdf import ChromiumMissing, RenderError, html_to_pdf
    title = f"ashiwatch audit: {input.name}"
    with tempfile.TemporaryDirectory(prefix="ashiwatch-report-") as tmp:
        page = html if html is not None else Path(tmp) / "report.html"
        try:
            write_html(page, report, snapshots=shots, title=title, snapshot_note=note)
        except OSError as e:
            raise fail(f"{page}: cannot write the HTML report ({e.strerror})")
        if html is not None:
            typer.echo(f"{html}: HTML report, {len(report.alerts)} alerts, "
                       f"{len(shots or {})} snapshots")
        if pdf is not None:
            try:
                html_to_pdf(page, pdf)
            except (ChromiumMissing, RenderError) as e:
                raise fail(f"--pdf: {e}")
            except OSError as e:
                raise fail(f"{pdf}: cannot write the PDF ({e.strerror})")
            typer.echo(f"{pdf}: PDF report")


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
