"""Cameras: one worker thread per camera reads its frames, runs the Auditor and publishes
alert start and end events.

Sources so far: a pose-track file replayed in real time (``speed`` times faster for demos and
tests), and a video file through the pose engine, played at its own pace (frames are not
dropped: if the engine is slower than the video, the feed runs late). Live cameras (RTSP,
devices) come later."""

from __future__ import annotations

import logging
import threading
import time
from collections import Counter
from pathlib import Path

from sqlmodel import select

from service.api.db import Camera, Database
from service.api.events import EventHub
from service.api.pipeline import parse_studio_text, sniff

log = logging.getLogger("ashiwatch.cameras")


def planted_zones(status) -> dict[str, str]:
    """foot -> zone of each foot planted on the client now (the running zone of its step)."""
    return {side: f.zone for side, f in status.feet.items() if f.on_client and f.planted}


def active_alerts(status) -> set[tuple[str, str | None]]:
    """(kind, foot) of the alerts active in one FrameStatus: the rule alerts the Auditor
    debounces, and a step on a danger zone while a foot is planted on it (the report makes
    those per finished step; live, the therapist must know now)."""
    from vision.rules import ZONE_ALERT
    keys: set[tuple[str, str | None]] = {(k, None) for k in Counter(status.alerts)}
    for side, f in status.feet.items():
        if f.on_client and f.planted and f.zone in ZONE_ALERT:
            keys.add((ZONE_ALERT[f.zone], side))
    return keys


class CameraWorker:
    def __init__(self, camera: Camera, hub: EventHub) -> None:
        self.camera = camera
        self.hub = hub
        self.stop_event = threading.Event()
        self.online = False
        self._announce = True     # False when the camera is deleted: nobody is left to tell
        self.thread = threading.Thread(target=self._run, name=f"camera-{camera.id}", daemon=True)

    def start(self) -> None:
        self.thread.start()

    def stop(self, announce: bool = True) -> None:
        self._announce = announce
        self.stop_event.set()
        self.thread.join(timeout=5)

    def _publish(self, type: str, **kw) -> None:
        self.hub.publish(self.camera.id, type, **kw)

    def _run(self) -> None:
        try:
            while not self.stop_event.is_set():
                self._replay_once()
                if not self.camera.loop:
                    break
        except Exception as e:   # a worker must end with an event, not silently
            log.exception("camera %s", self.camera.id)
            if self.online:
                self._publish("camera_offline", detail=f"internal error: {e}")
                self.online = False

    def _replay_once(self) -> None:
        from vision.audit import Auditor
        from vision.posetrack import PoseTrackError, iter_pose_track
        from vision.rules import SEVERITY, ZONE_ALERT
        cam = self.camera
        from vision.frames import FrameSourceError
        try:
            studio = parse_studio_text(studio_text(cam.studio), "studio")
            header, frames = open_source(Path(cam.source), studio)
        except (PoseTrackError, FrameSourceError, ValueError, OSError) as e:
            self._publish("camera_offline", detail=str(e))
            self.stop_event.set()
            return
        aud = Auditor(header, studio, None, source=cam.source)
        self._publish("camera_online", detail=f"replaying {Path(cam.source).name} "
                                              f"at {cam.speed:g}x")
        self.online = True
        active: set[tuple[str, str | None]] = set()
        steps: dict[str, str] = {}      # foot -> zone it is planted on (step events)
        wall0 = time.monotonic()
        t0 = None
        t = 0.0
        reason = "end of replay"
        try:
            for fr in frames:
                if t0 is None:
                    t0 = fr.t
                # real time: frame at session time t is due at wall0 + (t - t0) / speed
                due = wall0 + (fr.t - t0) / cam.speed
                delay = due - time.monotonic()
                if delay > 0 and self.stop_event.wait(delay):
                    break
                if self.stop_event.is_set():
                    break
                t = fr.t
                fs = aud.push(fr)
                now_active = active_alerts(fs)
                # a `step` event when a foot is planted on the client, and again when the
                # running zone of that step changes (kind = the zone; for the dashboard's map)
                now_steps = planted_zones(fs)
                for foot, zone in sorted(now_steps.items()):
                    if steps.get(foot) != zone:
                        alert = ZONE_ALERT.get(zone)
                        self._publish("step", t=t, kind=zone, foot=foot,
                                      severity=None if alert is None else
                                      aud.profile.severity(alert, SEVERITY[alert]))
                steps = now_steps
                for kind, foot in sorted(now_active - active, key=str):
                    self._publish("alert_start", t=t, kind=kind, foot=foot,
                                  severity=aud.profile.severity(kind, SEVERITY[kind]))
                for kind, foot in sorted(active - now_active, key=str):
                    self._publish("alert_end", t=t, kind=kind, foot=foot,
                                  severity=aud.profile.severity(kind, SEVERITY[kind]))
                active = now_active
        except (PoseTrackError, FrameSourceError) as e:
            reason = str(e)
        if self.stop_event.is_set():
            reason = "camera stopped"
            if not self._announce:
                return
        # a feed reader must never be left with an alert that has no end
        for kind, foot in sorted(active, key=str):
            self._publish("alert_end", t=t, kind=kind, foot=foot,
                          severity=aud.profile.severity(kind, SEVERITY[kind]))
        self._publish("camera_offline", t=t, detail=reason)
        self.online = False


def open_source(path: Path, studio):
    """(header, frames) of a camera source: a pose track as it is, a video file through the
    pose engine (recognised by content, as uploads are)."""
    from vision.posetrack import iter_pose_track
    if sniff(path) == "track":
        return iter_pose_track(path)
    from vision.pose.video import track_from_video
    header, frames, _ = track_from_video(
        path, "full", table=None if studio is None else studio.table,
        table_head=None if studio is None else studio.table_head)
    return header, frames


def studio_text(studio: str | None) -> str | None:
    """The stored studio is YAML text, or a path to a studio file (read at each start)."""
    if studio and "\n" not in studio.strip() and Path(studio.strip()).is_file():
        return Path(studio.strip()).read_text(encoding="utf-8")
    return studio


class CameraManager:
    def __init__(self, db: Database, hub: EventHub) -> None:
        self.db, self.hub = db, hub
        self._workers: dict[int, CameraWorker] = {}
        self._lock = threading.Lock()

    def start_all(self) -> None:
        # live sources restart with the service; a replay starts again from its beginning
        with self.db.session() as s:
            cams = s.exec(select(Camera)).all()
        for cam in cams:
            self.start(cam)

    def start(self, cam: Camera) -> None:
        w = CameraWorker(cam, self.hub)
        with self._lock:
            self._workers[cam.id] = w
        w.start()

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
