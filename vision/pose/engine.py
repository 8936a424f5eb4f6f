"""The pose engine: frames in, every person's 33 keypoints out, tracked with stable ids.

Per frame (MediaPipe's tracking scheme, extended to several people and to a still client),
each step a part with its own module:
1. region planning (vision.pose.plan): each live track's region comes from its last
   landmarks (auxiliary points 33/34); a still body's only every ``still_refresh`` frames;
2. the detector runs only when nothing is tracked, when a track was lost, or every
   ``detect_every`` frames to pick up newcomers; a detection whose hips and shoulders are
   already a track's is that track; unmatched detections seed new tracks;
3. with a studio table outline and no still or lying body on the table yet, the table gives
   candidate regions (both head directions) for a client whose face the detector cannot see;
   with a table (``refine``), each moving person also gets a tight legs region, and each new
   detection its region turned upside down, in the same batch;
4. batched inference (vision.pose.inference): the landmark model runs once over all regions
   of the frame;
5. post-processing (vision.pose.readings): second regions are merged into their person's
   reading, labels turned to agree with the feet; a client read from the front is mirrored
   (face-down);
6. tracking (vision.pose.tracker): readings are checked before they replace a track's
   keypoints, held, dropped, or seed new tracks;
7. the feet model (vision.pose.feet, ``feet``): the ankles, heels and toe tips of each person
   not lying on the table, re-read from crops at full resolution.
See docs/pose-engine.md.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np

from models import model_path

from vision.io.posetrack import Frame
from .config import MODELS, EngineConfig, reading_name
from .detector import PoseDetector
from .feet import KNEE_INDEX, OUT_INDEX, FeetModel, collapsed_foot
from .inference import BatchedReader, StageTimes
from .landmarks import LandmarkModel
from .plan import RegionPlanner
from .readings import (PostProcessor, facing, labels_contradict_feet, mirror, same_body,
                       shows_front, torso_px)
from .runtime import resolve_device
from .tracker import Track, Tracker

# the parts' names other code imports from here
__all__ = ["AUDIT_MODEL", "EngineConfig", "EngineResult", "PoseEngine", "StageTimes", "Track",
           "facing", "labels_contradict_feet", "mirror", "same_body", "shows_front",
           "torso_px"]

# The landmark model for recorded sessions (audits, trainee scores): `heavy` is ~2.7x the
# cost of `full` (80 vs 30 ms a 1280x720 frame here) but on the rendered head-end views it
# read the client's hips 2-7 px off instead of 14-19 and the therapist's heels 6-8 instead of
# 12-20 (docs/pose-engine.md). Live cameras keep `full` (EngineConfig's default).
AUDIT_MODEL = "heavy"


@dataclass
class EngineResult:
    frame: Frame
    times: StageTimes = field(default_factory=StageTimes)


class PoseEngine:
    @property
    def source(self) -> str:
        """What a pose track's header names as its keypoints' maker (vision.io.posetrack.Header)."""
        return f"engine:{reading_name(self.cfg.model, self.feet is not None)}"

    def __init__(self, config: EngineConfig | None = None, **kw):
        self.cfg = config or EngineConfig(**kw)
        if self.cfg.model not in MODELS:
            raise ValueError(f"unknown model {self.cfg.model!r}: choose {', '.join(MODELS)}")
        self.device = resolve_device(self.cfg.device)
        self.detector = PoseDetector(model_path("detector"), self.cfg.threads,
                                     self.cfg.min_detection, device=self.device)
        self.landmarks = LandmarkModel(model_path(f"{self.cfg.model}_engine"), self.cfg.threads,
                                       device=self.device)
        self.planner = RegionPlanner(self.cfg)
        self.reader = BatchedReader(self.landmarks)
        self.post = PostProcessor(self.cfg)
        self.tracker = Tracker(self.cfg)
        self.feet = FeetModel(model_path("feet"), self.cfg.threads, device=self.device) \
            if self.cfg.reads_feet else None
        self.reset()

    def reset(self) -> None:
        """Forget every track: the next frame starts from the detector."""
        self.tracker.reset()
        self.frame_index = -1
        self._passes = 0  # detector passes so far

    def process(self, image: np.ndarray, t: float) -> EngineResult:
        self.frame_index += 1
        k = self.frame_index
        times = StageTimes()
        tracks = self.tracker.tracks
        plan = self.planner.start(tracks, k)
        if self.planner.wants_detector(tracks, self.tracker.lost_last_frame, k):
            t0 = time.perf_counter()
            # the full frame and, in turn, one of its tiles (a detector run is ~15 ms)
            self._passes += 1
            dets = self.detector.detect(
                image, tiles=self._passes if self.cfg.detector_tiles else False)
            times.detector_ms = (time.perf_counter() - t0) * 1e3
            times.detector_runs = 1
            self.planner.add_newcomers(plan, self.tracker.unmatched(dets), tracks)
        self.planner.add_legs(plan)
        res = self.reader.read(image, plan.requests, times)
        t0 = time.perf_counter()
        res, requests = self.post.apply(res, plan.requests)
        self.tracker.update(res, requests, t, k)
        times.post_ms = (time.perf_counter() - t0) * 1e3
        frame = self.tracker.current_frame(t)
        if self.feet is not None:
            self._read_feet(image, frame, times)
        return EngineResult(frame=frame, times=times)

    def _read_feet(self, image: np.ndarray, frame: Frame, times: StageTimes) -> None:
        """The feet model on everyone not lying on the table (the therapist; a client's feet
        are the landmark model's), on this frame's pixels even when the landmarks are held
        from an earlier reading: their ankle, heel and toe tip placed where the model finds them.
        The visibilities stay the landmark model's: the feet model's own are not calibrated on
        whole sessions (its heels read 0.44 at the median where the renders' truth sees them,
        docs/models.md), and the steps' gate (vision.safety.steps.StepParams.min_vis) is tuned
        on the landmark model's. The tracks keep BlazePose's points (the next regions come
        from them)."""
        ids = {tr.id for tr in self.tracker.tracks if not tr.lying}
        people = [p for p in frame.people if p.id in ids]
        if not people:
            return
        t0 = time.perf_counter()
        kp = np.stack([p.kp for p in people])
        reading = self.feet.read(image, kp)
        read = reading.xy.reshape(len(people), 2, 3, 2)                       # (P, 2, 3, 2)
        drop = collapsed_foot(read, kp[:, OUT_INDEX, :2], kp[:, KNEE_INDEX, :2])
        for i, person in enumerate(people):
            for j, idx in enumerate(OUT_INDEX):
                if not drop[i, j]:
                    person.kp[idx, :2] = read[i, j]
        times.feet_ms = (time.perf_counter() - t0) * 1e3
        times.feet_people = len(people)
