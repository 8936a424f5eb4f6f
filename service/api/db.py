"""The database: SQLite in the data folder, tables as SQLModel classes.

SQLite because the service must start with nothing else running; WAL mode so the SSE readers
never wait behind the job and camera threads that write."""

from __future__ import annotations

import logging
import os
import sqlite3
import time
import uuid
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator, Optional

from sqlalchemy import MetaData, event
from sqlalchemy.schema import CreateIndex, CreateTable
from sqlmodel import Field, Session, SQLModel, create_engine

log = logging.getLogger("ashiwatch.db")


def now() -> float:
    return time.time()


class User(SQLModel, table=True):
    # AUTOINCREMENT: a deleted user's id is never given to another one
    __table_args__ = {"sqlite_autoincrement": True}
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
    # AUTOINCREMENT: a deleted camera's id (its feeds' URLs, its secret) never names another
    __table_args__ = {"sqlite_autoincrement": True}
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
    # a trainee's scored exercise (vision/scoring/score.py, docs/scoring.md); trainees are names,
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


# tables that had no AUTOINCREMENT in older data folders (Database._add_autoincrement)
AUTOINCREMENT_TABLES = ("user", "camera")


class Database:
    def __init__(self, path) -> None:
        self.path = Path(path)
        # 0600 whatever the umask: SQLite gives its -wal and -shm the mode of the database
        os.close(os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600))
        for f in (self.path, self.path.with_name(self.path.name + "-wal"),
                  self.path.with_name(self.path.name + "-shm")):
            if f.exists():
                os.chmod(f, 0o600)
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
        self._add_autoincrement()

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

    def _add_autoincrement(self) -> None:
        """SQLite cannot ALTER a table to AUTOINCREMENT: an older data folder's ``user`` and
        ``camera`` are rebuilt (new table, rows copied, old one dropped, new one renamed; the
        way sqlite.org/lang_altertable.html describes), in one transaction. From then on no id
        is reused; ids deleted before this cannot be known (the highest kept one is the floor)."""
        con = sqlite3.connect(self.path, isolation_level=None, timeout=30)
        try:
            con.execute("BEGIN IMMEDIATE")    # the check too: another process may migrate
            try:
                for name in AUTOINCREMENT_TABLES:
                    row = con.execute("SELECT sql FROM sqlite_master WHERE type = 'table' "
                                      "AND name = ?", (name,)).fetchone()
                    if row is None or "AUTOINCREMENT" in row[0].upper():
                        continue
                    table = SQLModel.metadata.tables[name]
                    have = {r[1] for r in con.execute(f'PRAGMA table_info("{name}")')}
                    cols = ", ".join(f'"{c.name}"' for c in table.columns if c.name in have)
                    new = table.to_metadata(MetaData(), name=f"_new_{name}")
                    con.execute(str(CreateTable(new).compile(dialect=self.engine.dialect)))
                    con.execute(f'INSERT INTO "_new_{name}" ({cols}) SELECT {cols} FROM "{name}"')
                    # (foreign keys are off: job.owner_id keeps naming "user")
                    con.execute(f'DROP TABLE "{name}"')
                    con.execute(f'ALTER TABLE "_new_{name}" RENAME TO "{name}"')
                    for ix in table.indexes:
                        con.execute(str(CreateIndex(ix).compile(dialect=self.engine.dialect)))
                    log.info("table %s: ids are never reused from now on", name)
                con.execute("COMMIT")
            except sqlite3.Error as e:   # the old tables stay as they were; the service runs
                con.execute("ROLLBACK")
                log.warning("could not add AUTOINCREMENT to the tables %s (%s): ids of deleted "
                            "users or cameras may be reused", AUTOINCREMENT_TABLES, e)
        finally:
            con.close()

    @contextmanager
    def session(self) -> Iterator[Session]:
        # expire_on_commit=False: objects stay readable after the session closes
        with Session(self.engine, expire_on_commit=False) as s:
            yield s

    def dispose(self) -> None:
        self.engine.dispose()
