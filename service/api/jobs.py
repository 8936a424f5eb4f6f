"""The audit job queue: rows in the database, one worker thread (the machine has few cores and
the pose engine uses them all). The database is the queue, so jobs survive a restart: on
start-up, jobs left ``running`` by a dead process are queued again and rerun from the start."""

from __future__ import annotations

import logging
import shutil
import threading
import time
from pathlib import Path

from sqlmodel import select

from service.api.db import Database, Job, now
from service.api.pipeline import Cancelled, parse_profile_text, parse_studio_text, run_audit
from service.api.settings import Settings

log = logging.getLogger("ashiwatch.jobs")


def upload_path(settings: Settings, job_id: str, kind: str) -> Path:
    # generated names only: the client's file name never reaches the file system
    return settings.uploads_dir / f"{job_id}.{kind}"


def remove_outputs(settings: Settings, job_id: str) -> None:
    shutil.rmtree(settings.audit_snapshots(job_id), ignore_errors=True)
    settings.audit_video(job_id).unlink(missing_ok=True)


class JobRunner:
    def __init__(self, settings: Settings, db: Database) -> None:
        self.settings, self.db = settings, db
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._cancel: set[str] = set()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None

    # -- lifecycle ------------------------------------------------------------------------------
    def start(self) -> None:
        # annotated videos a killed process left half-written (their jobs rerun, or are gone)
        for partial in self.settings.videos_dir.glob(".partial-*"):
            partial.unlink(missing_ok=True)
        with self.db.session() as s:
            for job in s.exec(select(Job).where(Job.status == "running")).all():
                log.info("job %s was running when the service stopped: queued again", job.id)
                job.status, job.progress, job.updated = "queued", 0.0, now()
                s.add(job)
            s.commit()
        self._thread = threading.Thread(target=self._loop, name="audit-jobs", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def notify(self) -> None:
        self._wake.set()

    def cancel(self, job_id: str) -> None:
        with self._lock:
            self._cancel.add(job_id)

    # -- the worker -----------------------------------------------------------------------------
    def _claim_next(self) -> Job | None:
        with self.db.session() as s:
            job = s.exec(select(Job).where(Job.status == "queued")
                         .order_by(Job.created)).first()
            if job is None:
                return None
            job.status, job.progress, job.error = "running", 0.0, None
            job.attempts += 1
            job.updated = now()
            s.add(job)
            s.commit()
            return job

    def _loop(self) -> None:
        while not self._stop.is_set():
            job = self._claim_next()
            if job is None:
                self._wake.wait(timeout=1.0)
                self._wake.clear()
                continue
            try:
                self._run(job)
            except Exception:   # never let one job kill the worker
                log.exception("job %s: unexpected error", job.id)

    def _update(self, job_id: str, **fields) -> bool:
        """Write fields to the job row; False if the row is gone (deleted meanwhile)."""
        with self.db.session() as s:
            job = s.get(Job, job_id)
            if job is None:
                return False
            for k, v in fields.items():
                setattr(job, k, v)
            job.updated = now()
            s.add(job)
            s.commit()
            return True

    def _run(self, job: Job) -> None:
        from vision.frames import FrameSourceError
        from vision.posetrack import PoseTrackError
        from vision.profile import ProfileError
        from vision.studio import StudioError
        path = upload_path(self.settings, job.id, job.input_kind)
        last = {"time": 0.0, "pct": 0.0}

        def progress(pct: float) -> None:
            # a row write per frame would make SQLite the bottleneck: at most ~4 a second
            t = time.monotonic()
            if t - last["time"] >= 0.25 and pct > last["pct"]:
                last["time"], last["pct"] = t, pct
                if not self._update(job.id, progress=round(pct, 1)):
                    self.cancel(job.id)

        def cancelled() -> bool:
            return self._stop.is_set() or job.id in self._cancel

        shots_dir = self.settings.audit_snapshots(job.id)
        video = self.settings.audit_video(job.id)
        partial = video.with_name(f".partial-{video.name}")
        self._remove_outputs(job.id)       # a rerun starts clean
        try:
            if not path.is_file():
                raise FileNotFoundError("the uploaded file is gone from the uploads folder")
            report, _ = run_audit(
                path, job.input_kind,
                studio=parse_studio_text(job.studio, "studio"),
                profile=parse_profile_text(job.client, "client"),
                source_name=job.filename, progress=progress, cancelled=cancelled,
                snapshots_dir=shots_dir, video_out=partial if job.annotate else None)
            if job.annotate:
                partial.replace(video)     # whole, or not there
        except Cancelled:
            self._remove_outputs(job.id)
            partial.unlink(missing_ok=True)
            if self._stop.is_set():
                # service stopping: leave it queued for the next start
                self._update(job.id, status="queued", progress=0.0)
                return
            self._finish_files(job, deleted=True)
            return
        except (PoseTrackError, FrameSourceError, StudioError, ProfileError,
                FileNotFoundError) as e:
            # messages name the stored path: show the client's name instead
            msg = str(e).replace(str(path), job.filename)
            self._update(job.id, status="failed", error=msg)
            self._remove_outputs(job.id)
            partial.unlink(missing_ok=True)
            self._finish_files(job)
            return
        except Exception as e:
            log.exception("job %s failed", job.id)
            self._remove_outputs(job.id)
            partial.unlink(missing_ok=True)
            self._update(job.id, status="failed", error=f"internal error: {type(e).__name__}: {e}")
            self._finish_files(job)
            return
        alive = self._update(job.id, status="done", progress=100.0,
                             report=report.model_dump_json())
        if not alive:          # deleted while it ran
            self._remove_outputs(job.id)
        self._finish_files(job, deleted=not alive)

    def _remove_outputs(self, job_id: str) -> None:
        """The snapshots and annotated video of a job (rerun, failed, or deleted)."""
        remove_outputs(self.settings, job_id)

    def _finish_files(self, job: Job, deleted: bool = False) -> None:
        with self._lock:
            self._cancel.discard(job.id)
        if deleted or not job.keep:
            upload_path(self.settings, job.id, job.input_kind).unlink(missing_ok=True)
