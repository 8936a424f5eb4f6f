"""Report schema v1 (pydantic): what `ashiwatch audit` writes. Documented in docs/safety-core.md."""

from __future__ import annotations

from typing import Literal, Optional

from pydantic import BaseModel, Field

from vision.vocab import AlertKind, Grip, Severity, Side, Zone

REPORT_VERSION = 1


class StepOut(BaseModel):
    foot: Side
    start_s: float
    end_s: float
    zone: Zone
    body_xy_cm: Optional[list[float]] = Field(
        None, description="loaded centre of the foot: [x lateral, + client's left; y from the "
                          "shoulder line toward the feet], cm; null when not located")
    # Added within version 1 (older reports have none): the zone decided over the whole stance
    # with the keypoints' uncertainty (docs/safety-core.md, "Uncertainty").
    possible: bool = Field(False, description="a danger zone lies within the step's "
                                              "uncertainty but is not sure: 'possible <zone>'")
    verdict: Optional[str] = Field(None, description="the zone, or 'possible <zone>'")
    zone_p: dict[str, float] = Field(default_factory=dict,
                                     description="probability of each zone under the foot")


class AlertOut(BaseModel):
    kind: AlertKind
    severity: Severity
    start_s: float
    end_s: float
    foot: Optional[Side] = None
    possible: bool = False   # a step alert whose zone is possible, not sure (StepOut.possible)


class FeetInterval(BaseModel):
    start_s: float
    end_s: float
    count: int = Field(description="feet on the client: 0, 1 or 2 (2 = full body weight)")


class GripInterval(BaseModel):
    start_s: float
    end_s: float
    state: Grip


class Contraindication(BaseModel):
    condition: str
    note: str


class ClientOut(BaseModel):
    name: Optional[str] = None
    height_cm: Optional[float] = None
    conditions: list[str] = []
    contraindications: list[Contraindication] = []


class Summary(BaseModel):
    verdict: Literal["safe", "caution", "unsafe", "unknown"]
    steps: int
    steps_by_zone: dict[str, int]
    alerts_by_kind: dict[str, int]
    critical_alerts: int
    warning_alerts: int
    time_feet_on_client_s: dict[str, float]
    time_back_unknown_s: float
    time_no_hand_on_bar_loaded_s: float
    # Added within version 1 (optional; older reports have none): what limits the zones'
    # accuracy in this session, e.g. an oblique view without the studio's camera (parallax).
    warnings: list[str] = Field(default_factory=list)


class Report(BaseModel):
    report: int = REPORT_VERSION
    source: Optional[str] = None
    duration_s: float
    fps: float
    frames: int
    body_units: str = Field(description="how body_xy_cm is scaled")
    client: ClientOut
    steps: list[StepOut]
    alerts: list[AlertOut]
    feet_on_client: list[FeetInterval]
    grip: dict[str, list[GripInterval]]
    summary: Summary
