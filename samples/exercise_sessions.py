"""Generated sessions of a training exercise, for scoring (vision/scoring/score.py, docs/scoring.md).

The scenario generator's Session (samples/scenarios.py) with its steps placed inside the target
areas of an exercise (vision/scoring/exercises/) instead of anywhere safe, both hands on the bars and
its own steady tempo; optionally some steps on the spine, hands off the bars for a share of the
stepping time, and sudden shifts. Kept apart from samples/scenarios.py so that its defaults and
evaluation suite stay as they are.

    python -m samples.exercise_sessions OUTDIR --exercise gluteal-compressions [--spine 1]
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from samples.scenarios import ScenarioConfig, Session, write_session
from vision.scoring.exercises import Exercise, find_exercise
from vision.safety.geometry import apply_h, foot_loaded_parts

TARGET = "target:"          # plan zone "target:K": a step inside the exercise's K-th target


@dataclass
class ExercisePlan:
    exercise: Exercise
    spine_steps: int = 0             # steps planted on the spine instead of a target
    hands_off_share: float = 0.0     # share of the stepping time with both hands off the bars
    shifts: int = 0                  # sudden shifts of weight
    target_margin_cm: float = 1.5    # the foot's loaded centre lands this far inside the target


def exercise_config(plan: ExercisePlan, seed: int = 0, n_steps: int = 14,
                    **kw) -> ScenarioConfig:
    """A ScenarioConfig whose zone plan visits every target in turn (``spine_steps`` of them
    replaced by the spine); no hidden feet and no hand events of the generator's own."""
    k = len(plan.exercise.targets)
    zones = [f"{TARGET}{i % k}" for i in range(n_steps)]
    for j in range(min(plan.spine_steps, n_steps)):
        zones[(j * 7 + 3) % n_steps] = "spine"
    return ScenarioConfig(seed=seed, n_steps=n_steps, zones=zones, safe_only=False,
                          hidden_steps=0, no_hands=0, one_hand=0, shifts=plan.shifts, **kw)


class ExerciseSession(Session):
    """A Session whose "target:K" steps land in the exercise's target K."""

    def __init__(self, cfg: ScenarioConfig, plan: ExercisePlan):
        self.plan = plan           # before Session.__init__, which plans the steps
        super().__init__(cfg)

    def place_foot(self, zone, facing, other=None, side=None):
        if not str(zone).startswith(TARGET):
            return super().place_foot(zone, facing, other=other, side=side)
        tgt = self.plan.exercise.targets[int(str(zone)[len(TARGET):])]
        x0, y0, x1, y1 = tgt.bounds()
        rng = self.rng
        for attempt in range(6000):
            q = np.array([rng.uniform(x0, x1), rng.uniform(y0, y1)])    # reference cm
            if not tgt.contains(q, self.plan.target_margin_cm)[0]:
                continue
            p = apply_h(self.Tinv, q[None])[0]                          # client body cm
            # a trained foot points along the body: a small turn only (the erector strip
            # between the spine and the ribs is 6 cm wide)
            theta = np.radians(rng.normal(0, 4))
            d = np.array([np.sin(theta), facing * np.cos(theta)])
            heel = p - 0.41 * self.foot_len * d      # 0.41 L: midway between heel pad and ball
            toe = heel + self.foot_len * d
            if other is not None and attempt < 4500 and np.linalg.norm(p - other) > 75:
                continue
            c, _ = foot_loaded_parts(apply_h(self.T, heel[None])[0],
                                     apply_h(self.T, toe[None])[0])
            if not tgt.contains(c.mean(0), self.plan.target_margin_cm)[0]:
                continue
            if self._foot_zone(heel, toe) == "safe" and \
                    self._robust(heel, toe, "safe", self.cfg.margin_cm):
                return heel, toe
        raise RuntimeError(f"could not place a foot in target {tgt.name!r} of "
                           f"{self.plan.exercise.name!r} (seed {self.cfg.seed})")

    def _plan(self):
        super()._plan()
        share = self.plan.hands_off_share
        if share > 0:
            # hands off in the second part of each of 4 equal slots of the stepping time
            a, b = self.first_on + 0.5, self.t_end - 0.5
            edges = np.linspace(a, b, 5)
            for lo, hi in zip(edges[:-1], edges[1:]):
                self.hand_events.append(("no_hands", None, hi - share * (hi - lo), hi))


def write_exercise_session(out_dir: str | Path, name: str, plan: ExercisePlan,
                           seed: int = 0, n_steps: int = 14, **kw) -> dict:
    """NAME.jsonl, NAME.studio.yaml and NAME.truth.json of one exercise session; the truth."""
    cfg = exercise_config(plan, seed=seed, n_steps=n_steps, **kw)
    return write_session(out_dir, name, cfg, session=ExerciseSession(cfg, plan))


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("out_dir")
    ap.add_argument("--exercise", required=True, help="name or YAML file")
    ap.add_argument("--name", default="exercise")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--steps", type=int, default=14)
    ap.add_argument("--spine", type=int, default=0, help="steps on the spine")
    ap.add_argument("--hands-off", type=float, default=0.0, help="share of the time")
    ap.add_argument("--shifts", type=int, default=0)
    a = ap.parse_args(argv)
    plan = ExercisePlan(find_exercise(a.exercise), spine_steps=a.spine,
                        hands_off_share=a.hands_off, shifts=a.shifts)
    truth = write_exercise_session(a.out_dir, a.name, plan, seed=a.seed, n_steps=a.steps)
    print(f"{a.name}: {len(truth['steps'])} steps, {truth['duration_s']} s")


if __name__ == "__main__":
    main()
