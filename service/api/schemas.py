"""Request and response bodies (pydantic)."""

from __future__ import annotations

from typing import Any, Literal, Optional

from pydantic import BaseModel, ConfigDict, Field, field_validator

from service.api.security import Role

JobStatus = Literal["queued", "running", "done", "failed"]


class BodyIn(BaseModel):
    """A request body: types as documented (strict: ``0`` is not ``false``, ``"1"`` not
    ``1``), and text that is Unicode (JSON lets a lone surrogate in as ``\\ud800``, which no
    file name, YAML parser or database takes)."""
    model_config = ConfigDict(strict=True)

    @field_validator("*", mode="after")
    @classmethod
    def _unicode(cls, v):
        if isinstance(v, str):
            try:
                v.encode("utf-8")
            except UnicodeEncodeError:
                raise ValueError("text with a lone surrogate (\\ud800-\\udfff) is not "
                                 "Unicode") from None
        return v


class ErrorItem(BaseModel):
    type: str
    loc: list[str | int]
    msg: str


class ErrorOut(BaseModel):
    """Every error answer (4xx) has this body."""
    detail: str = Field(description="what was wrong, in one line")
    errors: Optional[list[ErrorItem]] = Field(
        None, description="for a 422 of a malformed request: each field's error")


class Health(BaseModel):
    status: Literal["ok"] = "ok"


class JobOut(BaseModel):
    id: str
    status: JobStatus
    progress: float = Field(description="percent")
    error: Optional[str] = None
    filename: str = Field(description="the uploaded file's name, for display")
    input_kind: Literal["video", "track"]
    keep: bool
    created: float
    annotate: bool = Field(False, description="an annotated video was asked for")
    report: Optional[dict[str, Any]] = Field(None, description="report v1 once done")
    snapshots: list["SnapshotOut"] = Field(
        default_factory=list, description="one picture per alert of the report (done jobs)")
    video: Optional[str] = Field(None, description="URL of the annotated video, once made")


class SnapshotOut(BaseModel):
    alert: int = Field(description="the alert's index in report.alerts")
    kind: str
    foot: Optional[str] = None
    start_s: float
    url: str


class UserIn(BodyIn):
    name: str = Field(min_length=1, max_length=100)
    role: Role = Field(strict=False)      # (JSON gives the value, never the enum)


class UserOut(BaseModel):
    id: int
    name: str
    role: Role = Field(strict=False)      # (JSON gives the value, never the enum)
    created: float


class UserCreated(UserOut):
    token: str = Field(description="shown once; only its sha256 is stored")


class CameraIn(BodyIn):
    name: str = Field(min_length=1, max_length=100)
    source: str = Field(min_length=1, description="a stream URL (rtsp://, http:// MJPEG, …), "
                                                   "a device (0, /dev/video0), or a video or "
                                                   "pose-track file on the server (path or "
                                                   "file:// URL), played in real time")
    studio: Optional[str] = Field(None, description="studio YAML text, or a path to a studio file")
    speed: float = Field(1.0, gt=0, le=1000, description="replay speed factor")
    loop: bool = Field(False, description="replay again from the start at the end")


class CameraOut(BaseModel):
    id: int
    name: str
    source: str
    speed: float
    loop: bool
    online: bool
    latest_event_id: int
    frames_read: int = Field(0, description="frames read from the source since the start")
    frames_processed: int = Field(0, description="frames run through the safety core")
    frames_dropped: int = Field(0, description="frames skipped for a newer one (engine busy)")
    reconnects: int = Field(0, description="tries to reach the source again")
    people: int = Field(0, description="people seen in the newest frame")
