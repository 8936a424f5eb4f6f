"""The newest frame of a camera, between a reader thread and the camera's worker: when the pose
engine is slower than the camera, frames are dropped (counted) rather than letting the feed fall
behind."""

from __future__ import annotations

import threading
import time

class Ended(Exception):
    """The reader is done: ``str()`` says why (end of file, stream closed, read failed)."""


class NewestFrame:
    """A one-frame mailbox: ``put`` replaces a frame the worker has not taken yet (a dropped
    frame, counted), ``take`` waits for the newest."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._item = None
        self._ended: str | None = None
        self.read = 0
        self.dropped = 0

    def put(self, item) -> None:
        with self._cond:
            if self._item is not None:
                self.dropped += 1
            self._item = item
            self.read += 1
            self._cond.notify()

    def end(self, reason: str) -> None:
        with self._cond:
            self._ended = reason
            self._cond.notify()

    def take(self, timeout: float):
        """The newest frame not taken yet; None after ``timeout`` s without one; Ended once
        the reader is done and its last frame was taken."""
        with self._cond:
            self._cond.wait_for(lambda: self._item is not None or self._ended is not None,
                                timeout)
            item, self._item = self._item, None
            if item is None and self._ended is not None:
                raise Ended(self._ended)
            return item


def read_frames(src, slot: NewestFrame, stop: threading.Event, live: bool,
                speed: float = 1.0) -> None:
    """The reader thread: frames of ``src`` into ``slot`` as ``(t, image, wall time read)``.
    A file is paced at its own frame rate times ``speed``; a live source as it comes, with
    ``t`` the time since it connected (its own clock is not trusted)."""
    reason = "end of stream" if live else "end of replay"
    try:
        start = time.monotonic()
        t0 = None
        for t, image in src:
            if stop.is_set():
                break
            if live:
                t = time.monotonic() - start
            else:
                t0 = t if t0 is None else t0
                delay = start + (t - t0) / speed - time.monotonic()
                if delay > 0 and stop.wait(delay):
                    break
            slot.put((t, image, time.time()))
        if live and not stop.is_set():
            reason = "stream closed (no frame could be read)"
    except Exception as e:   # a camera's failure is an event, never a dead service
        reason = f"read failed: {e}"
    finally:
        src.close()
        slot.end(reason)
