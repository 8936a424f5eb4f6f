"""Audits of uploaded sessions: upload (queued as a job), status, report, delete."""

from __future__ import annotations

import json
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Request, Response
from fastapi.concurrency import run_in_threadpool
from sqlmodel import select

from service.api.db import Job, User
from service.api.deps import ServicesDep, get_or_404, require
from service.api.jobs import upload_path
from service.api.pipeline import (UnsupportedInput, parse_profile_text, parse_studio_text,
                                  sniff)
from service.api.schemas import JobOut
from service.api.upload import UploadError, receive

router = APIRouter(prefix="/audits", tags=["audits"])
AuditorUser = Annotated[User, Depends(require("audits"))]


def _out(job: Job, with_report: bool = True) -> JobOut:
    return JobOut(id=job.id, status=job.status, progress=job.progress, error=job.error,
                  filename=job.filename, input_kind=job.input_kind, keep=job.keep,
                  created=job.created,
                  report=json.loads(job.report) if with_report and job.report else None)


def _get(services, job_id: str) -> Job:
    return get_or_404(services, Job, job_id, f"audit {job_id!r}")


def _flag(text: str | None, default: bool) -> bool:
    if text is None:
        return default
    v = text.strip().lower()
    if v in ("1", "true", "yes", "on"):
        return True
    if v in ("0", "false", "no", "off", ""):
        return False
    raise HTTPException(422, f"keep: expected true or false, got {text!r}")


@router.post("", status_code=202, response_model=JobOut)
async def upload(request: Request, services: ServicesDep, user: AuditorUser,
                 keep: bool = False) -> JobOut:
    """Multipart form: ``file`` (a video or a pose track, recognised by content), optional
    ``studio`` and ``client`` (YAML text), optional ``keep`` (also a query parameter)."""
    settings = services.settings
    try:
        got = await receive(request, settings.uploads_dir, settings.max_upload_bytes)
    except UploadError as e:
        raise HTTPException(e.status, str(e))
    assert got.path is not None
    try:
        if got.size == 0:
            raise HTTPException(400, f"{got.filename}: the file is empty")
        try:
            kind = await run_in_threadpool(sniff, got.path)
        except UnsupportedInput as e:
            raise HTTPException(415, f"{got.filename}: {e}")
        keep = _flag(got.fields.get("keep"), keep)
        studio, client = got.fields.get("studio"), got.fields.get("client")
        try:   # bad studio or client text is the uploader's mistake: say so now
            parse_studio_text(studio, "studio")
            parse_profile_text(client, "client")
        except ValueError as e:
            raise HTTPException(422, str(e))
        job = Job(input_kind=kind, filename=got.filename, keep=keep, studio=studio,
                  client=client, owner_id=user.id)
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
    return _out(job)


@router.get("", response_model=list[JobOut])
def list_audits(services: ServicesDep, _: AuditorUser) -> list[JobOut]:
    """All audits, newest first, without their reports."""
    with services.db.session() as s:
        jobs = s.exec(select(Job).order_by(Job.created.desc())).all()
    return [_out(j, with_report=False) for j in jobs]


@router.get("/{job_id}", response_model=JobOut)
def get_audit(job_id: str, services: ServicesDep, _: AuditorUser) -> JobOut:
    return _out(_get(services, job_id))


@router.get("/{job_id}/report.json")
def get_report(job_id: str, services: ServicesDep, _: AuditorUser) -> Response:
    job = _get(services, job_id)
    if job.status != "done" or job.report is None:
        why = f": {job.error}" if job.error else ""
        raise HTTPException(409, f"audit {job_id} is {job.status}, no report{why}")
    return Response(job.report, media_type="application/json")


@router.delete("/{job_id}", status_code=204)
def delete_audit(job_id: str, services: ServicesDep, _: AuditorUser) -> Response:
    with services.db.session() as s:
        job = s.get(Job, job_id)
        if job is None:
            raise HTTPException(404, f"no audit {job_id!r}")
        s.delete(job)
        s.commit()
    # a running job stops at its next frame; its worker removes the file as well
    if job.status == "running":
        services.jobs.cancel(job_id)
    upload_path(services.settings, job.id, job.input_kind).unlink(missing_ok=True)
    return Response(status_code=204)
