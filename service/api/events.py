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
    kind: str | None   # alert kind (vision/safety/rules.py), for alert events
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
        # feed readers waiting for news: (their event loop, an asyncio.Event, their user id),
        # per camera
        self._waiters: dict[int, set[tuple[asyncio.AbstractEventLoop, asyncio.Event,
                                           int | None]]] = {}
        # deleted cameras and users, whose open feeds must end (ids are never reused, so
        # these only grow, by one id per deletion)
        self._closed_cameras: set[int] = set()
        self._closed_users: set[int] = set()

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
        self._wake(waiters)             # the readers now (the alert latency budget)
        return EventOut.of(ev)

    @staticmethod
    def _wake(waiters) -> None:
        for loop, flag, _user in waiters:
            try:
                loop.call_soon_threadsafe(flag.set)
            except RuntimeError:        # that loop is closed: its reader is gone
                pass

    def latest(self, camera_id: int) -> int:
        return self._latest.get(camera_id, 0)

    def forget(self, camera_id: int) -> None:
        """The camera is deleted: its open feeds end now (``is_open``; their waits wake)."""
        with self._lock:
            self._latest.pop(camera_id, None)
            self._closed_cameras.add(camera_id)
            waiters = list(self._waiters.get(camera_id, ()))
        self._wake(waiters)

    def forget_user(self, user_id: int) -> None:
        """The user is deleted: the feeds it has open end now, on every camera."""
        with self._lock:
            self._closed_users.add(user_id)
            waiters = [w for ws in self._waiters.values() for w in ws if w[2] == user_id]
        self._wake(waiters)

    def is_open(self, camera_id: int, user_id: int | None = None) -> bool:
        """False once the camera, or the user watching it, was deleted."""
        return camera_id not in self._closed_cameras and user_id not in self._closed_users

    def closed_reason(self, camera_id: int, user_id: int | None = None) -> str | None:
        if camera_id in self._closed_cameras:
            return f"camera {camera_id} was deleted"
        if user_id in self._closed_users:
            return "your account was deleted"
        return None

    def since(self, camera_id: int, after: int, limit: int = 500) -> list[EventOut]:
        with self.db.session() as s:
            rows = s.exec(select(Event).where(Event.camera_id == camera_id, Event.id > after)
                          .order_by(Event.id).limit(limit)).all()
        return [EventOut.of(e) for e in rows]

    async def wait_newer(self, camera_id: int, after: int | None, timeout: float,
                         user_id: int | None = None) -> bool:
        """Wait (at most ``timeout`` s) until the camera has an event newer than ``after``
        (None: for nothing but the timeout, a pause); ``publish`` wakes the waiter at once, and
        so does the deletion of the camera or of ``user_id`` (see ``is_open``). True when
        there is a newer event."""
        def newer() -> bool:
            return after is not None and self.latest(camera_id) > after

        if newer() or not self.is_open(camera_id, user_id):
            return self.is_open(camera_id, user_id)
        me = (asyncio.get_running_loop(), asyncio.Event(), user_id)
        with self._lock:
            self._waiters.setdefault(camera_id, set()).add(me)
        try:
            # (published or closed before we were registered: no wait)
            if not newer() and self.is_open(camera_id, user_id):
                try:
                    await asyncio.wait_for(me[1].wait(), timeout)
                except asyncio.TimeoutError:
                    pass
            return newer() and self.is_open(camera_id, user_id)
        finally:
            with self._lock:
                waiters = self._waiters.get(camera_id)
                if waiters is not None:
                    waiters.discard(me)
                    if not waiters:        # (a deleted camera leaves no entry behind)
                        del self._waiters[camera_id]
