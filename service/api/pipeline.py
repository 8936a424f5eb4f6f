"""What an audit job and a camera run: recognise an input by its content, parse studio and
client texts, and run the same pipeline as ``ashiwatch audit`` (pose engine for a video, then
the Auditor) with progress and cancellation."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Callable

import cv2

from vision.profile import Profile, ProfileError, parse_profile
from vision.report import Report
from vision.studio import Studio, StudioError, parse_studio
from vision.yamlfile import parse_yaml


class UnsupportedInput(ValueError):
    """Content that is neither a pose track nor a video OpenCV can decode."""


class InvalidInput(ValueError):
    """A file of a kind we read (a pose track) that breaks its format or a limit: 422."""


def _track_header(path: Path):
    """The header if the file is a pose track; None if it is not one at all. A file whose
    first line claims to be a pose track but breaks the format or a limit: InvalidInput."""
    from vision.posetrack import (MAX_LINE_BYTES, PoseTrackError, claims_pose_track,
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
    from vision.posetrack import PoseTrackError, iter_pose_track
    try:
        _, frames = iter_pose_track(path)
        for _ in frames:
            pass
    except PoseTrackError as e:
        # "<stored path>:41: …" → "line 41: …"; the router puts the client's name first
        raise InvalidInput(str(e).replace(f"{path}:", "line ").replace(str(path), name)) from None


# One video probed at a time: opening a video decodes a frame, and frames of hostile sizes
# cost up to the limit (vision.limits) each; uploads arrive in parallel.
_PROBE = threading.Lock()


def _is_video(path: Path) -> bool:
    from vision.frames import FrameSourceError, check_frame_size, still_image_header
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


def _count_frames(path: Path) -> int:
    with open(path, "rb") as f:
        return max(sum(1 for line in f if line.strip()) - 1, 0)


def dark_canvas(header) -> "np.ndarray":
    """The picture of a pose track, which has none: a dark frame of the header's size, on
    which the overlay draws the skeletons, the zones and the bars."""
    import numpy as np
    return np.full((header.height, header.width, 3), 24, np.uint8)


def open_video_writer(path: Path, fps: float, width: int, height: int):
    """An annotated-video writer: MPEG-4 part 2 in MP4. (OpenCV's FFmpeg has no H.264
    encoder; its VP8 would play in browsers but costs ~10x the time per frame, more than the
    pose engine itself on a small machine.)"""
    w = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), fps, (width, height))
    if not w.isOpened():
        w.release()
        raise OSError(f"{path.name}: no video encoder available")
    return w


def render_frame(image, frame, status, studio, atlas=None, blur: bool = True):
    """One stored picture: the overlay (skeletons, zones, bars, status) and blurred faces."""
    from vision.overlay import draw_status
    from vision.privacy import blur_faces
    pic = draw_status(image, frame, status, studio, atlas)
    return blur_faces(pic, frame.people) if blur else pic


def run_audit(path: Path, kind: str, *, studio: Studio | None, profile: Profile | None,
              source_name: str, progress: Callable[[float | None], None],
              snapshots_dir: Path | None = None,
              video_out: Path | None = None) -> tuple[Report, dict[int, str]]:
    """The audit of one stored input: the report, and {alert index: snapshot file} when
    ``snapshots_dir`` is given (vision.snapshots; a pose track's pictures are drawn on a dark
    canvas). ``video_out``: also write the annotated video there (faces blurred). Raises
    PoseTrackError / FrameSourceError on bad content. ``progress`` is called after every
    frame, with the percent done (None when the frame count is unknown): it is the job's
    heartbeat too. It cannot be cancelled: a job runs in its own process, which is stopped
    (service.api.jobs)."""
    from vision.audit import Auditor
    from vision.posetrack import iter_pose_track
    latest: dict = {}
    if kind == "track":
        total = _count_frames(path)
        header, frames = iter_pose_track(path)
        canvas = dark_canvas(header)
    else:
        from vision.pose.engine import AUDIT_MODEL
        from vision.pose.video import track_from_video
        header, frames, source = track_from_video(
            path, AUDIT_MODEL, table=None if studio is None else studio.table,
            table_head=None if studio is None else studio.table_head,
            on_image=lambda image, frame: latest.__setitem__("image", image))
        total = source.info.frame_count or 0
        canvas = None
    aud = Auditor(header, studio, profile, source=source_name)
    snap = None
    if snapshots_dir is not None:
        from vision.snapshots import AlertSnapshots
        snap = AlertSnapshots.for_auditor(snapshots_dir, aud)
    writer = None
    if video_out is not None:
        writer = open_video_writer(video_out, header.fps, header.width, header.height)
    try:
        for i, fr in enumerate(frames, start=1):
            status = aud.push(fr)
            image = latest.pop("image", None) if canvas is None else canvas
            if image is not None:
                if snap is not None:
                    snap.push(image, fr, status)
                if writer is not None:
                    writer.write(render_frame(image, fr, status, studio, aud.atlas))
            progress(min(99.0, 100.0 * i / total) if total else None)
    finally:
        if writer is not None:
            writer.release()
    report = aud.finish()
    shots = snap.finish(report) if snap is not None else {}
    return report, shots
