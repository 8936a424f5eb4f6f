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

from vision.io.limits import (MAX_FPS, MAX_PEOPLE, MAX_SESSION_S, MAX_SIDE, MIN_FPS,
                           frame_size_problem)

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


# What a pose track may say (vision.io.limits; docs/pose-track.md), and its own limits:
MAX_LINE_BYTES = 1 << 20             # a frame of MAX_PEOPLE people is ~40 KB
MAX_REACH = 10                       # keypoints within this many frame sizes of the picture


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
    # What made the keypoints, which says how far off they may be (vision.safety.steps.KP_SIGMA_CM):
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


def _loads(line: str | bytes, where: str) -> object:
    """One line of JSON, strictly: NaN and Infinity are not JSON, and a number of thousands of
    digits or a nesting thousands deep is refused with the line, not a RecursionError."""
    if len(line) > MAX_LINE_BYTES:
        raise PoseTrackError(f"{where}: line of {len(line)} bytes is over the limit of "
                             f"{MAX_LINE_BYTES}")
    try:
        return json.loads(line, parse_constant=_no_constant)
    except json.JSONDecodeError as e:
        raise PoseTrackError(f"{where}: not JSON ({e.msg})") from None
    except _Constant as e:
        raise PoseTrackError(f"{where}: {e} is not a number JSON allows") from None
    except (ValueError, RecursionError) as e:    # int digit limit; nesting
        why = "nested too deep" if isinstance(e, RecursionError) else str(e)
        raise PoseTrackError(f"{where}: not valid JSON ({why})") from None


class _Constant(ValueError):
    pass


def _no_constant(name: str):
    raise _Constant(name)


def _number(value, what: str, where: str, lo: float, hi: float) -> float:
    # a JSON number: not "25" (a text), not true
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise PoseTrackError(f"{where}: {what} must be a number, got {value!r:.40}")
    try:
        x = float(value)
    except OverflowError:          # an integer of hundreds of digits
        raise PoseTrackError(f"{where}: {what} is far outside {lo:g}..{hi:g}") from None
    if not (lo <= x <= hi):        # NaN fails this too
        raise PoseTrackError(f"{where}: {what} {x:g} is outside {lo:g}..{hi:g}")
    return x


def _whole(value, what: str, where: str, lo: int, hi: int) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or (
            isinstance(value, float) and not value.is_integer()):
        raise PoseTrackError(f"{where}: {what} must be a whole number, got {value!r:.40}")
    if not (lo <= value <= hi):
        raise PoseTrackError(f"{where}: {what} {value:g} is outside {lo}..{hi}")
    return int(value)


def _parse_header(obj: object, where: str) -> Header:
    if not isinstance(obj, dict) or obj.get("pose_track") != FORMAT_VERSION:
        raise PoseTrackError(f"{where}: not a pose track v1 header "
                             f"(expected {{\"pose_track\": 1, ...}})")
    missing = [k for k in ("fps", "width", "height") if k not in obj]
    if missing:
        raise PoseTrackError(f"{where}: header needs numeric fps, width and height "
                             f"(missing {', '.join(missing)})")
    fps = _number(obj["fps"], "fps", where, MIN_FPS, MAX_FPS)
    width = _whole(obj["width"], "width", where, 1, MAX_SIDE)
    height = _whole(obj["height"], "height", where, 1, MAX_SIDE)
    problem = frame_size_problem(width, height)
    if problem:
        raise PoseTrackError(f"{where}: {problem}")
    keypoints, source = obj.get("keypoints", "blazepose33"), obj.get("source")
    if keypoints != "blazepose33":
        raise PoseTrackError(f"{where}: keypoints {str(keypoints)[:40]!r} not supported "
                             f"(only blazepose33)")
    if source is not None and (not isinstance(source, str) or len(source) > 100):
        raise PoseTrackError(f"{where}: source must be a short text")
    return Header(fps=fps, width=width, height=height, keypoints=keypoints, source=source)


def _parse_frame(obj: object, where: str, header: Header | None = None) -> Frame:
    if not isinstance(obj, dict) or "t" not in obj or "people" not in obj:
        raise PoseTrackError(f"{where}: a frame needs \"t\" and \"people\"")
    if not isinstance(obj["people"], list):
        raise PoseTrackError(f"{where}: \"people\" must be a list")
    if len(obj["people"]) > MAX_PEOPLE:
        # the core pairs people with each other: work grows with the square of their number
        raise PoseTrackError(f"{where}: {len(obj['people'])} people in one frame, over the "
                             f"limit of {MAX_PEOPLE}")
    t = _number(obj["t"], "\"t\"", where, -MAX_SESSION_S, MAX_SESSION_S)
    # keypoints may lie outside the picture (a body cut by its edge), not anywhere at all
    reach = MAX_REACH * (max(header.width, header.height) if header else MAX_SIDE)
    people = []
    for j, p in enumerate(obj["people"]):
        if not isinstance(p, dict) or "kp" not in p or "id" not in p:
            raise PoseTrackError(f"{where}: person {j} needs \"id\" and \"kp\"")
        pid = _whole(p["id"], f"person {j} id", where, -2**63, 2**63 - 1)
        try:
            kp = np.asarray(p["kp"], dtype=np.float64)
        except (TypeError, ValueError, OverflowError):
            raise PoseTrackError(f"{where}: person {j} keypoints are not numbers") from None
        if kp.shape != (NUM_KEYPOINTS, 3):
            raise PoseTrackError(f"{where}: person {j} keypoints have shape {kp.shape}, "
                                 f"expected (33, 3) rows of [x, y, visibility]")
        if not np.all(np.isfinite(kp)):
            raise PoseTrackError(f"{where}: person {j} keypoints contain NaN or infinity")
        if np.abs(kp[:, :2]).max() > reach:
            raise PoseTrackError(f"{where}: person {j} keypoints lie over {MAX_REACH} frame "
                                 f"sizes outside the picture")
        presence = _number(p.get("presence", 1.0), f"person {j} presence", where, 0.0, 1.0)
        people.append(Person(id=pid, kp=kp, presence=presence))
    return Frame(t=t, people=people)


def parse_header_line(line: str | bytes, where: str) -> Header:
    """The header of a pose track's first line; PoseTrackError if it is none or breaks a limit."""
    try:
        obj = _loads(line, where)
    except PoseTrackError as e:
        # a first line that is no JSON at all is most likely another kind of file
        raise PoseTrackError(f"{e} - not a pose track") from None
    return _parse_header(obj, where)


def claims_pose_track(line: str | bytes) -> bool:
    """Whether a first line says it is a pose track (``"pose_track": 1``), valid or not: such
    a file is refused for what is wrong with it, not as an unknown kind of file."""
    try:
        obj = json.loads(line)
    except (ValueError, RecursionError):
        return False
    return isinstance(obj, dict) and obj.get("pose_track") == FORMAT_VERSION


def iter_pose_track(path: str | Path) -> tuple[Header, Iterator[Frame]]:
    """Open a pose track; returns its header and a lazy iterator over frames.

    Errors (missing file, bad JSON, wrong shapes, time going backwards) raise PoseTrackError
    naming the file and line.
    """
    path = Path(path)
    if not path.is_file():
        raise PoseTrackError(f"{path}: no such file")
    f = open(path, encoding="utf-8", errors="replace")
    first = f.readline(MAX_LINE_BYTES + 1)
    if not first.strip():
        f.close()
        raise PoseTrackError(f"{path}: empty file, not a pose track")
    try:
        header = parse_header_line(first, f"{path}:1")
    except PoseTrackError:
        f.close()
        raise
    max_frames = int(MAX_SESSION_S * header.fps) + 1

    def frames() -> Iterator[Frame]:
        last_t, n = -np.inf, 0
        with f:
            lineno = 1
            while True:
                # read with a bound: one hostile line must not fill the memory
                line = f.readline(MAX_LINE_BYTES + 1)
                if not line:
                    return
                lineno += 1
                if not line.strip():
                    continue
                where = f"{path}:{lineno}"
                frame = _parse_frame(_loads(line, where), where, header)
                if frame.t < last_t:
                    raise PoseTrackError(f"{where}: time goes backwards ({frame.t} < {last_t})")
                n += 1
                if n > max_frames:
                    raise PoseTrackError(f"{where}: more than {max_frames} frames, over "
                                         f"{MAX_SESSION_S / 3600:g} h at {header.fps:g} fps")
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
