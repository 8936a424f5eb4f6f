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

from vision.io.limits import MAX_SESSION_S, frame_size_problem  # noqa: E402

cv2.utils.logging.setLogLevel(cv2.utils.logging.LOG_LEVEL_ERROR)

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".bmp", ".webp", ".tif", ".tiff", ".ppm", ".pgm"}
URL = re.compile(r"^[a-z][a-z0-9+.-]*://", re.I)
CAMERA_TIMEOUT_MS = int(os.environ.get("ASHIWATCH_CAMERA_TIMEOUT_MS", "5000"))


class FrameSourceError(RuntimeError):
    """An input that gives no frames; str() is one line: the input and the reason."""


def still_image_header(path: Path) -> tuple[str, int | None, int | None] | None:
    """(format, width, height) of a still image from its first bytes, without decoding it
    (a 16000x16000 PNG is 1 KB on disk and 768 MB decoded); None if it is no still image we
    know. Width and height are None where the format hides them deeper."""
    with open(path, "rb") as f:
        head = f.read(64 * 1024)
    if head.startswith(b"\x89PNG\r\n\x1a\n") and len(head) >= 24:
        return "PNG", int.from_bytes(head[16:20], "big"), int.from_bytes(head[20:24], "big")
    if head[:6] in (b"GIF87a", b"GIF89a") and len(head) >= 10:
        return "GIF", int.from_bytes(head[6:8], "little"), int.from_bytes(head[8:10], "little")
    if head.startswith(b"BM") and len(head) >= 26:
        return ("BMP", abs(int.from_bytes(head[18:22], "little", signed=True)),
                abs(int.from_bytes(head[22:26], "little", signed=True)))
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "WebP", None, None
    if head[:4] in (b"II*\x00", b"MM\x00*"):
        return "TIFF", None, None
    if head.startswith(b"\xff\xd8\xff"):
        return ("JPEG", *_jpeg_size(head))
    return None


def _jpeg_size(head: bytes) -> tuple[int | None, int | None]:
    """Width and height from a JPEG's first start-of-frame marker."""
    i = 2
    while i + 9 < len(head):
        if head[i] != 0xFF:
            return None, None
        marker = head[i + 1]
        if marker in (0xD8, 0x01) or 0xD0 <= marker <= 0xD7:
            i += 2
            continue
        length = int.from_bytes(head[i + 2:i + 4], "big")
        if 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC):
            return (int.from_bytes(head[i + 7:i + 9], "big"),
                    int.from_bytes(head[i + 5:i + 7], "big"))
        i += 2 + length
    return None, None


def check_frame_size(spec: str, width: float, height: float) -> None:
    """FrameSourceError for a frame over the limits (vision.io.limits), before it is decoded."""
    problem = frame_size_problem(width, height)
    if problem:
        raise FrameSourceError(f"{spec}: {problem}")


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
        still = still_image_header(path)
        if still is not None and still[1] is not None:
            check_frame_size(spec, still[1], still[2])
        if path.suffix.lower() in IMAGE_SUFFIXES or still is not None:
            return self._open_image(path, default_fps)
        cap = cv2.VideoCapture(str(path))
        if cap.isOpened():       # the container's own size, before a frame is decoded
            try:
                check_frame_size(spec, cap.get(cv2.CAP_PROP_FRAME_WIDTH),
                                 cap.get(cv2.CAP_PROP_FRAME_HEIGHT))
            except FrameSourceError:
                cap.release()
                raise
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
        check_frame_size(self.spec, img.shape[1], img.shape[0])
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
            if i > MAX_SESSION_S * fps:
                raise FrameSourceError(f"{self.spec}: longer than the limit of "
                                       f"{MAX_SESSION_S / 3600:g} h")
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
