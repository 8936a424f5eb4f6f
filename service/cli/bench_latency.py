"""``ashiwatch bench-latency``: how long an alert takes from its frame to a feed client.

Starts the real server (a subprocess on 127.0.0.1, a fresh data folder), adds a camera per
source, and listens to its feed over Server-Sent Events and a WebSocket at once. Each alert
and step event carries ``frame_wall_time``, the Unix time its frame was read by the camera's
reader (a video) or handed to the worker (a pose track); the latency of an event is the time
it arrives at the client minus that. Same machine, same clock. A benchmark, not a test."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Optional

import typer

from service.errors import fail

ROOT = Path(__file__).resolve().parents[2]
GOAL_MS = 150.0


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def percentile(values: list[float], q: float) -> float:
    import numpy as np
    return float(np.percentile(np.asarray(values), q)) if values else float("nan")


class _Listener:
    """One feed client (SSE or WebSocket) recording (event, arrival wall time)."""

    def __init__(self, url: str, port: int, token: str, cam: int, how: str) -> None:
        self.got: list[tuple[dict, float]] = []
        self.error: str | None = None
        self.done = threading.Event()
        self.ready = threading.Event()
        target = self._sse if how == "sse" else self._ws
        self.thread = threading.Thread(target=target, args=(url, port, token, cam), daemon=True)
        self.thread.start()

    def _sse(self, url, port, token, cam) -> None:
        import httpx
        try:
            with httpx.Client(base_url=url, timeout=None,
                              headers={"Authorization": f"Bearer {token}"}) as c, \
                    c.stream("GET", f"/cameras/{cam}/events") as r:
                self.ready.set()
                data = None
                for line in r.iter_lines():
                    if line.startswith("data:"):
                        data = line[5:].strip()
                    elif line == "" and data is not None:
                        self._add(json.loads(data))
                        data = None
                        if self.done.is_set():
                            return
        except Exception as e:
            self.error = f"SSE: {e}"
        finally:
            self.ready.set()

    def _ws(self, url, port, token, cam) -> None:
        from websockets.sync.client import connect
        try:
            with connect(f"ws://127.0.0.1:{port}/cameras/{cam}/ws?token={token}",
                         open_timeout=30) as ws:
                self.ready.set()
                while not self.done.is_set():
                    try:
                        msg = ws.recv(timeout=0.5)
                    except TimeoutError:
                        continue
                    self._add(json.loads(msg))
        except Exception as e:
            self.error = f"WebSocket: {e}"
        finally:
            self.ready.set()

    def _add(self, ev: dict) -> None:
        self.got.append((ev, time.time()))
        if ev["type"] == "camera_offline":
            self.done.set()


def _measure(url: str, port: int, token: str, name: str, body: dict, seconds: float,
             echo) -> dict:
    import httpx
    headers = {"Authorization": f"Bearer {token}"}
    r = httpx.post(url + "/cameras", json=body, headers=headers, timeout=60)
    if r.status_code != 201:
        raise fail(f"{name}: the server refused the camera ({r.status_code}: {r.text})")
    cam = r.json()["id"]
    listeners = [_Listener(url, port, token, cam, how) for how in ("sse", "ws")]
    for li in listeners:
        li.ready.wait(30)
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline and not all(li.done.is_set() for li in listeners):
        time.sleep(0.1)
    stats = httpx.get(f"{url}/cameras/{cam}", headers=headers, timeout=30).json()
    httpx.delete(f"{url}/cameras/{cam}", headers=headers, timeout=30)
    for li in listeners:
        li.done.set()
        li.thread.join(timeout=5)
    out: dict = {"source": name, "frames_read": stats["frames_read"],
                 "frames_processed": stats["frames_processed"],
                 "frames_dropped": stats["frames_dropped"]}
    for li, how in zip(listeners, ("sse", "ws")):
        if li.error:
            echo(f"  {how}: {li.error}")
        for kinds, label in ((("alert_start", "alert_end"), "alerts"), (("step",), "steps")):
            lat = [(arrived - ev["frame_wall_time"]) * 1e3 for ev, arrived in li.got
                   if ev["type"] in kinds and ev.get("frame_wall_time") is not None]
            # the server's share: frame read -> event stored (the rest is delivery)
            srv = [(ev["wall_time"] - ev["frame_wall_time"]) * 1e3 for ev, _ in li.got
                   if ev["type"] in kinds and ev.get("frame_wall_time") is not None]
            out[f"{how}_{label}"] = {"n": len(lat), "p50_ms": percentile(lat, 50),
                                     "p95_ms": percentile(lat, 95),
                                     "max_ms": max(lat) if lat else float("nan"),
                                     "stored_p50_ms": percentile(srv, 50),
                                     "stored_p95_ms": percentile(srv, 95)}
    return out


def register(app: typer.Typer) -> None:
    @app.command("bench-latency")
    def bench_latency(
        track: Path = typer.Option(ROOT / "samples" / "session.jsonl",
                                   help="pose track replayed in real time"),
        studio: Path = typer.Option(ROOT / "samples" / "studio.yaml",
                                    help="studio file of the pose track"),
        video: Optional[Path] = typer.Option(
            None, help="video played at its own pace through the pose engine (default: "
                       "the Pose2Sim two-person clips, 1280x720, 30 fps, 13 s)"),
        seconds: float = typer.Option(30.0, help="longest time per source, s"),
        no_video: bool = typer.Option(False, help="only the pose-track replay"),
        json_out: Optional[Path] = typer.Option(None, "--json", help="also write figures here"),
    ) -> None:
        """Frame-to-client latency of alerts (and step events): p50 and p95, over SSE and
        WebSocket, for a replayed pose track and a video through the pose engine."""
        import httpx

        from service.api.db import Database
        from service.api.security import Role, create_user
        for p in (track, studio) + ((video,) if video else ()):
            if not p.is_file():
                raise fail(f"{p}: no such file")
        with tempfile.TemporaryDirectory(prefix="ashiwatch-bench-") as tmp:
            if video is None and not no_video:
                from service.cli.bench_engine import two_person_clip
                video = two_person_clip(Path(tmp) / "two_people_1280x720.mp4", 100)
            data = Path(tmp) / "data"
            data.mkdir()
            db = Database(data / "ashiwatch.db")
            _, token = create_user(db, "bench", Role("admin"))
            db.dispose()
            port = _free_port()
            url = f"http://127.0.0.1:{port}"
            log = open(Path(tmp) / "server.log", "wb")
            proc = subprocess.Popen(
                [sys.executable, "-c", "from service.cli import app; app()", "serve",
                 "--data", str(data), "--port", str(port)],
                cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, env=dict(os.environ))
            try:
                deadline = time.monotonic() + 60
                while True:
                    if proc.poll() is not None or time.monotonic() > deadline:
                        raise fail("the server did not start: "
                                   + (Path(tmp) / "server.log").read_text()[-500:])
                    try:
                        if httpx.get(url + "/health", timeout=1).status_code == 200:
                            break
                    except httpx.TransportError:
                        time.sleep(0.1)
                runs = [("pose track " + track.name,
                         {"name": "track", "source": str(track.resolve()),
                          "studio": str(studio.resolve()), "speed": 1.0})]
                if not no_video:
                    runs.append(("video " + video.name + " (pose engine)",
                                 {"name": "video", "source": str(video.resolve()),
                                  "speed": 1.0}))
                results = []
                for name, body in runs:
                    typer.echo(f"{name}: up to {seconds:g} s ...")
                    results.append(_measure(url, port, token, name, body, seconds, typer.echo))
            finally:
                proc.terminate()
                try:
                    proc.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    proc.kill()
                log.close()
        typer.echo(f"\nlatency, frame read -> event at the client (goal: {GOAL_MS:g} ms); "
                   f"stored: frame read -> event stored by the server")
        try:
            typer.echo(f"load average (1, 5, 15 min): {os.getloadavg()}, "
                       f"{os.cpu_count()} cores")
        except OSError:
            pass
        typer.echo(f"{'source':<44} {'feed':<5} {'events':<7} {'n':>4} {'p50 ms':>8} "
                   f"{'p95 ms':>8} {'max ms':>8} {'stored p50':>10} {'stored p95':>10}")
        for r in results:
            for how in ("sse", "ws"):
                for label in ("alerts", "steps"):
                    f = r[f"{how}_{label}"]
                    typer.echo(f"{r['source'][:44]:<44} {how:<5} {label:<7} {f['n']:>4} "
                               f"{f['p50_ms']:>8.1f} {f['p95_ms']:>8.1f} {f['max_ms']:>8.1f} "
                               f"{f['stored_p50_ms']:>10.1f} {f['stored_p95_ms']:>10.1f}")
            typer.echo(f"{'':<44} frames read {r['frames_read']}, processed "
                       f"{r['frames_processed']}, dropped {r['frames_dropped']}")
        if json_out:
            json_out.write_text(json.dumps(results, indent=1))
