"""Cameras: one worker thread per camera runs the safety core (and, for images, the pose
engine) and publishes alert start and end events.

Sources (``source_kind``):
- ``stream``: an RTSP/HTTP(S)/RTMP URL, read through OpenCV's FFmpeg (MJPEG over HTTP included);
- ``device``: a local camera, ``"0"`` or ``"/dev/video0"``;
- ``video``: a video file, played at its own pace (``speed`` times faster);
- ``track``: a pose-track file replayed in real time (demos and tests; no images).

For images (stream, device, video) a reader thread keeps only the newest frame and the worker
runs the pose engine on it: when the engine is slower than the camera, frames are dropped
(counted) rather than letting the feed fall behind. A pose track costs nothing to process and
is replayed frame by frame.

A live camera that stops answering (the stream closes, a read fails, or no frame comes for
``stall_s``) gets ``camera_offline``; the worker retries with exponential back-off (0.5 s
doubling to 8 s) and publishes ``camera_online`` when it is back. Nothing a camera does can
stop the service."""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

from sqlmodel import select, text

from service.api.camera_reader import Ended, NewestFrame, read_frames
from service.api.camera_sources import (CameraSecrets, capture_spec, redact, source_kind,
                                        source_path, studio_text)
from service.api.db import Camera, Database
from service.api.events import EventHub
from service.api.pipeline import parse_studio_text, sniff
from service.api.settings import SECRETS_FILE
from vision.vocab import ZONE_ALERT, Phase

log = logging.getLogger("ashiwatch.cameras")

BACKOFF_MIN_S = 0.5
BACKOFF_MAX_S = 8.0


# Live cameras run the `full` landmark model: `heavy` (audits) costs ~2.7x per frame.
LIVE_MODEL = "full"


def planted_zones(status) -> dict[str, tuple[str, bool]]:
    """foot -> (zone, possible) of each foot planted on the client now (the running decision
    of its step)."""
    return {side: (f.zone, f.possible) for side, f in status.feet.items()
            if f.on_client and f.planted}


@dataclass
class Latest:
    """The newest processed frame, for the live view and snapshots."""
    image: object            # BGR np.ndarray, or None for a pose track
    frame: object            # vision.io.posetrack.Frame
    status: object           # vision.safety.audit.FrameStatus
    header: object           # vision.io.posetrack.Header
    studio: object           # vision.io.studio.Studio | None
    seq: int


class CameraWorker:
    def __init__(self, camera: Camera, hub: EventHub, on_alert=None,
                 stall_s: float | None = None, source: str | None = None) -> None:
        from vision.io.frames import CAMERA_TIMEOUT_MS
        self.camera = camera
        # what is opened: the row's source, or the real one with its password (CameraSecrets);
        # only ever shown through redact()
        self.source = source or camera.source
        self.hub = hub
        self.on_alert = on_alert       # (camera_id, event, Latest) after an alert_start
        self.stall_s = stall_s if stall_s is not None else max(CAMERA_TIMEOUT_MS / 1000, 1.0)
        self.stop_event = threading.Event()
        self.online = False
        self.latest: Latest | None = None
        self.frames_read = 0           # by the readers, over all connections
        self.frames_dropped = 0        # read but never processed (the engine was busy)
        self.frames_processed = 0
        self.reconnects = 0
        self._slot: NewestFrame | None = None
        self._engine = None
        self._announce = True     # False when the camera is deleted: nobody is left to tell
        self.thread = threading.Thread(target=self._run, name=f"camera-{camera.id}", daemon=True)

    def start(self) -> None:
        self.thread.start()

    def stop(self, announce: bool = True) -> None:
        self._announce = announce
        self.stop_event.set()
        self.thread.join(timeout=5)

    def stats(self) -> dict[str, int]:
        slot = self._slot
        read, dropped = self.frames_read, self.frames_dropped
        if slot is not None:       # the connection in progress
            read, dropped = read + slot.read, dropped + slot.dropped
        latest = self.latest
        return {"frames_read": read, "frames_processed": self.frames_processed,
                "frames_dropped": dropped, "reconnects": self.reconnects,
                "people": len(latest.frame.people) if latest is not None and self.online else 0}

    def _publish(self, type: str, **kw):
        return self.hub.publish(self.camera.id, type, **kw)

    # -- the thread -----------------------------------------------------------------------------
    def _run(self) -> None:
        try:
            kind = source_kind(self.source)
            studio = parse_studio_text(studio_text(self.camera.studio), "studio")
            if kind == "file":
                while not self.stop_event.is_set():
                    self._replay_once(studio)
                    if not self.camera.loop:
                        break
            else:
                self._run_live(studio)
        except Exception as e:   # a worker must end with an event, not silently
            log.exception("camera %s", self.camera.id)
            if self._announce:
                self._publish("camera_offline", detail=redact(f"internal error: {e}"))
            self.online = False

    def _engine_for(self, studio):
        """The camera's pose engine, fresh for a new connection or replay. Its ``source``
        (with the feet model or not, as the studio has a table) is what the header names, so
        the safety core takes the keypoint error of what actually reads the feet."""
        from vision.pose.engine import EngineConfig, PoseEngine
        if self._engine is None:
            self._engine = PoseEngine(EngineConfig(
                model=LIVE_MODEL, table=None if studio is None else studio.table,
                table_head=None if studio is None else studio.table_head))
        else:
            self._engine.reset()      # a new connection or replay: nothing carried over
        return self._engine

    def _run_live(self, studio) -> None:
        """Connect, run until the camera stops answering, say so, retry with back-off."""
        from vision.io.frames import FrameSource, FrameSourceError
        from vision.io.posetrack import Header
        spec = capture_spec(self.source)
        backoff = BACKOFF_MIN_S
        said_offline = False
        while not self.stop_event.is_set():
            try:
                src = FrameSource(spec)
            except FrameSourceError as e:
                if self.stop_event.is_set():
                    return
                if not said_offline:     # once, not at every retry
                    self._publish("camera_offline", detail=redact(str(e)))
                    said_offline = True
                if self.stop_event.wait(backoff):
                    return
                backoff = min(backoff * 2, BACKOFF_MAX_S)
                self.reconnects += 1
                continue
            if self.stop_event.is_set():
                src.close()
                return
            info = src.info
            engine = self._engine_for(studio)
            header = Header(fps=info.fps, width=info.width, height=info.height,
                            source=engine.source)
            detail = f"live {redact(self.source)} ({info.width}x{info.height})"
            why: list[str] = []
            ended = self._session(header, studio, self._image_items(src, engine, True, why),
                                  why, detail)
            said_offline = True
            if not ended:      # it ran a while: the next try comes soon
                backoff = BACKOFF_MIN_S
            if self.stop_event.wait(backoff):
                return
            backoff = min(backoff * 2, BACKOFF_MAX_S)
            self.reconnects += 1

    def _replay_once(self, studio) -> None:
        from vision.io.frames import FrameSource, FrameSourceError
        from vision.io.posetrack import PoseTrackError, iter_pose_track
        from vision.io.posetrack import Header
        path = source_path(self.source)
        src = engine = None
        try:
            if sniff(path) == "track":
                header, frames = iter_pose_track(path)
            else:
                src = FrameSource(path)
                engine = self._engine_for(studio)
                header = Header(fps=src.info.fps, width=src.info.width, height=src.info.height,
                                source=engine.source)
        except (PoseTrackError, FrameSourceError, ValueError, OSError) as e:
            # the file changed or went away since it was checked: nothing to replay, ever
            if self._announce:
                self._publish("camera_offline", detail=str(e))
            self.stop_event.set()
            return
        why: list[str] = []
        items = (self._track_items(frames) if src is None
                 else self._image_items(src, engine, False, why))
        self._session(header, studio, items, why, self._playing(path))

    def _playing(self, path: Path) -> str:
        return f"replaying {path.name} at {self.camera.speed:g}x"

    # -- one connection or one replay -------------------------------------------------------------
    def _track_items(self, frames) -> Iterator[tuple]:
        """A pose track in real time: (t, None, frame, wall time handed to the worker)."""
        wall0 = time.monotonic()
        t0 = None
        for fr in frames:
            t0 = fr.t if t0 is None else t0
            # the frame at session time t is due at wall0 + (t - t0) / speed
            delay = wall0 + (fr.t - t0) / self.camera.speed - time.monotonic()
            if delay > 0 and self.stop_event.wait(delay):
                return
            if self.stop_event.is_set():
                return
            self.frames_read += 1
            yield fr.t, None, fr, time.time()

    def _image_items(self, src, engine, live: bool, why: list) -> Iterator[tuple]:
        """Images through ``engine`` (``_engine_for``), always the newest one: (t, image,
        frame, wall time the frame was read). ``why`` gets the reason it ended."""
        slot = NewestFrame()
        reader_stop = threading.Event()
        self._slot = slot
        reader = threading.Thread(target=read_frames, name=f"camera-{self.camera.id}-reader",
                                  args=(src, slot, reader_stop, live, self.camera.speed),
                                  daemon=True)
        reader.start()
        stall = self.stall_s     # a file's frames come at its pace: never "silent too long"
        last = time.monotonic()
        try:
            while not self.stop_event.is_set():
                try:   # short waits: a stop is seen at once
                    item = slot.take(timeout=0.25)
                except Ended as e:
                    why.append(str(e))
                    return
                if item is None:
                    if live and time.monotonic() - last > stall:
                        why.append(f"no frame for {stall:g} s")
                        return
                    continue
                last = time.monotonic()
                t, image, wall = item
                frame = engine.process(image, t).frame
                yield t, image, frame, wall
        finally:
            reader_stop.set()       # a reader stuck in a read ends at its timeout
            self.frames_read += slot.read
            self.frames_dropped += slot.dropped
            self._slot = None

    def _session(self, header, studio, items: Iterator[tuple], why: list[str],
                 detail: str) -> bool:
        """Run one replay or connection (``items`` of ``_track_items`` or ``_image_items``;
        ``why`` gets the reason it ended) through the session runner, publishing its events.
        True when it ended before its first frame was processed."""
        from vision.io.frames import FrameSourceError
        from vision.io.posetrack import PoseTrackError
        from vision.session import SessionRunner
        runner = SessionRunner(header, studio, None, source=redact(self.source))
        events = runner.add(_EventPublisher(self, runner))
        self._publish("camera_online", detail=detail)
        self.online = True
        reason = "end of replay"
        try:
            for t, image, fr, wall in items:
                events.wall = wall
                runner.feed(image, fr)
            if why:
                reason = why[0]
        except (PoseTrackError, FrameSourceError) as e:
            reason = str(e)
        finally:
            items.close()      # the reader thread stops with it
        n = runner.frames
        if self.stop_event.is_set():
            reason = "camera stopped"
            if not self._announce:
                self.online = False
                return n == 0
        # a feed reader must never be left with an alert that has no end
        events.publish(runner.auditor.close_alerts(), None)
        self._publish("camera_offline", t=events.t, detail=redact(reason))
        self.online = False
        return n == 0


class _EventPublisher:
    """A sink of the camera's session: its moments as the live view's newest frame, its alert
    events (vision.safety.rules) as ``alert_start`` / ``alert_end``, and a ``step`` event when a foot
    is planted on the client and again when the running zone of that step changes (kind = the
    zone; detail "possible": a danger zone within the step's uncertainty, not sure)."""

    def __init__(self, worker: "CameraWorker", runner) -> None:
        self.worker, self.header, self.studio = worker, runner.header, runner.auditor.studio
        self.rules = runner.auditor.rules
        self.wall: float | None = None     # when the frame being processed was read
        self.t = 0.0
        self._steps: dict[str, tuple] = {}

    def on_moment(self, m) -> None:
        w = self.worker
        w.frames_processed += 1
        self.t = m.status.t
        latest = Latest(m.image, m.frame, m.status, self.header, self.studio, w.frames_processed)
        w.latest = latest
        now_steps = planted_zones(m.status)
        for foot, (zone, possible) in sorted(now_steps.items()):
            if self._steps.get(foot) != (zone, possible):
                alert = ZONE_ALERT.get(zone)
                w._publish("step", t=self.t, kind=zone, foot=foot, frame_wall_time=self.wall,
                           severity=None if alert is None else self.rules.severity(alert),
                           detail="possible" if possible else None)
        self._steps = now_steps
        self.publish(m.status.events, latest)

    def publish(self, events, latest) -> None:
        """Starts before ends, each in (kind, foot) order; ``on_alert`` after a start is out."""
        w = self.worker
        order = sorted(events, key=lambda e: (e.phase != Phase.START, e.kind, e.foot or ""))
        for e in order:
            ev = w._publish(f"alert_{e.phase}", t=self.t, kind=e.kind, foot=e.foot,
                            severity=e.severity,
                            frame_wall_time=None if latest is None else self.wall)
            if e.phase == Phase.START and w.on_alert is not None and latest is not None:
                w.on_alert(w.camera.id, ev, latest)

    def on_report(self, report) -> None:
        pass


class CameraManager:
    def __init__(self, db: Database, hub: EventHub, on_alert=None) -> None:
        self.db, self.hub = db, hub
        self.on_alert = on_alert
        self.secrets = CameraSecrets(db.path.parent / SECRETS_FILE)
        self._workers: dict[int, CameraWorker] = {}
        self._lock = threading.Lock()

    def start_all(self) -> None:
        # live sources restart with the service; a replay starts again from its beginning
        self._move_passwords_out_of_the_database()
        with self.db.session() as s:
            cams = s.exec(select(Camera)).all()
        for cam in cams:
            self.start(cam)

    def _move_passwords_out_of_the_database(self) -> None:
        """A data folder made before CameraSecrets has stream passwords in ``camera.source``:
        move them to the secrets file, then rewrite the database file (VACUUM, WAL
        truncated) so that the old pages holding them are gone too."""
        with self.db.session() as s:
            cams = [c for c in s.exec(select(Camera)).all() if redact(c.source) != c.source]
            for cam in cams:
                self.secrets.set(cam.id, cam.source)
                cam.source = redact(cam.source)
                s.add(cam)
            s.commit()
        if cams:
            with self.db.engine.connect() as conn:
                conn.execute(text("PRAGMA wal_checkpoint(TRUNCATE)"))
                conn.execute(text("VACUUM"))
                conn.execute(text("PRAGMA wal_checkpoint(TRUNCATE)"))
            log.info("moved the stream passwords of %d camera(s) to %s", len(cams),
                     self.secrets.path.name)

    def source_of(self, cam: Camera) -> str:
        """The source to open: the kept one with its password when the row holds its
        redacted form (a secret left from another camera is never used)."""
        secret = self.secrets.get(cam.id)
        return secret if secret is not None and redact(secret) == cam.source else cam.source

    def start(self, cam: Camera) -> None:
        w = CameraWorker(cam, self.hub, on_alert=self.on_alert, source=self.source_of(cam))
        with self._lock:
            self._workers[cam.id] = w
        w.start()

    def worker(self, camera_id: int) -> CameraWorker | None:
        return self._workers.get(camera_id)

    def is_online(self, camera_id: int) -> bool:
        w = self._workers.get(camera_id)
        return w is not None and w.online

    def stop(self, camera_id: int, announce: bool = True) -> None:
        with self._lock:
            w = self._workers.pop(camera_id, None)
        if w is not None:
            w.stop(announce)

    def stop_all(self) -> None:
        for cam_id in list(self._workers):
            self.stop(cam_id)
