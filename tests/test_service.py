"""The service (`ashiwatch serve`) against a real server: a subprocess on 127.0.0.1, a real
SQLite file in a temporary data folder, httpx as the client."""

from __future__ import annotations

import json
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import cv2
import httpx
import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
SESSION = ROOT / "samples" / "session.jsonl"
STUDIO = ROOT / "samples" / "studio.yaml"
CLIENT = ROOT / "samples" / "client.yaml"
CLI = [sys.executable, "-c", "from service.cli import app; app()"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def add_user(data: Path, name: str, role: str) -> str:
    r = subprocess.run([*CLI, "user", "add", name, "--role", role, "--data", str(data)],
                       capture_output=True, text=True, cwd=ROOT, timeout=60)
    assert r.returncode == 0, r.stderr
    return r.stdout.strip()


class Server:
    """`ashiwatch serve` in a subprocess."""

    def __init__(self, data: Path, *extra: str) -> None:
        self.data, self.extra = data, extra
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.proc: subprocess.Popen | None = None

    def start(self) -> "Server":
        self.log = open(self.data.parent / f"server-{self.port}.log", "ab")
        self.proc = subprocess.Popen([*CLI, "serve", "--data", str(self.data), "--port",
                                      str(self.port), *self.extra],
                                     cwd=ROOT, stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            assert self.proc.poll() is None, self.log_text()
            try:
                if httpx.get(self.url + "/health", timeout=1).status_code == 200:
                    return self
            except httpx.TransportError:
                pass
            time.sleep(0.1)
        raise AssertionError("server did not start: " + self.log_text())

    def log_text(self) -> str:
        return Path(self.log.name).read_text(errors="replace")[-3000:]

    def kill(self) -> None:
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(timeout=10)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.kill()
        self.log.close()

    def client(self, token: str | None) -> httpx.Client:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        return httpx.Client(base_url=self.url, headers=headers, timeout=30)


@pytest.fixture(scope="module")
def env(tmp_path_factory):
    data = tmp_path_factory.mktemp("svc") / "data"
    tokens = {role: add_user(data, f"{role}-1", role) for role in ("admin", "auditor", "viewer")}
    srv = Server(data).start()
    yield srv, tokens
    srv.stop()


def upload(c: httpx.Client, path_or_bytes, name: str, **data):
    content = path_or_bytes.read_bytes() if isinstance(path_or_bytes, Path) else path_or_bytes
    return c.post("/audits", files={"file": (name, content, "application/octet-stream")},
                  data=data)


def wait_job(c: httpx.Client, job_id: str, timeout: float = 90, seen: list | None = None):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        j = c.get(f"/audits/{job_id}").json()
        if seen is not None:
            seen.append((j["status"], j["progress"]))
        if j["status"] in ("done", "failed"):
            return j
        time.sleep(0.05)
    raise AssertionError(f"job {job_id} not finished: {j}")


def uploads_left(data: Path) -> list[str]:
    return sorted(p.name for p in (data / "uploads").iterdir())


def cli_report(tmp_path: Path, *args: str) -> dict:
    out = tmp_path / "cli-report.json"
    r = subprocess.run([*CLI, "audit", str(SESSION), *args, "--out", str(out)],
                       capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert r.returncode == 0, r.stderr
    return json.loads(out.read_text())


# -- accounts and roles ----------------------------------------------------------------------

def test_health_needs_no_token(env):
    srv, _ = env
    r = httpx.get(srv.url + "/health")
    assert r.status_code == 200 and r.json() == {"status": "ok"}


def test_missing_or_wrong_token_is_401(env):
    srv, _ = env
    for headers in ({}, {"Authorization": "Bearer aw_not-a-token"}, {"Authorization": "Basic x"}):
        for method, path in (("GET", "/audits"), ("GET", "/cameras"), ("GET", "/users"),
                             ("GET", "/audits/abc"), ("GET", "/cameras/1/events")):
            r = httpx.request(method, srv.url + path, headers=headers)
            assert r.status_code == 401, (headers, path, r.text)
            assert r.headers["www-authenticate"] == "Bearer"


def test_wrong_role_is_403(env):
    srv, tok = env
    with srv.client(tok["viewer"]) as viewer, srv.client(tok["auditor"]) as auditor:
        r = viewer.post("/audits", files={"file": ("a.jsonl", b"x")})
        assert r.status_code == 403 and "viewer" in r.json()["detail"]
        assert viewer.get("/audits").status_code == 403
        r = auditor.post("/cameras", json={"name": "c", "source": str(SESSION)})
        assert r.status_code == 403
        assert auditor.post("/users", json={"name": "x", "role": "admin"}).status_code == 403
        assert viewer.get("/users").status_code == 403
        # what each role may do, it can
        assert viewer.get("/cameras").status_code == 200
        assert auditor.get("/audits").status_code == 200


def test_token_printed_once_and_only_its_hash_stored(env, tmp_path):
    srv, tok = env
    data = tmp_path / "data"
    r = subprocess.run([*CLI, "user", "add", "ann", "--role", "auditor", "--data", str(data)],
                       capture_output=True, text=True, cwd=ROOT, timeout=60)
    assert r.returncode == 0
    token = r.stdout.strip()
    assert len(token) >= 40 and (r.stdout + r.stderr).count(token) == 1
    r = subprocess.run([*CLI, "user", "list", "--data", str(data)],
                       capture_output=True, text=True, cwd=ROOT, timeout=60)
    assert "ann" in r.stdout and token not in r.stdout
    with sqlite3.connect(data / "ashiwatch.db") as db:
        rows = db.execute("select name, role, token_hash from user").fetchall()
    import hashlib
    assert rows == [("ann", "auditor", hashlib.sha256(token.encode()).hexdigest())]
    for f in data.rglob("*"):             # the token is nowhere on disk, WAL included
        if f.is_file():
            assert token.encode() not in f.read_bytes(), f
    # a duplicate name is refused in one line, exit 2
    r = subprocess.run([*CLI, "user", "add", "ann", "--role", "viewer", "--data", str(data)],
                       capture_output=True, text=True, cwd=ROOT, timeout=60)
    assert r.returncode == 2 and "already exists" in r.stderr and not r.stdout


def test_admin_makes_users_over_the_api(env):
    srv, tok = env
    with srv.client(tok["admin"]) as admin:
        r = admin.post("/users", json={"name": "vic", "role": "viewer"})
        assert r.status_code == 201
        new = r.json()
        assert new["role"] == "viewer" and new["token"].startswith("aw_")
        listed = admin.get("/users").json()
        assert "vic" in [u["name"] for u in listed] and all("token" not in u for u in listed)
        assert admin.post("/users", json={"name": "vic", "role": "viewer"}).status_code == 409
    with srv.client(new["token"]) as vic:
        assert vic.get("/cameras").status_code == 200
    with srv.client(tok["admin"]) as admin:
        assert admin.delete(f"/users/{new['id']}").status_code == 204
    with srv.client(new["token"]) as vic:
        assert vic.get("/cameras").status_code == 401


def test_malformed_json_is_422_with_a_clear_message(env):
    srv, tok = env
    with srv.client(tok["admin"]) as admin:
        r = admin.post("/cameras", content=b'{"name": "c", "source": ',
                       headers={"content-type": "application/json"})
        assert r.status_code == 422 and "not valid JSON" in r.json()["detail"]
        r = admin.post("/cameras", json={"name": "c"})
        assert r.status_code == 422 and "source" in r.json()["detail"]
        r = admin.post("/users", json={"name": "x", "role": "root"})
        assert r.status_code == 422 and "role" in r.json()["detail"]
        r = admin.post("/cameras", json={"name": "c", "source": str(STUDIO)})
        assert r.status_code == 422 and "pose track" in r.json()["detail"]


def test_unknown_ids_are_404(env):
    srv, tok = env
    with srv.client(tok["admin"]) as c:
        for method, path in (("GET", "/audits/nope"), ("GET", "/audits/nope/report.json"),
                             ("DELETE", "/audits/nope"), ("GET", "/cameras/999"),
                             ("GET", "/cameras/999/events"), ("DELETE", "/cameras/999"),
                             ("DELETE", "/users/999")):
            r = c.request(method, path)
            assert r.status_code == 404, (method, path, r.text)
            assert r.json()["detail"]


# -- audits ----------------------------------------------------------------------------------

def test_upload_runs_the_same_audit_as_the_cli(env, tmp_path):
    srv, tok = env
    with srv.client(tok["auditor"]) as c:
        r = upload(c, SESSION, "session.jsonl", studio=STUDIO.read_text(),
                   client=CLIENT.read_text())
        assert r.status_code == 202, r.text
        job = r.json()
        assert job["status"] == "queued" and job["input_kind"] == "track"
        seen: list = []
        done = wait_job(c, job["id"], seen=seen)
        assert done["status"] == "done" and done["progress"] == 100 and done["error"] is None
        # it ran, with progress between the ends, and the statuses went forward only
        assert any(s == "running" and 0 < p < 100 for s, p in seen), seen
        order = {"queued": 0, "running": 1, "done": 2}
        assert [order[s] for s, _ in seen] == sorted(order[s] for s, _ in seen)
        rep = c.get(f"/audits/{job['id']}/report.json")
        assert rep.status_code == 200 and rep.json() == done["report"]
    expected = cli_report(tmp_path, "--studio", str(STUDIO), "--client", str(CLIENT))
    got = done["report"]
    assert got["steps"] == expected["steps"] and len(got["steps"]) > 0
    assert got["alerts"] == expected["alerts"] and got["summary"] == expected["summary"]
    assert got["source"] == "session.jsonl"
    assert job["id"] + ".track" not in uploads_left(srv.data)      # deleted after the audit


def test_keep_keeps_the_upload_until_delete(env):
    srv, tok = env
    with srv.client(tok["auditor"]) as c:
        job = upload(c, SESSION, "s.jsonl", keep="true").json()
        assert job["keep"] is True
        assert wait_job(c, job["id"])["status"] == "done"
        stored = srv.data / "uploads" / f"{job['id']}.track"
        assert stored.read_bytes() == SESSION.read_bytes()
        assert c.delete(f"/audits/{job['id']}").status_code == 204
        assert not stored.exists()
        assert c.get(f"/audits/{job['id']}").status_code == 404


def test_wrong_type_is_415_and_leaves_nothing(env):
    srv, tok = env
    before = uploads_left(srv.data)
    with srv.client(tok["auditor"]) as c:
        r = upload(c, b"this is plain text, not a video\n" * 50, "holiday.mp4")
        assert r.status_code == 415
        assert "holiday.mp4" in r.json()["detail"] and "OpenCV" in r.json()["detail"]
        # JSON lines that are not a pose track: the same
        r = upload(c, b'{"hello": 1}\n{"t": 0}\n', "x.jsonl")
        assert r.status_code == 415
        # not multipart at all
        r = c.post("/audits", content=b"raw", headers={"content-type": "video/mp4"})
        assert r.status_code == 415 and "multipart" in r.json()["detail"]
        r = c.post("/audits", files={"other": ("a.jsonl", SESSION.read_bytes())})
        assert r.status_code == 422 and "'file'" in r.json()["detail"]
    assert uploads_left(srv.data) == before
    with sqlite3.connect(srv.data / "ashiwatch.db") as db:
        names = [n for (n,) in db.execute("select filename from job")]
    assert "holiday.mp4" not in names and "x.jsonl" not in names


def _video(path: Path, frames: int = 8) -> Path:
    w = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), 25.0, (96, 64))
    rng = np.random.default_rng(0)
    for _ in range(frames):
        w.write(rng.integers(0, 255, (64, 96, 3), dtype=np.uint8))
    w.release()
    return path


def test_empty_and_truncated_videos_are_refused_at_upload(env, tmp_path):
    srv, tok = env
    before = uploads_left(srv.data)
    whole = _video(tmp_path / "v.mp4").read_bytes()
    assert len(whole) > 1000
    with srv.client(tok["auditor"]) as c:
        r = upload(c, b"", "empty.mp4")
        assert r.status_code == 400 and "empty" in r.json()["detail"]
        r = upload(c, whole[: len(whole) // 2], "cut.mp4")    # the index (moov) is lost
        assert r.status_code == 415 and "cut.mp4" in r.json()["detail"]
    assert uploads_left(srv.data) == before


def test_a_video_goes_through_the_pose_engine(env, tmp_path):
    srv, tok = env
    with srv.client(tok["auditor"]) as c:
        job = upload(c, _video(tmp_path / "v.mp4"), "v.mp4").json()
        assert job["input_kind"] == "video"
        done = wait_job(c, job["id"])
    assert done["status"] == "done", done
    assert done["report"]["frames"] == 8 and done["report"]["fps"] == 25.0


def test_truncated_pose_track_is_refused_at_upload_with_the_reason(env):
    srv, tok = env
    before = uploads_left(srv.data)
    lines = SESSION.read_bytes().splitlines(keepends=True)
    broken = b"".join(lines[:40]) + lines[40][:100]        # cut in the middle of a line
    with srv.client(tok["auditor"]) as c:
        r = upload(c, broken, "cut.jsonl")
        assert r.status_code == 422, r.text
        detail = r.json()["detail"]
        assert detail.startswith("cut.jsonl: line 41: not JSON"), detail
        assert str(srv.data) not in detail             # no server paths in messages
    assert uploads_left(srv.data) == before


def test_path_in_the_filename_is_never_a_path(env):
    srv, tok = env
    outside = [srv.data.parent / "evil.mp4", srv.data / "evil.mp4", ROOT / "evil.mp4"]
    short = b"".join(SESSION.read_bytes().splitlines(keepends=True)[:60])
    with srv.client(tok["auditor"]) as c:
        for name in ("../evil.mp4", "../../evil.mp4", "..\\..\\evil.mp4", "/tmp/../evil.mp4"):
            r = upload(c, short, name, keep="true")
            assert r.status_code == 202, r.text
            job = r.json()
            assert job["filename"] == "evil.mp4"
            assert wait_job(c, job["id"])["status"] == "done"
            assert (srv.data / "uploads" / f"{job['id']}.track").is_file()
            assert c.delete(f"/audits/{job['id']}").status_code == 204
    assert not any(p.exists() for p in outside)


def _multipart_chunks(boundary: str, payload: bytes, chunk: int = 64 * 1024):
    yield (f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; "
           f"filename=\"big.jsonl\"\r\nContent-Type: application/octet-stream\r\n\r\n").encode()
    for i in range(0, len(payload), chunk):
        yield payload[i:i + chunk]
    yield f"\r\n--{boundary}--\r\n".encode()


def test_upload_over_the_limit_is_413_and_leaves_nothing(tmp_path):
    data = tmp_path / "data"
    token = add_user(data, "a", "auditor")
    srv = Server(data, "--max-upload-mb", "0.5").start()
    try:
        payload = SESSION.read_bytes()
        assert len(payload) > 0.5 * 1024 * 1024
        with srv.client(token) as c:
            # declared by Content-Length
            r = upload(c, payload, "big.jsonl")
            assert r.status_code == 413 and "limit" in r.json()["detail"]
            # chunked, no length given: found while streaming, partial file removed
            boundary = "xyzBOUNDARYxyz"
            r = c.post("/audits", content=_multipart_chunks(boundary, payload),
                       headers={"content-type": f"multipart/form-data; boundary={boundary}"})
            assert r.status_code == 413
            assert uploads_left(data) == []
            # under the limit, the same way: accepted
            small = b"".join(payload.splitlines(keepends=True)[:100])
            r = c.post("/audits", content=_multipart_chunks(boundary, small),
                       headers={"content-type": f"multipart/form-data; boundary={boundary}"})
            assert r.status_code == 202, r.text
            assert wait_job(c, r.json()["id"])["status"] == "done"
        with sqlite3.connect(data / "ashiwatch.db") as db:
            assert db.execute("select count(*) from job").fetchone() == (1,)
    finally:
        srv.stop()


def test_a_job_survives_a_killed_server(tmp_path):
    data = tmp_path / "data"
    token = add_user(data, "a", "auditor")
    # a long session: the bundled one five times over, time running on
    lines = SESSION.read_text().splitlines()
    header, frames = lines[0], [json.loads(x) for x in lines[1:] if x.strip()]
    period = frames[-1]["t"] + 0.04
    long = [header] + [json.dumps({**f, "t": round(f["t"] + k * period, 3)})
                       for k in range(5) for f in frames]
    srv = Server(data).start()
    try:
        with srv.client(token) as c:
            job = upload(c, ("\n".join(long) + "\n").encode(), "long.jsonl").json()
            deadline = time.monotonic() + 60
            while True:
                j = c.get(f"/audits/{job['id']}").json()
                if j["status"] == "running" and j["progress"] > 5:
                    break
                assert j["status"] in ("queued", "running") and time.monotonic() < deadline, j
                time.sleep(0.05)
        srv.kill()
        with sqlite3.connect(data / "ashiwatch.db") as db:
            assert db.execute("select status from job").fetchone() == ("running",)
        srv = Server(data).start()
        with srv.client(token) as c:
            done = wait_job(c, job["id"], timeout=120)
        assert done["status"] == "done", done
        assert done["report"]["frames"] == 5 * len(frames)
        assert uploads_left(data) == []
    finally:
        srv.stop()


# -- live feeds ------------------------------------------------------------------------------

def iter_sse(resp: httpx.Response):
    """The events of an open SSE response, parsed, as they come."""
    cur: dict = {}
    for line in resp.iter_lines():
        if line == "":
            if "data" in cur:
                ev = json.loads(cur["data"])
                assert ev["id"] == int(cur["id"]) and ev["type"] == cur["event"]
                yield ev
            cur = {}
        elif not line.startswith(":") and ":" in line:
            k, v = line.split(":", 1)
            cur[k] = v[1:] if v.startswith(" ") else v


def read_sse(resp: httpx.Response, stop_after: int | None = None, until_offline: bool = True):
    """Events of an open SSE response, parsed; stops at camera_offline or after N events."""
    events = []
    for ev in iter_sse(resp):
        events.append(ev)
        if (until_offline and ev["type"] == "camera_offline") or \
                (stop_after is not None and len(events) >= stop_after):
            break
    return events


def add_camera(srv: Server, token: str, speed: float = 10.0) -> int:
    with srv.client(token) as admin:
        r = admin.post("/cameras", json={"name": "table 1", "source": str(SESSION),
                                         "studio": str(STUDIO), "speed": speed})
    assert r.status_code == 201, r.text
    return r.json()["id"]


def db_event_ids(srv: Server, cam: int) -> list[int]:
    with sqlite3.connect(srv.data / "ashiwatch.db") as db:
        return [i for (i,) in db.execute("select id from event where camera_id = ? order by id",
                                         (cam,))]


def test_sse_alerts_and_resume_with_last_event_id(env, tmp_path):
    srv, tok = env
    cam = add_camera(srv, tok["admin"])
    with srv.client(tok["viewer"]) as c:
        with c.stream("GET", f"/cameras/{cam}/events") as r:
            assert r.status_code == 200
            assert r.headers["content-type"].startswith("text/event-stream")
            first = read_sse(r, stop_after=4)
        time.sleep(0.6)                     # the replay goes on while we are away
        with c.stream("GET", f"/cameras/{cam}/events",
                      headers={"Last-Event-ID": str(first[-1]["id"])}) as r:
            rest = read_sse(r)
        with c.stream("GET", f"/cameras/{cam}/events") as r:     # from the start, after the end
            whole = read_sse(r)
    ids = [e["id"] for e in first + rest]
    assert ids == [e["id"] for e in whole] == db_event_ids(srv, cam)
    assert ids == sorted(set(ids))                                 # increasing, no duplicates
    assert whole[0]["type"] == "camera_online" and whole[-1]["type"] == "camera_offline"
    for e in whole:
        assert set(e) == {"id", "camera_id", "type", "t", "kind", "severity", "foot", "detail",
                          "wall_time", "frame_wall_time"} and e["camera_id"] == cam
        # the time its frame was handed to the worker (none for camera events, nor for the
        # ends an alert gets when the source ends)
        if e["type"] in ("alert_start", "step"):
            assert 0 <= e["wall_time"] - e["frame_wall_time"] < 5    # (a loaded machine)
        elif e["type"].startswith("camera_"):
            assert e["frame_wall_time"] is None
    # every alert that started ended, and the kinds are those of the audit of the same session
    starts = [(e["kind"], e["foot"]) for e in whole if e["type"] == "alert_start"]
    ends = [(e["kind"], e["foot"]) for e in whole if e["type"] == "alert_end"]
    assert sorted(starts) == sorted(ends) and starts
    expected = cli_report(tmp_path, "--studio", str(STUDIO))
    assert {k for k, _ in starts} == {a["kind"] for a in expected["alerts"]}
    for e in whole:
        if e["type"] == "alert_start":
            assert e["severity"] in ("critical", "warning") and e["t"] > 0


def test_websocket_same_events(env):
    from websockets.exceptions import InvalidStatus
    from websockets.sync.client import connect
    srv, tok = env
    cam = add_camera(srv, tok["admin"], speed=20.0)
    ws_url = f"ws://127.0.0.1:{srv.port}/cameras/{cam}/ws"
    with pytest.raises(InvalidStatus):
        connect(ws_url + "?token=wrong", open_timeout=10)
    got = []
    with connect(f"{ws_url}?token={tok['viewer']}", open_timeout=10) as ws:
        while not got or got[-1]["type"] != "camera_offline":
            got.append(json.loads(ws.recv(timeout=30)))
    with srv.client(tok["viewer"]) as c, c.stream("GET", f"/cameras/{cam}/events") as r:
        sse = read_sse(r)
    assert got == sse and len(got) > 4
    # resuming on the WebSocket too
    resumed = []
    with connect(f"{ws_url}?token={tok['viewer']}&last_event_id={got[2]['id']}") as ws:
        while not resumed or resumed[-1]["type"] != "camera_offline":
            resumed.append(json.loads(ws.recv(timeout=10)))
    assert resumed == got[3:]


def test_ten_subscribers_and_an_upload_see_the_same_events(env):
    """Five SSE and five WebSocket subscribers while an audit runs: every one gets exactly the
    stored events, alerts included, none lost or repeated."""
    from websockets.sync.client import connect
    srv, tok = env
    with srv.client(tok["admin"]) as admin:
        r = admin.post("/cameras", json={"name": "busy", "source": str(SESSION),
                                         "studio": STUDIO.read_text(), "speed": 8})
        cam = r.json()["id"]
    results: list[list[dict] | BaseException | None] = [None] * 10

    def subscribe_sse(i: int) -> None:
        try:
            with srv.client(tok["viewer"]) as c, \
                    c.stream("GET", f"/cameras/{cam}/events") as resp:
                results[i] = read_sse(resp)
        except BaseException as e:   # reported below
            results[i] = e

    def subscribe_ws(i: int) -> None:
        try:
            got: list[dict] = []
            with connect(f"ws://127.0.0.1:{srv.port}/cameras/{cam}/ws?token={tok['viewer']}",
                         open_timeout=30) as ws:
                while not got or got[-1]["type"] != "camera_offline":
                    got.append(json.loads(ws.recv(timeout=60)))
            results[i] = got
        except BaseException as e:
            results[i] = e

    threads = [threading.Thread(target=subscribe_sse if i % 2 else subscribe_ws, args=(i,))
               for i in range(10)]
    for t in threads:
        t.start()
    with srv.client(tok["auditor"]) as c:
        job = upload(c, SESSION, "during.jsonl").json()
        assert wait_job(c, job["id"])["status"] == "done"
    for t in threads:
        t.join(timeout=120)
    expected = db_event_ids(srv, cam)
    assert len(expected) > 10
    for res in results:
        assert isinstance(res, list), res
        assert [e["id"] for e in res] == expected
    alerts = [e["id"] for e in results[0] if e["type"] == "alert_start"]
    assert alerts and all([e["id"] for e in r if e["type"] == "alert_start"] == alerts
                          for r in results)
    assert all(r == results[0] for r in results)       # the same events, field for field
    with srv.client(tok["admin"]) as admin:
        assert admin.delete(f"/cameras/{cam}").status_code == 204
    assert db_event_ids(srv, cam) == []


def test_a_video_file_camera_goes_through_the_pose_engine(env, tmp_path):
    srv, tok = env
    with srv.client(tok["admin"]) as admin:
        r = admin.post("/cameras", json={"name": "v", "source": str(tmp_path / "nothing.mp4")})
        assert r.status_code == 422 and "no such file" in r.json()["detail"]
        r = admin.post("/cameras", json={"name": "v", "source": "gopher://cam.local/stream"})
        assert r.status_code == 422 and "unsupported scheme" in r.json()["detail"]
        # a file name longer than the file system takes (found by the schema fuzzer: a 500)
        for long in ("ž" * 200, "x" * 300, "file:///tmp/" + "y" * 300):
            r = admin.post("/cameras", json={"name": "v", "source": long})
            assert r.status_code == 422 and "not a file name" in r.json()["detail"], r.text
        video = _video(tmp_path / "cam.mp4", frames=12)
        r = admin.post("/cameras", json={"name": "v", "source": video.as_uri(), "speed": 4})
        assert r.status_code == 201, r.text
        cam = r.json()["id"]
        with admin.stream("GET", f"/cameras/{cam}/events") as resp:
            events = read_sse(resp)
    # noise has nobody in it: online, no alert, offline at the end of the file
    assert [e["type"] for e in events] == ["camera_online", "camera_offline"]
    assert events[1]["detail"] == "end of replay" and events[1]["t"] == pytest.approx(11 / 25)


# -- snapshots, HTML report, annotated video, privacy ---------------------------------------

def _first_frames(n: int) -> bytes:
    return b"".join(SESSION.read_bytes().splitlines(keepends=True)[:n + 1])


def test_audit_snapshots_html_report_and_annotated_video(env):
    srv, tok = env
    with srv.client(tok["auditor"]) as c:
        # the first 10.4 s: steps on danger zones and hands off the bars, among others
        job = upload(c, _first_frames(260), "short.jsonl", studio=STUDIO.read_text(),
                     annotate="true").json()
        assert job["annotate"] is True
        done = wait_job(c, job["id"], timeout=300)
        assert done["status"] == "done", done
        alerts = done["report"]["alerts"]
        assert len(alerts) >= 2 and done["snapshots"], done["snapshots"]
        folder = srv.data / "snapshots" / "audits" / job["id"]
        for s in done["snapshots"]:
            a = alerts[s["alert"]]
            assert (s["kind"], s["foot"], s["start_s"]) == (a["kind"], a["foot"], a["start_s"])
            r = c.get(s["url"])
            assert r.status_code == 200 and r.headers["content-type"] == "image/jpeg"
            img = cv2.imdecode(np.frombuffer(r.content, np.uint8), cv2.IMREAD_COLOR)
            # a pose track has no images: skeletons and zones on a dark canvas of its size
            assert img.shape == (720, 1280, 3) and img.mean() < 80 and img.max() > 150
        assert {s["alert"] for s in done["snapshots"]} <= set(range(len(alerts)))
        assert any(alerts[s["alert"]]["kind"].startswith("step_on_") for s in done["snapshots"])
        assert len(list(folder.glob("alert-*.jpg"))) == len(done["snapshots"])
        assert c.get(f"/audits/{job['id']}/snapshots/{len(alerts) + 5}").status_code == 404
        # the HTML report embeds the same pictures and loads nothing from elsewhere
        r = c.get(f"/audits/{job['id']}/report.html")
        assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
        assert "default-src 'none'" in r.headers["content-security-policy"]
        assert r.text.count("data:image/jpeg;base64,") >= len(done["snapshots"])
        assert "short.jsonl" in r.text and "<script src" not in r.text and "<link" not in r.text
        # the annotated video: every frame, at the track's size
        r = c.get(done["video"])
        assert r.status_code == 200 and r.headers["content-type"] == "video/mp4"
        video = srv.data / "videos" / f"{job['id']}.mp4"
        assert video.read_bytes() == r.content
        cap = cv2.VideoCapture(str(video))
        assert int(cap.get(cv2.CAP_PROP_FRAME_COUNT)) == done["report"]["frames"] == 260
        assert (cap.get(cv2.CAP_PROP_FRAME_WIDTH), cap.get(cv2.CAP_PROP_FRAME_HEIGHT)) == (1280, 720)
        cap.release()
        assert not list((srv.data / "videos").glob(".partial-*"))
        # an audit without annotate has no video; a viewer sees no audit picture
        other = upload(c, _first_frames(30), "tiny.jsonl").json()
        assert wait_job(c, other["id"])["video"] is None
        r = c.get(f"/audits/{other['id']}/video")
        assert r.status_code == 404 and "annotate" in r.json()["detail"]
        with srv.client(tok["viewer"]) as viewer:
            assert viewer.get(done["snapshots"][0]["url"]).status_code == 403
            assert viewer.get(f"/audits/{job['id']}/report.html").status_code == 403
        # deleting the audit deletes its pictures and video
        assert c.delete(f"/audits/{job['id']}").status_code == 204
        assert not folder.exists() and not video.exists()
        assert c.get(done["snapshots"][0]["url"]).status_code == 404
        assert c.delete(f"/audits/{other['id']}").status_code == 204


def _detail(gray: np.ndarray) -> float:
    """Fine detail of a picture region (variance of its Laplacian): blurring removes it."""
    return float(cv2.Laplacian(gray, cv2.CV_64F).var())


def test_stored_video_has_blurred_faces_and_the_upload_is_gone(env, tmp_path):
    """Real footage of two people facing the camera, audited with annotate: in the stored
    video each face region has lost its detail, while the background is as it was."""
    from samples.registry import pose2sim_video
    from vision.io.frames import FrameSource
    from vision.pose.engine import PoseEngine
    from vision.pictures.privacy import face_region
    srv, tok = env
    src = cv2.VideoCapture(str(pose2sim_video("MultiPerson", 1)))
    clip = tmp_path / "people.mp4"
    w = cv2.VideoWriter(str(clip), cv2.VideoWriter_fourcc(*"mp4v"), 30.0, (544, 960))
    for _ in range(6):
        w.write(cv2.resize(src.read()[1], (544, 960)))
    w.release()
    with srv.client(tok["auditor"]) as c:
        job = upload(c, clip, "people.mp4", annotate="true").json()
        done = wait_job(c, job["id"], timeout=180)
        assert done["status"] == "done", done
        stored = c.get(done["video"]).content
    assert f"{job['id']}.video" not in uploads_left(srv.data)        # the upload is gone
    (tmp_path / "stored.mp4").write_bytes(stored)
    with FrameSource(clip) as s:
        _, original = next(iter(s))
    with FrameSource(tmp_path / "stored.mp4") as s:
        _, annotated = next(iter(s))
    people = PoseEngine().process(original, 0.0).frame.people      # as the job saw them
    faces = [face_region(p.kp) for p in people]
    faces = [f for f in faces if f is not None]
    assert len(faces) >= 1
    g0 = cv2.cvtColor(original, cv2.COLOR_BGR2GRAY)
    g1 = cv2.cvtColor(annotated, cv2.COLOR_BGR2GRAY)
    for (cx, cy), r in faces:
        half = max(int(r * 0.6), 4)           # well inside the blurred disc
        y0, y1 = int(cy) - half, int(cy) + half
        x0, x1 = int(cx) - half, int(cx) + half
        a, b = g0[y0:y1, x0:x1], g1[y0:y1, x0:x1]
        assert _detail(b) < 0.35 * _detail(a), (_detail(a), _detail(b))
    # far from everyone (a corner of the room): the picture is unchanged but for compression
    corner = (slice(900, 950), slice(10, 60))
    assert np.abs(g0[corner].astype(int) - g1[corner].astype(int)).mean() < 6
