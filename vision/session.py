"""One session runner: a source → the pose engine → the Auditor → sinks.

Every way a session is watched runs through ``SessionRunner``: ``ashiwatch audit`` / ``score`` /
``batch`` (service/cli), the service's audit jobs (service/api/pipeline.py) and its camera
workers (service/api/cameras.py). Each is an adapter that picks a source and sinks:

- a source gives ``(image, Frame)`` pairs: ``open_input`` opens a file (a pose track, whose
  image is None or a dark canvas; a video through the pose engine, the image travelling with
  its keypoints); a camera worker brings its own (the newest frame of a live stream);
- ``SessionRunner.feed`` pushes one pair through the Auditor and hands the ``Moment``
  (image, frame, status: what is known now, with this frame's alert events) to every sink's
  ``on_moment``; ``finish`` makes the report and gives it to every sink's ``on_report``.

Sinks (frigate's start / update / end shape, per session): ``vision.pictures.snapshots.AlertSnapshots``
(one picture per alert), ``vision.pictures.sinks.AnnotatedVideo`` (the overlay drawn on every frame),
``vision.pictures.sinks.Progress`` (a callback per frame), and the camera's event publisher.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Iterator, Protocol

import numpy as np

from vision.safety.audit import Auditor, FrameStatus
from vision.io.posetrack import Frame, Header
from vision.safety.profile import Profile
from vision.safety.report import Report
from vision.io.studio import Studio


@dataclass
class Moment:
    """One frame of a session, as the sinks see it."""
    image: np.ndarray | None    # the picture (None: a pose track without a canvas)
    frame: Frame                # the people's keypoints
    status: FrameStatus         # what the Auditor knows now, this frame's alert events included


class Sink(Protocol):
    def on_moment(self, moment: Moment) -> None: ...

    def on_report(self, report: Report) -> None: ...


def dark_canvas(header: Header) -> np.ndarray:
    """The picture of a pose track, which has none: a dark frame of the header's size, on
    which the overlay draws the skeletons, the zones and the bars."""
    return np.full((header.height, header.width, 3), 24, np.uint8)


@dataclass
class SessionInput:
    """An opened file: its header, its (image, Frame) pairs (lazy) and its frame count."""
    kind: str                                   # "track" or "video"
    header: Header
    pairs: Iterator[tuple[np.ndarray | None, Frame]]
    total: int | None                           # frames, when known


def open_input(path: str | Path, kind: str | None = None, studio: Studio | None = None,
               model: str | None = None, device: str = "cpu",
               canvas: bool = False, feet: bool | None = None) -> SessionInput:
    """Open a pose track or a video. ``kind``: "track" or "video" (default: by the name, a
    ``.jsonl`` file is a pose track). A video goes through the pose engine (``model``, default
    the audits' heavy one; the studio's table helps it find the client); a pose track's image
    is None, or with ``canvas`` a dark frame to draw on. ``feet``: the feet model on or off
    (None: EngineConfig's default). Raises PoseTrackError /
    FrameSourceError for input that cannot be read."""
    path = Path(path)
    if kind is None:
        kind = "track" if path.suffix.lower() == ".jsonl" else "video"
    if kind == "track":
        from vision.io.posetrack import iter_pose_track
        header, frames = iter_pose_track(path)
        image = dark_canvas(header) if canvas else None
        return SessionInput(kind, header, ((image, fr) for fr in frames),
                            _count_track_frames(path))
    from vision.pose.engine import AUDIT_MODEL
    from vision.pose.video import open_video
    header, pairs, source = open_video(
        path, model or AUDIT_MODEL, table=None if studio is None else studio.table,
        table_head=None if studio is None else studio.table_head, device=device,
        **({} if feet is None else {"feet": feet}))
    return SessionInput(kind, header, pairs, source.info.frame_count or None)


def _count_track_frames(path: Path) -> int:
    with open(path, "rb") as f:
        return max(sum(1 for line in f if line.strip()) - 1, 0)


class SessionRunner:
    """The Auditor of one session and the sinks that watch it."""

    def __init__(self, header: Header, studio: Studio | None = None,
                 profile: Profile | None = None, source: str | None = None,
                 sinks: Iterable[Sink] = ()) -> None:
        self.header = header
        self.auditor = Auditor(header, studio, profile, source=source)
        self.sinks = list(sinks)
        self.frames = 0

    def add(self, sink: Sink) -> Sink:
        self.sinks.append(sink)
        return sink

    def feed(self, image: np.ndarray | None, frame: Frame) -> Moment:
        """One frame through the Auditor and to every sink."""
        moment = Moment(image, frame, self.auditor.push(frame))
        self.frames += 1
        for sink in self.sinks:
            sink.on_moment(moment)
        return moment

    def moments(self, pairs: Iterable[tuple[np.ndarray | None, Frame]]) -> Iterator[Moment]:
        for image, frame in pairs:
            yield self.feed(image, frame)

    def run(self, pairs: Iterable[tuple[np.ndarray | None, Frame]]) -> Report:
        """A whole session: every pair, then the report."""
        for _ in self.moments(pairs):
            pass
        return self.finish()

    def finish(self) -> Report:
        report = self.auditor.finish()
        for sink in self.sinks:
            sink.on_report(report)
        return report


def audit_frames(header: Header, frames: Iterable[Frame], studio: Studio | None = None,
                 profile: Profile | None = None, source: str | None = None) -> Report:
    """Run a whole pose track through the Auditor and return its report."""
    return SessionRunner(header, studio, profile, source).run((None, fr) for fr in frames)
