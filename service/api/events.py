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
    type: str          # alert_start | alert_end | step | camera_online | camera_offline
    t: float | None    # session time of the camera's stream, s
    kind: str | None   # alert kind (vision/rules.py), for alert events
    severity: str | None
    foot: str | None   # left | right, for step alerts
    detail: str | None
    wall_time: float   # Unix time when the event was recorded
    frame_wall_time: float | None = None   # Unix time its frame was read (alert/step events)

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
        # feed readers waiting for news: (their event loop, an asyncio.Event), per camera
        self._waiters: dict[int, set[tuple[asyncio.AbstractEventLoop, asyncio.Event]]] = {}

    def publish(self, camera_id: int, type: str, t: float | None = None, kind: str | None = None,
                severity: str | None = None, foot: str | None = None,
                detail: str | None = None, frame_wall_time: float | None = None) -> EventOut:
        with self._lock:   # one writer: ids reach _latest in order
            with self.db.session() as s:
                ev = Event(camera_id=camera_id, type=type, t=None if t is None else round(t, 3),
                           kind=kind, severity=severity, foot=foot, detail=detail,
                           wall_time=now(), frame_wall_time=frame_wall_time)
                s.add(ev)
                s.commit()
                s.refresh(ev)
            self._latest[camera_id] = ev.id
            waiters = list(self._waiters.get(camera_id, ()))
        for loop, flag in waiters:      # wake the readers now (the alert latency budget)
            try:
                loop.call_soon_threadsafe(flag.set)
            except RuntimeError:        # that loop is closed: its reader is gone
                pass
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
        """Wait (at most ``timeout`` s) until the camera has an event newer than ``after``;
        ``publish`` wakes the waiter at once."""
        if self.latest(camera_id) > after:
            return True
        me = (asyncio.get_running_loop(), asyncio.Event())
        with self._lock:
            self._waiters.setdefault(camera_id, set()).add(me)
        try:
            if self.latest(camera_id) > after:     # published before we were registered
                return True
            try:
                await asyncio.wait_for(me[1].wait(), timeout)
            except asyncio.TimeoutError:
                pass
            return self.latest(camera_id) > after
        finally:
            with self._lock:
                self._waiters.get(camera_id, set()).discard(me)
