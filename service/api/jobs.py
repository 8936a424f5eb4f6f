"""The audit job queue: rows in the database, one job at a time (the machine has few cores and
the pose engine uses them all), each in its own process (service.api.jobwork) watched by one
thread here. The database is the queue, so jobs survive a restart: on start-up, jobs left
``running`` by a dead process are queued again and rerun from the start.

Every job is bounded: it is stopped (its process killed, mid-frame too) when it is deleted,
when it runs past its time budget, or when it finishes no frame for a while (a stall); a
process that dies is tried again at most MAX_ATTEMPTS times. A job stopped for its budget or
a stall, or failed by its input, is not retried: it is ``failed`` with the reason, and the
queue goes on (docs/service.md, Limits)."""

from __future__ import annotations

import logging
import multiprocessing
import os
import shutil
import signal
import threading
import time
from pathlib import Path
from typing import Callable

from sqlmodel import select

from service.api import jobwork
from service.api.db import Database, Job, now
from service.api.settings import Settings

log = logging.getLogger("ashiwatch.jobs")

# times a job may be started: a process that dies (a crash in native code, the memory
# killer, the service killed while it ran) is tried again until then
MAX_ATTEMPTS = 3
POLL_S = 0.1          # how often the watcher looks at its job's process
PROGRESS_WRITE_S = 0.25   # a row write per frame would make SQLite the bottleneck

# Jobs' processes come from a fork server that has imported the pipeline once: a job starts
# in well under a second, and no process is forked from the service's threads.
_CTX = multiprocessing.get_context("forkserver")
_CTX.set_forkserver_preload(["service.api.jobwork", "service.api.pipeline", "vision.safety.audit",
                             "vision.pose.video"])


def upload_path(settings: Settings, job_id: str, kind: str) -> Path:
    # generated names only: the client's file name never reaches the file system
    return settings.uploads_dir / f"{job_id}.{kind}"


def remove_outputs(settings: Settings, job_id: str) -> None:
    shutil.rmtree(settings.audit_snapshots(job_id), ignore_errors=True)
    settings.audit_video(job_id).unlink(missing_ok=True)


def _ended(exitcode: int | None) -> str:
    if exitcode is not None and exitcode < 0:
        try:
            return f"killed by {signal.Signals(-exitcode).name}"
        except ValueError:
            return f"killed by signal {-exitcode}"
    return f"exit code {exitcode}"


class ProcessExecution:
    """A job's own process on this machine, its messages through a pipe."""

    def __init__(self, work: Callable, task: jobwork.Task, name: str) -> None:
        self.recv, send = _CTX.Pipe(duplex=False)
        self.proc = _CTX.Process(target=work, args=(task, send), daemon=True, name=name)
        self.proc.start()
        send.close()             # the child's end: EOF here once the child is gone

    def poll(self, timeout: float) -> tuple | None:
        """The next message, None for none yet, ("gone", how) once the process has ended
        without one."""
        if self.recv.poll(timeout):
            try:
                return self.recv.recv()
            except (EOFError, OSError):
                self.proc.join(timeout=5)
                return ("gone", _ended(self.proc.exitcode))
        if not self.proc.is_alive() and not self.recv.poll():
            return ("gone", _ended(self.proc.exitcode))
        return None

    def close(self) -> None:
        """Stop it if it still runs (mid-frame too)."""
        if self.proc.is_alive():
            self.proc.kill()
        self.proc.join(timeout=10)
        self.recv.close()


class JobRunner:
    def __init__(self, settings: Settings, db: Database,
                 work: Callable = jobwork.run) -> None:
        """``work(task, conn)``: what a job's process runs (jobwork.run; a test gives another)."""
        self.settings, self.db = settings, db
        self.work = work
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._cancel: set[str] = set()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._ray_address: str | None = None

    # -- lifecycle ------------------------------------------------------------------------------
    def start(self) -> None:
        # annotated videos a killed process left half-written (their jobs rerun, or are gone)
        for partial in self.settings.videos_dir.glob(".partial-*"):
            partial.unlink(missing_ok=True)
        self._sweep_uploads()
        given_up: list[Job] = []
        with self.db.session() as s:
            for job in s.exec(select(Job).where(Job.status == "running")).all():
                if job.attempts >= MAX_ATTEMPTS:
                    log.warning("job %s was running when the service stopped, %d times: "
                                "failed", job.id, job.attempts)
                    job.status = "failed"
                    job.error = (f"the service stopped while this audit ran, {job.attempts} "
                                 f"times; not tried again")
                    given_up.append(job)
                else:
                    log.info("job %s was running when the service stopped: queued again",
                             job.id)
                    job.status, job.progress = "queued", 0.0
                job.updated = now()
                s.add(job)
            s.commit()
        for job in given_up:
            self._remove_outputs(job.id)
            self._finish_files(job)
        self._thread = threading.Thread(target=self._loop, name="audit-jobs", daemon=True)
        self._thread.start()

    def _sweep_uploads(self) -> None:
        """What a killed process left in the uploads folder: bodies being received
        (``.incoming-*``) and stored uploads whose job row was never committed or is gone.
        Run before the server takes requests, so that no upload is under way."""
        with self.db.session() as s:
            jobs = {(j.id, j.input_kind) for j in s.exec(select(Job)).all()
                    if j.keep or j.status in ("queued", "running")}
        swept = 0
        for f in self.settings.uploads_dir.iterdir():
            stem, _, kind = f.name.partition(".")
            if f.is_file() and (f.name.startswith(".incoming-") or (stem, kind) not in jobs):
                f.unlink(missing_ok=True)
                swept += 1
        if swept:
            log.info("removed %d partial or orphaned upload(s) from %s", swept,
                     self.settings.uploads_dir)

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=10)

    def notify(self) -> None:
        self._wake.set()

    def cancel(self, job_id: str) -> None:
        """Stop the job now if it runs (its process is killed; DELETE /audits/{id})."""
        with self._lock:
            self._cancel.add(job_id)

    # -- the queue ------------------------------------------------------------------------------
    def _claim_next(self) -> Job | None:
        with self.db.session() as s:
            job = s.exec(select(Job).where(Job.status == "queued")
                         .order_by(Job.created)).first()
            if job is None:
                return None
            job.status, job.progress = "running", 0.0
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
                self._update(job.id, status="failed", error="internal error in the job queue")

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

    # -- one job --------------------------------------------------------------------------------
    def _run(self, job: Job) -> None:
        path = upload_path(self.settings, job.id, job.input_kind)
        video = self.settings.audit_video(job.id)
        partial = video.with_name(f".partial-{video.name}")
        self._remove_outputs(job.id)       # a rerun starts clean
        partial.unlink(missing_ok=True)
        if not path.is_file():
            self._fail(job, "the uploaded file is gone from the uploads folder", partial)
            return
        umask = os.umask(0o077)
        os.umask(umask)
        task = jobwork.Task(job_id=job.id, path=path, input_kind=job.input_kind,
                            filename=job.filename, studio=job.studio, client=job.client,
                            snapshots_dir=self.settings.audit_snapshots(job.id),
                            video_out=partial if job.annotate else None, umask=umask)
        end, detail = self._watch(job, task)
        if end == "done":
            if job.annotate and partial.is_file():
                partial.replace(video)     # whole, or not there
            alive = self._update(job.id, status="done", progress=100.0, error=None,
                                 report=detail)
            if not alive:          # deleted while it ran
                self._remove_outputs(job.id)
            self._finish_files(job, deleted=not alive)
        elif end == "deleted":
            self._clean(job, partial)
            self._finish_files(job, deleted=True)
        elif end == "stopping":
            # the service stops: the job is queued for the next start, this try not counted
            self._clean(job, partial)
            self._update(job.id, status="queued", progress=0.0, attempts=job.attempts - 1)
            self._finish_files(job, requeued=True)
        elif end == "crashed" and job.attempts < MAX_ATTEMPTS:
            log.warning("job %s: its process ended (%s): queued again", job.id, detail)
            self._clean(job, partial)
            self._update(job.id, status="queued", progress=0.0,
                         error=f"attempt {job.attempts} of {MAX_ATTEMPTS}: the audit process "
                               f"ended unexpectedly ({detail}); trying again")
            self._finish_files(job, requeued=True)
        else:
            if end == "crashed":
                detail = (f"the audit process ended unexpectedly ({detail}), "
                          f"{job.attempts} times; not tried again")
            self._fail(job, detail, partial)

    def _watch(self, job: Job, task: jobwork.Task) -> tuple[str, str | None]:
        """Run the job's process until it ends or is stopped: (how it ended, its detail):
        done (the report JSON), failed / error (the message), deleted, stopping, timeout,
        stalled (the reason), crashed (how the process ended)."""
        budget, stall = self.settings.job_timeout_s, self.settings.job_stall_s
        run = self._execution(task, f"audit-{job.id[:8]}")
        started = beat = written = time.monotonic()
        end: tuple[str, str | None] | None = None
        try:
            while end is None:
                msg = run.poll(POLL_S)
                t = time.monotonic()
                if msg is not None and msg[0] == "gone":     # ended, saying nothing
                    end = ("crashed", msg[1])
                elif msg is not None and msg[0] == "progress":
                    beat = t
                    if msg[1] is not None and t - written >= PROGRESS_WRITE_S:
                        written = t
                        if not self._update(job.id, progress=msg[1]):
                            end = ("deleted", None)
                elif msg is not None:
                    if msg[0] == "error" and len(msg) > 2:
                        log.error("job %s: %s", job.id, msg[2])
                    end = (msg[0], msg[1])
                elif self._stop.is_set():
                    end = ("stopping", None)
                elif job.id in self._cancel:
                    end = ("deleted", None)
                elif t - started > budget:
                    end = ("timeout", f"stopped after {budget:g} s: the time budget of an "
                                      f"audit (ashiwatch serve --job-timeout-s)")
                elif t - beat > stall:
                    end = ("stalled", f"stopped: no frame was finished for {stall:g} s "
                                      f"(ashiwatch serve --job-stall-s)")
        finally:
            run.close()
        if end[0] in ("timeout", "stalled"):
            log.warning("job %s: %s", job.id, end[1])
        return end

    def _execution(self, task: jobwork.Task, name: str) -> ProcessExecution:
        if self.settings.jobs == "ray":
            import functools

            from service.api import rayjobs
            if self._ray_address is None:
                self._ray_address = rayjobs.cluster_address(self.settings.ray_address)
            # a process that runs the job as a Ray task (service.api.rayjobs.bridge)
            return ProcessExecution(functools.partial(rayjobs.bridge,
                                                      address=self._ray_address), task, name)
        return ProcessExecution(self.work, task, name)

    def _fail(self, job: Job, message: str, partial: Path) -> None:
        self._clean(job, partial)
        self._update(job.id, status="failed", error=message)
        self._finish_files(job)

    def _clean(self, job: Job, partial: Path) -> None:
        self._remove_outputs(job.id)
        partial.unlink(missing_ok=True)

    def _remove_outputs(self, job_id: str) -> None:
        """The snapshots and annotated video of a job (rerun, failed, or deleted)."""
        remove_outputs(self.settings, job_id)

    def _finish_files(self, job: Job, deleted: bool = False, requeued: bool = False) -> None:
        with self._lock:
            self._cancel.discard(job.id)
        if requeued:
            return                   # its upload is read again
        if deleted or not job.keep:
            upload_path(self.settings, job.id, job.input_kind).unlink(missing_ok=True)
