"""One snapshot per alert: the frame where it started, with the overlay drawn and faces blurred.

Alerts are only final at the end of an audit (zone alerts come from finished steps; others are
debounced and backdated to when their condition began), while pictures can only be taken while
the frames go by. So ``AlertSnapshots`` works in two stages:

1. ``push(image, frame, status)`` per frame keeps the last second or so of frames and, at every
   moment an alert may start, writes a *candidate* JPEG (overlay + blurred faces) to the folder:
   - each rule alert's start event (``status.events``, vision/safety/rules.py): the frame where its
     condition began (the event's ``began_s``: debounced alerts are backdated), from the buffer;
   - a foot newly planted (a step starts: every zone alert of the report is a step) and a
     planted foot that disappears (a step split there): a frame up to half a second later, as
     soon as the step's running zone is known, so that the picture shows the foot standing on it.
2. ``finish(report)`` links each alert of the final report to the candidate of the same kind
   (a zone alert to a step candidate of the same foot) whose estimated start is nearest the
   alert's start, within two frames (``"matched": "start"``); failing that, the first candidate
   taken during the alert (``"during"``). Linked candidates are renamed
   ``alert-NN-KIND[-FOOT].jpg`` (NN = the alert's number in the report, from 1), the others are
   deleted, and ``index.json`` beside them records the links::

       {"snapshots": 1, "alerts": [{"alert": 0, "kind": "step_on_spine", "foot": "right",
         "start_s": 4.71, "file": "alert-01-step_on_spine-right.jpg", "snapshot_t": 4.72,
         "matched": "start"}, ...], "missing": [3]}

   ``finish`` returns {alert index: file path}, what ``vision.pictures.reporting.render_html`` takes.

Faces are blurred by default (vision.pictures.privacy): clients are undressed. Candidates are written as
they are found, so an audit that dies midway leaves pictures, not nothing.
"""

from __future__ import annotations

import json
from collections import deque
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from vision.safety.audit import Auditor, FrameStatus
from vision.pictures.overlay import draw_status
from vision.io.posetrack import Frame
from vision.pictures.privacy import blur_faces
from vision.safety.report import Report
from vision.safety.rules import RuleEngine
from vision.vocab import ZONE_ALERT, Phase
from vision.safety.steps import StepParams
from vision.io.studio import Studio
from vision.safety.zones import Atlas

INDEX = "index.json"
_ZONE_KINDS = frozenset(ZONE_ALERT.values())   # their pictures are the steps'
PENDING_S = 0.5     # longest wait for a new step's zone before its picture is taken


@dataclass
class Candidate:
    kind: str            # an alert kind, or "step" for any step_on_* alert
    foot: str | None
    t_est: float         # estimated start of the alert it would show
    t: float             # time of the frame in the picture
    path: Path


class AlertSnapshots:
    """Feed ``push`` every frame of an audit, then call ``finish`` with its report."""

    def __init__(self, folder: str | Path, studio: Studio | None = None,
                 atlas: Atlas | None = None, rules: RuleEngine | None = None,
                 step_params: StepParams | None = None, fps: float = 30.0,
                 blur: bool = True, overlay: bool = True, quality: int = 85):
        self.folder = Path(folder)
        self.folder.mkdir(parents=True, exist_ok=True)
        self.studio, self.atlas = studio, atlas
        self.blur, self.overlay, self.quality = blur, overlay, int(quality)
        self.step_lag = 0.5 * (step_params or StepParams()).window_s
        self.dt = 1.0 / fps
        self.ring: deque = deque()      # (t, image, frame, status)
        # long enough to hold the frame where a debounced alert's condition began
        self.ring_s = (rules or RuleEngine()).longest_delay_s + 3 * self.dt
        self.candidates: list[Candidate] = []
        self.shots: dict[int, str] = {}    # after finish: {alert index: snapshot path}
        self._prev_feet: dict[str, tuple[bool, bool]] = {}
        self._n = 0
        self._pending: dict[str, float] = {}   # foot → estimated start of a step not yet shot

    @classmethod
    def for_auditor(cls, folder: str | Path, auditor: Auditor, **kw) -> "AlertSnapshots":
        """Snapshots drawn with the auditor's own studio and (profile-widened) atlas, timed by
        its own rule and step parameters."""
        return cls(folder, studio=auditor.studio, atlas=auditor.atlas, rules=auditor.rules,
                   step_params=auditor.feet["left"].p, fps=auditor.header.fps, **kw)

    # -- as a sink of vision.session.SessionRunner ------------------------------------------
    def on_moment(self, moment) -> None:
        if moment.image is not None:
            self.push(moment.image, moment.frame, moment.status)

    def on_report(self, report: Report) -> None:
        self.shots = self.finish(report)

    # -- per frame ------------------------------------------------------------------------------
    def push(self, image: np.ndarray, frame: Frame, status: FrameStatus) -> list[Path]:
        """Keep this frame and write the candidates that start here; returns their paths."""
        t = status.t
        self.ring.append((t, image, frame, status))
        while self.ring and t - self.ring[0][0] > self.ring_s:
            self.ring.popleft()
        new: list[Path] = []
        for ev in status.events:
            if ev.phase == Phase.START and ev.kind not in _ZONE_KINDS:   # zone alerts: steps
                new.append(self._take(ev.kind, ev.foot, ev.began_s, ev.began_s))
        for side, fs in status.feet.items():
            was_planted, was_visible = self._prev_feet.get(side, (False, True))
            if fs.planted and not was_planted:
                self._pending[side] = t - self.step_lag
            elif fs.planted and was_visible and not fs.visible:
                self._pending[side] = t                  # a located step may split here
            # The picture waits for the step's zone to be known (a few frames), so that the
            # label on the foot says where it stands; never longer than PENDING_S.
            t_est = self._pending.get(side)
            if t_est is not None and (fs.zone != "unknown" or not fs.planted
                                      or t - t_est >= PENDING_S):
                new.append(self._take("step", side, t_est, t))
                del self._pending[side]
            self._prev_feet[side] = (fs.planted, fs.visible)
        return new

    def _take(self, kind: str, foot: str | None, t_est: float, t_pic: float) -> Path:
        """Write the buffered frame nearest ``t_pic`` as a candidate."""
        ts = np.array([r[0] for r in self.ring])
        t, image, frame, status = self.ring[int(np.argmin(np.abs(ts - t_pic)))]
        pic = draw_status(image, frame, status, self.studio, self.atlas) if self.overlay \
            else image
        if self.blur:
            pic = blur_faces(pic, frame.people)
        self._n += 1
        path = self.folder / f".candidate-{self._n:05d}.jpg"
        if not cv2.imwrite(str(path), pic, [cv2.IMWRITE_JPEG_QUALITY, self.quality]):
            raise OSError(f"{path}: cannot write a snapshot here")
        self.candidates.append(Candidate(kind, foot, t_est, t, path))
        return path

    # -- end of the audit ---------------------------------------------------------------------
    def finish(self, report: Report) -> dict[int, str]:
        """Link the report's alerts to candidates, keep those, delete the rest, write the index.
        Returns {alert index in report.alerts: snapshot path}."""
        tol = 2 * self.dt + 0.02
        links: dict[int, tuple[Candidate, str]] = {}
        for i, a in enumerate(report.alerts):
            fam = "step" if a.kind.startswith("step_on_") else a.kind
            pool = [c for c in self.candidates
                    if c.kind == fam and (a.foot is None or c.foot in (None, a.foot))]
            if not pool:
                continue
            best = min(pool, key=lambda c: abs(c.t_est - a.start_s))
            if abs(best.t_est - a.start_s) <= tol:
                links[i] = (best, "start")
                continue
            during = [c for c in pool if a.start_s - tol <= c.t <= a.end_s + tol]
            if during:
                links[i] = (min(during, key=lambda c: c.t), "during")
        out: dict[int, str] = {}
        entries = []
        used: dict[Path, Path] = {}
        for i, (c, how) in sorted(links.items()):
            a = report.alerts[i]
            name = f"alert-{i + 1:02d}-{a.kind}" + (f"-{a.foot}" if a.foot else "") + ".jpg"
            dst = self.folder / name
            src = used.get(c.path, c.path)
            if src == c.path and c.path not in used:
                c.path.replace(dst)
            else:
                dst.write_bytes(src.read_bytes())   # one picture for two alerts: a copy each
            used.setdefault(c.path, dst)
            out[i] = str(dst)
            entries.append({"alert": i, "kind": a.kind, "foot": a.foot, "start_s": a.start_s,
                            "file": name, "snapshot_t": round(c.t, 3), "matched": how})
        for c in self.candidates:
            if c.path not in used:
                c.path.unlink(missing_ok=True)
        self.candidates.clear()
        self.ring.clear()
        index = {"snapshots": 1, "alerts": entries,
                 "missing": [i for i in range(len(report.alerts)) if i not in out]}
        (self.folder / INDEX).write_text(json.dumps(index, indent=1) + "\n", encoding="utf-8")
        return out


def load_index(folder: str | Path) -> dict[int, str]:
    """{alert index: snapshot path} from a folder written by ``AlertSnapshots.finish``."""
    folder = Path(folder)
    doc = json.loads((folder / INDEX).read_text(encoding="utf-8"))
    return {int(e["alert"]): str(folder / e["file"]) for e in doc.get("alerts", [])}
