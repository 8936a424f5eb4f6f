"""Pictures of live cameras: a snapshot per alert, and the frames of the live view.

Both draw the newest processed frame (``CameraWorker.latest``) with the overlay (skeletons,
zones, bars, status; vision.pictures.overlay) and blur the faces (vision.pictures.privacy). A pose-track camera
has no images: its skeletons are drawn on a dark canvas of the track's size. Drawing happens
off the worker thread (snapshots) or only while someone watches (the live view), so the alert
itself is never late for a picture."""

from __future__ import annotations

import logging
import shutil
from concurrent.futures import ThreadPoolExecutor

import cv2

from service.api.settings import Settings
from vision.session import dark_canvas
from vision.pictures.sinks import render_frame

log = logging.getLogger("ashiwatch.live")
JPEG_QUALITY = 80


def render_latest(latest, max_width: int | None = None) -> bytes:
    """JPEG bytes of a camera's newest frame with the overlay, faces blurred."""
    image = latest.image if latest.image is not None else dark_canvas(latest.header)
    pic = render_frame(image, latest.frame, latest.status, latest.studio)
    if max_width and pic.shape[1] > max_width:
        scale = max_width / pic.shape[1]
        pic = cv2.resize(pic, (max_width, round(pic.shape[0] * scale)),
                         interpolation=cv2.INTER_AREA)
    ok, buf = cv2.imencode(".jpg", pic, [cv2.IMWRITE_JPEG_QUALITY, JPEG_QUALITY])
    if not ok:
        raise ValueError("JPEG encoding failed")
    return buf.tobytes()


class LiveFrames:
    """The live view's JPEGs, drawn once per (camera, frame, width) however many watch."""

    def __init__(self) -> None:
        self._last: dict[tuple[int, int], tuple[int, bytes]] = {}

    def jpeg(self, camera_id: int, latest, width: int) -> bytes:
        key = (camera_id, width)
        hit = self._last.get(key)
        if hit is not None and hit[0] == latest.seq:
            return hit[1]
        data = render_latest(latest, width)
        self._last[key] = (latest.seq, data)     # (a race draws a frame twice: harmless)
        return data

    def forget(self, camera_id: int) -> None:
        for key in [k for k in self._last if k[0] == camera_id]:
            self._last.pop(key, None)


def placeholder(text: str, width: int = 640, height: int = 360) -> bytes:
    """A dark frame saying why there is no picture (offline, waiting for the first frame)."""
    import numpy as np
    img = np.full((height, width, 3), 24, np.uint8)
    cv2.putText(img, text, (20, height // 2), cv2.FONT_HERSHEY_SIMPLEX, 0.8, (200, 200, 200), 2,
                cv2.LINE_AA)
    return cv2.imencode(".jpg", img)[1].tobytes()


class CameraSnapshots:
    """One JPEG per ``alert_start`` of a camera: ``DATA/snapshots/cameras/<id>/<event>.jpg``."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        # one thread: pictures are written in event order and never compete with the workers
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="snapshots")

    def path(self, camera_id: int, event_id: int):
        return self.settings.camera_snapshots(camera_id) / f"{event_id}.jpg"

    def submit(self, camera_id: int, event, latest) -> None:
        self._pool.submit(self._write, camera_id, event.id, latest)

    def _write(self, camera_id: int, event_id: int, latest) -> None:
        try:
            data = render_latest(latest)
            dst = self.path(camera_id, event_id)
            dst.parent.mkdir(parents=True, exist_ok=True)
            tmp = dst.with_name(f".{dst.name}.part")
            tmp.write_bytes(data)
            tmp.replace(dst)                # whole, or not there
        except Exception:    # a missing picture must not cost the feed anything
            log.exception("camera %s: snapshot of event %s", camera_id, event_id)

    def forget(self, camera_id: int) -> None:
        """Remove the camera's pictures: on the writer thread, after any still being written."""
        self._pool.submit(shutil.rmtree, self.settings.camera_snapshots(camera_id),
                          ignore_errors=True).result(timeout=30)

    def close(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=False)
