"""What an audit job and a camera run: recognise an input by its content, parse studio and
client texts, and run the same pipeline as ``ashiwatch audit`` (pose engine for a video, then
the Auditor) with progress and cancellation."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Callable

import cv2

from vision.safety.profile import Profile, ProfileError, parse_profile
from vision.safety.report import Report
from vision.io.studio import Studio, StudioError, parse_studio
from vision.io.yamlfile import parse_yaml


class UnsupportedInput(ValueError):
    """Content that is neither a pose track nor a video OpenCV can decode."""


class InvalidInput(ValueError):
    """A file of a kind we read (a pose track) that breaks its format or a limit: 422."""


def _track_header(path: Path):
    """The header if the file is a pose track; None if it is not one at all. A file whose
    first line claims to be a pose track but breaks the format or a limit: InvalidInput."""
    from vision.io.posetrack import (MAX_LINE_BYTES, PoseTrackError, claims_pose_track,
                                  parse_header_line)
    with open(path, "rb") as f:
        first = f.readline(MAX_LINE_BYTES + 1)
    try:
        return parse_header_line(first, "line 1")
    except PoseTrackError as e:
        if claims_pose_track(first):
            raise InvalidInput(str(e)) from None
        return None


def check_track(path: Path, name: str) -> None:
    """Read a whole pose track once, so that a broken line or a limit is refused at the
    upload (InvalidInput naming the line), not found by a job later."""
    from vision.io.posetrack import PoseTrackError, iter_pose_track
    try:
        _, frames = iter_pose_track(path)
        for _ in frames:
            pass
    except PoseTrackError as e:
        # "<stored path>:41: …" → "line 41: …"; the router puts the client's name first
        raise InvalidInput(str(e).replace(f"{path}:", "line ").replace(str(path), name)) from None


# One video probed at a time: opening a video decodes a frame, and frames of hostile sizes
# cost up to the limit (vision.io.limits) each; uploads arrive in parallel.
_PROBE = threading.Lock()


def _is_video(path: Path) -> bool:
    from vision.io.frames import FrameSourceError, check_frame_size, still_image_header
    still = still_image_header(path)
    if still is not None:     # never decoded here: its size is what the upload may lie about
        raise UnsupportedInput(f"a still {still[0]} image, not a video")
    with _PROBE:
        # FFmpeg only: the image-sequence backend would treat some names as patterns
        cap = cv2.VideoCapture(str(path), cv2.CAP_FFMPEG)
        try:
            if not cap.isOpened():
                return False
            try:
                check_frame_size("video", cap.get(cv2.CAP_PROP_FRAME_WIDTH),
                                 cap.get(cv2.CAP_PROP_FRAME_HEIGHT))
            except FrameSourceError as e:
                raise InvalidInput(str(e)) from None
            ok, frame = cap.read()
            return bool(ok) and frame is not None and frame.size > 0
        finally:
            cap.release()


def sniff(path: Path) -> str:
    """'track' or 'video' by content (never by name); raises UnsupportedInput, or
    InvalidInput for a pose track or video that breaks a limit."""
    size = path.stat().st_size
    if size == 0:
        raise UnsupportedInput("the file is empty")
    if _track_header(path) is not None:
        return "track"
    if _is_video(path):
        return "video"
    raise UnsupportedInput("not a video OpenCV can decode (no frame could be read) "
                           "nor a pose track (first line is not a pose-track v1 header)")


def parse_studio_text(text: str | None, where: str) -> Studio | None:
    if text is None or not text.strip():
        return None
    return parse_studio(parse_yaml(text, where, StudioError), where)


def parse_profile_text(text: str | None, where: str) -> Profile | None:
    if text is None or not text.strip():
        return None
    return parse_profile(parse_yaml(text, where, ProfileError), where)


def run_audit(path: Path, kind: str, *, studio: Studio | None, profile: Profile | None,
              source_name: str, progress: Callable[[float | None], None],
              snapshots_dir: Path | None = None,
              video_out: Path | None = None) -> tuple[Report, dict[int, str]]:
    """The audit of one stored input: the report, and {alert index: snapshot file} when
    ``snapshots_dir`` is given (vision.pictures.snapshots; a pose track's pictures are drawn on a dark
    canvas). ``video_out``: also write the annotated video there (faces blurred). Raises
    PoseTrackError / FrameSourceError on bad content. ``progress`` is called after every
    frame, with the percent done (None when the frame count is unknown): it is the job's
    heartbeat too. It cannot be cancelled: a job runs in its own process, which is stopped
    (service.api.jobs)."""
    from vision.session import SessionRunner, open_input
    from vision.pictures.sinks import AnnotatedVideo, Progress
    inp = open_input(path, kind, studio, canvas=True)
    runner = SessionRunner(inp.header, studio, profile, source=source_name)
    snap = None
    if snapshots_dir is not None:
        from vision.pictures.snapshots import AlertSnapshots
        snap = runner.add(AlertSnapshots.for_auditor(snapshots_dir, runner.auditor))
    video = None if video_out is None else runner.add(AnnotatedVideo.for_runner(video_out, runner))
    runner.add(Progress(lambda i, total: progress(min(99.0, 100.0 * i / total) if total
                                                  else None), inp.total))
    try:
        report = runner.run(inp.pairs)
    finally:
        if video is not None:
            video.close()
    return report, ({} if snap is None else snap.shots)
