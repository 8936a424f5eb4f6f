"""Live events: stored in the database (the record, and what a reconnecting client replays
from) and announced in memory so that feed readers know when to look.

Ids come from SQLite AUTOINCREMENT; SQLite has one writer at a time, so ids are committed in
increasing order and "every event with id > Last-Event-ID" is exactly what a client missed."""

from __future__ import annotations

import asyncio
import threading

from pydantic import BaseModel
from sqlalchemy import func
from sqlmodel import select

from service.api.db import Database, Event, now


class EventOut(BaseModel):
    """The event schema of the SSE feed and the WebSocket (docs/service.md)."""
    id: int
    camera_id: int
    type: str          # alert_start | alert_end | camera_online | camera_offline
    t: float | None    # session time of the camera's stream, s
    kind: str | None   # alert kind (vision/rules.py), for alert events
    severity: str | None
    foot: str | None   # left | right, for step alerts
    detail: str | None
    wall_time: float   # Unix time when the event was recorded

    @classmethod
    def of(cls, e: Event) -> "EventOut":
        return cls.model_validate(e, from_attributes=True)


class EventHub:
    def __init__(self, db: Database) -> None:
        self.db = db
        self._lock = threading.Lock()
        with db.session() as s:
            rows = s.exec(select(Event.camera_id, func.max(Event.id))
                          .group_by(Event.camera_id)).all()
        self._latest: dict[int, int] = {cam: int(i) for cam, i in rows}

    def publish(self, camera_id: int, type: str, t: float | None = None, kind: str | None = None,
                severity: str | None = None, foot: str | None = None,
                detail: str | None = None) -> EventOut:
        with self._lock:   # one writer: ids reach _latest in order
            with self.db.session() as s:
                ev = Event(camera_id=camera_id, type=type, t=None if t is None else round(t, 3),
                           kind=kind, severity=severity, foot=foot, detail=detail,
                           wall_time=now())
                s.add(ev)
                s.commit()
                s.refresh(ev)
            self._latest[camera_id] = ev.id
        return EventOut.of(ev)

    def latest(self, camera_id: int) -> int:
        return self._latest.get(camera_id, 0)

    def forget(self, camera_id: int) -> None:
        with self._lock:
            self._latest.pop(camera_id, None)

    def since(self, camera_id: int, after: int, limit: int = 500) -> list[EventOut]:
        with self.db.session() as s:
            rows = s.exec(select(Event).where(Event.camera_id == camera_id, Event.id > after)
                          .order_by(Event.id).limit(limit)).all()
        return [EventOut.of(e) for e in rows]

    async def wait_newer(self, camera_id: int, after: int, timeout: float) -> bool:
        """Wait until the camera has an event newer than ``after``. A cheap poll of an int in
        memory (every 50 ms) rather than a cross-thread wake-up per reader: simple, and fast
        enough for a feed that a person reads."""
        loop = asyncio.get_running_loop()
        end = loop.time() + timeout
        while self.latest(camera_id) <= after:
            if loop.time() >= end:
                return False
            await asyncio.sleep(0.05)
        return True
