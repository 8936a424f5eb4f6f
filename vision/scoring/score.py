"""Trainee scoring: an audit report and an exercise → a score from 0 to 100, its parts, and a
sentence for every lost point. Pure and deterministic (docs/scoring.md).

Parts (their weights come from the exercise file and add up to 100):

- ``targets``: share of the steps on the client whose loaded centre lies in a target area;
  a step that could not be placed (zone ``unknown``) is not rewarded;
- ``danger``: steps in the zones the exercise avoids; a step in a cap zone (spine, kidney)
  also caps the whole score;
- ``bars``: share of the loaded time (a foot on the client) with both hands on the bars (or
  one, when the exercise allows it); a grip that is ``unknown`` is not ``on``;
- ``smoothness``: sudden shifts of weight (the auditor's ``sudden_shift`` alerts);
- ``coverage``: share of the target areas that received at least one step;
- ``tempo``: steps per minute on the client against the exercise's range.
"""

from __future__ import annotations

from typing import Optional

import numpy as np
from pydantic import BaseModel

from vision.scoring.exercises import PARTS, Exercise
from vision.safety.report import Report, StepOut
from vision.safety.zones import default_atlas

SCORE_VERSION = 1


class Part(BaseModel):
    points: float
    max: float


class Score(BaseModel):
    score: float
    parts: dict[str, Part]
    reasons: list[str]
    cap: Optional[float] = None          # the cap applied, if any
    exercise: str
    trainee: Optional[str] = None
    source: Optional[str] = None
    duration_s: float = 0.0
    version: int = SCORE_VERSION


def _r1(v: float) -> float:
    # one decimal everywhere: the same report always gives the same text and JSON
    return float(round(v + 0.0, 1))


def _t(s: StepOut) -> str:
    return f"{s.start_s:.1f} s ({s.foot} foot)"


def _span_list(spans: list[tuple[float, float]], most: int = 4) -> str:
    txt = ", ".join(f"{a:.1f}-{b:.1f} s" for a, b in spans[:most])
    if len(spans) > most:
        txt += f" and {len(spans) - most} more"
    return txt


def reference_xy(report: Report, steps: list[StepOut]) -> np.ndarray:
    """Steps' loaded centres (N, 2) in the atlas's reference cm (NaN when not located).
    Reports scale body_xy_cm to the client's stature when the profile gives it; targets are
    in reference cm, so that scale is undone here."""
    ref = default_atlas().reference_stature_cm
    scale = (report.client.height_cm / ref) if report.client.height_cm else 1.0
    xy = np.full((len(steps), 2), np.nan)
    for i, s in enumerate(steps):
        if s.body_xy_cm is not None and s.zone != "unknown":
            xy[i] = np.asarray(s.body_xy_cm, dtype=np.float64) / scale
    return xy


def _grid_state(t: np.ndarray, intervals: list[tuple[float, float, object]], default):
    """The value of run-length intervals (start, end, value) at times ``t`` (vectorised)."""
    out = np.full(len(t), default, dtype=object)
    if not intervals:
        return out
    starts = np.array([a for a, _, _ in intervals])
    ends = np.array([b for _, b, _ in intervals])
    vals = np.array([v for _, _, v in intervals], dtype=object)
    k = np.searchsorted(starts, t, side="right") - 1
    ok = (k >= 0) & (t < ends[np.clip(k, 0, None)])
    out[ok] = vals[k[ok]]
    return out


def _runs(t: np.ndarray, mask: np.ndarray, dt: float) -> list[tuple[float, float]]:
    """Intervals (start, end) of the grid times where ``mask`` is true."""
    if not mask.any():
        return []
    m = np.concatenate([[False], mask, [False]]).astype(np.int8)
    d = np.diff(m)
    a, b = np.flatnonzero(d == 1), np.flatnonzero(d == -1) - 1
    return [(float(t[i] - dt / 2), float(t[j] + dt / 2)) for i, j in zip(a, b)]


def _per_event(weight: float, share: float, n: int) -> tuple[Part, list[float]]:
    """A part that loses ``share`` of its ``weight`` per event until none is left: the part,
    and the points each event cost (0 once the part is spent)."""
    lost_share = min(1.0, share * n)
    losses, left = [], weight
    for _ in range(n):
        lost = min(left, share * weight)
        left -= lost
        losses.append(lost)
    return Part(points=_r1(weight * (1.0 - lost_share)), max=weight), losses


def score_report(report: Report, ex: Exercise, trainee: str | None = None) -> Score:
    w = ex.weights
    reasons: list[str] = []
    parts: dict[str, Part] = {}

    on_client = [s for s in report.steps if s.zone != "off_body"]
    xy = reference_xy(report, on_client)
    located = ~np.isnan(xy[:, 0])
    # which target each step's centre lies in (-1: none); the first listed target wins
    inside = np.full(len(on_client), -1)
    for k in reversed(range(len(ex.targets))):
        if len(on_client):
            hit = located & ex.targets[k].contains(np.nan_to_num(xy))
            inside[hit] = k

    # -- targets ------------------------------------------------------------------------------
    n = len(on_client)
    if n == 0:
        parts["targets"] = Part(points=0.0, max=w.targets)
        if w.targets:
            reasons.append(f"No step on the client was found: the {w.targets:g} target points "
                           "are lost.")
    else:
        per = w.targets / n
        parts["targets"] = Part(points=_r1(per * int((inside >= 0).sum())), max=w.targets)
        for i, s in enumerate(on_client):
            if inside[i] >= 0 or not w.targets:
                continue
            if not located[i]:
                reasons.append(f"Step at {_t(s)} could not be placed on the body (zone unknown): "
                               f"it is not counted inside a target, nor as safe (-{per:.1f} "
                               "points).")
                continue
            d = np.array([t.distance(xy[i:i + 1])[0] for t in ex.targets])
            near = ex.targets[int(np.argmin(d))]
            reasons.append(f"Step at {_t(s)} landed at ({xy[i, 0]:.1f}, {xy[i, 1]:.1f}) cm "
                           f"({s.zone}), outside the target areas: {d.min():.1f} cm from "
                           f"{near.label} (-{per:.1f} points).")

    # -- danger zones and the cap ------------------------------------------------------------
    avoid = set(ex.avoid)
    danger = [s for s in on_client if s.zone in avoid]
    parts["danger"], losses = _per_event(w.danger, ex.penalties.danger_step, len(danger))
    for s, lost in zip(danger, losses):
        cost = f"-{lost:.1f} danger points" if lost > 0 else "no danger points left to lose"
        reasons.append(f"Step at {_t(s)} on the {s.zone.replace('_', ' ')} zone, which this "
                       f"exercise avoids ({cost}).")
    capped = [s for s in on_client if s.zone in set(ex.cap.zones)]
    cap = ex.cap.score if capped else None
    if capped:
        where = "; ".join(f"{s.zone} at {s.start_s:.1f} s" for s in capped)
        reasons.append(f"Any step on the {' or '.join(ex.cap.zones)} caps the score at "
                       f"{ex.cap.score:g}: {where}.")

    # -- bars while loaded -------------------------------------------------------------------
    fps = report.fps if report.fps > 0 else 30.0
    dt = 1.0 / fps
    feet = [(iv.start_s, iv.end_s, iv.count) for iv in report.feet_on_client]
    t0 = min((a for a, _, _ in feet), default=0.0)
    t1 = max((b for _, b, _ in feet), default=0.0)
    t = t0 + dt / 2 + dt * np.arange(max(int(round((t1 - t0) / dt)), 0))
    loaded = _grid_state(t, feet, 0).astype(int) >= 1
    grip = {side: _grid_state(t, [(g.start_s, g.end_s, g.state)
                                  for g in report.grip.get(side, [])], "unknown")
            for side in ("left", "right")}
    on = {side: g == "on" for side, g in grip.items()}
    held = (on["left"] & on["right"]) if ex.both_hands_on_bars else (on["left"] | on["right"])
    loaded_s = float(loaded.sum() * dt)
    need = "both hands" if ex.both_hands_on_bars else "at least one hand"
    if loaded_s <= 0:
        parts["bars"] = Part(points=0.0, max=w.bars)
        if w.bars:
            reasons.append(f"No time with weight on the client: the {w.bars:g} bar points "
                           "are lost.")
    else:
        share = float((held & loaded).sum() * dt) / loaded_s
        parts["bars"] = Part(points=_r1(w.bars * share), max=w.bars)
        if share < 1.0 and w.bars:
            spans = _runs(t, loaded & ~held, dt)
            reasons.append(f"{need.capitalize()} on the bars for only {100 * share:.0f}% of the "
                           f"{loaded_s:.1f} s with weight on the client; not held at "
                           f"{_span_list(spans)} (-{w.bars * (1 - share):.1f} points).")
            unknown = loaded & ~held & ((grip["left"] == "unknown") | (grip["right"] == "unknown"))
            if unknown.any():
                why = "no studio file with the bars" if all(
                    g.state == "unknown" for v in report.grip.values() for g in v) \
                    else "hands not seen on a bar"
                reasons.append(f"The grip was unknown for {unknown.sum() * dt:.1f} s of that "
                               f"({why}): unknown is not counted as on the bars.")

    # -- smoothness --------------------------------------------------------------------------
    shifts = [a for a in report.alerts if a.kind == "sudden_shift"]
    parts["smoothness"], losses = _per_event(w.smoothness, ex.penalties.sudden_shift,
                                             len(shifts))
    for a, lost in zip(shifts, losses):
        cost = f"-{lost:.1f} smoothness points" if lost > 0 else "no smoothness points left"
        reasons.append(f"Sudden shift of weight at {a.start_s:.1f}-{a.end_s:.1f} s ({cost}).")

    # -- coverage ----------------------------------------------------------------------------
    reached = set(int(k) for k in inside[inside >= 0])
    k = len(ex.targets)
    parts["coverage"] = Part(points=_r1(w.coverage * len(reached) / k), max=w.coverage)
    if w.coverage:
        for i, tg in enumerate(ex.targets):
            if i not in reached:
                reasons.append(f"No step reached the target {tg.label} "
                               f"(-{w.coverage / k:.1f} points).")

    # -- tempo -------------------------------------------------------------------------------
    lo, hi = ex.tempo.steps_per_min
    starts = sorted(s.start_s for s in on_client)
    if len(starts) < 2 or starts[-1] <= starts[0]:
        parts["tempo"] = Part(points=0.0, max=w.tempo)
        if w.tempo:
            reasons.append(f"Fewer than two steps on the client: no tempo to measure "
                           f"(-{w.tempo:g} points).")
    else:
        rate = 60.0 * (len(starts) - 1) / (starts[-1] - starts[0])
        tol = ex.penalties.tempo_tolerance
        off = (lo - rate) / lo if rate < lo else (rate - hi) / hi if rate > hi else 0.0
        share = max(0.0, 1.0 - off / tol)
        parts["tempo"] = Part(points=_r1(w.tempo * share), max=w.tempo)
        if share < 1.0 and w.tempo:
            how = "slower" if rate < lo else "faster"
            reasons.append(f"Tempo {rate:.0f} steps/min from {starts[0]:.1f} to "
                           f"{starts[-1]:.1f} s, {how} than the exercise's {lo:g}-{hi:g} "
                           f"(-{w.tempo * (1 - share):.1f} points).")

    total = sum(parts[p].points for p in PARTS)
    if cap is not None:
        total = min(total, cap)
    return Score(score=_r1(total), parts={p: parts[p] for p in PARTS}, reasons=reasons,
                 cap=cap, exercise=ex.name, trainee=trainee, source=report.source,
                 duration_s=report.duration_s)


def format_score(sc: Score) -> str:
    """The score for a person: total, parts, then every reason."""
    lines = [f"{sc.trainee or 'trainee'} - {sc.exercise}: {sc.score:g} / 100"
             + (f" (capped at {sc.cap:g})" if sc.cap is not None else "")]
    for name, p in sc.parts.items():
        lines.append(f"  {name:<11} {p.points:5.1f} / {p.max:g}")
    if sc.reasons:
        lines.append("Points lost:")
        lines += [f"  - {r}" for r in sc.reasons]
    else:
        lines.append("No points lost.")
    return "\n".join(lines)
