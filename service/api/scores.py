"""Trainees' scores in the service's database, and where the exercise library lives: shared
by the web API (routers/trainees.py) and ``ashiwatch score`` (which imports them from here,
never the other way round)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Optional


def user_dirs(data: Optional[Path], dirs: Optional[list[Path]]) -> list[Path]:
    """The service's own exercise folder (``<data>/exercises``, when it exists), then the
    folders given: the service and the command score against the same library."""
    from service.api.settings import default_data_dir
    own = (data or default_data_dir()) / "exercises"
    return ([own] if own.is_dir() else []) + list(dirs or [])


def store_score(db, sc) -> int:
    """Save a Score (vision.scoring.score) as a row of the service's database; its id."""
    from service.api.db import Score as ScoreRow
    row = ScoreRow(trainee=sc.trainee, exercise=sc.exercise, score=sc.score, cap=sc.cap,
                   parts=json.dumps({k: v.model_dump() for k, v in sc.parts.items()}),
                   reasons=json.dumps(sc.reasons), source=sc.source,
                   duration_s=sc.duration_s)
    with db.session() as s:
        s.add(row)
        s.commit()
        return row.id
