"""What an audit job and a camera run: recognise an input by its content, parse studio and
client texts, and run the same pipeline as ``ashiwatch audit`` (pose engine for a video, then
the Auditor) with progress and cancellation."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Callable

import cv2

from vision.profile import Profile, ProfileError, parse_profile
from vision.report import Report
from vision.studio import Studio, StudioError, parse_studio
from vision.yamlfile import parse_yaml


class UnsupportedInput(ValueError):
    """Content that is neither a pose track nor a video OpenCV can decode."""


class Cancelled(Exception):
    pass


def _is_pose_track(path: Path) -> bool:
    from vision.posetrack import PoseTrackError, _parse_header
    with open(path, "rb") as f:
        first = f.readline(64 * 1024)
    try:
        _parse_header(json.loads(first.decode("utf-8")), "upload")
    except (UnicodeDecodeError, json.JSONDecodeError, PoseTrackError):
        return False
    return True


def _is_video(path: Path) -> bool:
    # FFmpeg only: the image-sequence backend would treat some names as patterns
    cap = cv2.VideoCapture(str(path), cv2.CAP_FFMPEG)
    try:
        if not cap.isOpened():
            return False
        ok, frame = cap.read()
        return bool(ok) and frame is not None and frame.size > 0
    finally:
        cap.release()


def sniff(path: Path) -> str:
    """'track' or 'video' by content (never by name); raises UnsupportedInput."""
    size = path.stat().st_size
    if size == 0:
        raise UnsupportedInput("the file is empty")
    if _is_pose_track(path):
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


def run_audit(path: Path, kind: str, *, studio: Studio | None, profile: Profile | None,
              source_name: str, progress: Callable[[float], None],
              cancelled: Callable[[], bool]) -> Report:
    """The audit of one stored input. Raises PoseTrackError / FrameSourceError on bad content,
    Cancelled when ``cancelled()`` turns true."""
    from vision.audit import Auditor
    from vision.posetrack import iter_pose_track
    if kind == "track":
        total = _count_frames(path)
        header, frames = iter_pose_track(path)
    else:
        from vision.pose.video import track_from_video
        header, frames, source = track_from_video(
            path, "full", table=None if studio is None else studio.table,
            table_head=None if studio is None else studio.table_head)
        total = source.info.frame_count or 0
    aud = Auditor(header, studio, profile, source=source_name)
    for i, fr in enumerate(frames, start=1):
        if cancelled():
            raise Cancelled()
        aud.push(fr)
        if total:
            progress(min(99.0, 100.0 * i / total))
    return aud.finish()
