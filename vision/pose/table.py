"""The studio table's outline in the image: where a lying body's torso lies, along which axis,
and the regions that read a client lying on it."""

from __future__ import annotations

import cv2
import numpy as np

from vision.skeleton import HIPS, SHOULDERS, torso_centre
from .config import EngineConfig
from .regions import Region, region_from_polygon


class TableOutline:
    def __init__(self, outline: np.ndarray, head: np.ndarray | None = None):
        self.outline = np.asarray(outline, np.float32).reshape(-1, 1, 2)
        self.head = head
        (_, _), (w, h), deg = cv2.minAreaRect(self.outline)
        a = np.deg2rad(deg if w >= h else deg + 90)
        self.axis = np.array([np.cos(a), np.sin(a)])  # the long axis, a unit vector

    @classmethod
    def of(cls, cfg: EngineConfig) -> TableOutline | None:
        """The studio's table, fixed for an engine's life; None without one."""
        return None if cfg.table is None else cls(cfg.table, cfg.table_head)

    def holds(self, xy: np.ndarray) -> bool:
        """The torso's centre lies inside the outline. On the rendered scenes the client's
        lies 0.3-0.9 torso inside, the therapist's, standing on it, 0.2-2.5 torso outside: the
        standing body's hips are higher than the table."""
        c = torso_centre(xy)
        return cv2.pointPolygonTest(self.outline, (float(c[0]), float(c[1])), False) > 0

    def along(self, xy: np.ndarray) -> bool:
        """The torso's axis lies within 30 degrees of the table's long axis in the image."""
        up = xy[SHOULDERS].mean(0) - xy[HIPS].mean(0)
        return abs(float(up @ self.axis)) >= np.cos(np.pi / 6) * np.hypot(*up)

    def holds_lying(self, xy: np.ndarray) -> bool:
        """A torso on the table and along it: how a body lying there looks."""
        return self.holds(xy) and self.along(xy)

    def regions(self) -> list[Region]:
        """Regions for a client lying on the table: toward the head end, or both ways when the
        studio does not name it."""
        return region_from_polygon(self.outline.reshape(-1, 2), self.head)
