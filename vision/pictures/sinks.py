"""Sinks of a session (vision/session.py): progress, and the annotated video.
(The alert snapshots are vision.pictures.snapshots.AlertSnapshots.)"""

from __future__ import annotations

from pathlib import Path
from typing import Callable

import cv2
import numpy as np

from vision.pictures.overlay import draw_status
from vision.pictures.privacy import blur_faces
from vision.io.studio import Studio
from vision.safety.zones import Atlas


def render_frame(image: np.ndarray, frame, status, studio: Studio | None,
                 atlas: Atlas | None = None, blur: bool = True) -> np.ndarray:
    """One stored picture: the overlay (skeletons, zones, bars, status) and blurred faces."""
    pic = draw_status(image, frame, status, studio, atlas)
    return blur_faces(pic, frame.people) if blur else pic


class Progress:
    """Calls ``advance(frames done, total or None)`` after every frame."""

    def __init__(self, advance: Callable[[int, int | None], None], total: int | None = None):
        self.advance, self.total, self.done = advance, total, 0

    def on_moment(self, moment) -> None:
        self.done += 1
        self.advance(self.done, self.total)

    def on_report(self, report) -> None:
        pass


class AnnotatedVideo:
    """Every frame with the overlay and blurred faces, as MPEG-4 part 2 in MP4. (OpenCV's
    FFmpeg has no H.264 encoder; its VP8 would play in browsers but costs ~10x the time per
    frame, more than the pose engine itself on a small machine.)"""

    def __init__(self, path: Path, fps: float, width: int, height: int,
                 studio: Studio | None = None, atlas: Atlas | None = None) -> None:
        self.path, self.studio, self.atlas = Path(path), studio, atlas
        self.writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), fps,
                                      (width, height))
        if not self.writer.isOpened():
            self.writer.release()
            raise OSError(f"{self.path.name}: no video encoder available")

    @classmethod
    def for_runner(cls, path: Path, runner) -> "AnnotatedVideo":
        h, aud = runner.header, runner.auditor
        return cls(path, h.fps, h.width, h.height, aud.studio, aud.atlas)

    def on_moment(self, moment) -> None:
        if moment.image is not None:
            self.writer.write(render_frame(moment.image, moment.frame, moment.status,
                                           self.studio, self.atlas))

    def on_report(self, report) -> None:
        self.close()

    def close(self) -> None:
        self.writer.release()
