"""Trainees' scores (docs/scoring.md): the list of trainees, each one's scores over time, and a
score made here from a finished audit. Scores come from `ashiwatch score` (which writes to the
same database) or from POST below; a trainee is a name, not an account."""

from __future__ import annotations

import json
from typing import Annotated, Optional

from fastapi import APIRouter, Depends, HTTPException
from pydantic import BaseModel, Field, ValidationError
from sqlmodel import select

from service.api.db import Score, User
from service.api.deps import ServicesDep, get_job, require
from service.api.openapi import errors
from service.api.schemas import BodyIn

router = APIRouter(prefix="/trainees", tags=["trainees"])
# trainees' scores are teaching records: the same people who read audits read them
AuditorUser = Annotated[User, Depends(require("audits"))]


class PartOut(BaseModel):
    points: float
    max: float


class ScoreOut(BaseModel):
    id: int
    trainee: str
    exercise: str
    score: float
    cap: Optional[float] = None
    parts: dict[str, PartOut]
    reasons: list[str]
    source: Optional[str] = None
    duration_s: float
    created: float


class TraineeOut(BaseModel):
    name: str
    sessions: int
    latest: float = Field(description="score of the latest session")
    best: float
    last_created: float


class TraineeScores(BaseModel):
    trainee: str
    scores: list[ScoreOut] = Field(description="oldest first")


class ScoreFromAudit(BodyIn):
    audit_id: str
    exercise: str


def _out(r: Score) -> ScoreOut:
    return ScoreOut(id=r.id, trainee=r.trainee, exercise=r.exercise, score=r.score, cap=r.cap,
                    parts=json.loads(r.parts), reasons=json.loads(r.reasons), source=r.source,
                    duration_s=r.duration_s, created=r.created)


@router.get("", response_model=list[TraineeOut])
def list_trainees(services: ServicesDep, _: AuditorUser) -> list[TraineeOut]:
    with services.db.session() as s:
        rows = s.exec(select(Score).order_by(Score.trainee, Score.created, Score.id)).all()
    by: dict[str, list[Score]] = {}
    for r in rows:
        by.setdefault(r.trainee, []).append(r)
    return [TraineeOut(name=n, sessions=len(v), latest=v[-1].score, best=max(x.score for x in v),
                       last_created=v[-1].created) for n, v in sorted(by.items())]


@router.get("/{name}/scores", response_model=TraineeScores)
def trainee_scores(name: str, services: ServicesDep, _: AuditorUser) -> TraineeScores:
    with services.db.session() as s:
        rows = s.exec(select(Score).where(Score.trainee == name)
                      .order_by(Score.created, Score.id)).all()
    if not rows:
        raise HTTPException(404, f"no scores for trainee {name!r}")
    return TraineeScores(trainee=name, scores=[_out(r) for r in rows])


@router.post("/{name}/scores", status_code=201, response_model=ScoreOut,
             responses=errors(404, 409))
def score_audit(name: str, body: ScoreFromAudit, services: ServicesDep,
                user: AuditorUser) -> ScoreOut:
    """Score a finished audit of this service as an exercise of trainee ``name``."""
    from service.api.scores import store_score, user_dirs
    from vision.scoring.exercises import ExerciseError, find_exercise
    from vision.safety.report import Report
    from vision.scoring.score import score_report
    name = name.strip()
    if not name or len(name) > 100:
        raise HTTPException(422, "trainee: give a name of 1 to 100 characters")
    if body.exercise.endswith((".yaml", ".yml")):
        raise HTTPException(422, "exercise: give a name from the library, not a file")
    try:
        ex = find_exercise(body.exercise, user_dirs(services.settings.data_dir, []))
    except ExerciseError as e:
        raise HTTPException(422, f"exercise: {e}")
    job = get_job(services, body.audit_id, user)      # one the user may see
    if job.status != "done" or not job.report:
        raise HTTPException(409, f"audit {body.audit_id!r} is {job.status}, not done")
    try:
        report = Report.model_validate_json(job.report)
    except ValidationError:
        raise HTTPException(409, f"audit {body.audit_id!r}: its report cannot be read")
    sc = score_report(report, ex, trainee=name)
    sc.source = f"audit {job.id} ({job.filename})"
    row_id = store_score(services.db, sc)
    with services.db.session() as s:
        return _out(s.get(Score, row_id))

