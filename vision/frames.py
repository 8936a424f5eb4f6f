"""Frame sources: a video file, an image, a camera index or a camera URL, as (t, BGR frame).

Bad input raises FrameSourceError with one line naming the input and the reason. The source
is judged by its content, not by its name.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

# FFmpeg and OpenCV would print their own lines for every bad input; ours is the one line
os.environ.setdefault("OPENCV_FFMPEG_LOGLEVEL", "-8")
os.environ.setdefault("OPENCV_LOG_LEVEL", "ERROR")

import cv2  # noqa: E402
import numpy as np  # noqa: E402

cv2.utils.logging.setLogLevel(cv2.utils.logging.LOG_LEVEL_ERROR)

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".bmp", ".webp", ".tif", ".tiff", ".ppm", ".pgm"}
URL = re.compile(r"^[a-z][a-z0-9+.-]*://", re.I)
CAMERA_TIMEOUT_MS = int(os.environ.get("ASHIWATCH_CAMERA_TIMEOUT_MS", "5000"))


class FrameSourceError(RuntimeError):
    """An input that gives no frames; str() is one line: the input and the reason."""


@dataclass
class SourceInfo:
    name: str
    kind: str  # video | image | camera
    fps: float
    width: int
    height: int
    frame_count: int | None  # None for live cameras


class FrameSource:
    """Iterate ``(t_seconds, frame)``; ``info`` describes the stream. Use as a context manager."""

    def __init__(self, spec: str | Path, default_fps: float = 30.0):
        self.spec = str(spec)
        self._cap: cv2.VideoCapture | None = None
        self._image: np.ndarray | None = None
        self.frames_read = 0
        self.info = self._open(default_fps)

    def _open(self, default_fps: float) -> SourceInfo:
        spec = self.spec
        if spec.isdigit() or URL.match(spec):
            return self._open_camera(spec, default_fps)
        path = Path(spec)
        if not path.exists():
            raise FrameSourceError(f"{spec}: no such file")
        if path.is_dir():
            raise FrameSourceError(f"{spec}: is a directory, not a video or image")
        if path.stat().st_size == 0:
            raise FrameSourceError(f"{spec}: empty file")
        if path.suffix.lower() in IMAGE_SUFFIXES:
            return self._open_image(path, default_fps)
        cap = cv2.VideoCapture(str(path))
        ok, frame = cap.read() if cap.isOpened() else (False, None)
        if not ok or frame is None:
            cap.release()
            # not a video: perhaps an image with another name
            img = cv2.imread(str(path), cv2.IMREAD_COLOR)
            if img is not None:
                return self._open_image(path, default_fps, img)
            raise FrameSourceError(f"{spec}: not a video or image OpenCV can decode "
                                   f"(corrupt, truncated or unsupported format)")
        self._cap = cap
        self._first = frame
        fps = cap.get(cv2.CAP_PROP_FPS)
        fps = fps if 0 < fps < 1000 else default_fps
        count = int(cap.get(cv2.CAP_PROP_FRAME_COUNT))
        return SourceInfo(spec, "video", fps, frame.shape[1], frame.shape[0],
                          count if count > 0 else None)

    def _open_image(self, path: Path, default_fps: float, img=None) -> SourceInfo:
        img = cv2.imread(str(path), cv2.IMREAD_COLOR) if img is None else img
        if img is None:
            raise FrameSourceError(f"{self.spec}: image format OpenCV cannot read, "
                                   f"or a corrupt image")
        self._image = img
        return SourceInfo(self.spec, "image", default_fps, img.shape[1], img.shape[0], 1)

    def _open_camera(self, spec: str, default_fps: float) -> SourceInfo:
        params = [cv2.CAP_PROP_OPEN_TIMEOUT_MSEC, CAMERA_TIMEOUT_MS,
                  cv2.CAP_PROP_READ_TIMEOUT_MSEC, CAMERA_TIMEOUT_MS]
        if spec.isdigit():
            cap = cv2.VideoCapture(int(spec), cv2.CAP_ANY, params)
        else:
            cap = cv2.VideoCapture(spec, cv2.CAP_FFMPEG, params)
        ok, frame = cap.read() if cap.isOpened() else (False, None)
        if not ok or frame is None:
            cap.release()
            raise FrameSourceError(f"{spec}: camera does not answer "
                                   f"(no frame within {CAMERA_TIMEOUT_MS / 1000:g} s)")
        self._cap = cap
        self._first = frame
        fps = cap.get(cv2.CAP_PROP_FPS)
        return SourceInfo(spec, "camera", fps if 0 < fps < 1000 else default_fps,
                          frame.shape[1], frame.shape[0], None)

    def __iter__(self) -> Iterator[tuple[float, np.ndarray]]:
        if self._image is not None:
            self.frames_read = 1
            yield 0.0, self._image
            return
        assert self._cap is not None
        fps = self.info.fps
        frame = self._first
        i = 0
        while frame is not None:
            self.frames_read = i + 1
            if self.info.kind == "video":
                t = i / fps
            else:
                pos = self._cap.get(cv2.CAP_PROP_POS_MSEC)
                t = pos / 1000 if pos > 0 else i / fps
            yield t, frame
            i += 1
            ok, frame = self._cap.read()
            if not ok:
                frame = None

    @property
    def truncated(self) -> bool:
        """A video that ended before the frame count its header promised."""
        c = self.info.frame_count
        return self.info.kind == "video" and c is not None and self.frames_read < c - 1

    def close(self) -> None:
        if self._cap is not None:
            self._cap.release()
            self._cap = None

    def __enter__(self) -> "FrameSource":
        return self

    def __exit__(self, *exc) -> None:
        self.close()
