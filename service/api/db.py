"""The database: SQLite in the data folder, tables as SQLModel classes.

SQLite because the service must start with nothing else running; WAL mode so the SSE readers
never wait behind the job and camera threads that write."""

from __future__ import annotations

import time
import uuid
from contextlib import contextmanager
from typing import Iterator, Optional

from sqlalchemy import event
from sqlmodel import Field, Session, SQLModel, create_engine


def now() -> float:
    return time.time()


class User(SQLModel, table=True):
    id: Optional[int] = Field(default=None, primary_key=True)
    name: str = Field(index=True, unique=True)
    role: str                                    # admin | auditor | viewer
    token_hash: str = Field(index=True, unique=True)   # sha256 hex; the token itself is never stored
    created: float = Field(default_factory=now)


class Job(SQLModel, table=True):
    # a random id: names the upload on disk, so nothing the client sends becomes a path
    id: str = Field(default_factory=lambda: uuid.uuid4().hex, primary_key=True)
    status: str = Field(default="queued", index=True)   # queued | running | done | failed
    progress: float = 0.0                               # percent
    error: Optional[str] = None
    input_kind: str                                     # video | track
    filename: str                                       # the client's name, for display only
    keep: bool = False
    annotate: Optional[bool] = False                    # also make the annotated video
    studio: Optional[str] = None                        # studio YAML text
    client: Optional[str] = None                        # client profile YAML text
    report: Optional[str] = None                        # report JSON text
    owner_id: Optional[int] = Field(default=None, foreign_key="user.id")
    created: float = Field(default_factory=now, index=True)
    updated: float = Field(default_factory=now)
    attempts: int = 0                                   # times a worker started it


class Camera(SQLModel, table=True):
    id: Optional[int] = Field(default=None, primary_key=True)
    name: str
    source: str
    studio: Optional[str] = None                        # studio YAML text
    speed: float = 1.0
    loop: bool = False
    created: float = Field(default_factory=now)


class Event(SQLModel, table=True):
    # AUTOINCREMENT: an id is never reused, even after the newest events are deleted
    __table_args__ = {"sqlite_autoincrement": True}
    # autoincrement: ids only grow, which is what SSE Last-Event-ID resumption relies on
    id: Optional[int] = Field(default=None, primary_key=True)
    camera_id: int = Field(index=True)
    type: str                                # alert_start | alert_end | camera_offline | camera_online
    t: Optional[float] = None                # session time, s
    kind: Optional[str] = None
    severity: Optional[str] = None
    foot: Optional[str] = None
    detail: Optional[str] = None
    wall_time: float = Field(default_factory=now)
    # Unix time the frame that caused the event was read (latency = wall_time - this)
    frame_wall_time: Optional[float] = None


class Score(SQLModel, table=True):
    # a trainee's scored exercise (vision/scoring.py, docs/scoring.md); trainees are names,
    # not accounts: a teacher scores students who have no login
    id: Optional[int] = Field(default=None, primary_key=True)
    trainee: str = Field(index=True)
    exercise: str
    score: float
    cap: Optional[float] = None
    parts: str                               # JSON {part: {points, max}}
    reasons: str                             # JSON [sentence, ...]
    source: Optional[str] = None             # the scored file, or "audit <id>"
    duration_s: float = 0.0
    created: float = Field(default_factory=now, index=True)


class Database:
    def __init__(self, path) -> None:
        self.engine = create_engine(f"sqlite:///{path}",
                                    connect_args={"check_same_thread": False, "timeout": 30})

        @event.listens_for(self.engine, "connect")
        def _pragmas(dbapi_conn, _record) -> None:
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.close()

        SQLModel.metadata.create_all(self.engine)
        self._add_missing_columns()

    def _add_missing_columns(self) -> None:
        """create_all makes missing tables, not missing columns: a data folder made by an
        older version gets the columns added since (all nullable)."""
        with self.engine.begin() as conn:
            for table in SQLModel.metadata.sorted_tables:
                have = {r[1] for r in conn.exec_driver_sql(f'PRAGMA table_info("{table.name}")')}
                for col in table.columns:
                    if col.name not in have and col.nullable:
                        ddl = col.type.compile(dialect=self.engine.dialect)
                        conn.exec_driver_sql(
                            f'ALTER TABLE "{table.name}" ADD COLUMN "{col.name}" {ddl}')

    @contextmanager
    def session(self) -> Iterator[Session]:
        # expire_on_commit=False: objects stay readable after the session closes
        with Session(self.engine, expire_on_commit=False) as s:
            yield s

    def dispose(self) -> None:
        self.engine.dispose()
