"""``ashiwatch pose`` as a user runs it: real subprocesses, real files, bad input."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest

from samples.registry import pose2sim_video
from vision.io.posetrack import PoseTrackError, read_pose_track

ASHIWATCH = [sys.executable, "-m", "service.cli"]
ROOT = Path(__file__).resolve().parents[1]


def run(*args, timeout=300):
    env = dict(os.environ, ASHIWATCH_CAMERA_TIMEOUT_MS="2000")
    return subprocess.run([*ASHIWATCH, *map(str, args)], capture_output=True, text=True,
                          timeout=timeout, cwd=ROOT, env=env)


@pytest.fixture(scope="module")
def short_clip(tmp_path_factory) -> Path:
    """30 frames of the two-person footage, halved in size."""
    src = cv2.VideoCapture(str(pose2sim_video("MultiPerson", 1)))
    path = tmp_path_factory.mktemp("clip") / "two_people.mp4"
    w = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), 30.0, (544, 960))
    for _ in range(30):
        ok, f = src.read()
        w.write(cv2.resize(f, (544, 960)))
    w.release()
    return path


def test_pose_on_a_video_writes_a_track_and_an_annotated_video(short_clip, tmp_path):
    out, ann = tmp_path / "t.jsonl", tmp_path / "a.mp4"
    r = run("pose", short_clip, "-o", out, "--annotate", ann, "-q")
    assert r.returncode == 0, r.stderr
    header, frames = read_pose_track(out)
    assert (header.width, header.height, header.fps) == (544, 960, 30.0)
    assert len(frames) == 30
    assert frames[1].t == pytest.approx(1 / 30, abs=1e-4)  # written to 0.1 ms
    assert max(len(f.people) for f in frames) == 2
    for f in frames:
        for p in f.people:
            assert p.kp.shape == (33, 3) and np.all((p.kp[:, 2] >= 0) & (p.kp[:, 2] <= 1))
    cap = cv2.VideoCapture(str(ann))
    assert int(cap.get(cv2.CAP_PROP_FRAME_COUNT)) == 30


def test_pose_on_an_image(tmp_path):
    cap = cv2.VideoCapture(str(pose2sim_video("SinglePerson", 1)))
    ok, frame = cap.read()
    img = tmp_path / "person.png"
    cv2.imwrite(str(img), cv2.rotate(frame, cv2.ROTATE_90_CLOCKWISE))  # lying, seen from above
    out = tmp_path / "t.jsonl"
    r = run("pose", img, "-o", out, "-q")
    assert r.returncode == 0, r.stderr
    header, frames = read_pose_track(out)
    assert len(frames) == 1 and len(frames[0].people) == 1
    assert (header.width, header.height) == (1920, 1080)


def _bad_inputs(tmp: Path) -> dict[str, tuple[str, str]]:
    """name -> (input argument, words the error line must hold)"""
    empty = tmp / "empty.mp4"
    empty.write_bytes(b"")
    corrupt = tmp / "corrupt.mp4"
    corrupt.write_bytes(os.urandom(20000))
    text_png = tmp / "notes.png"
    text_png.write_text("this is not an image\n")
    truncated = tmp / "truncated.mp4"
    truncated.write_bytes(pose2sim_video("MultiPerson", 1).read_bytes()[:3000])
    return {
        "missing": (str(tmp / "nope.mp4"), "no such file"),
        "empty": (str(empty), "empty file"),
        "corrupt": (str(corrupt), "OpenCV can"),
        "wrong type": (str(text_png), "OpenCV cannot read"),
        "truncated": (str(truncated), "OpenCV can"),
        "directory": (str(tmp), "directory"),
        "camera url": ("rtsp://127.0.0.1:9/stream", "camera does not answer"),
    }


@pytest.mark.parametrize("case", ["missing", "empty", "corrupt", "wrong type", "truncated",
                                  "directory", "camera url"])
def test_bad_input_gives_one_clear_line_and_exit_2(case, tmp_path):
    arg, words = _bad_inputs(tmp_path)[case]
    out = tmp_path / "out" / "t.jsonl"
    r = run("pose", arg, "-o", out, "-q", timeout=60)
    assert r.returncode == 2, (r.stdout, r.stderr)
    lines = [ln for ln in r.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and "Traceback" not in r.stderr
    assert lines[0].startswith("ashiwatch: error: ") and arg in lines[0] and words in lines[0]
    assert not out.exists()  # nothing half-written


def test_unknown_model_is_refused(short_clip, tmp_path):
    r = run("pose", short_clip, "-o", tmp_path / "t.jsonl", "--model", "huge")
    assert r.returncode == 2 and "lite, full or heavy" in r.stderr


# --- the pose track file ---------------------------------------------------------------------

def _track(tmp_path: Path, lines: list) -> Path:
    p = tmp_path / "t.jsonl"
    p.write_text("\n".join(x if isinstance(x, str) else json.dumps(x) for x in lines) + "\n")
    return p


HEADER = {"pose_track": 1, "fps": 30.0, "width": 1280, "height": 720, "keypoints": "blazepose33"}


@pytest.mark.parametrize("bad,words", [
    ({"t": 0.0, "people": [{"id": 1, "kp": [[1, 2, 0.9]] * 32}]}, "shape (32, 3)"),
    ({"t": 0.0, "people": [{"id": 1, "kp": [[1, 2]] * 33}]}, "shape (33, 2)"),
    ({"t": 0.0, "people": [{"id": 1, "kp": [["a", 2, 1]] * 33}]}, "not numbers"),
    ({"t": 0.0}, "needs \"t\" and \"people\""),
    ("{not json", "not JSON"),
])
def test_pose_track_with_wrong_content_names_file_and_line(tmp_path, bad, words):
    path = _track(tmp_path, [HEADER, {"t": 0.0, "people": []}, bad])
    with pytest.raises(PoseTrackError) as e:
        read_pose_track(path)
    assert f"{path}:3" in str(e.value) and words in str(e.value)


def test_pose_track_header_is_checked(tmp_path):
    with pytest.raises(PoseTrackError, match="not a pose track v1 header"):
        read_pose_track(_track(tmp_path, [{"hello": 1}]))
    with pytest.raises(PoseTrackError, match="time goes backwards"):
        read_pose_track(_track(tmp_path, [HEADER, {"t": 1.0, "people": []},
                                          {"t": 0.5, "people": []}]))


def test_pose_reads_a_camera_url(short_clip, tmp_path):
    """A network camera: a real HTTP server on loopback streaming MJPEG (multipart JPEG
    frames, as IP cameras do), read through OpenCV's FFmpeg."""
    import http.server
    import threading

    from vision.io.frames import FrameSource

    with FrameSource(short_clip) as src:
        jpegs = [cv2.imencode(".jpg", f)[1].tobytes() for _, f in src]

    class Camera(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            self.send_response(200)
            self.send_header("Content-Type", "multipart/x-mixed-replace; boundary=frame")
            self.end_headers()
            try:
                for jpg in jpegs:
                    self.wfile.write(b"--frame\r\nContent-Type: image/jpeg\r\n"
                                     + f"Content-Length: {len(jpg)}\r\n\r\n".encode()
                                     + jpg + b"\r\n")
            except (BrokenPipeError, ConnectionResetError):
                pass

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Camera)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/stream.mjpg"
        out = tmp_path / "cam.jsonl"
        r = run("pose", url, "-o", out, "-q", "--max-frames", "10")
        assert r.returncode == 0, r.stderr
        header, frames = read_pose_track(out)
        assert len(frames) == 10 and (header.width, header.height) == (544, 960)
        assert all(len(f.people) >= 1 for f in frames[1:])
    finally:
        server.shutdown()
