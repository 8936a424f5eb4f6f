"""Audits of uploaded sessions: upload (queued as a job), status, report, delete."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Request, Response
from fastapi import Path as FPath
from fastapi.responses import FileResponse, HTMLResponse
from fastapi.concurrency import run_in_threadpool
from sqlmodel import select

from service.api.db import Job, User
from service.api.deps import ServicesDep, delete_or_404, get_job, require
from service.api.jobs import remove_outputs, upload_path
from service.api.openapi import UPLOAD_BODY, errors
from service.api.pipeline import (InvalidInput, UnsupportedInput, check_track,
                                  parse_profile_text, parse_studio_text, sniff)
from service.api.schemas import JobOut, SnapshotOut
from service.api.upload import UploadError, receive

router = APIRouter(prefix="/audits", tags=["audits"])
AuditorUser = Annotated[User, Depends(require("audits"))]


def _out(job: Job, settings=None, with_report: bool = True) -> JobOut:
    report = json.loads(job.report) if job.report else None
    snapshots, video = [], None
    if settings is not None and with_report and job.status == "done" and report:
        for i, path in sorted(_snapshot_files(settings, job.id).items()):
            a = report["alerts"][i] if i < len(report["alerts"]) else {}
            snapshots.append(SnapshotOut(alert=i, kind=a.get("kind", "?"), foot=a.get("foot"),
                                         start_s=a.get("start_s", 0.0),
                                         url=f"/audits/{job.id}/snapshots/{i}"))
        if settings.audit_video(job.id).is_file():
            video = f"/audits/{job.id}/video"
    return JobOut(id=job.id, status=job.status, progress=job.progress, error=job.error,
                  filename=job.filename, input_kind=job.input_kind, keep=job.keep,
                  annotate=bool(job.annotate), created=job.created,
                  report=report if with_report else None, snapshots=snapshots, video=video)


def _snapshot_files(settings, job_id: str) -> dict[int, str]:
    """{alert index: file} from the audit's snapshot index (none before it is done)."""
    from vision.pictures.snapshots import load_index
    folder = settings.audit_snapshots(job_id)
    try:
        return load_index(folder)
    except (OSError, ValueError):
        return {}


def _done(job: Job) -> None:
    if job.status != "done" or job.report is None:
        why = f": {job.error}" if job.error else ""
        raise HTTPException(409, f"audit {job.id} is {job.status}, no report{why}")


def _flag(text: str | None, default: bool, name: str) -> bool:
    if text is None:
        return default
    v = text.strip().lower()
    if v in ("1", "true", "yes", "on"):
        return True
    if v in ("0", "false", "no", "off", ""):
        return False
    raise HTTPException(422, f"{name}: expected true or false, got {text!r}")


@router.post("", status_code=202, response_model=JobOut,
             responses=errors(400, 408, 413, 415), openapi_extra=UPLOAD_BODY)
async def upload(request: Request, services: ServicesDep, user: AuditorUser,
                 keep: bool = False, annotate: bool = False) -> JobOut:
    """Multipart form: ``file`` (a video or a pose track, recognised by content), optional
    ``studio`` and ``client`` (YAML text), optional ``keep`` (keep the upload) and
    ``annotate`` (make the annotated video), also as query parameters."""
    settings = services.settings
    try:
        got = await receive(request, settings.uploads_dir, settings.max_upload_bytes,
                            idle_s=settings.upload_idle_s)
    except UploadError as e:
        raise HTTPException(e.status, str(e),
                            headers={"Connection": "close"} if e.close else None)
    assert got.path is not None
    try:
        if got.size == 0:
            raise HTTPException(400, f"{got.filename}: the file is empty")
        keep = _flag(got.fields.get("keep"), keep, "keep")
        annotate = _flag(got.fields.get("annotate"), annotate, "annotate")
        studio, client = got.fields.get("studio"), got.fields.get("client")
        # parsing runs in a worker thread: a slow or hostile file must not hold the event loop
        try:
            kind = await run_in_threadpool(sniff, got.path)
            if kind == "track":   # every line once: a broken one is refused now, not by a job
                await run_in_threadpool(check_track, got.path, got.filename)
        except UnsupportedInput as e:
            raise HTTPException(415, f"{got.filename}: {e}")
        except InvalidInput as e:
            raise HTTPException(422, f"{got.filename}: {e}")
        try:   # bad studio or client text is the uploader's mistake: say so now
            await run_in_threadpool(parse_studio_text, studio, "studio")
            await run_in_threadpool(parse_profile_text, client, "client")
        except ValueError as e:
            raise HTTPException(422, str(e))
        job = Job(input_kind=kind, filename=got.filename, keep=keep, annotate=annotate,
                  studio=studio, client=client, owner_id=user.id)
        final = upload_path(settings, job.id, kind)
        got.path.rename(final)
        try:
            with services.db.session() as s:
                s.add(job)
                s.commit()
        except Exception:
            final.unlink(missing_ok=True)
            raise
    finally:
        got.path.unlink(missing_ok=True)    # gone already unless something above failed
    services.jobs.notify()
    return _out(job, settings)


@router.get("", response_model=list[JobOut])
def list_audits(services: ServicesDep, user: AuditorUser) -> list[JobOut]:
    """The audits the user may see (an auditor's own, all for an admin), newest first,
    without their reports."""
    query = select(Job).order_by(Job.created.desc())
    if user.role != "admin":
        query = query.where(Job.owner_id == user.id)
    with services.db.session() as s:
        jobs = s.exec(query).all()
    return [_out(j, with_report=False) for j in jobs]


@router.get("/{job_id}", response_model=JobOut)
def get_audit(job_id: str, services: ServicesDep, user: AuditorUser) -> JobOut:
    return _out(get_job(services, job_id, user), services.settings)


@router.get("/{job_id}/report.json",
            responses={200: {"description": "report v1", "content": {"application/json": {}}},
                       **errors(409)})
def get_report(job_id: str, services: ServicesDep, user: AuditorUser) -> Response:
    job = get_job(services, job_id, user)
    _done(job)
    return Response(job.report, media_type="application/json")


@router.get("/{job_id}/report.html", response_class=HTMLResponse, responses=errors(409))
def get_report_html(job_id: str, services: ServicesDep, user: AuditorUser) -> HTMLResponse:
    """The report as one self-contained page (vision.pictures.reporting.html), snapshots embedded."""
    from vision.safety.report import Report
    from vision.pictures.reporting.html import render_html
    job = get_job(services, job_id, user)
    _done(job)
    report = Report.model_validate_json(job.report)
    html = render_html(report, snapshots=_snapshot_files(services.settings, job.id),
                       title=f"ashiwatch audit: {job.filename}")
    # the page is self-contained: it may load nothing from anywhere
    return HTMLResponse(html, headers={"Content-Security-Policy":
                                       "default-src 'none'; img-src data:; "
                                       "style-src 'unsafe-inline'"})


@router.get("/{job_id}/snapshots/{n}", response_class=FileResponse,
            responses={200: {"content": {"image/jpeg": {}}, "description": "a JPEG"}})
def get_snapshot(job_id: str, n: Annotated[int, FPath(ge=0, le=10**6)], services: ServicesDep,
                 user: AuditorUser) -> FileResponse:
    """The picture of alert ``n`` (its index in report.alerts): the frame with the overlay,
    faces blurred."""
    job = get_job(services, job_id, user)
    _done(job)
    path = _snapshot_files(services.settings, job.id).get(n)
    if path is None or not Path(path).is_file():
        raise HTTPException(404, f"audit {job_id}: no snapshot for alert {n}")
    return FileResponse(path, media_type="image/jpeg")


@router.get("/{job_id}/video", response_class=FileResponse,
            responses={200: {"content": {"video/mp4": {}}, "description": "an MP4"},
                       **errors(409)})
def get_video(job_id: str, services: ServicesDep, user: AuditorUser) -> FileResponse:
    """The annotated video (MP4, MPEG-4 part 2; faces blurred), when it was asked for with
    ``annotate``."""
    job = get_job(services, job_id, user)
    path = services.settings.audit_video(job.id)
    if not job.annotate:
        raise HTTPException(404, f"audit {job_id}: no annotated video was asked for "
                                 f"(upload with annotate=true)")
    if job.status != "done" or not path.is_file():
        raise HTTPException(409, f"audit {job_id} is {job.status}, the video is not ready")
    return FileResponse(path, media_type="video/mp4",
                        filename=f"{Path(job.filename).stem}-annotated.mp4")


@router.delete("/{job_id}", status_code=204)
def delete_audit(job_id: str, services: ServicesDep, user: AuditorUser) -> Response:
    get_job(services, job_id, user)          # someone else's: 404, nothing deleted
    job = delete_or_404(services, Job, job_id, f"audit {job_id!r}")
    # a running job's process is stopped now; its watcher removes the file as well
    if job.status == "running":
        services.jobs.cancel(job_id)
    upload_path(services.settings, job.id, job.input_kind).unlink(missing_ok=True)
    remove_outputs(services.settings, job.id)
    return Response(status_code=204)
