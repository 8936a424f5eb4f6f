"""Hostile input cannot stall, crash or leak the service: no secret in logs or in the database,
a private data folder, ids never reused, and deleted cameras and users take their open feeds
with them. Against a real server (a subprocess on loopback, a real SQLite file)."""

from __future__ import annotations

import base64
import http.server
import json
import os
import sqlite3
import stat
import threading
import time
from pathlib import Path

import httpx
import pytest

from tests.test_service import SESSION, STUDIO, Server, add_user, iter_sse, read_sse

PASSWORD = "s3cret-pw"


@pytest.fixture(scope="module")
def env(tmp_path_factory):
    """A server started with umask 0 on a data folder an older version made world-readable:
    what it writes must be private anyway."""
    data = tmp_path_factory.mktemp("life") / "data"
    (data / "snapshots" / "audits" / "old").mkdir(parents=True)
    (data / "snapshots" / "audits" / "old" / "alert-00.jpg").write_bytes(b"\xff\xd8")
    for p in (data, data / "snapshots", data / "snapshots" / "audits",
              data / "snapshots" / "audits" / "old"):
        os.chmod(p, 0o777)
    os.chmod(data / "snapshots" / "audits" / "old" / "alert-00.jpg", 0o666)
    old = os.umask(0)
    try:
        tokens = {role: add_user(data, f"{role}-1", role) for role in ("admin", "viewer")}
        srv = Server(data).start()
    finally:
        os.umask(old)
    yield srv, tokens
    srv.stop()


def whole_log(srv: Server) -> str:
    return Path(srv.log.name).read_text(errors="replace")


def add_track_camera(srv: Server, token: str, **kw) -> int:
    with srv.client(token) as admin:
        r = admin.post("/cameras", json={"name": "t", "source": str(SESSION),
                                         "studio": str(STUDIO), **kw})
    assert r.status_code == 201, r.text
    return r.json()["id"]


# -- 1. no token in any log line ---------------------------------------------------------------

def test_no_token_in_any_log_line(env):
    from websockets.sync.client import connect
    srv, tok = env
    cam = add_track_camera(srv, tok["admin"], speed=20)
    token = tok["viewer"]
    with connect(f"ws://127.0.0.1:{srv.port}/cameras/{cam}/ws?token={token}&last_event_id=0",
                 open_timeout=10) as ws:
        assert json.loads(ws.recv(timeout=10))["camera_id"] == cam
    with httpx.stream("GET", f"{srv.url}/cameras/{cam}/events?token={token}", timeout=30) as r:
        assert r.status_code == 200 and read_sse(r, stop_after=1)
    with httpx.stream("GET", f"{srv.url}/cameras/{cam}/live.mjpg?token={token}&fps=2",
                      timeout=30) as r:
        assert r.status_code == 200 and next(r.iter_bytes())
    # a wrong token is not written either
    bad = "aw_" + "x" * 43
    assert httpx.get(f"{srv.url}/cameras/{cam}/events?token={bad}").status_code == 401
    time.sleep(0.5)
    log = whole_log(srv)
    assert "WebSocket /cameras/" in log and "token=***" in log, log[-2000:]
    for secret in (token, bad, tok["admin"]):
        assert secret not in log


# -- 2. a private data folder --------------------------------------------------------------

def test_the_data_folder_is_private_whatever_the_umask(env):
    srv, tok = env
    with srv.client(tok["admin"]) as c:
        lines = SESSION.read_bytes().splitlines(keepends=True)[:261]   # alerts in 10 s
        r = c.post("/audits", files={"file": ("s.jsonl", b"".join(lines))},
                   data={"studio": STUDIO.read_text(), "keep": "true", "annotate": "true"})
        assert r.status_code == 202, r.text
        job = r.json()["id"]
        deadline = time.monotonic() + 120
        while c.get(f"/audits/{job}").json()["status"] not in ("done", "failed"):
            assert time.monotonic() < deadline
            time.sleep(0.1)
        assert c.get(f"/audits/{job}").json()["status"] == "done"
        cam = add_track_camera(srv, tok["admin"], speed=20)      # alert snapshots
        with c.stream("GET", f"/cameras/{cam}/events") as resp:
            read_sse(resp)
        assert c.post("/cameras", json={"name": "p", "source": f"rtsp://u:{PASSWORD}@"
                                        "127.0.0.1:9/x"}).status_code == 201   # secrets.json
    old = os.umask(0)
    try:
        add_user(srv.data, "late", "viewer")
    finally:
        os.umask(old)
    time.sleep(1.0)     # the last snapshot is written just after its event
    data = srv.data
    seen = {p.relative_to(data).as_posix() for p in data.rglob("*")}
    assert {"ashiwatch.db", "ashiwatch.db-wal", "secrets.json", f"uploads/{job}.track",
            f"videos/{job}.mp4"} <= seen, seen
    assert any(s.startswith(f"snapshots/audits/{job}/alert-") for s in seen), seen
    assert any(s.startswith(f"snapshots/cameras/{cam}/") for s in seen), seen
    assert stat.S_IMODE(data.stat().st_mode) == 0o700
    for p in data.rglob("*"):
        mode = stat.S_IMODE(p.lstat().st_mode)
        assert mode == (0o700 if p.is_dir() else 0o600), (p, oct(mode))


# -- 3. stream passwords ----------------------------------------------------------------------

class AuthRecorder:
    """An HTTP 'camera' that asks for Basic auth and records what it is sent (and never
    answers with a picture: the camera stays offline)."""

    def __init__(self) -> None:
        self.auth: list[str] = []
        rec = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                got = self.headers.get("Authorization")
                if got:
                    rec.auth.append(got)
                self.send_response(401)
                self.send_header("WWW-Authenticate", 'Basic realm="cam"')
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def passwords(self) -> set[str]:
        return {base64.b64decode(a.split()[1]).decode().split(":", 1)[1] for a in self.auth
                if a.startswith("Basic ")}

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def _no_password_on_disk(data: Path, log: str) -> None:
    for f in data.rglob("*"):
        if f.is_file() and f.name != "secrets.json":
            assert PASSWORD.encode() not in f.read_bytes(), f
    assert PASSWORD not in log


def test_stream_passwords_stay_out_of_the_database_answers_events_and_logs(env):
    srv, tok = env
    rec = AuthRecorder()
    try:
        sources = [f"rtsp://user:{PASSWORD}@127.0.0.1:9/x",
                   f"http://user:{PASSWORD}@127.0.0.1:{rec.port}/stream.mjpg"]
        with srv.client(tok["admin"]) as admin:
            cams = []
            for src in sources:
                r = admin.post("/cameras", json={"name": "secret", "source": src})
                assert r.status_code == 201 and PASSWORD not in r.text, r.text
                assert r.json()["source"] == src.replace(PASSWORD, "***")
                cams.append(r.json()["id"])
            for cam in cams:       # each goes offline, saying so without the password
                with admin.stream("GET", f"/cameras/{cam}/events") as resp:
                    events = read_sse(resp)
                assert events[-1]["type"] == "camera_offline"
                assert "user:***@127.0.0.1" in events[-1]["detail"], events
                assert PASSWORD not in json.dumps(events)
            listed = admin.get("/cameras")
            assert PASSWORD not in listed.text and listed.text.count("user:***@") >= 2
            assert PASSWORD not in admin.get(f"/cameras/{cams[0]}").text
            r = admin.post("/cameras", json={"name": "x", "source": f"gopher://u:{PASSWORD}@h/"})
            assert r.status_code == 422 and PASSWORD not in r.text
        # the worker connects with the real password (kept in the secrets file)
        deadline = time.monotonic() + 20
        while PASSWORD not in rec.passwords():
            assert time.monotonic() < deadline, rec.auth
            time.sleep(0.1)
        secrets = srv.data / "secrets.json"
        assert stat.S_IMODE(secrets.stat().st_mode) == 0o600
        kept = json.loads(secrets.read_text())
        assert [kept[str(c)] for c in cams] == sources
        with sqlite3.connect(srv.data / "ashiwatch.db") as db:
            stored = dict(db.execute("select id, source from camera"))
        assert [stored[c] for c in cams] == [s.replace(PASSWORD, "***") for s in sources]
        _no_password_on_disk(srv.data, whole_log(srv))
        # deleting the camera deletes its secret
        with srv.client(tok["admin"]) as admin:
            for cam in cams:
                assert admin.delete(f"/cameras/{cam}").status_code == 204
        assert not set(map(str, cams)) & set(json.loads(secrets.read_text()))
    finally:
        rec.close()


# -- 4. ids are never reused -------------------------------------------------------------------

def test_ids_of_deleted_cameras_and_users_are_never_reused(env):
    srv, tok = env
    with srv.client(tok["admin"]) as admin:
        a = add_track_camera(srv, tok["admin"], speed=20)
        assert admin.delete(f"/cameras/{a}").status_code == 204
        b = add_track_camera(srv, tok["admin"], speed=20)
        assert b > a
        assert admin.delete(f"/cameras/{b}").status_code == 204
        u = admin.post("/users", json={"name": "once", "role": "viewer"}).json()["id"]
        assert admin.delete(f"/users/{u}").status_code == 204
        v = admin.post("/users", json={"name": "twice", "role": "viewer"}).json()["id"]
        assert v > u
        assert admin.delete(f"/users/{v}").status_code == 204


OLD_SCHEMA = """
CREATE TABLE user (id INTEGER NOT NULL, name VARCHAR NOT NULL, role VARCHAR NOT NULL,
    token_hash VARCHAR NOT NULL, created FLOAT NOT NULL, PRIMARY KEY (id));
CREATE UNIQUE INDEX ix_user_name ON user (name);
CREATE UNIQUE INDEX ix_user_token_hash ON user (token_hash);
CREATE TABLE camera (id INTEGER NOT NULL, name VARCHAR NOT NULL, source VARCHAR NOT NULL,
    studio VARCHAR, speed FLOAT NOT NULL, loop BOOLEAN NOT NULL, created FLOAT NOT NULL,
    PRIMARY KEY (id));
"""


def test_an_older_data_folder_is_migrated_at_start(tmp_path):
    """Tables without AUTOINCREMENT get it, a password stored in clear moves to the secrets
    file and leaves no trace in the database file, loose modes are tightened."""
    from service.api.security import hash_token, new_token
    data = tmp_path / "data"
    data.mkdir(mode=0o755)
    os.chmod(data, 0o755)
    token = new_token()
    db = data / "ashiwatch.db"
    with sqlite3.connect(db) as con:
        con.execute("PRAGMA journal_mode=WAL")
        con.executescript(OLD_SCHEMA)
        con.execute("insert into user values (1, 'ann', 'admin', ?, 0)", (hash_token(token),))
        con.execute("insert into camera values (1, 'c', ?, null, 1, 0, 0)",
                    (f"rtsp://user:{PASSWORD}@127.0.0.1:9/x",))
        con.execute("insert into camera values (2, 'd', ?, null, 1, 0, 0)", (str(SESSION),))
    os.chmod(db, 0o644)
    srv = Server(data).start()
    try:
        with srv.client(token) as admin:
            listed = {c["id"]: c["source"] for c in admin.get("/cameras").json()}
            assert listed == {1: "rtsp://user:***@127.0.0.1:9/x", 2: str(SESSION)}
            assert admin.delete("/cameras/2").status_code == 204     # the newest one
            r = admin.post("/cameras", json={"name": "e", "source": str(SESSION)})
            assert r.json()["id"] == 3
        assert json.loads((data / "secrets.json").read_text()) == {
            "1": f"rtsp://user:{PASSWORD}@127.0.0.1:9/x"}
        _no_password_on_disk(data, whole_log(srv))
        assert stat.S_IMODE(data.stat().st_mode) == 0o700
        assert stat.S_IMODE(db.stat().st_mode) == 0o600
        with sqlite3.connect(db) as con:
            schema = dict(con.execute("select name, sql from sqlite_master where type='table'"))
            names = [n for (n,) in con.execute("select name from user")]
        assert "AUTOINCREMENT" in schema["user"] and "AUTOINCREMENT" in schema["camera"]
        assert names == ["ann"] and not any(n.startswith("_new_") for n in schema)
    finally:
        srv.stop()


# -- 5. deleting a camera or a user ends its open feeds ------------------------------------------

class Feeds:
    """An SSE, a WebSocket and a live view of one camera, each read on its own thread until it
    ends; when and how each ended."""

    def __init__(self, srv: Server, cam: int, token: str) -> None:
        self.ended: dict[str, float] = {}
        self.how: dict[str, object] = {}
        self.events: dict[str, list[dict]] = {"sse": [], "ws": []}
        self.threads = [threading.Thread(target=f, args=(srv, cam, token), daemon=True)
                        for f in (self._sse, self._ws, self._mjpeg)]
        self.started = {k: threading.Event() for k in ("sse", "ws", "mjpeg")}
        for t in self.threads:
            t.start()
        for k, ev in self.started.items():
            assert ev.wait(30), f"{k} did not start"

    def _end(self, kind: str, how) -> None:
        self.how[kind] = how
        self.ended[kind] = time.monotonic()
        self.started[kind].set()

    def _sse(self, srv, cam, token) -> None:
        try:
            with httpx.stream("GET", f"{srv.url}/cameras/{cam}/events?token={token}",
                              timeout=30) as r:
                for ev in iter_sse(r):
                    self.events["sse"].append(ev)
                    self.started["sse"].set()
            self._end("sse", "ended")
        except Exception as e:
            self._end("sse", e)

    def _ws(self, srv, cam, token) -> None:
        from websockets.exceptions import ConnectionClosed
        from websockets.sync.client import connect
        try:
            with connect(f"ws://127.0.0.1:{srv.port}/cameras/{cam}/ws?token={token}",
                         open_timeout=30) as ws:
                while True:
                    self.events["ws"].append(json.loads(ws.recv(timeout=30)))
                    self.started["ws"].set()
        except ConnectionClosed as e:
            self._end("ws", (e.rcvd.code, e.rcvd.reason) if e.rcvd else e)
        except Exception as e:
            self._end("ws", e)

    def _mjpeg(self, srv, cam, token) -> None:
        try:
            with httpx.stream("GET", f"{srv.url}/cameras/{cam}/live.mjpg?token={token}&fps=4",
                              timeout=30) as r:
                for _ in r.iter_bytes():
                    self.started["mjpeg"].set()
            self._end("mjpeg", "ended")
        except Exception as e:
            self._end("mjpeg", e)

    def join(self, since: float, within: float = 5.0) -> dict[str, float]:
        for t in self.threads:
            t.join(timeout=within + 5)
        assert set(self.ended) == {"sse", "ws", "mjpeg"}, self.how
        took = {k: v - since for k, v in self.ended.items()}
        assert all(t < within for t in took.values()), took
        return took


def test_deleting_a_camera_ends_its_feeds_at_once(env):
    srv, tok = env
    cam = add_track_camera(srv, tok["admin"], speed=1, loop=True)   # it never ends by itself
    feeds = Feeds(srv, cam, tok["viewer"])
    time.sleep(0.5)
    with srv.client(tok["admin"]) as admin:
        t0 = time.monotonic()
        assert admin.delete(f"/cameras/{cam}").status_code == 204
        later = add_track_camera(srv, tok["admin"], speed=20)
    feeds.join(t0)
    assert feeds.how["sse"] == feeds.how["mjpeg"] == "ended"
    assert feeds.how["ws"] == (1008, f"camera {cam} was deleted")
    assert feeds.events["sse"] and feeds.events["ws"]
    assert all(e["camera_id"] == cam for k in ("sse", "ws") for e in feeds.events[k])
    # a feed of a deleted camera cannot be opened again
    with srv.client(tok["viewer"]) as c:
        assert c.get(f"/cameras/{cam}/events").status_code == 404
    with srv.client(tok["admin"]) as admin:
        assert admin.delete(f"/cameras/{later}").status_code == 204


def test_deleting_a_user_ends_its_feeds_at_once(env):
    srv, tok = env
    cam = add_track_camera(srv, tok["admin"], speed=1, loop=True)
    with srv.client(tok["admin"]) as admin:
        gone = admin.post("/users", json={"name": "leaver", "role": "viewer"}).json()
        feeds = Feeds(srv, cam, gone["token"])
        others = Feeds(srv, cam, tok["viewer"])        # another user's feeds go on
        time.sleep(0.5)
        t0 = time.monotonic()
        assert admin.delete(f"/users/{gone['id']}").status_code == 204
        feeds.join(t0)
        assert feeds.how["ws"] == (1008, "your account was deleted")
        assert feeds.how["sse"] == feeds.how["mjpeg"] == "ended"
        time.sleep(1.0)
        assert not others.ended, others.how
        t0 = time.monotonic()
        assert admin.delete(f"/cameras/{cam}").status_code == 204
        others.join(t0)
