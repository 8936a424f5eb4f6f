"""The studio file (YAML; JSON is valid YAML too): where the bars and the table are in the image,
and optionally where the camera is.

    bars:  [[[x1, y1], [x2, y2]], ...]     # overhead bars, line segments in image pixels
    table: [[x, y], [x, y], ...]          # optional: the table's outline (polygon, pixels)
    table_head: [x, y]                    # optional: a point at the head end (face cradle)
    camera:                               # optional: the camera (pinhole, OpenCV convention)
      K: [[fx, 0, cx], [0, fy, cy], [0, 0, 1]]   # intrinsics, pixels
      R: [[...], [...], [...]]                   # rotation world → camera
      t: [tx, ty, tz]                            # metres: x_cam = R @ x_world + t
    table_top_m: 0.65                     # optional: height of the table top above the floor (m)
    bars_height_m: 2.6                    # optional: height of the bars' axis above the floor (m)

World frame of ``camera`` (metres): z up, origin on the floor under the centre of the table top,
x along the table toward its head end, y = z × x (the left of a face-down client whose head is at
+x). Camera axes as OpenCV's: x right, y down, z forward; pixels of the undistorted image.
``vision.io.camera.camera_from_gl_pose`` converts a pyrender/OpenGL camera-to-world pose.

With ``camera`` the therapist's feet are corrected for their height above the client's joints
(parallax, vision/io/camera.py); without it an oblique view is flagged in the report and borderline
steps read ``unknown``. ``table_top_m`` defaults to 0.65 and only matters with ``camera``.
With ``camera`` and ``bars_height_m`` the bar grip is judged in metres, in 3-D (vision/safety/grip.py);
without them in image pixels, relative to the therapist's size.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import yaml

from vision.io.camera import DEFAULT_TABLE_TOP_M, CameraError, CameraModel, camera_from_dict
from vision.io.yamlfile import read_yaml


class StudioError(ValueError):
    pass


@dataclass
class Studio:
    bars: np.ndarray                 # (M, 2, 2) pixels
    table: np.ndarray | None = None  # (K, 2) pixels
    table_head: np.ndarray | None = None  # (2,) pixels: the head end of the table
    camera: CameraModel | None = None     # the studio's camera, world in metres (see above)
    table_top_m: float | None = None      # the table top's height (m); None: the default
    bars_height_m: float | None = None    # the bars' axis above the floor (m), for 3-D grip

    @property
    def table_top(self) -> float:
        return DEFAULT_TABLE_TOP_M if self.table_top_m is None else self.table_top_m

    def to_dict(self) -> dict:
        d: dict = {"bars": np.round(self.bars, 1).tolist()}
        if self.table is not None:
            d["table"] = np.round(self.table, 1).tolist()
        if self.table_head is not None:
            d["table_head"] = np.round(self.table_head, 1).tolist()
        if self.camera is not None:
            d["camera"] = self.camera.to_dict()
        if self.table_top_m is not None:
            d["table_top_m"] = round(float(self.table_top_m), 4)
        if self.bars_height_m is not None:
            d["bars_height_m"] = round(float(self.bars_height_m), 4)
        return d


def parse_studio(doc: object, where: str) -> Studio:
    if not isinstance(doc, dict):
        raise StudioError(f"{where}: a studio file is a mapping with \"bars\" (and \"table\")")
    try:
        bars = np.asarray(doc.get("bars", []), dtype=np.float64)
    except (TypeError, ValueError):
        raise StudioError(f"{where}: \"bars\" must be a list of [[x1, y1], [x2, y2]]") from None
    if bars.size == 0:
        bars = np.zeros((0, 2, 2))
    if bars.ndim != 3 or bars.shape[1:] != (2, 2) or not np.all(np.isfinite(bars)):
        raise StudioError(f"{where}: \"bars\" must be a list of [[x1, y1], [x2, y2]] segments, "
                          f"got shape {bars.shape}")
    if np.any(np.linalg.norm(bars[:, 0] - bars[:, 1], axis=1) < 1.0):
        raise StudioError(f"{where}: a bar segment has zero length")
    table = None
    if doc.get("table") is not None:
        try:
            table = np.asarray(doc["table"], dtype=np.float64)
        except (TypeError, ValueError):
            raise StudioError(f"{where}: \"table\" must be a list of [x, y] points") from None
        if table.ndim != 2 or table.shape[1] != 2 or len(table) < 3 or \
                not np.all(np.isfinite(table)):
            raise StudioError(f"{where}: \"table\" must be a polygon of at least 3 [x, y] points")
    head = None
    if doc.get("table_head") is not None:
        try:
            head = np.asarray(doc["table_head"], dtype=np.float64)
        except (TypeError, ValueError):
            head = np.zeros(0)
        if head.shape != (2,) or not np.all(np.isfinite(head)):
            raise StudioError(f"{where}: \"table_head\" must be one [x, y] point")
    camera = None
    if doc.get("camera") is not None:
        try:
            camera = camera_from_dict(doc["camera"], where)
        except CameraError as e:
            raise StudioError(str(e)) from None
    top = doc.get("table_top_m")
    if top is not None:
        if isinstance(top, bool) or not isinstance(top, (int, float)) or not 0.2 <= top <= 1.5:
            raise StudioError(f"{where}: \"table_top_m\" must be the table top's height in "
                              f"metres (0.2 to 1.5), got {top!r}")
        top = float(top)
    if camera is not None and camera.centre[2] <= (top or DEFAULT_TABLE_TOP_M):
        raise StudioError(f"{where}: the camera's position {np.round(camera.centre, 2).tolist()} "
                          f"m is not above the table top: check R and t (x_cam = R x_world + t, "
                          f"z up)")
    bh = doc.get("bars_height_m")
    if bh is not None:
        if isinstance(bh, bool) or not isinstance(bh, (int, float)) or \
                not (top or DEFAULT_TABLE_TOP_M) + 1.0 <= bh <= 4.0:
            raise StudioError(f"{where}: \"bars_height_m\" must be the bars' height above the "
                              f"floor in metres (the table top + 1 m to 4 m), got {bh!r}")
        bh = float(bh)
    return Studio(bars=bars, table=table, table_head=head, camera=camera, table_top_m=top,
                  bars_height_m=bh)


def load_studio(path: str | Path) -> Studio:
    return parse_studio(read_yaml(path, StudioError), str(path))


def save_studio(path: str | Path, studio: Studio, comment: str = "") -> None:
    text = yaml.safe_dump(studio.to_dict(), default_flow_style=None, sort_keys=False)
    head = "".join(f"# {line}\n" for line in comment.splitlines()) if comment else ""
    Path(path).write_text(head + text, encoding="utf-8")
