"""Face blurring for stored pictures: massage clients are undressed, and neither they nor the
therapist should be recognisable on a snapshot or a stored video."""

from __future__ import annotations

from typing import Iterable

import cv2
import numpy as np

from vision.io.posetrack import Person
from vision.skeleton import HIPS, SHOULDERS, shoulder_width

FACE = np.arange(0, 11)          # BlazePose 0-10: nose, eyes, ears, mouth


def face_region(kp: np.ndarray, face_vis: float = 0.5, body_vis: float = 0.2
                ) -> tuple[np.ndarray, float] | None:
    """(centre (2,), radius px) of a circle that covers the head, or None.

    1. Two or more face points (0-10) at least ``face_vis`` confident: the circle around them,
       with a radius of the larger of 1.6 x their spread and 0.45 x the shoulder width (a face
       seen side-on has points bunched on one side of the head).
    2. Otherwise, from the shoulders (both at least ``body_vis``): the head lies past the
       shoulder midpoint along the torso axis, about 0.4 torso lengths away (Drillis & Contini:
       acromion 0.818 H, head centre ~0.935 H, shoulder-to-hip 0.288 H); the circle is made
       generous (0.45 torso lengths or 0.75 shoulder widths) because this is a guess. Without the
       hips the torso axis is unknown, and the circle (one shoulder width) is centred on the
       shoulder midpoint, covering the head whichever way it lies.
    3. Nothing usable (no confident face, no shoulders): None — nothing is blurred for this
       person, and the caller should know that a stored picture may then show a face.
    """
    kp = np.asarray(kp, dtype=np.float64)
    ok = np.all(np.isfinite(kp[:, :2]), axis=1)
    sh_ok = ok[SHOULDERS].all() and np.all(kp[SHOULDERS, 2] >= body_vis)
    sw = shoulder_width(kp) if sh_ok else 0.0
    face = FACE[(kp[FACE, 2] >= face_vis) & ok[FACE]]
    if len(face) >= 2:
        pts = kp[face, :2]
        c = pts.mean(axis=0)
        spread = float(np.linalg.norm(pts - c, axis=1).max())
        r = max(1.6 * spread, 0.45 * sw, 8.0)
        return c, r
    if not sh_ok:
        return None
    mid = kp[SHOULDERS, :2].mean(axis=0)
    hip_ok = ok[HIPS].all() and np.all(kp[HIPS, 2] >= body_vis)
    if hip_ok:
        axis = mid - kp[HIPS, :2].mean(axis=0)
        torso = float(np.linalg.norm(axis))
        if torso > 1.0:
            c = mid + axis / torso * 0.4 * torso
            return c, max(0.45 * torso, 0.75 * sw, 8.0)
    return mid, max(sw, 8.0)


def blur_faces(image_bgr: np.ndarray, people: Iterable[Person] | Iterable[np.ndarray],
               face_vis: float = 0.5) -> np.ndarray:
    """A copy of the image with each person's head made unrecognisable.

    ``people``: Persons (or (33, 3) keypoint arrays in pixels). Each head region comes from
    ``face_region``: the confident face points (BlazePose 0-10) when there are any, else a head
    estimated from the shoulders (and hips), else nothing for that person. The region is
    pixelated to about 8 blocks across and then blurred, which leaves nothing to recover (a
    Gaussian blur alone can be partly undone).
    """
    img = np.ascontiguousarray(image_bgr).copy()
    hgt, wid = img.shape[:2]
    for p in people:
        kp = p.kp if isinstance(p, Person) else np.asarray(p, dtype=np.float64)
        reg = face_region(kp, face_vis)
        if reg is None:
            continue
        (cx, cy), r = reg
        x0, y0 = int(max(0, np.floor(cx - r))), int(max(0, np.floor(cy - r)))
        x1, y1 = int(min(wid, np.ceil(cx + r) + 1)), int(min(hgt, np.ceil(cy + r) + 1))
        if x1 - x0 < 2 or y1 - y0 < 2:
            continue      # the head is outside the picture
        roi = img[y0:y1, x0:x1]
        bw, bh = roi.shape[1], roi.shape[0]
        block = max(2, int(round(2 * r / 8)))
        small = cv2.resize(roi, (max(1, bw // block), max(1, bh // block)),
                           interpolation=cv2.INTER_AREA)
        coarse = cv2.resize(small, (bw, bh), interpolation=cv2.INTER_NEAREST)
        k = 2 * (block // 2) + 1
        coarse = cv2.GaussianBlur(coarse, (k, k), 0)
        mask = np.zeros((bh, bw), np.uint8)
        cv2.circle(mask, (int(round(cx - x0)), int(round(cy - y0))), int(np.ceil(r)), 255, -1)
        roi[mask > 0] = coarse[mask > 0]
    return img
