"""Region planning: which regions one frame's batched landmark call reads, and for whom.

Every region is a ``RegionRequest``: a live track's region (TRACK), a new detection's
(DETECTION), one head direction of the studio table's outline (TABLE), or a second region of
another request's person, merged into that reading before tracking (FLIP: a detection's region
turned upside down; LEGS: a moving track's legs and feet).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING

import numpy as np

from vision.skeleton import HIPS, SHOULDERS
from .config import EngineConfig
from .detector import Detection
from .regions import Region, legs_region
from .table import TableOutline

if TYPE_CHECKING:
    from .tracker import Track


class Source(StrEnum):
    """What a region request reads."""
    TRACK = "track"          # a live track, from its last landmarks
    DETECTION = "detection"  # a detection that is no tracked body
    TABLE = "table"          # the table outline: alternatives of which the better is kept
    FLIP = "flip"            # a detection's region turned upside down (second region)
    LEGS = "legs"            # a moving track's legs and feet, tight (second region)


@dataclass(frozen=True, eq=False)
class RegionRequest:
    region: Region
    source: Source
    track: Track | None = None  # the track a TRACK request re-reads
    first: int | None = None  # a second region's first request (batch row) it merges into

    @property
    def second(self) -> bool:
        return self.first is not None

    @property
    def newcomer(self) -> bool:
        """Its reading may seed a new track."""
        return self.source in (Source.DETECTION, Source.TABLE)


class RegionPlan:
    """One frame's region requests, in batch order: tracks first (their rows are the
    tracks' order), then detections (each with its turned region), the table's, the legs."""

    def __init__(self, tracks: list[Track]):
        self.requests = [RegionRequest(tr.region, Source.TRACK, track=tr) for tr in tracks]

    @property
    def regions(self) -> list[Region]:
        return [req.region for req in self.requests]

    def count(self, source: Source) -> int:
        return sum(req.source is source for req in self.requests)

    def add(self, region: Region, source: Source, first: int | None = None) -> None:
        self.requests.append(RegionRequest(region, source, first=first))


class RegionPlanner:
    """Plans each frame's regions from the tracks (MediaPipe's tracking scheme, extended to
    several people and to a still client)."""

    def __init__(self, cfg: EngineConfig):
        self.cfg = cfg
        self.table = TableOutline.of(cfg)

    def start(self, tracks: list[Track], k: int) -> RegionPlan:
        """The tracks re-read on frame ``k``: every moving one, a still one every
        ``still_refresh`` frames."""
        return RegionPlan([tr for tr in tracks
                           if not tr.still or (k - tr.refreshed_at) >= self.cfg.still_refresh])

    def wants_detector(self, tracks: list[Track], lost_last_frame: bool, k: int) -> bool:
        """When nothing is tracked, a track was lost, or every ``detect_every`` frames for
        newcomers while there is room for one."""
        return (not tracks or lost_last_frame
                or (k % self.cfg.detect_every == 0 and len(tracks) < self.cfg.max_people))

    def add_newcomers(self, plan: RegionPlan, detections: list[Detection],
                      tracks: list[Track]) -> None:
        """Regions for the detections that are no tracked body (``detections``), up to
        ``max_people`` people in all, and, while no still or lying body is on it, the table's."""
        for det in detections:
            if len(tracks) + plan.count(Source.DETECTION) >= self.cfg.max_people:
                break
            r = det.region()
            plan.add(r, Source.DETECTION)
            if self.cfg.refines:
                # The detector reads a standing person seen from behind and above upside
                # down (its "face" below the hips: rendered corner view); the landmark
                # model then sees no person (score 0.1-0.2) where the turned region gives
                # 0.9-1.0. It is taken only where the detector's own region sees nobody.
                plan.add(Region(r.cx, r.cy, r.size, r.angle + np.pi), Source.FLIP,
                         first=len(plan.requests) - 1)
        # the table outline seeds a client that shows no face, until one lies there: a
        # table region read once the client is tracked sees the client again, shifted by the
        # therapist's legs over it, and seeded a second "client" that the safety core then
        # took for the therapist (rendered dev09, head_wall_2.3: 12 s of one frozen "step")
        if self.table is not None and not any(tr.still or tr.lying for tr in tracks):
            for reg in self.table.regions():
                plan.add(reg, Source.TABLE)

    def add_legs(self, plan: RegionPlan) -> None:
        """The moving people's legs and feet, from a tight second region each (merged into
        their reading before tracking): on the rendered scenes, 2-5x closer heels and toes."""
        if not self.cfg.refines:
            return
        for i, req in enumerate(list(plan.requests)):
            tr = req.track
            if req.source is Source.TRACK and not tr.still and not tr.lying:
                plan.add(legs_region(tr.xy[HIPS], tr.xy[SHOULDERS].mean(0)), Source.LEGS,
                         first=i)
