"""The pose engine's settings, shared by its parts (region planning, post-processing, tracking)."""

from __future__ import annotations

import os
from dataclasses import dataclass, field

import numpy as np

# the landmark models (models/manifest.json); heavy_feet: heavy with its foot outputs re-fitted
# on rendered studios (models/feet/head.py, docs/models.md)
MODELS = ("lite", "full", "heavy", "heavy_feet")


def reading_name(model: str, feet: bool) -> str:
    """What a reading of the engine is called: the landmark model, "+feet" with the feet
    model (a pose track's source is "engine:" and this)."""
    return model + ("+feet" if feet else "")


FEET_ENV = "ASHIWATCH_FEET_MODEL"


def feet_from_env() -> bool | None:
    """ASHIWATCH_FEET_MODEL: "1" on, "0" off, unset or empty: as the footage decides."""
    value = os.environ.get(FEET_ENV, "").strip()
    if value not in ("", "0", "1"):
        raise ValueError(f"{FEET_ENV}={value!r}: use 1 (on), 0 (off) or leave it unset "
                         "(on with a studio table)")
    return None if value == "" else value == "1"


@dataclass
class EngineConfig:
    model: str = "full"  # lite | full | heavy | heavy_feet
    threads: int | None = None
    device: str = "cpu"  # cpu | cuda | auto (vision.pose.runtime.resolve_device)
    max_people: int = 4
    detect_every: int = 10  # frames between detector passes for newcomers
    min_presence: float = 0.5  # person-present score to keep a track (MediaPipe's 0.5)
    min_detection: float = 0.5
    detector_tiles: bool = True  # also search square tiles of a wide frame for small people
    still_refresh: int = 6  # a still body's landmarks are re-read every N frames
    still_motion: float = 0.05  # torso-relative drift allowed while a body counts as still
    still_seconds: float = 1.0  # how long a body must stay within that drift to be still
    consistent: float = 0.15  # torso-relative mean shift for a new view to agree with a held one
    reid_seconds: float = 3.0  # a person found again within this time keeps the old id
    leave_after_s: float = 2.0  # an uncovered still body unseen this long has left
    # A body lying on the table keeps its torso length in a fixed camera's image: a reading
    # of it longer or shorter by more than this share is another body's (vision.pose.tracker)
    lying_stretch: float = 0.15
    hold_half_life_s: float = 120.0  # a held body's confidence halves over this time
    table: np.ndarray | None = None  # (4, 2) table outline in px, from the studio file
    table_head: np.ndarray | None = None  # (2,) a point at the head end (the face cradle)
    # Ashiatsu works on the back: the body on the table lies face-down, so a camera above the
    # table sees its back. Readings of it that show the front are mirrored (BlazePose cannot
    # tell a back from a front without a face and labels such bodies the other way round).
    client_face_down: bool = True
    # Second regions in the same batched landmark call: each moving person's legs and feet
    # from a tight region (one more crop per moving person per frame), and each new detection
    # turned upside down as well (detector frames only). None: on with a studio table.
    refine: bool | None = None
    # The feet model (vision/pose/feet.py, models/feet.onnx): each standing person's ankles,
    # heels and toe tips re-read from high-resolution crops. None: on with a studio table, the
    # view it was trained for (a studio camera over the table, the feet seen from above); off
    # on footage without one, where it is wrong (people walking seen from the side: the
    # pose2sim clips, docs/models.md). ASHIWATCH_FEET_MODEL=1 / 0 in the environment, or
    # feet=True / False, turns it on or off whatever the footage (the service's cameras and jobs).
    feet: bool | None = field(default_factory=feet_from_env)

    def _with_table(self, setting: bool | None) -> bool:
        """A setting left at None follows the studio: on with a table, off without."""
        return setting if setting is not None else self.table is not None

    @property
    def refines(self) -> bool:
        """Whether second regions (legs, turned detections) join the batch."""
        return self._with_table(self.refine)

    @property
    def reads_feet(self) -> bool:
        """Whether the feet model re-reads the feet of everyone standing."""
        return self._with_table(self.feet)
