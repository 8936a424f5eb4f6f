"""Live cameras through the pose engine, against a real server: a network camera (a real MJPEG
HTTP server on loopback, read through OpenCV's FFmpeg) that goes away, freezes and comes back."""

from __future__ import annotations

import os
import time

import cv2
import pytest

from samples.registry import pose2sim_video
from tests.mjpeg_server import MjpegCamera
from tests.test_service import Server, add_user, free_port, iter_sse, read_sse

STALL_S = 2.0      # the server's "no frame for N s" (ASHIWATCH_CAMERA_TIMEOUT_MS)


@pytest.fixture(scope="module")
def frames():
    """Two people in 30 frames of the Pose2Sim footage, at a quarter size (cheap to serve)."""
    cap = cv2.VideoCapture(str(pose2sim_video("MultiPerson", 1)))
    out = []
    for _ in range(30):
        ok, f = cap.read()
        assert ok
        out.append(cv2.resize(f, (272, 480)))
    return out


@pytest.fixture(scope="module")
def live(tmp_path_factory):
    data = tmp_path_factory.mktemp("live") / "data"
    tokens = {role: add_user(data, f"{role}-1", role) for role in ("admin", "viewer")}
    old = os.environ.get("ASHIWATCH_CAMERA_TIMEOUT_MS")
    os.environ["ASHIWATCH_CAMERA_TIMEOUT_MS"] = str(int(STALL_S * 1000))
    try:
        srv = Server(data).start()
    finally:
        if old is None:
            os.environ.pop("ASHIWATCH_CAMERA_TIMEOUT_MS")
        else:
            os.environ["ASHIWATCH_CAMERA_TIMEOUT_MS"] = old
    yield srv, tokens
    srv.stop()


def wait_for(fn, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        v = fn()
        if v:
            return v
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def history(srv: Server, token: str, cam: int) -> list[dict]:
    """Every event of the camera so far, over SSE (up to the newest id it reports)."""
    with srv.client(token) as c:
        last = c.get(f"/cameras/{cam}").json()["latest_event_id"]
        got: list[dict] = []
        if last == 0:
            return got
        with c.stream("GET", f"/cameras/{cam}/events") as r:
            for e in iter_sse(r):
                got.append(e)
                if e["id"] >= last:
                    return got
    return got


def test_network_camera_through_the_engine_goes_offline_and_comes_back(live, frames):
    srv, tok = live
    # faster than the engine can follow: frames must be dropped, not queued
    cam_srv = MjpegCamera(frames, fps=120).start()
    try:
        with srv.client(tok["admin"]) as admin:
            r = admin.post("/cameras", json={"name": "ip camera", "source": cam_srv.url})
            assert r.status_code == 201, r.text
            cam = r.json()["id"]
            get = lambda: admin.get(f"/cameras/{cam}").json()       # noqa: E731
            # online, running the pose engine on the newest frames: the two people are seen
            wait_for(lambda: get()["people"] >= 1 and get()["frames_processed"] >= 10, 60,
                     "frames through the engine")
            s = get()
            assert s["online"] and s["frames_dropped"] > 0, s
            assert s["frames_read"] >= s["frames_processed"] + s["frames_dropped"] - 1
            # fewer frames processed than read: the worker keeps up with the newest frame
            assert s["frames_processed"] < s["frames_read"]

            # the camera goes away: its stream ends, then connections are refused
            cam_srv.stop()
            t_stop = time.monotonic()
            wait_for(lambda: not get()["online"], 10, "camera_offline")
            assert time.monotonic() - t_stop < 3
            time.sleep(2.5)                    # retries with back-off meanwhile, quietly
            ev = history(srv, tok["viewer"], cam)
            types = [e["type"] for e in ev]
            assert types[0] == "camera_online" and "live" in ev[0]["detail"]
            assert types.count("camera_offline") == 1 and types[-1] == "camera_offline"
            assert get()["reconnects"] >= 2
            assert srv.proc.poll() is None
            assert admin.get("/cameras").status_code == 200        # the service carries on

            # back on the same port: the worker finds it within the back-off cap
            cam_srv.start()
            t_back = time.monotonic()
            wait_for(lambda: get()["online"], 12, "camera_online again")
            assert time.monotonic() - t_back < 8.5 + 1
            processed = get()["frames_processed"]
            wait_for(lambda: get()["frames_processed"] > processed + 5, 30, "frames again")
            ev = history(srv, tok["viewer"], cam)
            types = [e["type"] for e in ev]
            assert types.count("camera_online") == 2 and types.count("camera_offline") == 1
            # every alert or step event names the frame it came from, read before it was sent
            for e in ev:
                if e["type"] in ("step", "alert_start", "alert_end"):
                    assert e["frame_wall_time"] is not None
                    assert 0 <= e["wall_time"] - e["frame_wall_time"] < 5
            assert admin.delete(f"/cameras/{cam}").status_code == 204
    finally:
        cam_srv.stop()


def test_a_frozen_camera_is_offline_after_the_stall_time(live, frames):
    srv, tok = live
    cam_srv = MjpegCamera(frames, fps=15).start()
    try:
        with srv.client(tok["admin"]) as admin:
            cam = admin.post("/cameras", json={"name": "frozen", "source": cam_srv.url}).json()["id"]
            get = lambda: admin.get(f"/cameras/{cam}").json()       # noqa: E731
            wait_for(lambda: get()["frames_processed"] > 3, 60, "frames")
            cam_srv.frozen.set()               # the connection stays open, nothing comes
            t0 = time.monotonic()
            wait_for(lambda: not get()["online"], STALL_S + 8, "camera_offline")
            assert time.monotonic() - t0 >= STALL_S - 0.5
            off = [e for e in history(srv, tok["viewer"], cam) if e["type"] == "camera_offline"]
            assert len(off) == 1 and off[0]["detail"], off
            cam_srv.frozen.clear()
            wait_for(lambda: get()["online"], 15, "camera_online after the freeze")
            assert admin.delete(f"/cameras/{cam}").status_code == 204
    finally:
        cam_srv.stop()


def test_cameras_that_never_answer_do_not_hurt_the_service(live):
    srv, tok = live
    port = free_port()                      # nothing listens there
    with srv.client(tok["admin"]) as admin:
        r = admin.post("/cameras", json={"name": "x", "source": "ftp://127.0.0.1/cam"})
        assert r.status_code == 422 and "unsupported scheme" in r.json()["detail"]
        ids = []
        for src in (f"http://127.0.0.1:{port}/stream.mjpg", "/dev/video57",
                    f"rtsp://user:secret@127.0.0.1:{port}/live"):
            r = admin.post("/cameras", json={"name": "dead", "source": src})
            assert r.status_code == 201, r.text
            assert "secret" not in r.text                        # passwords are not shown
            ids.append(r.json()["id"])
        for cam in ids:
            wait_for(lambda: history(srv, tok["viewer"], cam), 15, "the offline event")
            ev = history(srv, tok["viewer"], cam)
            assert [e["type"] for e in ev] == ["camera_offline"], ev
            assert "does not answer" in ev[0]["detail"] and "secret" not in ev[0]["detail"]
        time.sleep(1.5)
        for cam in ids:                          # retried, still one offline event each
            assert [e["type"] for e in history(srv, tok["viewer"], cam)] == ["camera_offline"]
            assert admin.get(f"/cameras/{cam}").json()["reconnects"] >= 1
        t0 = time.monotonic()
        for cam in ids:
            assert admin.delete(f"/cameras/{cam}").status_code == 204
        assert time.monotonic() - t0 < 20
        assert srv.proc.poll() is None
        assert not {c["id"] for c in admin.get("/cameras").json()} & set(ids)


def _mjpeg_parts(resp, n: int) -> list[bytes]:
    """The first ``n`` JPEGs of a multipart/x-mixed-replace response."""
    buf, parts = b"", []
    for chunk in resp.iter_bytes():
        buf += chunk
        while True:
            head = buf.find(b"--frame\r\n")
            sep = buf.find(b"\r\n\r\n", head)
            if head < 0 or sep < 0:
                break
            length = int([ln for ln in buf[head:sep].split(b"\r\n")
                          if ln.lower().startswith(b"content-length")][0].split(b":")[1])
            if len(buf) < sep + 4 + length:
                break
            parts.append(buf[sep + 4:sep + 4 + length])
            buf = buf[sep + 4 + length:]
            if len(parts) >= n:
                return parts
    return parts


def test_live_view_draws_the_newest_frame_with_faces_blurred(live, frames):
    """The MJPEG live view of a network camera showing one still picture: the people are
    seen (skeletons drawn), and their faces are blurred."""
    import numpy as np

    from vision.pose.engine import PoseEngine
    from vision.pictures.privacy import face_region
    srv, tok = live
    cap = cv2.VideoCapture(str(pose2sim_video("MultiPerson", 1)))
    big = cv2.resize(cap.read()[1], (544, 960))          # faces large enough to judge
    cam_srv = MjpegCamera([big], fps=10).start()
    # what the server decodes: the camera's JPEG
    still = cv2.imdecode(np.frombuffer(cam_srv.jpegs[0], np.uint8), cv2.IMREAD_COLOR)
    try:
        with srv.client(tok["admin"]) as admin:
            cam = admin.post("/cameras", json={"name": "still", "source": cam_srv.url}).json()["id"]
            wait_for(lambda: admin.get(f"/cameras/{cam}").json()["people"] >= 1, 60, "people")
        url = f"{srv.url}/cameras/{cam}/live.mjpg"
        import httpx
        assert httpx.get(url + "?token=wrong").status_code == 401
        with httpx.Client(timeout=30) as c, \
                c.stream("GET", f"{url}?token={tok['viewer']}&width=544&fps=10") as r:
            assert r.status_code == 200
            assert r.headers["content-type"] == "multipart/x-mixed-replace; boundary=frame"
            parts = _mjpeg_parts(r, 2)
        view = cv2.imdecode(np.frombuffer(parts[-1], np.uint8), cv2.IMREAD_COLOR)
        assert view.shape == still.shape
        assert np.abs(view.astype(int) - still.astype(int)).mean() > 1     # drawn on
        faces = [face_region(p.kp) for p in PoseEngine().process(still, 0.0).frame.people]
        faces = [f for f in faces if f is not None]
        assert faces
        g0 = cv2.cvtColor(still, cv2.COLOR_BGR2GRAY)
        g1 = cv2.cvtColor(view, cv2.COLOR_BGR2GRAY)
        for (cx, cy), rad in faces:
            h = max(int(rad * 0.6), 3)
            a = g0[int(cy) - h:int(cy) + h, int(cx) - h:int(cx) + h]
            b = g1[int(cy) - h:int(cy) + h, int(cx) - h:int(cx) + h]
            assert cv2.Laplacian(b, cv2.CV_64F).var() < 0.35 * cv2.Laplacian(a, cv2.CV_64F).var()
        with srv.client(tok["admin"]) as admin:
            assert admin.delete(f"/cameras/{cam}").status_code == 204
    finally:
        cam_srv.stop()


def test_pose_track_camera_live_view_and_alert_snapshots(live):
    """A replayed pose track has no images: the live view and the snapshots draw its
    skeletons on a dark canvas of the track's size; each alert_start gets a snapshot."""
    import httpx
    import numpy as np

    from tests.test_service import SESSION, STUDIO
    srv, tok = live
    with srv.client(tok["admin"]) as admin:
        r = admin.post("/cameras", json={"name": "replay", "source": str(SESSION),
                                         "studio": str(STUDIO), "speed": 4})
        cam = r.json()["id"]
    with httpx.Client(timeout=30, headers={"Authorization": f"Bearer {tok['viewer']}"}) as c:
        with c.stream("GET", f"{srv.url}/cameras/{cam}/live.mjpg?width=1280&fps=10") as r:
            parts = _mjpeg_parts(r, 3)
        view = cv2.imdecode(np.frombuffer(parts[-1], np.uint8), cv2.IMREAD_COLOR)
        assert view.shape == (720, 1280, 3) and view.mean() < 80 and view.max() > 150
        with c.stream("GET", f"{srv.url}/cameras/{cam}/events") as r:
            events = read_sse(r)
        starts = [e for e in events if e["type"] == "alert_start"]
        assert starts
        folder = srv.data / "snapshots" / "cameras" / str(cam)
        wait_for(lambda: len(list(folder.glob("*.jpg"))) == len(starts), 20, "snapshots")
        for e in starts:
            r = c.get(f"{srv.url}/cameras/{cam}/events/{e['id']}/snapshot")
            assert r.status_code == 200 and r.headers["content-type"] == "image/jpeg"
            img = cv2.imdecode(np.frombuffer(r.content, np.uint8), cv2.IMREAD_COLOR)
            assert img.shape == (720, 1280, 3)
        other = next(e for e in events if e["type"] != "alert_start")
        r = c.get(f"{srv.url}/cameras/{cam}/events/{other['id']}/snapshot")
        assert r.status_code == 404 and "alert_start" in r.json()["detail"]
        # offline now: the live view says so in one frame
        with c.stream("GET", f"{srv.url}/cameras/{cam}/live.mjpg") as r:
            off = cv2.imdecode(np.frombuffer(_mjpeg_parts(r, 1)[0], np.uint8), cv2.IMREAD_COLOR)
        assert off.shape == (360, 640, 3)
    with srv.client(tok["admin"]) as admin:
        assert admin.delete(f"/cameras/{cam}").status_code == 204
    assert not folder.exists()


def test_bench_latency_prints_p50_and_p95(tmp_path):
    """The benchmark runs end to end (briefly: the pose-track replay only)."""
    import subprocess
    import sys

    from tests.test_service import ROOT
    out = tmp_path / "lat.json"
    r = subprocess.run([sys.executable, "-m", "service.cli", "bench-latency", "--no-video",
                        "--seconds", "6", "--json", str(out)],
                       capture_output=True, text=True, cwd=ROOT, timeout=180)
    assert r.returncode == 0, r.stderr
    assert "p50 ms" in r.stdout and "p95 ms" in r.stdout
    import json
    res = json.loads(out.read_text())[0]
    assert res["frames_processed"] > 0
    # steps start early in the bundled session: there are some to time, all under 5 s
    steps = res["sse_steps"]
    assert steps["n"] >= 1 and 0 <= steps["p50_ms"] < 5000
