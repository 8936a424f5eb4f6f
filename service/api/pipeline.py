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
              source_name: str, progress: Callable[[float], None],
              cancelled: Callable[[], bool], snapshots_dir: Path | None = None,
              video_out: Path | None = None) -> tuple[Report, dict[int, str]]:
    """The audit of one stored input: the report, and {alert index: snapshot file} when
    ``snapshots_dir`` is given (vision.snapshots; a pose track's pictures are drawn on a dark
    canvas). ``video_out``: also write the annotated video there (faces blurred). Raises
    PoseTrackError / FrameSourceError on bad content, Cancelled when ``cancelled()`` turns
    true."""
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
            if cancelled():
                raise Cancelled()
            status = aud.push(fr)
            image = latest.pop("image", None) if canvas is None else canvas
            if image is not None:
                if snap is not None:
                    snap.push(image, fr, status)
                if writer is not None:
                    writer.write(render_frame(image, fr, status, studio, aud.atlas))
            if total:
                progress(min(99.0, 100.0 * i / total))
    finally:
        if writer is not None:
            writer.release()
    report = aud.finish()
    shots = snap.finish(report) if snap is not None else {}
    return report, shots
