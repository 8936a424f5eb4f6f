"""Limits on what an input may say about itself, in one place (docs/pose-track.md,
docs/service.md). A hostile file must make no reader spin, allocate without bound, or do work
that grows with the square of the people in a frame; each limit is far above any real session."""

from __future__ import annotations

MAX_SIDE = 8192                      # px, either side of a frame
MAX_PIXELS = 7680 * 4320             # 8K UHD
MIN_FPS, MAX_FPS = 0.1, 1000.0
MAX_PEOPLE = 16                      # per frame: a studio holds a therapist, a client, a teacher
MAX_SESSION_S = 12 * 3600.0          # the longest session, s


def frame_size_problem(width: float, height: float) -> str | None:
    """Why a frame of this size is refused, or None."""
    if not (1 <= width <= MAX_SIDE and 1 <= height <= MAX_SIDE):
        return f"frame size {width:g}x{height:g} is outside 1..{MAX_SIDE} px a side"
    if width * height > MAX_PIXELS:
        return (f"frame size {width:g}x{height:g} is over the limit of {MAX_PIXELS} pixels "
                f"(8K)")
    return None
