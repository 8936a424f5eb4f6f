"""Hostile input cannot stall, crash or leak the service: limits at the door (pose tracks,
YAML, frame sizes), bounded jobs (a time budget, a stall limit, cancellation mid-frame, capped
attempts), no 500 from odd ids, uploads that never arrive, ownership of audits, the headers of
pages. Against a real server on loopback (a subprocess, a real SQLite file), except the job
queue's crash and stall cases, which run a JobRunner in this process with a job function that
crashes or hangs (its process is still a real process, killed for real)."""

from __future__ import annotations

import json
import os
import socket
import sqlite3
import struct
import threading
import time
import zlib
from pathlib import Path

import pytest

from tests.test_service import (ROOT, SESSION, STUDIO, Server, add_user, upload, uploads_left,
                                wait_job)

VIDEO = ROOT / "samples" / "demo" / "demo.mp4"
BIG = 2**63            # one past SQLite's largest integer


@pytest.fixture(scope="module")
def env(tmp_path_factory):
    data = tmp_path_factory.mktemp("hostile") / "data"
    tokens = {role: add_user(data, f"{role}-1", role) for role in ("admin", "auditor")}
    tokens["auditor-2"] = add_user(data, "auditor-2", "auditor")
    srv = Server(data, "--upload-idle-s", "2").start()
    yield srv, tokens
    srv.stop()


def track(header: dict | str, frames: list[dict | str] = ()) -> bytes:
    lines = [h if isinstance(h, str) else json.dumps(h) for h in (header, *frames)]
    return ("\n".join(lines) + "\n").encode()


HEADER = {"pose_track": 1, "fps": 25.0, "width": 1280, "height": 720,
          "keypoints": "blazepose33", "source": "test"}


def person(pid=1, x=600.0, y=300.0) -> dict:
    return {"id": pid, "kp": [[x + i, y + i, 0.9] for i in range(33)]}


def refused(c, content: bytes, *, status=422, says: str, name="h.jsonl", **data) -> str:
    t0 = time.monotonic()
    r = upload(c, content, name, **data)
    took = time.monotonic() - t0
    assert r.status_code == status, (r.status_code, r.text)
    detail = r.json()["detail"]
    assert says in detail, detail
    assert took < 10, took
    return detail


# -- 1, 9. pose-track headers and frames -------------------------------------------------------

@pytest.mark.parametrize("fps", ["Infinity", "-Infinity", "NaN", "1e308", "0", "-1", "1e-9",
                                 '"25"', "true", "null"])
def test_a_track_header_with_a_hostile_fps_is_refused_at_upload(env, fps):
    srv, tok = env
    head = json.dumps(HEADER).replace('"fps": 25.0', f'"fps": {fps}')
    with srv.client(tok["auditor"]) as c:
        # (JSON has no Infinity or NaN: Python's reader takes them, ours refuses them)
        says = "not a number JSON allows" if "Infinity" in fps or fps == "NaN" else "fps"
        refused(c, track(head, [{"t": 0.0, "people": [person()]}]), says=says,
                annotate="true")
        assert uploads_left(srv.data) == []


@pytest.mark.parametrize("size, says", [((20000, 20000), "width 20000 is outside 1..8192"),
                                        ((8000, 8000), "pixels"), ((0, 720), "width 0"),
                                        ((1280.5, 720), "width")])
def test_a_track_header_with_a_hostile_frame_size_is_refused(env, size, says):
    srv, tok = env
    head = {**HEADER, "width": size[0], "height": size[1]}
    with srv.client(tok["auditor"]) as c:
        refused(c, track(head, [{"t": 0.0, "people": [person()]}]), says=says)


@pytest.mark.parametrize("first, says", [
    ('{"pose_track": 1, "fps": 25, "width": 1' + "0" * 5000 + ', "height": 720}', "line 1"),
    ('{"pose_track": 1, "fps": 25, "x": ' + "[" * 4000 + "]" * 4000 + "}", "line 1"),
    ('{"pose_track": 1e999, "fps": 25, "width": 1280, "height": 720}', "line 1"),
])
def test_a_track_whose_first_line_is_hostile_json_is_refused_not_a_500(env, first, says):
    srv, tok = env
    with srv.client(tok["auditor"]) as c:
        r = upload(c, track(first, [{"t": 0.0, "people": [person()]}]), "h.jsonl")
        assert r.status_code in (415, 422), r.text
        assert r.status_code == 415 or says in r.json()["detail"], r.text


@pytest.mark.parametrize("frame, says", [
    ({"t": 0.0, "people": [person(i) for i in range(100)]}, "people"),
    ('{"t": NaN, "people": []}', "NaN"),
    ('{"t": 1e300, "people": []}', "t"),
    ({"t": 0.0, "people": [{**person(), "id": "therapist"}]}, "id"),
    ({"t": 0.0, "people": [{**person(), "id": BIG}]}, "id"),
    ({"t": 0.0, "people": [person(x=1e12)]}, "keypoints"),
    ({"t": 0.0, "people": [{**person(), "kp": [[1, 2, 0.9]] * 32}]}, "33"),
])
def test_a_hostile_frame_is_refused_at_upload_naming_its_line(env, frame, says):
    srv, tok = env
    good = {"t": 0.0, "people": [person()]}
    with srv.client(tok["auditor"]) as c:
        detail = refused(c, track(HEADER, [good, frame]), says="line 3")   # (1 is the header)
        assert says in detail, detail


def test_more_frames_than_the_longest_session_are_refused(env):
    """At 0.1 fps 12 h are 4320 frames: the 4322nd is refused, whatever its t says."""
    srv, tok = env
    head = {**HEADER, "fps": 0.1}
    frames = [f'{{"t": {i * 9.8:.1f}, "people": []}}' for i in range(4400)]
    with srv.client(tok["auditor"]) as c:
        detail = refused(c, track(head, frames), says="more than 4321 frames")
        assert "line 4323" in detail, detail


# -- 3, 5. YAML off the event loop, with limits --------------------------------------------------

LAUGHS = "a: &a [x, x, x, x, x, x, x, x, x]\n" + "".join(
    f"{chr(98 + i)}: &{chr(98 + i)} [*{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, "
    f"*{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, "
    f"*{chr(97 + i)}]\n" for i in range(8))
HOSTILE_YAML = {
    "aliases": (LAUGHS, "aliases"),
    "deep": ("bars: " + "[" * 4000 + "]" * 4000, "deeper"),
    "huge int": ("bars: [" + "9" * 5000 + "]", "studio"),
    "nan": ("bars: [.nan]", "finite"),
    "big float": ("table: [[0, 0], [1.0e+300, 0], [0, 1]]", "finite"),   # (YAML 1.1: e+)
    "size": ("# " + "x" * 70_000, "limit"),
    "tag": ("bars: !!python/object/apply:os.system [ls]", "studio"),
    "control chars": ("bars: \x82", "studio"),
}


@pytest.mark.parametrize("kind", sorted(HOSTILE_YAML))
def test_hostile_studio_and_client_yaml_is_refused_while_the_server_stays_responsive(env, kind):
    srv, tok = env
    text, says = HOSTILE_YAML[kind]
    slowest = []
    stop = threading.Event()

    def probe():
        with srv.client(None) as c:
            while not stop.is_set():
                t0 = time.monotonic()
                assert c.get("/health").status_code == 200
                slowest.append(time.monotonic() - t0)
                time.sleep(0.05)

    prober = threading.Thread(target=probe, daemon=True)
    prober.start()
    try:
        good = track(HEADER, [{"t": 0.0, "people": [person()]}])
        with srv.client(tok["auditor"]) as c:
            refused(c, good, says=says, studio=text)
            refused(c, good, says=says.replace("studio", "client"), client=text)
        with srv.client(tok["admin"]) as c:
            r = c.post("/cameras", json={"name": "y", "source": str(SESSION), "studio": text})
            assert r.status_code == 422 and says in r.json()["detail"], r.text
    finally:
        stop.set()
        prober.join(10)
    assert slowest and max(slowest) < 1.0, max(slowest)
    assert uploads_left(srv.data) == []


# -- 7. frame sizes of pictures -----------------------------------------------------------------

def png(width: int, height: int, rows: int | None = None) -> bytes:
    """A PNG of that size, grey; ``rows``: only that many rows of pixels in it (a decoder
    would still make the whole picture)."""
    def chunk(kind: bytes, body: bytes) -> bytes:
        return (struct.pack(">I", len(body)) + kind + body
                + struct.pack(">I", zlib.crc32(kind + body)))
    raw = (b"\x00" + b"\x80" * width) * (height if rows is None else rows)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 0,
                                                               0, 0, 0))
            + chunk(b"IDAT", zlib.compress(raw, 9)) + chunk(b"IEND", b""))


def test_a_huge_still_image_is_refused_without_being_decoded(env):
    srv, tok = env
    with srv.client(tok["auditor"]) as c:
        refused(c, png(16000, 16000, rows=8), status=415, says="still PNG image",
                name="big.mp4")
        refused(c, png(64, 48), status=415, says="still PNG image", name="small.png")


# -- 8. uploads that never arrive -----------------------------------------------------------------

def raw_request(srv: Server, head: str, body: bytes = b"", wait: float = 15.0) -> str:
    with socket.create_connection(("127.0.0.1", srv.port), timeout=wait) as s:
        s.sendall(head.encode() + body)
        t0 = time.monotonic()
        got = b""
        try:
            while b"\r\n\r\n" not in got or not got.rstrip().endswith(b"}"):
                part = s.recv(65536)
                if not part:
                    break
                got += part
        except socket.timeout:
            pass
        assert time.monotonic() - t0 < wait, "no answer"
    return got.decode(errors="replace")


def multipart_head(srv: Server, token: str, length: int) -> str:
    return (f"POST /audits HTTP/1.1\r\nHost: 127.0.0.1:{srv.port}\r\n"
            f"Authorization: Bearer {token}\r\n"
            f"Content-Type: multipart/form-data; boundary=XYZ\r\n"
            f"Content-Length: {length}\r\n\r\n")


def test_an_upload_declaring_a_huge_length_is_answered_at_once(env):
    srv, tok = env
    t0 = time.monotonic()
    answer = raw_request(srv, multipart_head(srv, tok["auditor"], 10**15), b"--XYZ\r\n")
    assert answer.startswith("HTTP/1.1 413"), answer
    assert "over the limit" in answer and time.monotonic() - t0 < 5
    assert uploads_left(srv.data) == []


def test_an_upload_whose_body_stops_coming_is_dropped_and_leaves_nothing(env):
    srv, tok = env
    body = (b'--XYZ\r\nContent-Disposition: form-data; name="file"; filename="s.jsonl"\r\n\r\n'
            + SESSION.read_bytes()[:5000])
    t0 = time.monotonic()
    answer = raw_request(srv, multipart_head(srv, tok["auditor"], len(body) + 10**6), body)
    assert answer.startswith("HTTP/1.1 408"), answer
    assert "stalled" in answer and 1.5 < time.monotonic() - t0 < 10
    assert uploads_left(srv.data) == []


def test_partial_uploads_a_killed_server_left_are_swept_at_start(tmp_path):
    data = tmp_path / "data"
    token = add_user(data, "a", "auditor")
    srv = Server(data).start()
    try:
        with srv.client(token) as c:
            kept = upload(c, SESSION, "s.jsonl", keep="true").json()["id"]
            assert wait_job(c, kept)["status"] == "done"
    finally:
        srv.kill()
    (data / "uploads" / ".incoming-0123abcd").write_bytes(b"half an upload")
    (data / "uploads" / "f00d.track").write_bytes(b"an upload whose row was never committed")
    srv = Server(data).start()
    try:
        assert uploads_left(data) == [f"{kept}.track"]
    finally:
        srv.stop()


# -- 5. ids beyond SQLite's integers, on every route that takes one ------------------------------

@pytest.mark.parametrize("method, path", [
    ("GET", "/cameras/{big}"), ("DELETE", "/cameras/{big}"), ("DELETE", "/users/{big}"),
    ("GET", "/cameras/{big}/live.mjpg"), ("GET", "/cameras/{big}/events"),
    ("GET", "/cameras/1/events/{big}/snapshot"), ("GET", "/cameras/{big}/events/1/snapshot"),
    ("GET", "/cameras/{neg}"), ("GET", "/audits/x/snapshots/{big}"),
    ("GET", "/cameras/1/events?after={big}"),
])
def test_out_of_range_ids_are_refused_not_a_500(env, method, path):
    srv, tok = env
    with srv.client(tok["admin"]) as c:
        for big in (BIG, 10**40):
            r = c.request(method, path.format(big=big, neg=-big))
            assert r.status_code in (404, 422), (r.status_code, r.text)
            assert "detail" in r.json()
        r = c.get("/cameras/1/events", headers={"Last-Event-ID": str(10**40)})
        assert r.status_code in (404, 422), r.text


def test_out_of_range_ids_on_the_websocket_close_it_cleanly(env):
    from websockets.exceptions import ConnectionClosed, InvalidStatus
    from websockets.sync.client import connect
    srv, tok = env
    for path in (f"/cameras/{BIG}/ws", f"/cameras/1/ws?last_event_id={BIG}"):
        try:
            with connect(f"ws://127.0.0.1:{srv.port}{path}{'&' if '?' in path else '?'}"
                         f"token={tok['admin']}", open_timeout=10) as ws:
                ws.recv(timeout=10)
            raise AssertionError("the WebSocket stayed open")
        except (ConnectionClosed, InvalidStatus) as e:
            code = e.rcvd.code if isinstance(e, ConnectionClosed) and e.rcvd else \
                getattr(getattr(e, "response", None), "status_code", None)
            assert code in (1008, 403, 404), e
    assert "Traceback" not in srv.log_text()


# -- 11. ownership, headers, /docs ----------------------------------------------------------------

def test_auditors_see_and_delete_only_their_own_audits(env):
    srv, tok = env
    with srv.client(tok["auditor"]) as mine, srv.client(tok["auditor-2"]) as other, \
            srv.client(tok["admin"]) as admin:
        job = upload(mine, SESSION, "mine.jsonl").json()["id"]
        assert wait_job(mine, job)["status"] == "done"
        assert job in [j["id"] for j in mine.get("/audits").json()]
        assert job not in [j["id"] for j in other.get("/audits").json()]
        for path in ("", "/report.json", "/report.html", "/video", "/snapshots/0"):
            r = other.get(f"/audits/{job}{path}")
            assert r.status_code == 404 and job in r.json()["detail"], (path, r.text)
        assert other.delete(f"/audits/{job}").status_code == 404
        r = other.post("/trainees/t/scores", json={"audit_id": job,
                                                    "exercise": "erector-glide"})
        assert r.status_code == 404, r.text
        assert mine.get(f"/audits/{job}").status_code == 200      # still there
        assert job in [j["id"] for j in admin.get("/audits").json()]
        assert admin.get(f"/audits/{job}/report.json").status_code == 200
        assert admin.delete(f"/audits/{job}").status_code == 204
        assert mine.get(f"/audits/{job}").status_code == 404


def test_pages_carry_security_headers_and_the_api_pages_are_off(env):
    srv, tok = env
    with srv.client(tok["auditor"]) as c:
        for path in ("/dashboard/", "/dashboard/trainee.html", "/health"):
            r = c.get(path)
            assert r.status_code == 200, path
            csp = r.headers["content-security-policy"]
            assert "frame-ancestors 'none'" in csp and "script-src 'self'" in csp, csp
            assert "unsafe-inline" not in csp
            assert r.headers["x-content-type-options"] == "nosniff"
            assert r.headers["referrer-policy"] == "no-referrer"
            assert r.headers["x-frame-options"] == "DENY"
        job = upload(c, SESSION, "s.jsonl", studio=STUDIO.read_text()).json()["id"]
        assert wait_job(c, job)["status"] == "done"
        csp = c.get(f"/audits/{job}/report.html").headers["content-security-policy"]
        assert csp.startswith("default-src 'none'") and "frame-ancestors 'none'" in csp
        assert c.get("/docs").status_code == 404 and c.get("/redoc").status_code == 404
        assert c.get("/openapi.json").status_code == 200


# -- 1. bounded jobs on the real server ------------------------------------------------------------

def job_processes(server_pid: int) -> list[int]:
    """The service's audit processes: children of its fork server (a child of the service)."""
    parents = {}
    for d in Path("/proc").iterdir():
        if d.name.isdigit():
            try:
                parents[int(d.name)] = int((d / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, ValueError, IndexError):
                pass
    children = {p for p, pp in parents.items() if pp == server_pid}
    return [p for p, pp in parents.items() if pp in children]


def test_a_job_past_its_time_budget_is_stopped_failed_once_and_the_queue_goes_on(tmp_path):
    data = tmp_path / "data"
    token = add_user(data, "a", "auditor")
    srv = Server(data, "--job-timeout-s", "3").start()
    try:
        with srv.client(token) as c:
            slow = upload(c, VIDEO, "demo.mp4", annotate="true").json()["id"]
            after = upload(c, track(HEADER, [{"t": 0.0, "people": [person()]}]),
                           "short.jsonl").json()["id"]
            j = wait_job(c, slow, timeout=60)
            assert j["status"] == "failed", j
            assert "time budget" in j["error"] and "3 s" in j["error"], j["error"]
            assert j["report"] is None and j["video"] is None
            assert wait_job(c, after, timeout=30)["status"] == "done"
            time.sleep(0.5)
            assert job_processes(srv.proc.pid) == []
        with sqlite3.connect(data / "ashiwatch.db") as db:
            assert db.execute("select attempts from job where id = ?", (slow,)).fetchone() == (1,)
        assert not list((data / "videos").iterdir())
        assert not (data / "snapshots" / "audits" / slow).exists()
    finally:
        srv.stop()
    srv = Server(data).start()             # a restart does not run it again
    try:
        with srv.client(token) as c:
            time.sleep(1.0)
            assert c.get(f"/audits/{slow}").json()["status"] == "failed"
    finally:
        srv.stop()


def test_deleting_a_running_audit_kills_it_mid_frame(tmp_path):
    data = tmp_path / "data"
    token = add_user(data, "a", "auditor")
    srv = Server(data).start()
    try:
        with srv.client(token) as c:
            job = upload(c, VIDEO, "demo.mp4", annotate="true").json()["id"]
            deadline = time.monotonic() + 30
            while c.get(f"/audits/{job}").json()["status"] != "running" \
                    or not job_processes(srv.proc.pid):
                assert time.monotonic() < deadline
                time.sleep(0.05)
            t0 = time.monotonic()
            assert c.delete(f"/audits/{job}").status_code == 204
            while job_processes(srv.proc.pid):
                assert time.monotonic() - t0 < 3, "the audit's process still runs"
                time.sleep(0.05)
            nxt = upload(c, track(HEADER, [{"t": 0.0, "people": [person()]}]),
                         "next.jsonl").json()["id"]
            assert wait_job(c, nxt, timeout=20)["status"] == "done"
        assert uploads_left(data) == []
        assert not list((data / "videos").iterdir())
        assert not (data / "snapshots" / "audits" / job).exists()
    finally:
        srv.stop()


# -- 1. the queue with jobs that crash or hang (a JobRunner here, real processes) ----------------

def _hangs(task, conn) -> None:
    conn.send(("progress", 0.0))
    time.sleep(3600)


def _crashes(task, conn) -> None:
    conn.send(("progress", 0.0))
    os._exit(3)


def _segfaults(task, conn) -> None:
    import signal
    os.kill(os.getpid(), signal.SIGSEGV)


@pytest.fixture
def runner_for(tmp_path):
    from service.api.db import Database, Job
    from service.api.jobs import JobRunner
    from service.api.settings import Settings
    made = []

    def make(work, **settings):
        s = Settings(data_dir=tmp_path / "data", **settings)
        s.ensure_dirs()
        db = Database(s.db_path)
        job = Job(input_kind="track", filename="s.jsonl")
        (s.uploads_dir / f"{job.id}.track").write_bytes(SESSION.read_bytes()[:3000])
        with db.session() as session:
            session.add(job)
            session.commit()
        runner = JobRunner(s, db, work=work)
        made.append((runner, db))
        return runner, db, job.id

    yield make
    for runner, db in made:
        runner.stop()
        db.dispose()


def _wait_row(db, job_id, statuses=("done", "failed"), timeout=30.0):
    from service.api.db import Job
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with db.session() as s:
            job = s.get(Job, job_id)
        if job.status in statuses:
            return job
        time.sleep(0.05)
    raise AssertionError(f"job {job_id}: {job.status}")


def test_a_job_that_finishes_no_frame_is_stopped_as_stalled(runner_for):
    runner, db, job_id = runner_for(_hangs, job_stall_s=1.0)
    runner.start()
    job = _wait_row(db, job_id, timeout=15)
    assert job.status == "failed" and "no frame was finished for 1 s" in job.error
    assert job.attempts == 1


@pytest.mark.parametrize("work, how", [(_crashes, "exit code 3"), (_segfaults, "SIGSEGV")])
def test_a_job_whose_process_dies_is_tried_three_times_then_failed(runner_for, work, how):
    runner, db, job_id = runner_for(work)
    runner.start()
    job = _wait_row(db, job_id, timeout=60)
    assert job.status == "failed" and job.attempts == 3, (job.status, job.attempts)
    assert how in job.error and "3 times; not tried again" in job.error, job.error


def test_a_job_the_service_died_in_too_often_is_failed_at_start(runner_for):
    from service.api.db import Job
    runner, db, job_id = runner_for(_hangs)
    with db.session() as s:
        job = s.get(Job, job_id)
        job.status, job.attempts = "running", 3
        s.add(job)
        s.commit()
    runner.start()
    job = _wait_row(db, job_id, timeout=5)
    assert job.status == "failed" and "3 times; not tried again" in job.error
