"""`ashiwatch audit`, `ashiwatch calibrate`, `ashiwatch evaluate`: the safety core's commands."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Optional

import typer

from service.errors import fail


def _load_inputs(studio: Optional[Path], client: Optional[Path]):
    from vision.safety.profile import ProfileError, load_profile
    from vision.io.studio import StudioError, load_studio
    try:
        st = load_studio(studio) if studio else None
        prof = load_profile(client) if client else None
    except (StudioError, ProfileError) as e:
        raise fail(str(e))
    return st, prof


class AuditInputError(Exception):
    """Input an audit cannot read (a broken track or video, an unwritable folder): one line."""


class AuditRun:
    """One audit of a file, as ``ashiwatch audit`` runs it (and ``score``, and ``batch`` on each
    input): opened first (so that a progress bar knows ``total``), then ``run``."""

    def __init__(self, input: Path, studio=None, profile=None, model: Optional[str] = None,
                 snap_dir: Optional[Path] = None, device: str = "cpu",
                 source: Optional[str] = None, feet: Optional[bool] = None) -> None:
        """``source``: the input's name in the report (default: ``input`` as given); ``feet``:
        the feet model on or off (None: EngineConfig's default)."""
        from models import ModelMissingError
        from vision.io.frames import FrameSourceError
        from vision.io.posetrack import PoseTrackError
        from vision.session import SessionRunner, open_input
        self.input, self.snap_dir = input, snap_dir
        try:
            self._input = open_input(input, studio=studio, model=model, device=device,
                                     feet=feet)
        except (PoseTrackError, FrameSourceError, ModelMissingError) as e:
            raise AuditInputError(str(e))
        self.header = self._input.header
        # a pose track is read at once, with no progress bar
        self.total = self._input.total if self._input.kind == "video" else None
        self.runner = SessionRunner(self.header, studio, profile,
                                    source=str(input) if source is None else source)
        self._snap = None
        if snap_dir is not None:
            from vision.pictures.snapshots import AlertSnapshots
            try:
                self._snap = self.runner.add(
                    AlertSnapshots.for_auditor(snap_dir, self.runner.auditor))
            except OSError as e:
                raise AuditInputError(f"{snap_dir}: cannot write snapshots here ({e.strerror})")

    def run(self, advance=lambda: None):
        """(report, snapshots or None); ``advance()`` after each frame."""
        from vision.io.posetrack import PoseTrackError
        try:
            for _ in self.runner.moments(self._input.pairs):
                advance()
        except PoseTrackError as e:
            raise AuditInputError(str(e))
        except OSError as e:
            raise AuditInputError(f"{self.snap_dir}: cannot write snapshots ({e})")
        try:
            report = self.runner.finish()
        except OSError as e:
            raise AuditInputError(f"{self.snap_dir}: cannot write snapshots ({e})")
        return report, None if self._snap is None else self._snap.shots


def check_device(device: str) -> str:
    from vision.pose.runtime import DeviceError, resolve_device
    try:
        return resolve_device(device)
    except DeviceError as e:
        raise fail(str(e))


def audit(
    input: Path = typer.Argument(..., help="a pose track (.jsonl) or a video"),
    studio: Optional[Path] = typer.Option(None, "--studio", help="studio file (bars, table)"),
    client: Optional[Path] = typer.Option(None, "--client", help="client profile (conditions)"),
    out: Optional[Path] = typer.Option(None, "--out", help="write the report here (JSON)"),
    model: Optional[str] = typer.Option(None, "--model", help="pose model for video input: lite, full, heavy or heavy_feet (heavy with its feet re-fitted on renders, docs/models.md; default: heavy)"),
    html: Optional[Path] = typer.Option(None, "--html", help="write the report as one HTML page (docs/reports.md)"),
    pdf: Optional[Path] = typer.Option(None, "--pdf", help="write the same page as a PDF (needs chromium)"),
    snapshots: Optional[Path] = typer.Option(None, "--snapshots", help="video input: one picture per alert here (default: beside the --html file)"),
    device: str = typer.Option("auto", "--device", help="where the pose engine runs: auto, cpu or cuda (auto: the GPU if onnxruntime has CUDA)"),
    feet_model: Optional[bool] = typer.Option(None, "--feet-model/--no-feet-model", help="video input: re-read the therapist's feet with the feet model (models/feet.onnx; default: on with a studio table, off without; ASHIWATCH_FEET_MODEL=1 / 0 sets it whatever the footage)"),
) -> None:
    """Audit a session: steps, their zones, bar grip and alerts, as a JSON report (and an
    HTML/PDF report with one snapshot per alert)."""
    from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

    _check_model(model)
    device = check_device(device)
    st, prof = _load_inputs(studio, client)
    is_track = input.suffix.lower() == ".jsonl"
    snap_dir = _snapshot_dir(snapshots, html, pdf, is_track)
    if pdf is not None:
        _check_chromium()      # before a long audit, not after it
    try:
        run = AuditRun(input, st, prof, model, snap_dir, device,
                       feet=feet_model)
        # a video goes through the pose engine: show progress on long work (stderr)
        with Progress(TextColumn("audit {task.fields[name]}"), BarColumn(),
                      TextColumn("{task.completed} frames"), TimeRemainingColumn(),
                      disable=run.total is None, transient=True) as bar:
            task = bar.add_task("audit", total=run.total, name=input.name)
            report, shots = run.run(lambda: bar.advance(task))
    except AuditInputError as e:
        raise fail(str(e))
    if shots is not None and snapshots is not None:
        typer.echo(f"{snapshots}: {len(shots)} snapshots of {len(report.alerts)} alerts "
                   f"(index.json)")
    text = report.model_dump_json(indent=1)
    if html is not None or pdf is not None:
        try:
            _write_pages(report, html, pdf, shots, input)
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
    from vision.pictures.reporting.pdf import ChromiumMissing, find_chromium
    try:
        find_chromium()
    except ChromiumMissing as e:
        raise fail(f"--pdf: {e}")


def report_page(report, shots, input: Path) -> str:
    """The report as the page ``--html`` writes (and ``ashiwatch batch``), snapshots embedded."""
    from vision.pictures.reporting.html import render_html
    note = "no snapshot: pose-track input" if input.suffix.lower() == ".jsonl" else None
    return render_html(report, snapshots=shots, title=f"ashiwatch audit: {input.name}",
                       snapshot_note=note)


def _write_pages(report, html: Optional[Path], pdf: Optional[Path], shots, input: Path
                 ) -> None:
    """The HTML page (and the PDF printed from it); one line per file written."""
    import tempfile

    from vision.pictures.reporting.pdf import ChromiumMissing, RenderError, html_to_pdf
    with tempfile.TemporaryDirectory(prefix="ashiwatch-report-") as tmp:
        page = html if html is not None else Path(tmp) / "report.html"
        try:
            page.parent.mkdir(parents=True, exist_ok=True)
            page.write_text(report_page(report, shots, input), encoding="utf-8")
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
    zones = collections.Counter(s.verdict or s.zone for s in report.steps)
    danger = {z: n for z, n in zones.items() if z not in ("safe", "off_body")}
    sev = collections.Counter(a.severity for a in report.alerts)
    return (f"{out}: {report.duration_s:.1f} s, {len(report.steps)} steps "
            f"({', '.join(f'{n} {z}' for z, n in sorted(danger.items())) or 'none in danger zones'}), "
            f"{sev.get('critical', 0)} critical and {sev.get('warning', 0)} warning alerts")


def _size_pair(text: str, option: str, what: str, lo: float, hi: float) -> tuple[float, float]:
    """"1.90x0.72" -> (1.90, 0.72); one line on anything else."""
    parts = text.lower().replace("×", "x").replace(",", "x").split("x")
    try:
        a, b = (float(v) for v in parts)
    except ValueError:
        raise fail(f"{option} {text}: expected {what}") from None
    if not (lo <= a <= hi and lo <= b <= hi):
        raise fail(f"{option} {text}: expected {what} (each between {lo:g} and {hi:g})")
    return a, b


def _image_size(frame: Optional[Path], image_size: Optional[str]) -> tuple[int, int]:
    """(width, height) of the camera's image: from the frame, else from --image-size."""
    if frame is not None:
        import cv2
        if not frame.is_file():
            raise fail(f"{frame}: no such file")
        img = cv2.imread(str(frame), cv2.IMREAD_GRAYSCALE)
        if img is None:
            raise fail(f"{frame}: not an image OpenCV can read")
        return img.shape[1], img.shape[0]
    if image_size is None:
        raise fail("the camera needs the image's size: give a FRAME of the video or "
                   "--image-size WxH (pixels)")
    w, h = _size_pair(image_size, "--image-size", "WIDTHxHEIGHT in pixels", 16, 20000)
    if w != int(w) or h != int(h):
        raise fail(f"--image-size {image_size}: expected whole pixels")
    return int(w), int(h)


def _leading_comments(path: Path) -> str:
    """The comment lines at the top of a studio file, kept when the file is rewritten."""
    lines = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.startswith("#"):
            break
        lines.append(line[1:].strip())
    return "\n".join(lines)


def calibrate(
    frame: Optional[Path] = typer.Argument(None, help="an image of the studio (a frame of the video)"),
    out: Optional[Path] = typer.Option(None, "--out", help="studio file to write (default: studio.yaml, or the --studio file)"),
    max_bars: int = typer.Option(4, "--max-bars", help="keep at most this many bars"),
    studio: Optional[Path] = typer.Option(None, "--studio", help="complete this studio file (its table outline) with the camera"),
    table_size: Optional[str] = typer.Option(None, "--table-size", help="the table top's length x width in metres, e.g. 1.90x0.72: solves the camera"),
    table_top: Optional[float] = typer.Option(None, "--table-top", help="height of the table top above the floor (m; default: the studio file's, else 0.65)"),
    hfov: Optional[float] = typer.Option(None, "--hfov", help="the lens's horizontal field of view (degrees; default 70)"),
    focal: Optional[float] = typer.Option(None, "--focal", help="the focal length in pixels (instead of --hfov)"),
    image_size: Optional[str] = typer.Option(None, "--image-size", help="WIDTHxHEIGHT of the video in pixels, when no FRAME is given"),
) -> None:
    """Propose the overhead bars from an image (line detection); or, with --studio and
    --table-size, solve the camera from the studio file's table outline (4 corners: head-left,
    head-right, foot-right, foot-left) and write it into the file. Check both before use."""
    from vision.io.calibrate import CalibrationError, add_camera_from_table, propose_studio
    from vision.io.studio import StudioError, load_studio, save_studio
    if studio is None:
        if table_size is not None or hfov is not None or focal is not None or \
                table_top is not None:
            raise fail("--table-size/--table-top/--hfov/--focal solve the camera from a table "
                       "outline: give --studio with the table's 4 corners")
        if frame is None:
            raise fail("give a FRAME (an image of the studio) to propose the bars, or --studio "
                       "and --table-size to solve the camera")
        out = out or Path("studio.yaml")
        try:
            proposed = propose_studio(frame, max_bars=max_bars)
        except CalibrationError as e:
            raise fail(str(e))
        save_studio(out, proposed, comment=(
            f"proposed by `ashiwatch calibrate {frame}`: CHECK these bar segments against the image\n"
            "bars: [[[x1, y1], [x2, y2]], ...] in image pixels; table: optional polygon"))
        typer.echo(f"{out}: {len(proposed.bars)} bar segment(s) proposed; check them before use")
        return
    # Every input is checked before anything is written: bad input loses nothing.
    if table_size is None:
        raise fail(f"{studio}: give --table-size LENGTHxWIDTH (metres, e.g. 1.90x0.72) to solve "
                   f"the camera from its table outline")
    length, width = _size_pair(table_size, "--table-size", "LENGTHxWIDTH in metres, e.g. 1.90x0.72",
                               0.2, 5.0)
    if length < width:
        raise fail(f"--table-size {table_size}: the length (head to foot) comes first")
    if hfov is not None and focal is not None:
        raise fail("give --hfov or --focal, not both")
    if hfov is not None and not 5.0 <= hfov <= 170.0:
        raise fail(f"--hfov {hfov:g}: expected the horizontal field of view in degrees (5 to 170)")
    if focal is not None and not focal > 0:
        raise fail(f"--focal {focal:g}: expected a focal length in pixels (> 0)")
    if table_top is not None and not 0.0 <= table_top <= 2.0:
        raise fail(f"--table-top {table_top:g}: expected the table top's height in metres")
    try:
        st = load_studio(studio)
    except StudioError as e:
        raise fail(str(e))
    if st.table is None:
        raise fail(f"{studio}: no table outline (table: [[x, y] x 4], head-left, head-right, "
                   f"foot-right, foot-left) to solve the camera from")
    if len(st.table) != 4:
        raise fail(f"{studio}: the table outline has {len(st.table)} points; the camera needs "
                   f"its 4 corners (head-left, head-right, foot-right, foot-left)")
    w, h = _image_size(frame, image_size)
    try:
        solved = add_camera_from_table(st, w, h, length, width, table_top_m=table_top,
                                       hfov_deg=hfov, focal_px=focal)
    except CalibrationError as e:
        raise fail(f"{studio}: {e}")
    cam = solved.camera
    import numpy as np
    # How well the solved camera puts the table's corners back where they were marked: a large
    # residual means a wrong corner order, size or focal length.
    L, W, z = length / 2, width / 2, solved.table_top
    corners = np.array([[L, W, z], [L, -W, z], [-L, -W, z], [-L, W, z]])
    err = float(np.abs(cam.project(corners) - st.table).max())
    target = out or studio
    kept = _leading_comments(studio)
    lens = f"--focal {focal:g}" if focal is not None else f"--hfov {hfov if hfov is not None else 70:g}"
    note = (f"camera solved by `ashiwatch calibrate --table-size {length:g}x{width:g} {lens}` "
            f"from the table outline: CHECK it (the focal length is a guess unless measured)")
    try:
        save_studio(target, solved, comment=f"{kept}\n{note}" if kept else note)
    except OSError as e:
        raise fail(f"{target}: cannot write the studio file ({e.strerror})")
    c = cam.centre
    down = float(np.degrees(np.arccos(np.clip(-(cam.R.T @ [0, 0, 1.0])[2], -1, 1))))
    typer.echo(f"{target}: camera at ({c[0]:.2f}, {c[1]:.2f}, {c[2]:.2f}) m, {down:.0f} deg from "
               f"straight down, focal {cam.K[0, 0]:.0f} px; table corners reprojected within "
               f"{err:.1f} px; check it before use")


def _check_model(model: Optional[str]) -> None:
    from vision.pose.config import MODELS
    if model is not None and model not in MODELS:
        raise fail(f"--model {model}: choose {', '.join(MODELS)}")


def evaluate(
    suite: str = typer.Option("small", "--suite", help="small | large | stress"),
    work: Optional[Path] = typer.Option(None, "--work", help="keep generated sessions here"),
    as_json: bool = typer.Option(False, "--json", help="print the figures as JSON"),
    no_camera: bool = typer.Option(False, "--no-camera", help="studio files without the camera: the parallax of oblique views is flagged, not corrected"),
    rendered: bool = typer.Option(False, "--rendered", help="the rendered benchmark instead: 12 rendered sessions through the pose engine, the truth track and the truth all seen (render extra; renders cached)"),
    split: str = typer.Option("dev", "--split", help="with --rendered: dev (developed on), dev-foot (developed on, from the foot end) or report (other seeds, places and steps)"),
    sessions: Optional[int] = typer.Option(None, "--sessions", min=1, help="with --rendered: only the first N sessions"),
    feet_error: bool = typer.Option(False, "--feet-error", help="with --rendered: instead, the engine's heels, toe tips, client shoulders and hips in px against the truth, per camera place: heavy alone, with the feet model, and heavy_feet"),
    feet_model: Optional[bool] = typer.Option(None, "--feet-model/--no-feet-model", help="with --rendered: read the videos with the feet model or without it (default: on, as the engine reads a studio; ASHIWATCH_FEET_MODEL=0 turns it off)"),
    model: Optional[str] = typer.Option(None, "--model", help="with --rendered: the landmark model that reads the videos (default: heavy, the audit's; heavy_feet: heavy with its feet re-fitted on renders)"),
    keypoint_error: bool = typer.Option(False, "--keypoint-error", help="with --rendered: instead, the pose engine's heel and toe error per model over the split (vision.safety.steps.KP_SIGMA_CM)"),
) -> None:
    """Generate sessions with known truth and measure step recall, zone accuracy and alerts
    (with the studio's camera, or --no-camera without it); --rendered: the rendered benchmark
    (docs/rendered-scenes.md)."""
    if rendered:
        from samples.render.bench_suite import SPLITS
        if split not in SPLITS:
            raise fail(f"--split {split!r}: expected {', '.join(SPLITS)}")
        try:
            from samples.render import benchmark
        except ImportError as e:
            raise fail(f"the rendered benchmark needs the render extra and OSMesa "
                       f"(bash scripts/setup): {e}")
        _check_model(model)
        if feet_error:
            from samples.render import feet_error as fe
            fe.run(split, sessions, echo=typer.echo)
            return
        if keypoint_error:
            from vision.pose.config import reading_name
            for model, feet in (("heavy", True), ("heavy", False), ("full", True),
                                ("full", False), ("lite", False)):
                typer.echo(f"engine:{reading_name(model, feet)}: "
                           f"{benchmark.keypoint_sigma(split, model, feet=feet)} "
                           f"(1 sigma along, across the foot; cm at the torso's scale)")
            return
        benchmark.run(split, sessions, echo=typer.echo, feet=feet_model, model=model)
        return
    from samples.evaluate import format_table, run_suite
    if suite not in ("small", "large", "stress"):
        raise fail(f"--suite {suite!r}: expected small, large or stress")
    res = run_suite(suite, work, camera=not no_camera)
    # numpy scalars (the figures are computed with numpy) as plain numbers
    typer.echo(json.dumps(res, indent=1, default=lambda o: o.item() if hasattr(o, "item")
                          else str(o)) if as_json else format_table(res))


def register(app: typer.Typer) -> None:
    app.command("audit")(audit)
    app.command("calibrate")(calibrate)
    app.command("evaluate")(evaluate)
