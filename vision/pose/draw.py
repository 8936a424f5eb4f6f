"""Skeleton drawing on frames (annotated videos, snapshots, the live view)."""

from __future__ import annotations

import cv2
import numpy as np

from vision.io.posetrack import Person

# BlazePose connections (body and feet; the face is drawn as points)
EDGES = [(11, 12), (11, 13), (13, 15), (15, 17), (15, 19), (15, 21), (17, 19),
         (12, 14), (14, 16), (16, 18), (16, 20), (16, 22), (18, 20),
         (11, 23), (12, 24), (23, 24), (23, 25), (24, 26), (25, 27), (26, 28),
         (27, 29), (28, 30), (29, 31), (30, 32), (27, 31), (28, 32)]
PALETTE = [(60, 200, 255), (255, 160, 40), (120, 255, 120), (220, 120, 255)]
FEET = (29, 30, 31, 32)
HANDS = (15, 16, 17, 18, 19, 20)


def colour_for(person_id: int) -> tuple[int, int, int]:
    return PALETTE[(person_id - 1) % len(PALETTE)]


def draw_people(image: np.ndarray, people: list[Person], min_visibility: float = 0.3,
                label: dict[int, str] | None = None) -> np.ndarray:
    """Draw skeletons in place; keypoints below ``min_visibility`` are drawn hollow and
    their bones dashed-thin, so that what the engine is unsure of looks unsure."""
    scale = max(1, round(max(image.shape[:2]) / 720))
    for p in people:
        col = colour_for(p.id)
        xy = np.round(p.kp[:, :2]).astype(int)
        vis = p.kp[:, 2]
        for a, b in EDGES:
            sure = vis[a] >= min_visibility and vis[b] >= min_visibility
            cv2.line(image, tuple(xy[a]), tuple(xy[b]), col, 2 * scale if sure else scale,
                     cv2.LINE_AA)
        for j in range(11, 33):
            r = (4 if j in FEET or j in HANDS else 3) * scale
            if vis[j] >= min_visibility:
                cv2.circle(image, tuple(xy[j]), r, col, -1, cv2.LINE_AA)
            else:
                cv2.circle(image, tuple(xy[j]), r, col, 1, cv2.LINE_AA)
        text = (label or {}).get(p.id, f"#{p.id}")
        anchor = xy[[11, 12]].mean(0)  # beside the shoulders, whichever way the body lies
        cv2.putText(image, text, (int(anchor[0]) + 6 * scale, max(12, int(anchor[1]))),
                    cv2.FONT_HERSHEY_SIMPLEX, 0.6 * scale, col, 2 * scale // 2 + 1, cv2.LINE_AA)
    return image
