"""`ashiwatch audit` / `calibrate` end to end, and bad input: one line, exit code 2."""

import json
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest
from typer.testing import CliRunner

from samples.scenarios import ScenarioConfig, write_session
from service.cli import app
from vision.report import Report
from vision.studio import load_studio

ROOT = Path(__file__).resolve().parents[1]
runner = CliRunner()


@pytest.fixture(scope="module")
def session(tmp_path_factory):
    d = tmp_path_factory.mktemp("session")
    truth = write_session(d, "s", ScenarioConfig(seed=7, n_steps=6, fps=25.0, no_hands=1,
                                                 one_hand=0, shifts=0, hidden_steps=1))
    return d, truth


def cli(*args):
    """Run the installed command in a subprocess: what a user sees, tracebacks included."""
    return subprocess.run([sys.executable, "-c", "from service.cli import app; app()", *args],
                          capture_output=True, text=True, cwd=ROOT, timeout=120)


def test_audit_writes_a_report_v1(session, tmp_path):
    d, truth = session
    prof = tmp_path / "client.yaml"
    prof.write_text("name: test\nconditions: [osteoporosis]\n", encoding="utf-8")
    out = tmp_path / "report.json"
    r = runner.invoke(app, ["audit", str(d / "s.jsonl"), "--studio", str(d / "s.studio.yaml"),
                            "--client", str(prof), "--out", str(out)])
    assert r.exit_code == 0, r.output
    doc = json.loads(out.read_text())
    Report.model_validate(doc)
    assert doc["report"] == 1
    assert abs(doc["duration_s"] - truth["duration_s"]) < 0.2
    assert doc["client"]["contraindications"][0]["condition"] == "osteoporosis"
    assert set(doc["summary"]) >= {"verdict", "steps_by_zone", "alerts_by_kind"}
    zones = {s["zone"] for s in doc["steps"]}
    assert zones <= {"spine", "kidney", "ribs", "neck", "sciatic_notch", "popliteal", "safe",
                     "off_body", "unknown"}
    assert len(doc["steps"]) >= len(truth["steps"]) - 1
    for s in doc["steps"]:
        assert s["foot"] in ("left", "right") and s["end_s"] >= s["start_s"]
        assert (s["body_xy_cm"] is None) == (s["zone"] == "unknown")
    kinds = {a["kind"] for a in doc["alerts"]}
    assert "no_hands_on_bars" in kinds
    # A hidden foot was planted: it is reported, and never as safe.
    hidden = [t for t in truth["steps"] if t["hidden"]]
    for h in hidden:
        over = [s for s in doc["steps"] if s["foot"] == h["foot"]
                and min(s["end_s"], h["end_s"]) - max(s["start_s"], h["start_s"]) > 0.3]
        assert over and all(s["zone"] != "safe" for s in over)


def test_audit_without_studio_says_grip_is_unknown(session):
    d, _ = session
    r = runner.invoke(app, ["audit", str(d / "s.jsonl")])
    assert r.exit_code == 0
    doc = json.loads(r.stdout)
    assert all(iv["state"] == "unknown" for ivs in doc["grip"].values() for iv in ivs)
    assert not any(a["kind"] == "no_hands_on_bars" for a in doc["alerts"])


@pytest.mark.parametrize("content,expect", [
    ('{"pose_track": 1, "fps": 30, "width": 640, "height": 480}\n'
     '{"t": 0, "people": [{"id": 1, "kp": [[1, 2, 0.5]]}]}\n', "shape (1, 3)"),
    ("not json\n", "not a pose track"),
    ('{"pose_track": 1, "fps": 30, "width": 640, "height": 480}\n{"t": 0, "people": [\n',
     "not JSON"),
])
def test_bad_pose_track_is_one_line_and_exit_2(tmp_path, content, expect):
    f = tmp_path / "bad.jsonl"
    f.write_text(content, encoding="utf-8")
    r = cli("audit", str(f))
    assert r.returncode == 2
    assert r.stderr.count("\n") == 1 and "Traceback" not in r.stderr
    assert expect in r.stderr


def test_bad_studio_and_profile_files(session, tmp_path):
    d, _ = session
    bad_yaml = tmp_path / "studio.yaml"
    bad_yaml.write_text("bars: [[[1, 2], [3, 4]]\n", encoding="utf-8")
    bad_shape = tmp_path / "studio2.yaml"
    bad_shape.write_text("bars: [[1, 2, 3]]\n", encoding="utf-8")
    bad_client = tmp_path / "client.yaml"
    bad_client.write_text("conditions: [flat feet]\n", encoding="utf-8")
    for args, expect in (
            (["--studio", str(bad_yaml)], "not valid YAML"),
            (["--studio", str(bad_shape)], "bars"),
            (["--studio", str(tmp_path / "nope.yaml")], "no such file"),
            (["--client", str(bad_client)], "unknown condition")):
        r = runner.invoke(app, ["audit", str(d / "s.jsonl"), *args])
        assert r.exit_code == 2, args
        assert r.output.count("\n") == 1 and expect in r.output, r.output


def test_json_studio_file_works(session, tmp_path):
    d, _ = session
    st = load_studio(d / "s.studio.yaml")
    js = tmp_path / "studio.json"
    js.write_text(json.dumps({"bars": st.bars.tolist()}), encoding="utf-8")
    r = runner.invoke(app, ["audit", str(d / "s.jsonl"), "--studio", str(js)])
    assert r.exit_code == 0
    assert any(iv["state"] == "on" for iv in json.loads(r.stdout)["grip"]["left"])


def test_video_input_goes_through_the_pose_engine(tmp_path):
    from samples.registry import pose2sim_video

    src = cv2.VideoCapture(str(pose2sim_video("MultiPerson", 1)))
    clip = tmp_path / "clip.mp4"
    w = cv2.VideoWriter(str(clip), cv2.VideoWriter_fourcc(*"mp4v"), 30.0, (544, 960))
    for _ in range(15):
        ok, f = src.read()
        w.write(cv2.resize(f, (544, 960)))
    w.release()
    out = tmp_path / "report.json"
    r = runner.invoke(app, ["audit", str(clip), "--out", str(out), "--model", "lite"])
    assert r.exit_code == 0, r.output
    doc = json.loads(out.read_text())
    assert doc["report"] == 1 and doc["duration_s"] == pytest.approx(15 / 30, abs=0.05)
    assert str(out) in r.output  # the one-line summary names the report
    corrupt = tmp_path / "corrupt.mp4"
    corrupt.write_bytes(b"\x00" * 16)
    for bad, words in ((corrupt, "OpenCV can"), (tmp_path / "missing.mp4", "no such file")):
        r = runner.invoke(app, ["audit", str(bad)])
        assert r.exit_code == 2 and words in r.output and str(bad) in r.output


def test_calibrate_proposes_the_bars_of_an_image(tmp_path):
    img = np.full((480, 640, 3), 40, np.uint8)
    cv2.line(img, (60, 100), (580, 120), (230, 230, 230), 6)
    cv2.line(img, (60, 380), (580, 360), (230, 230, 230), 6)
    cv2.circle(img, (320, 240), 50, (120, 120, 120), -1)
    f = tmp_path / "frame.png"
    cv2.imwrite(str(f), img)
    out = tmp_path / "studio.yaml"
    r = runner.invoke(app, ["calibrate", str(f), "--out", str(out), "--max-bars", "2"])
    assert r.exit_code == 0, r.output
    st = load_studio(out)
    assert len(st.bars) == 2
    mids = sorted(st.bars.mean(axis=1)[:, 1])
    assert abs(mids[0] - 110) < 8 and abs(mids[1] - 370) < 8
    assert all(np.linalg.norm(b[1] - b[0]) > 400 for b in st.bars)
    r = runner.invoke(app, ["calibrate", str(tmp_path / "none.png")])
    assert r.exit_code == 2 and "no such file" in r.output
    txt = tmp_path / "x.png"
    txt.write_text("not an image")
    r = runner.invoke(app, ["calibrate", str(txt)])
    assert r.exit_code == 2 and "not an image" in r.output


def test_the_bundled_sample_session_matches_its_truth(tmp_path):
    samples = ROOT / "samples"
    out = tmp_path / "report.json"
    r = runner.invoke(app, ["audit", str(samples / "session.jsonl"), "--studio",
                            str(samples / "studio.yaml"), "--client", str(samples / "client.yaml"),
                            "--out", str(out)])
    assert r.exit_code == 0, r.output
    doc = json.loads(out.read_text())
    truth = json.loads((samples / "session.truth.json").read_text())
    for t in truth["steps"]:
        over = [s for s in doc["steps"] if s["foot"] == t["foot"]
                and min(s["end_s"], t["end_s"]) - max(s["start_s"], t["start_s"])
                >= 0.5 * (t["end_s"] - t["start_s"])]
        assert len(over) == 1, t
        assert over[0]["zone"] == ("unknown" if t["hidden"] else t["zone"]), (t, over[0])
    nh = [a for a in doc["alerts"] if a["kind"] == "no_hands_on_bars"]
    assert len(nh) == len(truth["no_hands"]) == 1
    assert doc["client"]["contraindications"] and doc["summary"]["verdict"] == "unsafe"
