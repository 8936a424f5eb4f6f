"""Run the pose engine over a frame source and produce a pose track (streaming)."""

from __future__ import annotations

from pathlib import Path
from typing import Callable, Iterator

import cv2
import numpy as np

from vision.io.frames import FrameSource
from vision.io.posetrack import Frame, Header
from .draw import draw_people
from .engine import EngineConfig, PoseEngine, StageTimes


def track_frames(source: FrameSource, engine: PoseEngine,
                 annotate: cv2.VideoWriter | None = None,
                 on_times: Callable[[StageTimes], None] | None = None) -> Iterator[Frame]:
    """Yield one pose-track Frame per source frame."""
    for _, frame in pictured_frames(source, engine, annotate, on_times):
        yield frame


def pictured_frames(source: FrameSource, engine: PoseEngine,
                    annotate: cv2.VideoWriter | None = None,
                    on_times: Callable[[StageTimes], None] | None = None,
                    ) -> Iterator[tuple[np.ndarray, Frame]]:
    """Yield (image, Frame) per source frame: the picture travels with its keypoints
    (snapshots and annotated videos need both; the source does not reuse the image)."""
    for t, image in source:
        result = engine.process(image, t)
        if on_times is not None:
            on_times(result.times)
        if annotate is not None:
            annotate.write(draw_people(image.copy(), result.frame.people))
        yield image, result.frame


def open_writer(path: str | Path, fps: float, width: int, height: int) -> cv2.VideoWriter:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    w = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), fps, (width, height))
    if not w.isOpened():
        raise OSError(f"{path}: cannot write a video here")
    return w


def open_video(path: str | Path, model: str = "full", table: np.ndarray | None = None,
               table_head: np.ndarray | None = None, device: str = "cpu",
               feet: bool | None = None,
               ) -> tuple[Header, Iterator[tuple[np.ndarray, Frame]], FrameSource]:
    """A video (or image, or camera) through the pose engine: header, a lazy iterator of
    (image, Frame), and the source (its ``info.frame_count`` sizes a progress bar). Raises
    vision.io.frames.FrameSourceError for input that gives no frames. ``feet``: the feet
    model (EngineConfig.feet)."""
    source = FrameSource(path)
    engine = PoseEngine(EngineConfig(model=model, table=table, table_head=table_head,
                                     device=device, **({} if feet is None else {"feet": feet})))
    header = Header(fps=source.info.fps, width=source.info.width, height=source.info.height,
                    source=engine.source)

    def pairs() -> Iterator[tuple[np.ndarray, Frame]]:
        with source:
            yield from pictured_frames(source, engine)

    return header, pairs(), source


def track_from_video(path: str | Path, model: str = "full", table: np.ndarray | None = None,
                     table_head: np.ndarray | None = None, device: str = "cpu",
                     feet: bool | None = None) -> tuple[Header, Iterator[Frame], FrameSource]:
    """Pose track of a video: as ``open_video``, the Frames only."""
    header, pairs, source = open_video(path, model, table, table_head, device, feet)
    return header, (frame for _, frame in pairs), source
