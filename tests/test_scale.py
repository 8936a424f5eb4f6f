"""Audits on Ray (docs/scale.md), with a real local Ray: ``ashiwatch batch`` (reports equal
to ``ashiwatch audit``'s, bad inputs one line each, reruns skip what is done) and
``ashiwatch serve --jobs ray`` (a killed worker is replaced and the job reported once; a
killed server resumes its job)."""

from __future__ import annotations

import json
import os
import secrets
import signal
import sqlite3
import subprocess
import time
from pathlib import Path

import onnxruntime as ort

from tests.test_service import (CLI, ROOT, SESSION, Server, add_user, free_port, upload,
                                wait_job)

DEMO = ROOT / "samples" / "demo" / "demo.mp4"
DEMO_STUDIO = ROOT / "samples" / "demo" / "studio.yaml"


def cli(*args: str, timeout: float = 600, env: dict | None = None
        ) -> subprocess.CompletedProcess:
    return subprocess.run([*CLI, *args], capture_output=True, text=True, cwd=ROOT,
                          timeout=timeout, env=env)


def ray_processes() -> list[tuple[int, str]]:
    """(pid, command line) of this machine's Ray worker processes ("ray::…")."""
    out = []
    for p in Path("/proc").iterdir():
        if p.name.isdigit():
            try:
                cmd = (p / "cmdline").read_bytes().replace(b"\0", b" ").decode().strip()
            except OSError:
                continue
            if cmd.startswith("ray::"):
                out.append((int(p.name), cmd))
    return out


def long_track() -> tuple[bytes, int]:
    """The bundled session five times over, time running on: (file, frames)."""
    lines = SESSION.read_text().splitlines()
    header, frames = lines[0], [json.loads(x) for x in lines[1:] if x.strip()]
    period = frames[-1]["t"] + 0.04
    body = [json.dumps({**f, "t": round(f["t"] + k * period, 3)})
            for k in range(5) for f in frames]
    return ("\n".join([header, *body]) + "\n").encode(), 5 * len(frames)


def test_batch_reports_equal_audit_bad_inputs_one_line_rerun_skips(tmp_path):
    bad = tmp_path / "broken.jsonl"
    bad.write_text('{"pose_track": 1, "fps": Infinity, "width": 640, "height": 480}\n')
    missing = tmp_path / "gone.mp4"
    out = tmp_path / "reports"
    inputs = [str(SESSION), str(DEMO), str(bad), str(missing)]
    r = cli("batch", *inputs, "--out", str(out), "--studio", str(DEMO_STUDIO), "--workers", "2")
    assert r.returncode == 1, r.stderr
    errors = [x for x in r.stderr.splitlines() if x.startswith("ashiwatch: error:")]
    assert len(errors) == 2 and "Traceback" not in r.stderr, r.stderr
    assert any(str(bad) in x and "Infinity" in x for x in errors), errors
    assert any(str(missing) in x and "no such file" in x for x in errors), errors
    assert "2 report(s)" in r.stderr and "video s per wall s" in r.stderr
    assert sorted(p.name for p in out.iterdir()) == ["demo.html", "demo.json", "session.html",
                                                     "session.json"]
    # each report is what `ashiwatch audit` writes for the same input
    for name, src in (("session", SESSION), ("demo", DEMO)):
        ref = tmp_path / f"audit-{name}.json"
        a = cli("audit", str(src), "--studio", str(DEMO_STUDIO), "--out", str(ref))
        assert a.returncode == 0, a.stderr
        assert (out / f"{name}.json").read_bytes() == ref.read_bytes(), name
    page = (out / "demo.html").read_text()
    assert "ashiwatch audit: demo.mp4" in page and page.count("data:image/jpeg;base64") >= 5
    before = {p.name: p.stat().st_mtime_ns for p in out.iterdir()}

    # a rerun skips what is done and tries the rest again
    r2 = cli("batch", *inputs, "--out", str(out), "--studio", str(DEMO_STUDIO))
    assert r2.returncode == 1
    assert f"{SESSION}: report done already" in r2.stdout
    assert f"{DEMO}: report done already" in r2.stdout
    assert {p.name: p.stat().st_mtime_ns for p in out.iterdir()} == before


def test_batch_refuses_clashing_names_and_a_missing_gpu_in_one_line(tmp_path):
    other = tmp_path / "session.jsonl"
    other.write_bytes(SESSION.read_bytes())
    r = cli("batch", str(SESSION), str(other), "--out", str(tmp_path / "o"))
    assert r.returncode == 2 and r.stderr.count("\n") == 1 and "session" in r.stderr
    r = cli("batch", str(SESSION), "--out", str(tmp_path / "o"), "--device", "cuda")
    if "CUDAExecutionProvider" in ort.get_available_providers():
        assert r.returncode == 0, r.stderr      # a GPU machine: it runs there
    else:
        assert r.returncode == 2 and r.stderr.count("\n") == 1, r.stderr
        assert "no CUDA provider" in r.stderr and "scripts/setup --gpu" in r.stderr


def _running(c, job_id: str, above: float, deadline_s: float = 120) -> dict:
    deadline = time.monotonic() + deadline_s
    while True:
        j = c.get(f"/audits/{job_id}").json()
        if j["status"] == "running" and j["progress"] > above:
            return j
        assert j["status"] in ("queued", "running") and time.monotonic() < deadline, j
        time.sleep(0.05)


def _report_without_source(rep: dict) -> dict:
    return {k: v for k, v in rep.items() if k != "source"}


def test_serve_jobs_ray_a_killed_worker_is_replaced_and_the_job_reported_once(tmp_path):
    data = tmp_path / "data"
    token = add_user(data, "a", "auditor")
    body, n = long_track()
    track = tmp_path / "long.jsonl"
    track.write_bytes(body)
    srv = Server(data, "--jobs", "ray").start()
    try:
        with srv.client(token) as c:
            job = upload(c, body, "long.jsonl").json()
            _running(c, job["id"], 5)
            workers = [pid for pid, cmd in ray_processes()
                       if cmd.startswith(f"ray::audit-{job['id'][:8]}")]
            assert len(workers) == 1, ray_processes()
            os.kill(workers[0], signal.SIGKILL)
            done = wait_job(c, job["id"], timeout=240)
        assert done["status"] == "done" and done["error"] is None, done
        assert done["report"]["frames"] == n
        with sqlite3.connect(data / "ashiwatch.db") as db:
            assert db.execute("select attempts from job").fetchone() == (1,)
        # the same report as an audit that no one killed
        ref = tmp_path / "ref.json"
        a = cli("audit", str(track), "--out", str(ref))
        assert a.returncode == 0, a.stderr
        assert _report_without_source(done["report"]) == \
            _report_without_source(json.loads(ref.read_text()))
        assert "Traceback" not in srv.log_text()
    finally:
        srv.stop()


def test_serve_jobs_ray_resumes_after_a_killed_server(tmp_path):
    data = tmp_path / "data"
    token = add_user(data, "a", "auditor")
    body, n = long_track()
    srv = Server(data, "--jobs", "ray").start()
    try:
        with srv.client(token) as c:
            job = upload(c, body, "long.jsonl").json()
            _running(c, job["id"], 5)
        srv.kill()
        # the local Ray and the job's worker go with the service
        deadline = time.monotonic() + 30
        while any(cmd.startswith(f"ray::audit-{job['id'][:8]}") for _, cmd in ray_processes()):
            assert time.monotonic() < deadline, ray_processes()
            time.sleep(0.2)
        srv = Server(data, "--jobs", "ray").start()
        with srv.client(token) as c:
            done = wait_job(c, job["id"], timeout=240)
        assert done["status"] == "done", done
        assert done["report"]["frames"] == n
        with sqlite3.connect(data / "ashiwatch.db") as db:
            assert db.execute("select count(*), max(attempts) from job").fetchone() == (1, 2)
        # DELETE of a running job stops its Ray task too
        with srv.client(token) as c:
            job2 = upload(c, body, "again.jsonl").json()
            _running(c, job2["id"], 5)
            assert c.delete(f"/audits/{job2['id']}").status_code == 204
        deadline = time.monotonic() + 15
        while any(cmd.startswith(f"ray::audit-{job2['id'][:8]}") for _, cmd in ray_processes()):
            assert time.monotonic() < deadline, ray_processes()
            time.sleep(0.2)
    finally:
        srv.stop()


def test_batch_joins_a_running_cluster_by_address(tmp_path):
    """``--address``: a Ray head started apart (``ray start --head``), as on a cluster."""
    port = free_port()
    ray_bin = Path(CLI[0]).with_name("ray")
    # as on a cluster: one shared token on the head and every driver (Ray's token auth)
    env = {**os.environ, "RAY_USAGE_STATS_ENABLED": "0", "RAY_AUTH_MODE": "token",
           "RAY_AUTH_TOKEN": secrets.token_hex(32)}
    head = subprocess.Popen([str(ray_bin), "start", "--head", f"--port={port}", "--num-cpus=1",
                             "--include-dashboard=false", "--disable-usage-stats", "--block"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT, env=env,
                            start_new_session=True)
    try:
        out = tmp_path / "o"
        deadline = time.monotonic() + 60
        while True:   # the head takes a few seconds to listen
            r = cli("batch", str(SESSION), "--out", str(out), "--address", f"127.0.0.1:{port}",
                    env=env)
            if r.returncode == 0 or time.monotonic() > deadline:
                break
            time.sleep(2)
        assert r.returncode == 0, r.stderr
        assert f"the Ray cluster at 127.0.0.1:{port}" in r.stderr
        ref = tmp_path / "ref.json"
        assert cli("audit", str(SESSION), "--out", str(ref)).returncode == 0
        assert (out / "session.json").read_bytes() == ref.read_bytes()
    finally:
        os.killpg(head.pid, signal.SIGTERM)
        try:
            head.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(head.pid, signal.SIGKILL)
            head.wait(timeout=10)
