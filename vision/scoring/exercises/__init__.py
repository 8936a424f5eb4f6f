"""The exercise library: Ashiatsu training exercises as data (one YAML file per exercise).

An exercise names its strokes, the target areas they work (shapes in the zone atlas's body
coordinates, reference cm: x lateral, + toward the client's left; y from the shoulder line toward
the feet), the zones to avoid, whether both hands must stay on the bars, the tempo and the
weights of the score's parts (vision/scoring/score.py). The package's files are the library; users add
their own folders (``ashiwatch score --exercises DIR``), whose files replace a packaged exercise
of the same name. Documented in docs/scoring.md.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal, Optional

import numpy as np
from pydantic import (BaseModel, ConfigDict, Field, ValidationError, field_validator,
                      model_validator)

from vision.safety.geometry import point_segment_distance
from vision.io.yamlfile import read_yaml
from vision.safety.zones import RISKY

LIBRARY_DIR = Path(__file__).resolve().parent
PARTS = ("targets", "danger", "bars", "smoothness", "coverage", "tempo")


class ExerciseError(ValueError):
    pass


class _Strict(BaseModel):
    # a misspelt key in a user's file must be an error, not silently ignored
    model_config = ConfigDict(extra="forbid")


class Capsule(_Strict):
    line: list[tuple[float, float]] = Field(min_length=2, description="polyline, reference cm")
    radius: float = Field(gt=0, description="cm around the polyline")


class Target(_Strict):
    name: str = Field(min_length=1)
    label: str = Field(min_length=1, description="for people: what and where")
    rect: Optional[tuple[float, float, float, float]] = Field(
        None, description="x0, y0, x1, y1 in reference cm")
    capsule: Optional[Capsule] = None

    @model_validator(mode="after")
    def _one_shape(self):
        if (self.rect is None) == (self.capsule is None):
            raise ValueError(f"target {self.name!r}: give exactly one of rect or capsule")
        if self.rect is not None:
            x0, y0, x1, y1 = self.rect
            if x1 <= x0 or y1 <= y0:
                raise ValueError(f"target {self.name!r}: rect needs x0 < x1 and y0 < y1")
        return self

    def contains(self, pts, margin: float = 0.0) -> np.ndarray:
        """Points (N, 2) inside the target, at least ``margin`` cm from its edge."""
        p = np.asarray(pts, dtype=np.float64).reshape(-1, 2)
        if self.rect is not None:
            x0, y0, x1, y1 = self.rect
            return ((p[:, 0] >= x0 + margin) & (p[:, 0] <= x1 - margin) &
                    (p[:, 1] >= y0 + margin) & (p[:, 1] <= y1 - margin))
        return self.distance(p) <= -margin

    def distance(self, pts) -> np.ndarray:
        """Signed distance (N,) to the target's edge, cm: negative inside."""
        p = np.asarray(pts, dtype=np.float64).reshape(-1, 2)
        if self.rect is not None:
            x0, y0, x1, y1 = self.rect
            c = np.array([(x0 + x1) / 2, (y0 + y1) / 2])
            h = np.array([(x1 - x0) / 2, (y1 - y0) / 2])
            q = np.abs(p - c) - h
            outside = np.linalg.norm(np.maximum(q, 0.0), axis=1)
            return outside + np.minimum(q.max(axis=1), 0.0)
        line = np.asarray(self.capsule.line, dtype=np.float64)
        d = point_segment_distance(p, np.stack([line[:-1], line[1:]], axis=1)).min(axis=1)
        return d - self.capsule.radius

    def bounds(self) -> tuple[float, float, float, float]:
        if self.rect is not None:
            return tuple(float(v) for v in self.rect)
        ln = np.asarray(self.capsule.line)
        r = self.capsule.radius
        return (float(ln[:, 0].min() - r), float(ln[:, 1].min() - r),
                float(ln[:, 0].max() + r), float(ln[:, 1].max() + r))


class Stroke(_Strict):
    name: str = Field(min_length=1)
    part: Literal["heel", "ball", "whole foot", "instep"] = "heel"
    targets: list[str] = Field(min_length=1)
    description: str = ""


class Tempo(_Strict):
    steps_per_min: tuple[float, float] = Field(
        description="range of steps per minute on the client (both feet counted)")

    @field_validator("steps_per_min")
    @classmethod
    def _range(cls, v):
        if not (0 < v[0] <= v[1]):
            raise ValueError("steps_per_min: need 0 < low <= high")
        return v


class Weights(_Strict):
    targets: float = Field(ge=0)
    danger: float = Field(ge=0)
    bars: float = Field(ge=0)
    smoothness: float = Field(ge=0)
    coverage: float = Field(ge=0)
    tempo: float = Field(ge=0)

    @model_validator(mode="after")
    def _sum(self):
        total = sum(getattr(self, p) for p in PARTS)
        if abs(total - 100.0) > 1e-6:
            raise ValueError(f"weights add up to {total:g}, not 100")
        return self


class Cap(_Strict):
    zones: list[str] = Field(default_factory=lambda: ["spine", "kidney"])
    score: float = Field(40.0, ge=0, le=100)


class Penalties(_Strict):
    danger_step: float = Field(0.5, ge=0, le=1,
                               description="share of the danger part lost per avoided-zone step")
    sudden_shift: float = Field(0.5, ge=0, le=1,
                                description="share of the smoothness part lost per sudden shift")
    tempo_tolerance: float = Field(0.5, gt=0,
                                   description="relative distance outside the tempo range at "
                                               "which all tempo points are lost")


class Exercise(_Strict):
    name: str = Field(pattern=r"^[a-z0-9][a-z0-9-]*$")
    title: str = Field(min_length=1)
    description: str = Field(min_length=1)
    strokes: list[Stroke] = Field(min_length=1)
    targets: list[Target] = Field(min_length=1)
    avoid: list[str] = Field(default_factory=lambda: sorted(RISKY))
    both_hands_on_bars: bool = True
    tempo: Tempo
    weights: Weights
    cap: Cap = Field(default_factory=Cap)
    penalties: Penalties = Field(default_factory=Penalties)
    source: Optional[str] = Field(None, exclude=True)      # the file it came from

    @model_validator(mode="after")
    def _refs(self):
        names = [t.name for t in self.targets]
        dup = sorted({n for n in names if names.count(n) > 1})
        if dup:
            raise ValueError(f"target names repeated: {', '.join(dup)}")
        for st in self.strokes:
            missing = [t for t in st.targets if t not in names]
            if missing:
                raise ValueError(f"stroke {st.name!r} names unknown targets {missing} "
                                 f"(targets: {', '.join(names)})")
        for where, zones in (("avoid", self.avoid), ("cap.zones", self.cap.zones)):
            bad = [z for z in zones if z not in RISKY]
            if bad:
                raise ValueError(f"{where}: unknown zones {bad} (zones: "
                                 f"{', '.join(sorted(RISKY))})")
        return self

    def target(self, name: str) -> Target:
        return next(t for t in self.targets if t.name == name)


def _one_line(e: ValidationError) -> str:
    parts = []
    for err in e.errors():
        loc = ".".join(str(x) for x in err.get("loc", ()))
        msg = err.get("msg", "").removeprefix("Value error, ")
        parts.append(f"{loc}: {msg}" if loc else msg)
    return "; ".join(parts)


def load_exercise(path: str | Path) -> Exercise:
    """One exercise file; ``ExerciseError("<path>: <what is wrong>")`` when it is not valid."""
    path = Path(path)
    doc = read_yaml(path, ExerciseError)
    if not isinstance(doc, dict):
        raise ExerciseError(f"{path}: expected a mapping of exercise fields, got "
                            f"{type(doc).__name__}")
    try:
        ex = Exercise.model_validate(doc)
    except ValidationError as e:
        raise ExerciseError(f"{path}: {_one_line(e)}") from None
    ex.source = str(path)
    return ex


def library(extra_dirs: list[str | Path] = ()) -> dict[str, Exercise]:
    """Every exercise by name: the packaged ones, then each folder of ``extra_dirs`` in order
    (a later file replaces an exercise of the same name). A bad file is an error, not skipped:
    a trainee must never be scored against an exercise that silently went missing."""
    out: dict[str, Exercise] = {}
    for d in [LIBRARY_DIR, *map(Path, extra_dirs)]:
        if not d.is_dir():
            raise ExerciseError(f"{d}: no such folder of exercises")
        seen: dict[str, Path] = {}
        for f in sorted(d.glob("*.yaml")) + sorted(d.glob("*.yml")):
            ex = load_exercise(f)
            if ex.name in seen:
                raise ExerciseError(f"{f}: exercise {ex.name!r} is also defined in {seen[ex.name]}")
            seen[ex.name] = f
            out[ex.name] = ex
    return out


def find_exercise(name_or_path: str, extra_dirs: list[str | Path] = ()) -> Exercise:
    """An exercise by name from the library, or from a YAML file given by path."""
    p = Path(name_or_path)
    if p.suffix.lower() in (".yaml", ".yml"):
        return load_exercise(p)
    lib = library(extra_dirs)
    if name_or_path not in lib:
        raise ExerciseError(f"no exercise {name_or_path!r} (known: {', '.join(sorted(lib))}; "
                            "`ashiwatch exercises` lists them)")
    return lib[name_or_path]
