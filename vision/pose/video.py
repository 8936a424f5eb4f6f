"""Run the pose engine over a frame source and produce a pose track (streaming)."""

from __future__ import annotations

from pathlib import Path
from typing import Callable, Iterator

import cv2
import numpy as np

from ..frames import FrameSource
from ..posetrack import Frame, Header
from .draw import draw_people
from .engine import EngineConfig, PoseEngine, StageTimes


def track_frames(source: FrameSource, engine: PoseEngine,
                 annotate: cv2.VideoWriter | None = None,
                 on_times: Callable[[StageTimes], None] | None = None,
                 on_image: Callable[[np.ndarray, Frame], None] | None = None) -> Iterator[Frame]:
    """Yield one pose-track Frame per source frame. ``on_image(image, frame)``, when given, is
    called with each source image and its Frame just before the Frame is yielded (snapshots
    need the picture beside the keypoints; the image is not reused by the source)."""
    for t, image in source:
        result = engine.process(image, t)
        if on_times is not None:
            on_times(result.times)
        if on_image is not None:
            on_image(image, result.frame)
        if annotate is not None:
            annotate.write(draw_people(image.copy(), result.frame.people))
        yield result.frame


def open_writer(path: str | Path, fps: float, width: int, height: int) -> cv2.VideoWriter:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    w = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), fps, (width, height))
    if not w.isOpened():
        raise OSError(f"{path}: cannot write a video here")
    return w


def track_from_video(path: str | Path, model: str = "full", table: np.ndarray | None = None,
                     table_head: np.ndarray | None = None,
                     on_image: Callable[[np.ndarray, Frame], None] | None = None,
                     device: str = "cpu",
                     ) -> tuple[Header, Iterator[Frame], FrameSource]:
    """Pose track of a video (or image, or camera): header, a lazy frame iterator, and the
    source (its ``info.frame_count`` sizes a progress bar). Raises
    vision.frames.FrameSourceError for input that gives no frames. ``on_image``: see
    ``track_frames``."""
    source = FrameSource(path)
    engine = PoseEngine(EngineConfig(model=model, table=table, table_head=table_head,
                                     device=device))
    header = Header(fps=source.info.fps, width=source.info.width, height=source.info.height,
                    source=engine.source)

    def frames() -> Iterator[Frame]:
        with source:
            yield from track_frames(source, engine, on_image=on_image)

    return header, frames(), source
