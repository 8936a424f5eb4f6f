"""Pose track v1: the interchange format between the pose engine and the rest of ashiwatch.

One JSON object per line. The first line is a header, then one line per frame::

    {"pose_track": 1, "fps": 30.0, "width": 1280, "height": 720, "keypoints": "blazepose33"}
    {"t": 0.0, "people": [{"id": 1, "kp": [[x, y, visibility], ... 33 rows ...]}, ...]}

``t`` in seconds, ``x, y`` in image pixels, keypoints in BlazePose order. A person may also carry
``"presence"`` (0..1, the landmark model's person-present score). See docs/pose-track.md.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Iterable, Iterator

import numpy as np

FORMAT_VERSION = 1
NUM_KEYPOINTS = 33

# BlazePose 33 keypoint names, in model order.
KEYPOINT_NAMES = (
    "nose", "left_eye_inner", "left_eye", "left_eye_outer", "right_eye_inner", "right_eye",
    "right_eye_outer", "left_ear", "right_ear", "mouth_left", "mouth_right", "left_shoulder",
    "right_shoulder", "left_elbow", "right_elbow", "left_wrist", "right_wrist", "left_pinky",
    "right_pinky", "left_index", "right_index", "left_thumb", "right_thumb", "left_hip",
    "right_hip", "left_knee", "right_knee", "left_ankle", "right_ankle", "left_heel",
    "right_heel", "left_foot_index", "right_foot_index",
)
KP = {name: i for i, name in enumerate(KEYPOINT_NAMES)}


class PoseTrackError(ValueError):
    """A pose-track file that cannot be read; the message names the file and line."""


@dataclass
class Person:
    id: int
    kp: np.ndarray  # (33, 3) float: x px, y px, visibility 0..1
    presence: float = 1.0

    def __post_init__(self) -> None:
        self.kp = np.asarray(self.kp, dtype=np.float64)
        if self.kp.shape != (NUM_KEYPOINTS, 3):
            raise ValueError(f"person {self.id}: keypoints must be 33x3, got {self.kp.shape}")


@dataclass
class Frame:
    t: float
    people: list[Person] = field(default_factory=list)


@dataclass
class Header:
    fps: float
    width: int
    height: int
    keypoints: str = "blazepose33"
    # What made the keypoints, which says how far off they may be (vision.steps.KP_SIGMA_CM):
    # "engine:<model>" (ashiwatch's pose engine), "truth" (a renderer's or generator's exact
    # joints), or None (unknown: read as the least accurate model).
    source: str | None = None

    def to_json(self) -> dict:
        d = {"pose_track": FORMAT_VERSION, "fps": self.fps, "width": self.width,
             "height": self.height, "keypoints": self.keypoints}
        if self.source is not None:
            d["source"] = self.source
        return d


def frame_to_json(frame: Frame) -> dict:
    people = []
    for p in frame.people:
        d = {"id": int(p.id), "kp": np.round(p.kp, 2).tolist()}
        if p.presence != 1.0:
            d["presence"] = round(float(p.presence), 3)
        people.append(d)
    return {"t": round(float(frame.t), 4), "people": people}


class PoseTrackWriter:
    """Writes a pose track line by line, flushing each frame so that nothing is lost on a crash."""

    def __init__(self, path: str | Path | IO[str], header: Header):
        self._own = not hasattr(path, "write")
        self._f: IO[str] = open(path, "w", encoding="utf-8") if self._own else path  # type: ignore[arg-type]
        self._f.write(json.dumps(header.to_json()) + "\n")

    def write(self, frame: Frame) -> None:
        self._f.write(json.dumps(frame_to_json(frame), separators=(",", ":")) + "\n")
        self._f.flush()

    def close(self) -> None:
        if self._own:
            self._f.close()

    def __enter__(self) -> "PoseTrackWriter":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def _parse_header(obj: object, where: str) -> Header:
    if not isinstance(obj, dict) or obj.get("pose_track") != FORMAT_VERSION:
        raise PoseTrackError(f"{where}: not a pose track v1 header "
                             f"(expected {{\"pose_track\": 1, ...}})")
    try:
        header = Header(fps=float(obj["fps"]), width=int(obj["width"]), height=int(obj["height"]),
                        keypoints=str(obj.get("keypoints", "blazepose33")),
                        source=None if obj.get("source") is None else str(obj["source"]))
    except (KeyError, TypeError, ValueError) as e:
        raise PoseTrackError(f"{where}: header needs numeric fps, width and height ({e})") from None
    if header.keypoints != "blazepose33":
        raise PoseTrackError(f"{where}: keypoints {header.keypoints!r} not supported "
                             f"(only blazepose33)")
    if header.fps <= 0 or header.width <= 0 or header.height <= 0:
        raise PoseTrackError(f"{where}: fps, width and height must be positive")
    return header


def _parse_frame(obj: object, where: str) -> Frame:
    if not isinstance(obj, dict) or "t" not in obj or "people" not in obj:
        raise PoseTrackError(f"{where}: a frame needs \"t\" and \"people\"")
    if not isinstance(obj["people"], list):
        raise PoseTrackError(f"{where}: \"people\" must be a list")
    people = []
    for j, p in enumerate(obj["people"]):
        if not isinstance(p, dict) or "kp" not in p or "id" not in p:
            raise PoseTrackError(f"{where}: person {j} needs \"id\" and \"kp\"")
        try:
            kp = np.asarray(p["kp"], dtype=np.float64)
        except (TypeError, ValueError):
            raise PoseTrackError(f"{where}: person {j} keypoints are not numbers") from None
        if kp.shape != (NUM_KEYPOINTS, 3):
            raise PoseTrackError(f"{where}: person {j} keypoints have shape {kp.shape}, "
                                 f"expected (33, 3) rows of [x, y, visibility]")
        if not np.all(np.isfinite(kp)):
            raise PoseTrackError(f"{where}: person {j} keypoints contain NaN or infinity")
        people.append(Person(id=int(p["id"]), kp=kp, presence=float(p.get("presence", 1.0))))
    try:
        t = float(obj["t"])
    except (TypeError, ValueError):
        raise PoseTrackError(f"{where}: \"t\" must be a number") from None
    return Frame(t=t, people=people)


def iter_pose_track(path: str | Path) -> tuple[Header, Iterator[Frame]]:
    """Open a pose track; returns its header and a lazy iterator over frames.

    Errors (missing file, bad JSON, wrong shapes, time going backwards) raise PoseTrackError
    naming the file and line.
    """
    path = Path(path)
    if not path.is_file():
        raise PoseTrackError(f"{path}: no such file")
    f = open(path, encoding="utf-8")
    first = f.readline()
    if not first.strip():
        f.close()
        raise PoseTrackError(f"{path}: empty file, not a pose track")
    try:
        header = _parse_header(json.loads(first), f"{path}:1")
    except json.JSONDecodeError:
        f.close()
        raise PoseTrackError(f"{path}:1: not JSON, not a pose track") from None

    def frames() -> Iterator[Frame]:
        last_t = -np.inf
        with f:
            for lineno, line in enumerate(f, start=2):
                if not line.strip():
                    continue
                where = f"{path}:{lineno}"
                try:
                    obj = json.loads(line)
                except json.JSONDecodeError as e:
                    raise PoseTrackError(f"{where}: not JSON ({e.msg})") from None
                frame = _parse_frame(obj, where)
                if frame.t < last_t:
                    raise PoseTrackError(f"{where}: time goes backwards ({frame.t} < {last_t})")
                last_t = frame.t
                yield frame

    return header, frames()


def read_pose_track(path: str | Path) -> tuple[Header, list[Frame]]:
    header, frames = iter_pose_track(path)
    return header, list(frames)


def write_pose_track(path: str | Path, header: Header, frames: Iterable[Frame]) -> None:
    with PoseTrackWriter(path, header) as w:
        for fr in frames:
            w.write(fr)
