"""Multipart upload streamed to disk in chunks, with a size limit.

Not FastAPI's ``UploadFile``: Starlette parses the whole body (spooling it to /tmp) before the
route runs, so a limit could only be checked after the disk had filled. Here each chunk is
written as it arrives, under a generated name in the uploads folder, and counting stops the
upload at the limit."""

from __future__ import annotations

import asyncio
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

from python_multipart.multipart import MultipartParser, parse_options_header
from starlette.requests import ClientDisconnect, Request

FIELD_LIMIT = 256 * 1024          # bytes of all small text fields together (studio, client, keep)
# After the limit, the rest of the body is read and thrown away (up to this much) so that the
# client, still sending, reads our 413 instead of a connection reset.
DRAIN_LIMIT = 64 * 1024 * 1024
# A body must keep coming: a pause longer than the idle limit (Settings.upload_idle_s) drops
# the upload (408), and so does an average below this rate once the first minute is over (a
# client trickling a byte now and then would otherwise hold an upload open for ever).
MIN_RATE_BYTES_S = 4096
RATE_GRACE_S = 60.0


class UploadError(Exception):
    def __init__(self, status: int, message: str, close: bool = False) -> None:
        super().__init__(message)
        self.status = status
        self.close = close          # answer with Connection: close (the body is not read)


async def _chunks(request: Request, idle_s: float):
    """The body's chunks, each within ``idle_s`` of the one before; UploadError 408 when the
    body stalls or trickles (MIN_RATE_BYTES_S)."""
    it = request.stream().__aiter__()
    start = time.monotonic()
    got = 0
    while True:
        try:
            chunk = await asyncio.wait_for(it.__anext__(), idle_s)
        except StopAsyncIteration:
            return
        except asyncio.TimeoutError:
            raise UploadError(408, f"the upload stalled: nothing arrived for {idle_s:g} s",
                              close=True) from None
        got += len(chunk)
        took = time.monotonic() - start
        if took > RATE_GRACE_S and got < MIN_RATE_BYTES_S * took:
            raise UploadError(408, f"the upload is too slow: {got} bytes in {took:.0f} s "
                                   f"(at least {MIN_RATE_BYTES_S} bytes/s after the first "
                                   f"{RATE_GRACE_S:g} s)", close=True)
        yield chunk


@dataclass
class Received:
    path: Path | None = None         # the file part, on disk
    filename: str = ""               # as the client named it: display only
    size: int = 0
    fields: dict[str, str] = field(default_factory=dict)


def display_name(raw: str) -> str:
    """The last component of a client's file name, without control characters: shown, never
    used as a path."""
    name = raw.replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(c for c in name if c.isprintable()).strip()
    return (name or "upload")[:200]


async def _drain(request_stream, budget: int) -> None:
    try:
        async for chunk in request_stream:
            budget -= len(chunk)
            if budget <= 0:
                return
    except (ClientDisconnect, UploadError):
        return


async def receive(request: Request, incoming_dir: Path, max_bytes: int,
                  file_field: str = "file", idle_s: float = 30.0) -> Received:
    """Read a multipart/form-data body: the ``file_field`` part to a new file in
    ``incoming_dir``, small fields into ``fields``. On any error the partial file is removed
    and UploadError says what to answer."""
    ctype, params = parse_options_header(request.headers.get("content-type", ""))
    boundary = params.get(b"boundary")
    if ctype != b"multipart/form-data" or not boundary:
        raise UploadError(415, f"send multipart/form-data with the file in a {file_field!r} field")
    stream = _chunks(request, idle_s)
    try:
        declared = int(request.headers.get("content-length", "-1"))
    except ValueError:
        declared = -1
    if declared > max_bytes + FIELD_LIMIT + 64 * 1024:
        # too large by its own account: answered at once, nothing read or written (a client
        # that declared 10^15 bytes may never send them), and the connection closed
        raise UploadError(413, f"upload of {declared} bytes is over the limit of "
                               f"{max_bytes} bytes", close=True)

    got = Received()
    state = {"name": None, "filename": None, "header_field": b"", "header_value": b"",
             "headers": {}, "out": None, "buf": bytearray(), "fields_size": 0, "error": None}
    tmp = incoming_dir / f".incoming-{uuid.uuid4().hex}"

    def on_part_begin():
        state["headers"], state["name"], state["filename"] = {}, None, None
        state["buf"] = bytearray()

    def on_header_field(data, start, end):
        state["header_field"] += data[start:end]

    def on_header_value(data, start, end):
        state["header_value"] += data[start:end]

    def on_header_end():
        state["headers"][state["header_field"].lower()] = state["header_value"]
        state["header_field"], state["header_value"] = b"", b""

    def on_headers_finished():
        _, disp = parse_options_header(state["headers"].get(b"content-disposition", b""))
        state["name"] = disp.get(b"name", b"").decode("utf-8", "replace")
        fn = disp.get(b"filename")
        state["filename"] = None if fn is None else fn.decode("utf-8", "replace")
        if state["name"] == file_field:
            if got.path is not None:
                state["error"] = UploadError(422, f"more than one {file_field!r} part")
                return
            got.path = tmp
            got.filename = display_name(state["filename"] or "")
            state["out"] = open(tmp, "wb")
        elif state["filename"] is not None:
            state["error"] = UploadError(422, f"unexpected file in field {state['name']!r}: "
                                              f"send the file in the {file_field!r} field")

    def on_part_data(data, start, end):
        if state["error"] is not None:
            return
        n = end - start
        if state["out"] is not None:
            got.size += n
            if got.size > max_bytes:
                state["error"] = UploadError(413, f"file is over the limit of {max_bytes} bytes")
                return
            state["out"].write(data[start:end])
        else:
            state["fields_size"] += n
            if state["fields_size"] > FIELD_LIMIT:
                state["error"] = UploadError(413, f"form fields are over {FIELD_LIMIT} bytes")
                return
            state["buf"] += data[start:end]

    def on_part_end():
        if state["out"] is not None:
            state["out"].close()
            state["out"] = None
        elif state["name"] and state["error"] is None:
            got.fields[state["name"]] = bytes(state["buf"]).decode("utf-8", "replace")

    parser = MultipartParser(boundary, {
        "on_part_begin": on_part_begin, "on_part_data": on_part_data, "on_part_end": on_part_end,
        "on_header_field": on_header_field, "on_header_value": on_header_value,
        "on_header_end": on_header_end, "on_headers_finished": on_headers_finished})
    try:
        async for chunk in stream:
            if chunk:
                parser.write(chunk)
            if state["error"] is not None:
                break
        if state["error"] is None:
            parser.finalize()
    except ClientDisconnect:
        state["error"] = UploadError(400, "the client went away during the upload")
    except UploadError as e:      # stalled or trickling
        state["error"] = e
    except Exception as e:   # python-multipart raises on malformed bodies
        state["error"] = UploadError(400, f"malformed multipart body ({type(e).__name__}: {e})")
    finally:
        if state["out"] is not None:    # the body stopped inside the file part
            state["out"].close()
            state["out"] = None
            if state["error"] is None:
                state["error"] = UploadError(400, "the upload ended in the middle of the file")
    if state["error"] is None and got.path is None:
        state["error"] = UploadError(422, f"no {file_field!r} field in the form")
    if state["error"] is not None:
        tmp.unlink(missing_ok=True)
        if state["error"].status == 413:
            await _drain(stream, DRAIN_LIMIT)
        raise state["error"]
    return got
