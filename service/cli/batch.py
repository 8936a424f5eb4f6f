"""``ashiwatch batch``: the audits of many recorded sessions as Ray tasks, one per input, on a
local Ray (nothing to start) or a running cluster (docs/scale.md). Each task runs exactly what
``ashiwatch audit`` runs (service.cli.audit.AuditRun) and sends back the report and its
page; this process writes them, so workers need to read the inputs but not to write DIR."""

from __future__ import annotations

import os
import time
from collections import Counter
from pathlib import Path
from typing import List, Optional

import typer

from service.cli.audit import (AuditInputError, AuditRun, _load_inputs, check_device,
                                    report_page)
from service.errors import fail
from service.scale import ScaleError, init_ray, peak_rss_mb

# a worker that dies mid-audit (killed, out of memory, a crash in native code): its task runs
# again from the start on another worker, this many times
TASK_RETRIES = 2
TALLY_S = 0.5     # how often a task says how many frames it has done


def report_paths(out: Path, input: Path) -> tuple[Path, Path]:
    """DIR/NAME.json and DIR/NAME.html, NAME being the input's name without its suffix."""
    return out / f"{input.stem}.json", out / f"{input.stem}.html"


def report_done(json_path: Path, html_path: Path) -> bool:
    """Both files are there and the JSON is a whole report (written last, renamed into place)."""
    from vision.safety.report import Report
    if not (json_path.is_file() and html_path.is_file()):
        return False
    try:
        Report.model_validate_json(json_path.read_text(encoding="utf-8"))
    except (ValueError, OSError):
        return False
    return True


def frame_count(path: Path) -> int | None:
    """Frames in a video (its container says; vision.io.frames) or a pose track (its lines);
    None if unknown. Only sizes the progress bar: an unreadable input is left to its task."""
    from vision.io.frames import FrameSource, FrameSourceError
    try:
        if path.suffix.lower() == ".jsonl":
            with open(path, "rb") as f:
                return max(0, sum(1 for line in f if line.strip()) - 1)
        with FrameSource(path) as src:
            return src.info.frame_count
    except (OSError, FrameSourceError):
        return None


def audit_task(path: str, source: str, studio, profile, model: Optional[str], device: str,
               tally, key: int) -> dict:
    """One input's audit on a Ray worker: {"ok": True, "report": JSON text, "html": page,
    "frames", "rss_mb", "pid"} or {"ok": False, "error": one line}. The input's own faults
    are a value, not an exception: Ray retries only a worker that died."""
    import shutil
    import tempfile

    input = Path(path)
    is_track = input.suffix.lower() == ".jsonl"
    snap_dir = None if is_track else Path(tempfile.mkdtemp(prefix="ashiwatch-batch-"))
    done, last = [0], [0.0]

    def advance() -> None:
        done[0] += 1
        t = time.monotonic()
        if t - last[0] >= TALLY_S:
            last[0] = t
            tally.set.remote(key, done[0])

    try:
        run = AuditRun(input, studio, profile, model, snap_dir, device, source=source)
        report, shots = run.run(advance)
        tally.set.remote(key, done[0])
        page = report_page(report, shots, input)
        return {"ok": True, "report": report.model_dump_json(indent=1) + "\n", "html": page,
                "frames": done[0], "duration_s": report.duration_s, "rss_mb": peak_rss_mb(),
                "pid": os.getpid()}
    except AuditInputError as e:
        return {"ok": False, "error": str(e).replace(path, source)}
    finally:
        if snap_dir is not None:
            shutil.rmtree(snap_dir, ignore_errors=True)


class Tally:
    """Frames done per input, across workers (a Ray actor): one progress bar over all inputs.
    A retried task starts again from 0, so it sets its count rather than adding to it."""

    def __init__(self) -> None:
        self.done: dict[int, int] = {}

    def set(self, key: int, n: int) -> None:
        self.done[key] = n

    def total(self) -> int:
        return sum(self.done.values())


def _write_atomic(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.partial")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(path)


def batch(
    inputs: List[Path] = typer.Argument(..., help="videos or pose tracks (.jsonl) to audit"),
    out: Path = typer.Option(..., "--out", help="folder for one report per input: NAME.json and NAME.html"),
    studio: Optional[Path] = typer.Option(None, "--studio", help="studio file (bars, table), for every input"),
    client: Optional[Path] = typer.Option(None, "--client", help="client profile (conditions), for every input"),
    workers: int = typer.Option(2, "--workers", min=1, max=256, help="audits at once on the local Ray (its CPUs)"),
    address: Optional[str] = typer.Option(None, "--address", help="join this running Ray cluster (default: RAY_ADDRESS, else a local Ray)"),
    model: Optional[str] = typer.Option(None, "--model", help="pose model for videos: lite, full or heavy (default: heavy)"),
    device: str = typer.Option("auto", "--device", help="where each worker's pose engine runs: auto, cpu or cuda"),
) -> None:
    """Audit many sessions at once as Ray tasks: one report (JSON and HTML) per input in DIR,
    the same as `ashiwatch audit` on it; a bad input gets one line and the others go on; a
    rerun skips inputs whose report is done."""
    from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

    if model is not None and model not in ("lite", "full", "heavy"):
        raise fail(f"--model {model}: choose lite, full or heavy")
    check_device(device)      # here, before Ray starts; each worker resolves auto itself
    st, prof = _load_inputs(studio, client)
    names = Counter(p.stem for p in inputs)
    clash = sorted(n for n, k in names.items() if k > 1)
    if clash:
        raise fail(f"inputs with the same name would write the same report in {out}: "
                   f"{', '.join(clash)} (rename them or run them apart)")
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise fail(f"{out}: cannot make the report folder ({e.strerror})")

    failed: list[str] = []
    todo: list[Path] = []
    for p in inputs:
        j, h = report_paths(out, p)
        if not p.is_file():
            failed.append(f"{p}: no such file")
        elif report_done(j, h):
            typer.echo(f"{p}: report done already ({j}), skipped")
        else:
            todo.append(p)
    for line in failed:
        typer.echo(f"ashiwatch: error: {line}", err=True)
    if not todo:
        raise typer.Exit(code=1 if failed else 0)

    try:
        where, start_s = init_ray(workers, address)
    except ScaleError as e:
        raise fail(str(e))
    import ray
    typer.echo(f"batch: {len(todo)} audit(s) on {where} (started in {start_s:.1f} s)", err=True)
    tally = ray.remote(num_cpus=0)(Tally).remote()
    task = ray.remote(num_cpus=1, max_retries=TASK_RETRIES)(audit_task)
    refs = {task.remote(str(p.resolve()), str(p), st, prof, model, device, tally, i): p
            for i, p in enumerate(todo)}
    counts = [frame_count(p) for p in todo]
    total = None if None in counts else sum(counts)
    t0 = time.perf_counter()
    video_s, rss = 0.0, []
    pending = list(refs)
    with Progress(TextColumn("batch"), BarColumn(), TextColumn("{task.completed} frames"),
                  TextColumn("{task.fields[left]} left"), TimeRemainingColumn(),
                  transient=True) as bar:
        bar_task = bar.add_task("batch", total=total, left=len(pending))
        while pending:
            ready, pending = ray.wait(pending, num_returns=1, timeout=TALLY_S)
            for ref in ready:
                p = refs[ref]
                line, ok = _finish(ref, p, out)
                if ok:
                    video_s += ok["duration_s"]
                    rss.append(ok["rss_mb"])
                    bar.console.print(line, highlight=False, soft_wrap=True)
                else:
                    failed.append(line)
                    typer.echo(f"ashiwatch: error: {line}", err=True)
            bar.update(bar_task, completed=ray.get(tally.total.remote()), left=len(pending))
    wall = time.perf_counter() - t0
    typer.echo(f"batch: {len(rss)} report(s) in {out}, {len(failed)} failed; "
               f"{video_s:.1f} s of video in {wall:.1f} s "
               f"({video_s / wall if wall > 0 else 0:.2f} video s per wall s); workers' peak "
               f"memory {max(rss) if rss else 0:.0f} MB", err=True)
    if failed:
        raise typer.Exit(code=1)


def _finish(ref, p: Path, out: Path) -> tuple[str, dict | None]:
    """Write one task's report and page; (the line to print, its result or None if failed)."""
    import ray
    from ray.exceptions import RayError

    from service.cli.audit import summary_line
    from vision.safety.report import Report
    try:
        res = ray.get(ref)
    except RayError as e:
        why = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        return (f"{p}: the audit's worker failed {TASK_RETRIES + 1} times "
                f"({type(e).__name__}: {why[:200]})"), None
    if not res["ok"]:
        return res["error"], None
    j, h = report_paths(out, p)
    try:
        _write_atomic(h, res["html"])
        _write_atomic(j, res["report"])     # last: a JSON there means the input is done
    except OSError as e:
        return f"{p}: cannot write its report in {out} ({e.strerror})", None
    return summary_line(Report.model_validate_json(res["report"]), j), res


def register(app: typer.Typer) -> None:
    app.command("batch")(batch)
