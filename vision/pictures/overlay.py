"""What the auditor knows at one moment, drawn on the frame it came from.

``draw_status`` is pure drawing on a copy: the live view (MJPEG), alert snapshots and annotated
videos all use it. It draws

- the client's back zones, projected into the image through the inverse of the back map's
  homography, semi-transparent, only while the back map is established (an unknown back shows
  no zones: a drawn zone would claim a knowledge we do not have);
- the client's and the therapist's skeletons in two colours (anyone else in grey);
- each planted foot's zone as a label beside the foot, in the zone's colour;
- the overhead bars coloured by grip: green where a hand grips, red when the hands are seen off
  the bars, grey when the grip is unknown; each hand's wrist ringed in its state's colour;
- one text line: time, back state, feet on the client, alerts active now.

Colours are shared with the report (vision.pictures.reporting.colours).
"""

from __future__ import annotations

import cv2
import numpy as np

from vision.safety.audit import FrameStatus
from vision.safety.geometry import apply_h
from vision.pose.draw import EDGES, FEET, HANDS
from vision.io.posetrack import KP, Frame
from vision.skeleton import FOOT_AXIS
from vision.pictures.reporting.colours import GRIP_COLOURS, PERSON_COLOURS, bgr, zone_colour
from vision.pictures.reporting.shapes import leg_polygon, outline_polygon, popliteal_polygon, trunk_zones
from vision.io.studio import Studio
from vision.safety.zones import Atlas, default_atlas

MIN_VIS = 0.3   # keypoints below this are drawn hollow (the engine is unsure of them)


def draw_status(image_bgr: np.ndarray, frame: Frame, status: FrameStatus | None,
                studio: Studio | None = None, atlas: Atlas | None = None,
                zone_alpha: float = 0.35) -> np.ndarray:
    """A copy of ``image_bgr`` with the auditor's view of this moment drawn on it.

    ``frame`` is the pose-track frame of the image (everyone's keypoints), ``status`` what
    ``Auditor.push`` returned for it (None: only the skeletons are drawn), ``studio`` gives the
    bars, ``atlas`` the zones (default: the standard atlas; pass the auditor's own, widened by
    the client's profile, to draw exactly what it judges by).
    """
    img = np.ascontiguousarray(image_bgr).copy()
    s = max(1, round(max(img.shape[:2]) / 720))
    atlas = atlas or default_atlas()
    roles = None if status is None else status.roles
    client = None if roles is None else roles.client
    therapist = None if roles is None else roles.therapist
    if status is not None and status.back_state is not None and status.back_state.known:
        _draw_zones(img, status.back_state.h, status.back_state.legs, atlas, zone_alpha)
    if studio is not None and len(studio.bars):
        _draw_bars(img, studio.bars, {} if status is None else status.hands,
                   None if therapist is None else therapist.kp, s)
    for p in frame.people:
        if p is not client and p is not therapist:
            _skeleton(img, p.kp, bgr(PERSON_COLOURS["other"]), f"#{p.id}", s)
    if client is not None:
        _skeleton(img, client.kp, bgr(PERSON_COLOURS["client"]), "client", s)
    if therapist is not None:
        _skeleton(img, therapist.kp, bgr(PERSON_COLOURS["therapist"]), "therapist", s)
        if status is not None:
            _foot_labels(img, therapist.kp, status, s)
    if status is not None:
        _status_line(img, status, s)
    return img


# -- parts ----------------------------------------------------------------------------------------
def _to_image(hinv: np.ndarray, poly: np.ndarray) -> np.ndarray | None:
    pts = apply_h(hinv, poly)
    if not np.all(np.isfinite(pts)) or np.abs(pts).max() > 1e5:
        return None   # the shape crosses the map's horizon: no sensible picture of it
    return np.round(pts).astype(np.int32)


def _draw_zones(img: np.ndarray, h: np.ndarray, legs: dict, atlas: Atlas, alpha: float) -> None:
    try:
        hinv = np.linalg.inv(h)
    except np.linalg.LinAlgError:
        return
    layer = img.copy()
    body = np.zeros(img.shape[:2], np.uint8)       # where the body is: zones are clipped to it
    outline = _to_image(hinv, outline_polygon(atlas))
    if outline is None:
        return
    cv2.fillPoly(body, [outline], 255)
    cv2.fillPoly(layer, [outline], bgr(zone_colour("safe")))
    for name, poly in trunk_zones(atlas):
        q = _to_image(hinv, poly)
        if q is not None:
            cv2.fillPoly(layer, [q], bgr(zone_colour(name)))
    leg_mask = np.zeros_like(body)
    for chain in (legs or {}).values():
        if chain is None:
            continue    # a leg not seen at establishment has no zones drawn
        lp = _to_image(hinv, leg_polygon(atlas, chain))
        pp = _to_image(hinv, popliteal_polygon(atlas, chain))
        if lp is not None:
            cv2.fillPoly(leg_mask, [lp], 255)
            cv2.fillPoly(layer, [lp], bgr(zone_colour("safe")))
        if pp is not None:
            cv2.fillPoly(layer, [pp], bgr(zone_colour("popliteal")))
    # Below the gluteal fold the trunk outline ends and the legs take over, as in the atlas.
    fold = _to_image(hinv, np.array([[-80.0, atlas.legs_from_y], [80.0, atlas.legs_from_y],
                                     [80.0, 400.0], [-80.0, 400.0]]))
    if fold is not None:
        below = np.zeros_like(body)
        cv2.fillPoly(below, [fold], 255)
        body[below > 0] = 0
    mask = (body > 0) | (leg_mask > 0)
    blend = cv2.addWeighted(layer, alpha, img, 1.0 - alpha, 0.0)
    img[mask] = blend[mask]
    cv2.polylines(img, [outline], True, (255, 255, 255), 1, cv2.LINE_AA)


def _draw_bars(img: np.ndarray, bars: np.ndarray, hands: dict[str, str],
               tkp: np.ndarray | None, s: int) -> None:
    """Each bar green if a hand grips it (the nearest bar to that hand), else red when the hands
    are seen off, grey when the grip is unknown."""
    from vision.safety.geometry import point_segment_distance
    from vision.safety.grip import HAND_KP
    gripped = np.zeros(len(bars), dtype=bool)
    for side, state in hands.items():
        if state == "on" and tkp is not None:
            d = point_segment_distance(tkp[HAND_KP[side], :2], bars).mean(axis=0)
            gripped[int(np.argmin(d))] = True
    idle = "off" if "off" in hands.values() else "unknown"
    for i, (a, b) in enumerate(np.round(bars).astype(int)):
        col = bgr(GRIP_COLOURS["on" if gripped[i] else idle])
        cv2.line(img, tuple(a), tuple(b), (30, 30, 30), 7 * s, cv2.LINE_AA)
        cv2.line(img, tuple(a), tuple(b), col, 4 * s, cv2.LINE_AA)
    if tkp is not None:
        for side, state in hands.items():
            w = tkp[KP[f"{side}_wrist"]]
            if np.all(np.isfinite(w[:2])):
                cv2.circle(img, tuple(np.round(w[:2]).astype(int)), 9 * s,
                           bgr(GRIP_COLOURS.get(state, GRIP_COLOURS["unknown"])), 2 * s,
                           cv2.LINE_AA)


def _skeleton(img: np.ndarray, kp: np.ndarray, col: tuple[int, int, int], label: str,
              s: int) -> None:
    xy = np.round(kp[:, :2]).astype(int)
    vis = kp[:, 2]
    for a, b in EDGES:
        sure = vis[a] >= MIN_VIS and vis[b] >= MIN_VIS
        cv2.line(img, tuple(xy[a]), tuple(xy[b]), col, 2 * s if sure else s, cv2.LINE_AA)
    for j in range(11, 33):
        r = (4 if j in FEET or j in HANDS else 3) * s
        cv2.circle(img, tuple(xy[j]), r, col, -1 if vis[j] >= MIN_VIS else 1, cv2.LINE_AA)
    anchor = xy[[11, 12]].mean(0)
    _text(img, label, (int(anchor[0]) + 8 * s, max(14 * s, int(anchor[1]))), col, 0.55 * s, s)


def _foot_labels(img: np.ndarray, tkp: np.ndarray, status: FrameStatus, s: int) -> None:
    for side, fs in status.feet.items():
        if not fs.planted:
            continue
        pts = tkp[FOOT_AXIS[side], :2]
        c = np.round(pts.mean(0)).astype(int)
        text = f"{side[0].upper()}: {fs.zone}" + ("" if fs.visible else " (hidden)")
        _label(img, text, (int(c[0]) + 10 * s, int(c[1]) + 18 * s), bgr(zone_colour(fs.zone)), s)


def _status_line(img: np.ndarray, st: FrameStatus, s: int) -> None:
    alerts = ", ".join(dict.fromkeys(st.alerts)) or "none"
    text = (f"t {st.t:7.2f} s | back {st.back} | feet on client {st.feet_on_client} | "
            f"hands L {st.hands.get('left', '?')} R {st.hands.get('right', '?')} | "
            f"alerts: {alerts}")
    h = 24 * s
    img[:h] = (img[:h] * 0.35).astype(img.dtype)     # a dark band keeps the text readable
    col = (80, 80, 255) if st.alerts else (255, 255, 255)
    cv2.putText(img, text, (8 * s, 17 * s), cv2.FONT_HERSHEY_SIMPLEX, 0.5 * s, col, s,
                cv2.LINE_AA)


def _label(img: np.ndarray, text: str, org: tuple[int, int], col, s: int) -> None:
    """White text on a box of the zone's colour: readable whatever is under it."""
    size = 0.55 * s
    (w, h), base = cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, size, s)
    x, y = org
    cv2.rectangle(img, (x - 3 * s, y - h - 4 * s), (x + w + 3 * s, y + base + 2 * s), col, -1)
    cv2.rectangle(img, (x - 3 * s, y - h - 4 * s), (x + w + 3 * s, y + base + 2 * s),
                  (20, 20, 20), 1)
    cv2.putText(img, text, org, cv2.FONT_HERSHEY_SIMPLEX, size, (255, 255, 255), s, cv2.LINE_AA)


def _text(img: np.ndarray, text: str, org: tuple[int, int], col, size: float, s: int) -> None:
    """Text with a dark outline, readable on skin, cloth and table alike."""
    cv2.putText(img, text, org, cv2.FONT_HERSHEY_SIMPLEX, size, (0, 0, 0), 3 * s, cv2.LINE_AA)
    cv2.putText(img, text, org, cv2.FONT_HERSHEY_SIMPLEX, size, col, s, cv2.LINE_AA)
