"""What runs in an audit job's own process (service.api.jobs): the audit of one upload, its
progress sent to the service as it goes, its end sent last. A process, not a thread, so that
the service can stop it at any moment, mid-frame too (a frame of a hostile input can take
long in OpenCV or the pose engine, and a thread cannot be stopped from outside), and so that a
crash in native code takes the job down, not the service."""

from __future__ import annotations

import os
import threading
import time
from dataclasses import dataclass
from pathlib import Path

# how often the child says how far it is; also its heartbeat (JobRunner's stall limit)
BEAT_S = 0.25


@dataclass(frozen=True)
class Task:
    """All a child needs (picklable: it crosses to the process)."""
    job_id: str
    path: Path
    input_kind: str
    filename: str
    studio: str | None
    client: str | None
    snapshots_dir: Path
    video_out: Path | None
    umask: int


# messages child → parent: ("progress", pct) | ("done", report json) | ("failed", message)
# | ("error", message): failed is the input's fault (kept, not retried), error is ours


def run(task: Task, conn) -> None:
    """The child's main: never raises (the parent reads the end from ``conn``)."""
    from vision.io.frames import FrameSourceError
    from vision.io.posetrack import PoseTrackError
    from vision.safety.profile import ProfileError
    from vision.io.studio import StudioError

    from service.api.pipeline import parse_profile_text, parse_studio_text, run_audit

    os.umask(task.umask)
    _die_with_the_service()
    last = {"time": 0.0}

    def progress(pct: float | None) -> None:
        t = time.monotonic()
        if t - last["time"] >= BEAT_S:     # (None: how far is not known, alive all the same)
            last["time"] = t
            conn.send(("progress", None if pct is None else round(pct, 1)))

    try:
        conn.send(("progress", 0.0))
        report, _ = run_audit(
            task.path, task.input_kind,
            studio=parse_studio_text(task.studio, "studio"),
            profile=parse_profile_text(task.client, "client"),
            source_name=task.filename, progress=progress,
            snapshots_dir=task.snapshots_dir, video_out=task.video_out)
        conn.send(("done", report.model_dump_json()))
    except (PoseTrackError, FrameSourceError, StudioError, ProfileError,
            FileNotFoundError) as e:
        # messages name the stored path: show the client's name instead
        conn.send(("failed", str(e).replace(str(task.path), task.filename)))
    except Exception as e:
        import traceback
        conn.send(("error", f"internal error: {type(e).__name__}: {e}",
                   traceback.format_exc()))
    finally:
        conn.close()



def _die_with_the_service() -> None:
    """A job's process must not outlive the service (kill -9 included): after a restart the
    job runs again, and two processes would write the same outputs. Its parent is the fork
    server, which exits when the service does; the child then has another parent."""
    parent = os.getppid()

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(0.5)
        os._exit(70)

    threading.Thread(target=watch, name="die-with-the-service", daemon=True).start()
