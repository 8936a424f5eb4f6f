"""Batched inference: every region a frame's plan requests through the landmark model in one
call, timed by stage."""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from .landmarks import LandmarkModel, LandmarkResult
from .plan import RegionRequest, Source
from .readings import FIELDS


@dataclass
class StageTimes:
    detector_ms: float = 0.0
    crops_ms: float = 0.0
    landmarks_ms: float = 0.0
    post_ms: float = 0.0  # from the readings' settling to the tracks' update
    feet_ms: float = 0.0  # the feet model: crops and its two batched calls
    feet_people: int = 0  # people whose feet it re-read
    detector_runs: int = 0
    people_inferred: int = 0


class BatchedReader:
    def __init__(self, landmarks: LandmarkModel):
        self.landmarks = landmarks

    def read(self, image: np.ndarray, requests: list[RegionRequest],
             times: StageTimes) -> LandmarkResult | None:
        """One reading per request (row order = request order); None for no requests."""
        if not requests:
            return None
        regions = [req.region for req in requests]
        t0 = time.perf_counter()
        x = self.landmarks.crops(image, regions)
        t1 = time.perf_counter()
        lm, flag, hm = self.landmarks.infer(x)
        t2 = time.perf_counter()
        res = self.landmarks.decode(lm, flag, hm, regions)
        times.crops_ms = (t1 - t0) * 1e3
        times.landmarks_ms = (t2 - t1) * 1e3
        times.people_inferred = len(regions)
        if any(req.source is Source.TABLE for req in requests):
            self._settle_table_reading(image, res, requests)
            times.people_inferred += 1
        return res

    def _settle_table_reading(self, image: np.ndarray, res: LandmarkResult,
                              requests: list[RegionRequest]) -> None:
        """The table's regions are centred on the table, not on the body's hips as the model
        expects. Keep the better-seen head direction (a body read upside down has less
        visible keypoints: measured in tests/test_engine.py; the studio file can name the head
        end instead) and read it once more from the region its own landmarks give, in place;
        the other direction's score is 0."""
        idx = [i for i, req in enumerate(requests) if req.source is Source.TABLE]
        best = max(idx, key=lambda i: res.visibility[i, :33].mean())
        again = self.landmarks.run(image, [res.next_region(best)])
        for i in idx:
            res.score[i] = 0.0
        for name in FIELDS:
            getattr(res, name)[best] = getattr(again, name)[0]
