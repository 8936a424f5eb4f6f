"""The studio file (YAML; JSON is valid YAML too): where the bars and the table are in the image.

    bars:  [[[x1, y1], [x2, y2]], ...]     # overhead bars, line segments in image pixels
    table: [[x, y], [x, y], ...]          # optional: the table's outline (polygon, pixels)
    table_head: [x, y]                    # optional: a point at the head end (face cradle)
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import yaml

from .yamlfile import read_yaml


class StudioError(ValueError):
    pass


@dataclass
class Studio:
    bars: np.ndarray                 # (M, 2, 2) pixels
    table: np.ndarray | None = None  # (K, 2) pixels
    table_head: np.ndarray | None = None  # (2,) pixels: the head end of the table

    def to_dict(self) -> dict:
        d: dict = {"bars": np.round(self.bars, 1).tolist()}
        if self.table is not None:
            d["table"] = np.round(self.table, 1).tolist()
        if self.table_head is not None:
            d["table_head"] = np.round(self.table_head, 1).tolist()
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
    return Studio(bars=bars, table=table, table_head=head)


def load_studio(path: str | Path) -> Studio:
    return parse_studio(read_yaml(path, StudioError), str(path))


def save_studio(path: str | Path, studio: Studio, comment: str = "") -> None:
    text = yaml.safe_dump(studio.to_dict(), default_flow_style=None, sort_keys=False)
    head = "".join(f"# {line}\n" for line in comment.splitlines()) if comment else ""
    Path(path).write_text(head + text, encoding="utf-8")
