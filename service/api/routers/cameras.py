"""Cameras (admin manages, every role watches) and their live alert feeds: Server-Sent Events
with ``id:`` lines and Last-Event-ID resumption, and a WebSocket with the same JSON."""

from __future__ import annotations

import asyncio

from typing import Annotated

from fastapi import (APIRouter, Depends, Header, HTTPException, Query, Request, Response,
                     WebSocket, WebSocketDisconnect, status)
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import FileResponse, StreamingResponse
from sqlmodel import delete, select

from service.api.camera_sources import (SourceError, redact, source_kind, source_path,
                                        studio_text)
from service.api.db import Camera, Event, User
from service.api.deps import MAX_ID, EventAfter, RowId, ServicesDep, get_or_404, require
from service.api.live import placeholder
from service.api.pipeline import UnsupportedInput, parse_studio_text, sniff
from service.api.schemas import CameraIn, CameraOut
from service.api.security import PERMISSIONS, user_for_token

router = APIRouter(prefix="/cameras", tags=["cameras"])
Admin = Annotated[User, Depends(require("cameras:manage"))]
Watcher = Annotated[User, Depends(require("cameras:watch"))]
# the event stream also takes ?token= (a browser's EventSource cannot set headers)
StreamWatcher = Annotated[User, Depends(require("cameras:watch", query_token=True))]

KEEPALIVE_S = 15.0


def _out(services, cam: Camera) -> CameraOut:
    w = services.cameras.worker(cam.id)
    stats = w.stats() if w is not None else {}
    return CameraOut(id=cam.id, name=cam.name, source=redact(cam.source), speed=cam.speed,
                     loop=cam.loop, online=services.cameras.is_online(cam.id),
                     latest_event_id=services.hub.latest(cam.id), **stats)


def _get(services, camera_id: int) -> Camera:
    return get_or_404(services, Camera, camera_id, f"camera {camera_id}")


def _checked_source(source: str) -> str:
    """The source as stored: a stream URL or device as given (it may be offline now: the
    worker retries), a file resolved and checked by content."""
    try:
        kind = source_kind(source)
    except SourceError as e:
        raise HTTPException(422, redact(str(e)))
    if kind != "file":
        return source.strip()
    path = source_path(source)
    try:
        found = path.is_file()
    except (OSError, ValueError) as e:   # a name too long for the file system, a NUL byte
        raise HTTPException(422, f"source {source!r}: not a file name the server can use "
                                 f"({e.__class__.__name__}: {getattr(e, 'strerror', None) or e})")
    if not found:
        raise HTTPException(422, f"source {source!r}: no such file on the server")
    try:   # the content is checked now (a pose-track header, or a decodable video frame)
        sniff(path)
    except (UnsupportedInput, OSError) as e:
        raise HTTPException(422, f"source {source!r}: {e}")
    return str(path.resolve())


@router.post("", status_code=201, response_model=CameraOut)
def add_camera(body: CameraIn, services: ServicesDep, _: Admin) -> CameraOut:
    source = _checked_source(body.source)
    try:
        parse_studio_text(studio_text(body.studio), "studio")
    except (ValueError, OSError) as e:
        raise HTTPException(422, str(e))
    # the database only ever holds the source without its password; the password is kept
    # in the data folder's secrets file (CameraSecrets), written before the row is committed
    cam = Camera(name=body.name, source=redact(source), studio=body.studio,
                 speed=body.speed, loop=body.loop)
    with services.db.session() as s:
        s.add(cam)
        s.flush()
        services.cameras.secrets.set(cam.id, source if cam.source != source else None)
        s.commit()
        s.refresh(cam)
    services.cameras.start(cam)
    return _out(services, cam)


@router.get("", response_model=list[CameraOut])
def list_cameras(services: ServicesDep, _: Watcher) -> list[CameraOut]:
    with services.db.session() as s:
        cams = s.exec(select(Camera).order_by(Camera.id)).all()
    return [_out(services, c) for c in cams]


@router.get("/{camera_id}", response_model=CameraOut)
def get_camera(camera_id: RowId, services: ServicesDep, _: Watcher) -> CameraOut:
    return _out(services, _get(services, camera_id))


@router.delete("/{camera_id}", status_code=204)
def delete_camera(camera_id: RowId, services: ServicesDep, _: Admin) -> Response:
    _get(services, camera_id)
    services.cameras.stop(camera_id, announce=False)
    with services.db.session() as s:
        s.exec(delete(Event).where(Event.camera_id == camera_id))
        cam = s.get(Camera, camera_id)
        if cam is not None:
            s.delete(cam)
        s.commit()
    services.cameras.secrets.set(camera_id, None)
    services.hub.forget(camera_id)       # its open feeds end now
    services.snapshots.forget(camera_id)
    services.live.forget(camera_id)
    return Response(status_code=204)


@router.get("/{camera_id}/events/{event_id}/snapshot", response_class=FileResponse,
            responses={200: {"content": {"image/jpeg": {}}, "description": "a JPEG"}})
def event_snapshot(camera_id: RowId, event_id: RowId, services: ServicesDep,
                   _: Watcher) -> FileResponse:
    """The picture of an ``alert_start``: its frame with the overlay, faces blurred (written
    just after the event is sent: a moment after it, 404 meanwhile)."""
    _get(services, camera_id)
    path = services.snapshots.path(camera_id, event_id)
    if not path.is_file():
        raise HTTPException(404, f"camera {camera_id}: no snapshot for event {event_id} (only "
                                 f"alert_start events have one, written just after the event)")
    return FileResponse(path, media_type="image/jpeg")


@router.get("/{camera_id}/live.mjpg", response_class=StreamingResponse,
            responses={200: {"description": "JPEG frames, one after the other",
                             "content": {"multipart/x-mixed-replace": {}}}})
async def live_view(camera_id: RowId, request: Request, services: ServicesDep, user: StreamWatcher,
                    fps: Annotated[float, Query(gt=0, le=30)] = 8.0,
                    width: Annotated[int, Query(ge=64, le=3840)] = 960) -> StreamingResponse:
    """The live view: ``multipart/x-mixed-replace`` JPEGs of the newest processed frame with
    the overlay, faces blurred, at most ``fps`` a second and ``width`` pixels wide. The token
    as header or ``?token=`` (an ``<img>`` cannot send headers). A pose-track camera is drawn
    on a dark canvas; an offline camera gets one frame saying so. It ends when the camera
    or the user is deleted."""
    await run_in_threadpool(_get, services, camera_id)
    hub = services.hub

    async def stream():
        shown = None
        while hub.is_open(camera_id, user.id) and not await request.is_disconnected():
            w = services.cameras.worker(camera_id)
            latest = w.latest if w is not None and w.online else None
            key = latest.seq if latest is not None else "offline"
            if key != shown:
                data = (await run_in_threadpool(services.live.jpeg, camera_id, latest, width)
                        if latest is not None else placeholder("camera offline"))
                yield (b"--frame\r\nContent-Type: image/jpeg\r\nContent-Length: "
                       + str(len(data)).encode() + b"\r\n\r\n" + data + b"\r\n")
                shown = key
            await hub.wait_newer(camera_id, None, 1.0 / fps, user.id)   # a deletion wakes it

    return StreamingResponse(stream(), media_type="multipart/x-mixed-replace; boundary=frame",
                             headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})


def _last_id(header: str | None, query: int | None) -> int:
    if header is not None:
        try:
            n = int(header.strip())
            if n > MAX_ID:
                raise ValueError
            return max(n, 0)
        except ValueError:
            raise HTTPException(422, f"Last-Event-ID: expected an event id, got {header!r}")
    return max(query or 0, 0)


@router.get("/{camera_id}/events", response_class=StreamingResponse,
            responses={200: {"description": "Server-Sent Events",
                             "content": {"text/event-stream": {}}}})
async def events_sse(camera_id: RowId, request: Request, services: ServicesDep, user: StreamWatcher,
                     last_event_id: Annotated[str | None, Header()] = None,
                     after: EventAfter = None,
                     ) -> StreamingResponse:
    """Server-Sent Events: every stored event of the camera after Last-Event-ID (all of them
    without it), then new ones as they happen; the stream ends when the camera or the user is
    deleted."""
    await run_in_threadpool(_get, services, camera_id)
    start = _last_id(last_event_id, after)
    hub = services.hub

    async def stream():
        last = start
        yield "retry: 1000\n\n"
        while hub.is_open(camera_id, user.id):
            if await request.is_disconnected():
                return
            if hub.latest(camera_id) > last:
                for ev in await run_in_threadpool(hub.since, camera_id, last):
                    yield f"id: {ev.id}\nevent: {ev.type}\ndata: {ev.model_dump_json()}\n\n"
                    last = ev.id
            elif (not await hub.wait_newer(camera_id, last, KEEPALIVE_S, user.id)
                  and hub.is_open(camera_id, user.id)):
                yield ": keepalive\n\n"    # proxies close silent connections

    return StreamingResponse(stream(), media_type="text/event-stream",
                             headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})


@router.websocket("/{camera_id}/ws")
async def events_ws(websocket: WebSocket, camera_id: RowId,
                    token: str | None = None, last_event_id: EventAfter = None) -> None:
    """The same events as JSON text messages. The token comes as ``?token=``: browsers cannot
    set headers on a WebSocket."""
    services = websocket.app.state.services
    user = await run_in_threadpool(user_for_token, services.db, token)
    if user is None or user.role not in PERMISSIONS["cameras:watch"]:
        await websocket.close(code=status.WS_1008_POLICY_VIOLATION,
                              reason="missing or invalid token (?token=)")
        return
    with services.db.session() as s:
        if s.get(Camera, camera_id) is None:
            await websocket.close(code=status.WS_1008_POLICY_VIOLATION,
                                  reason=f"no camera {camera_id}")
            return
    await websocket.accept()
    hub = services.hub

    async def until_closed() -> None:
        # read (and ignore) what the client sends: that is how its close is seen at once,
        # not at the next event
        while (await websocket.receive())["type"] != "websocket.disconnect":
            pass

    closed = asyncio.create_task(until_closed())
    last = max(last_event_id or 0, 0)
    try:
        while not closed.done():
            gone = hub.closed_reason(camera_id, user.id)
            if gone is not None:      # the camera or the user was deleted
                try:
                    await websocket.close(code=status.WS_1008_POLICY_VIOLATION, reason=gone)
                except (RuntimeError, OSError):     # the client went meanwhile
                    pass
                return
            if hub.latest(camera_id) > last:
                for ev in await run_in_threadpool(hub.since, camera_id, last):
                    if closed.done():
                        break
                    # never cancelled in the middle of a send: that leaves the close
                    # handshake hanging
                    await websocket.send_text(ev.model_dump_json())
                    last = ev.id
            else:
                newer = asyncio.create_task(hub.wait_newer(camera_id, last, KEEPALIVE_S,
                                                           user.id))
                await asyncio.wait([closed, newer], return_when=asyncio.FIRST_COMPLETED)
                newer.cancel()
    except WebSocketDisconnect:
        pass
    finally:
        closed.cancel()
