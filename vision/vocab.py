"""The words that cross the pipeline's stages, once: zones, back states, grip, feet, alert kinds,
phases and severities.

Each is a ``StrEnum``: a member *is* its string (``Zone.SPINE == "spine"``, same hash, same JSON),
so the report's JSON, the pose-track files and the service's events read as before, while code
names the member instead of retyping the string. The pydantic report (vision/safety/report.py) types its
fields with these enums.
"""

from __future__ import annotations

from enum import StrEnum


class Zone(StrEnum):
    """Where a foot stands on the client (vision/safety/atlas.yaml names the regions)."""
    SPINE = "spine"
    KIDNEY = "kidney"
    RIBS = "ribs"
    NECK = "neck"
    SCIATIC_NOTCH = "sciatic_notch"
    POPLITEAL = "popliteal"
    SAFE = "safe"
    OFF_BODY = "off_body"
    UNKNOWN = "unknown"


# the zones a step must never land on unflagged
DANGER_ZONES = frozenset({Zone.SPINE, Zone.KIDNEY, Zone.RIBS, Zone.NECK, Zone.SCIATIC_NOTCH,
                          Zone.POPLITEAL})


class Back(StrEnum):
    """The state of the client's back map (vision/safety/backframe.py)."""
    ESTABLISHED = "established"   # located, zones can be read
    SUSPECT = "suspect"           # held, but the client's keypoints disagree with it
    UNKNOWN = "unknown"           # not located (yet)


class Grip(StrEnum):
    """One hand and the overhead bars (vision/safety/grip.py)."""
    ON = "on"
    OFF = "off"
    UNKNOWN = "unknown"


class Side(StrEnum):
    LEFT = "left"
    RIGHT = "right"


SIDES = (Side.LEFT, Side.RIGHT)


class Severity(StrEnum):
    CRITICAL = "critical"
    WARNING = "warning"


class AlertKind(StrEnum):
    STEP_ON_SPINE = "step_on_spine"
    STEP_ON_KIDNEY = "step_on_kidney"
    STEP_ON_NECK = "step_on_neck"
    STEP_ON_POPLITEAL = "step_on_popliteal"
    STEP_ON_SCIATIC_NOTCH = "step_on_sciatic_notch"
    STEP_ON_RIBS = "step_on_ribs"
    NO_HANDS_ON_BARS = "no_hands_on_bars"
    ONE_HAND_ON_BARS = "one_hand_on_bars"
    SUDDEN_SHIFT = "sudden_shift"
    FOOT_NOT_VISIBLE = "foot_not_visible"
    FULL_BODY_WEIGHT = "full_body_weight"


# the alert of a step on each danger zone
ZONE_ALERT: dict[str, AlertKind] = {z: AlertKind(f"step_on_{z}") for z in
                                    (Zone.SPINE, Zone.KIDNEY, Zone.NECK, Zone.POPLITEAL,
                                     Zone.SCIATIC_NOTCH, Zone.RIBS)}


class Phase(StrEnum):
    """An alert event's moment: it began, or it ended."""
    START = "start"
    END = "end"
