"""Propose the studio's bars from an image: long straight lines (OpenCV), merged and ranked.

This is a proposal for a person to check, not a measurement: it writes the studio file with the
longest line segments found, after merging collinear pieces of the same bar.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from vision.io.studio import Studio


class CalibrationError(ValueError):
    pass


def detect_lines(gray: np.ndarray, min_frac: float = 0.15) -> np.ndarray:
    """Line segments (N, 2, 2) of at least ``min_frac`` of the image diagonal."""
    diag = float(np.hypot(*gray.shape[:2]))
    blur = cv2.GaussianBlur(gray, (5, 5), 0)
    edges = cv2.Canny(blur, 50, 150)
    lines = cv2.HoughLinesP(edges, 1, np.pi / 360, threshold=60,
                            minLineLength=int(min_frac * diag), maxLineGap=int(0.02 * diag) + 5)
    if lines is None:
        return np.zeros((0, 2, 2))
    return lines.reshape(-1, 2, 2).astype(np.float64)


def merge_segments(segs: np.ndarray, ang_tol_deg: float = 3.0, dist_px: float = 12.0
                   ) -> np.ndarray:
    """Merge segments that lie on one line (both edges of a bar, pieces of one bar)."""
    out: list[np.ndarray] = []
    order = np.argsort(-np.linalg.norm(segs[:, 1] - segs[:, 0], axis=1))
    for s in segs[order]:
        d = s[1] - s[0]
        ang = np.arctan2(d[1], d[0]) % np.pi
        for i, m in enumerate(out):
            md = m[1] - m[0]
            mang = np.arctan2(md[1], md[0]) % np.pi
            da = min(abs(ang - mang), np.pi - abs(ang - mang))
            if da > np.radians(ang_tol_deg):
                continue
            u = md / np.linalg.norm(md)
            nrm = np.array([-u[1], u[0]])
            if max(abs(np.dot(s[0] - m[0], nrm)), abs(np.dot(s[1] - m[0], nrm))) > dist_px:
                continue
            # Extend the kept segment to cover both, along its own direction.
            ts = [np.dot(p - m[0], u) for p in (m[0], m[1], s[0], s[1])]
            out[i] = np.array([m[0] + min(ts) * u, m[0] + max(ts) * u])
            break
        else:
            out.append(s.copy())
    return np.array(out).reshape(-1, 2, 2)


def propose_studio(image_path: str | Path, max_bars: int = 4) -> Studio:
    path = Path(image_path)
    if not path.is_file():
        raise CalibrationError(f"{path}: no such file")
    img = cv2.imread(str(path), cv2.IMREAD_GRAYSCALE)
    if img is None:
        raise CalibrationError(f"{path}: not an image OpenCV can read")
    segs = merge_segments(detect_lines(img))
    if len(segs) == 0:
        raise CalibrationError(f"{path}: no long straight lines found; write the studio file "
                               f"by hand (bars: [[[x1, y1], [x2, y2]], ...])")
    lengths = np.linalg.norm(segs[:, 1] - segs[:, 0], axis=1)
    keep = segs[np.argsort(-lengths)[:max_bars]]
    return Studio(bars=keep)


def add_camera_from_table(studio: Studio, width: int, height: int, table_length_m: float,
                          table_width_m: float, table_top_m: float | None = None,
                          hfov_deg: float | None = None, focal_px: float | None = None) -> Studio:
    """The studio with its camera solved from the table outline (4 corners, in the order
    head-left, head-right, foot-right, foot-left: see vision.io.camera.solve_camera_from_table)
    and the table's size, for the parallax correction. A proposal to check like the bars: the
    focal length is a guess unless given (``focal_px``, or the lens's ``hfov_deg``)."""
    from dataclasses import replace

    from vision.io.camera import CameraError, solve_camera_from_table
    if studio.table is None or len(studio.table) != 4:
        raise CalibrationError("the studio file needs the table's 4 corners (table: [[x, y] x 4],"
                               " head-left, head-right, foot-right, foot-left) to solve the "
                               "camera")
    top = studio.table_top if table_top_m is None else table_top_m
    try:
        cam = solve_camera_from_table(studio.table, table_length_m, table_width_m, width, height,
                                      top, hfov_deg=hfov_deg, focal_px=focal_px)
    except CameraError as e:
        raise CalibrationError(str(e)) from None
    return replace(studio, camera=cam, table_top_m=top)
