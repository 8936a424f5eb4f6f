"""The HTML/PDF audit report (vision.pictures.reporting) rendered in a real browser: Debian's chromium
driven by Playwright. What is drawn is counted through the SVG elements' data attributes and
compared with the report JSON."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest
from typer.testing import CliRunner

from service.cli import app
from vision.safety.audit import Auditor
from vision.io.posetrack import Frame, Header, iter_pose_track
from vision.safety.profile import load_profile
from vision.safety.report import Report
from vision.pictures.reporting.html import render_html, write_html
from vision.pictures.reporting.pdf import html_to_pdf, html_to_png
from vision.pictures.snapshots import AlertSnapshots
from vision.io.studio import load_studio

ROOT = Path(__file__).resolve().parents[1]
SESSION, STUDIO, CLIENT = (ROOT / "samples" / n for n in
                           ("session.jsonl", "studio.yaml", "client.yaml"))
from tests.browser import SHOTS_ROOT, browser, needs_chromium, page  # noqa: F401,E402

VIEWPORT = {"width": 1060, "height": 900}
SHOTS = SHOTS_ROOT / "ashiwatch-report"
pytestmark = needs_chromium
runner = CliRunner()


@pytest.fixture(scope="module")
def audited(tmp_path_factory):
    """The sample session audited with snapshots of plain stamped frames: report + links."""
    folder = tmp_path_factory.mktemp("snaps")
    header, frames = iter_pose_track(SESSION)
    aud = Auditor(header, load_studio(STUDIO), load_profile(CLIENT), source=str(SESSION))
    snap = AlertSnapshots.for_auditor(folder, aud)
    img = np.full((header.height, header.width, 3), 110, np.uint8)
    for fr in frames:
        snap.push(img, fr, aud.push(fr))
    report = aud.finish()
    return report, snap.finish(report)


def _counts(page) -> dict:
    return page.evaluate("""() => {
      const q = s => Array.from(document.querySelectorAll(s));
      return {
        map_steps: q('svg.backmap g.step').map(e => [+e.dataset.step, e.dataset.zone,
                                                     e.dataset.foot, e.dataset.located]),
        map_attr: document.querySelector('svg.backmap').dataset.steps,
        tl_steps: q('svg.timeline rect.tl-step').map(e => [+e.dataset.step, e.dataset.zone]),
        tl_alerts: q('svg.timeline g.tl-alert').map(e => [+e.dataset.alert, e.dataset.kind,
                                                         e.dataset.severity]),
        table_alerts: q('#alert-table tbody tr').length,
        table_steps: q('#step-table tbody tr').length,
        shots: q('.shots .shot img').map(i => [i.naturalWidth, i.naturalHeight]),
        verdict: document.querySelector('#verdict .word').innerText.trim().toLowerCase(),
        heat_cells: q('svg.heatmap .heat rect').length,
      };
    }""")


def _boxes(page, sel: str) -> list[dict]:
    return [e.bounding_box() for e in page.query_selector_all(sel)]


def test_back_map_and_timeline_show_every_step_and_alert(audited, page, tmp_path):
    report, links = audited
    assert report.steps and report.alerts
    path = write_html(tmp_path / "report.html", report, snapshots=links)
    page.goto(path.as_uri())
    c = _counts(page)
    assert page.errors == []
    # the back map: one footprint per step, in the report's order, zone and foot
    assert int(c["map_attr"]) == len(report.steps)
    assert sorted(c["map_steps"]) == [
        [i, s.zone, s.foot, "false" if s.body_xy_cm is None or s.zone == "unknown" else "true"]
        for i, s in enumerate(report.steps)]
    # located footprints lie on the drawn map, not off it
    mp = page.query_selector("svg.backmap").bounding_box()
    for b in _boxes(page, 'svg.backmap g.step[data-located="true"]'):
        assert mp["x"] <= b["x"] and b["x"] + b["width"] <= mp["x"] + mp["width"]
        assert mp["y"] <= b["y"] and b["y"] + b["height"] <= mp["y"] + mp["height"]
        assert b["width"] > 3 and b["height"] > 3
    assert c["heat_cells"] > 0
    # the timeline: every step and every alert, each visible (an instant keeps a width)
    assert sorted(c["tl_steps"]) == [[i, s.zone] for i, s in enumerate(report.steps)]
    assert c["tl_alerts"] == [[i, a.kind, a.severity] for i, a in enumerate(report.alerts)]
    assert all(b["width"] >= 1 for b in _boxes(page, "svg.timeline rect.tl-alert-bar"))
    # the tables, the snapshots (decoded by the browser), the profile up front
    assert c["table_alerts"] == len(report.alerts) and c["table_steps"] == len(report.steps)
    assert len(c["shots"]) == len(links) == len(report.alerts)
    assert all(w == 1280 and h == 720 for w, h in c["shots"])
    assert c["verdict"] == report.summary.verdict
    client = page.inner_text("#client")
    for ci in report.client.contraindications:
        assert ci.condition in client
    assert page.inner_text("#n-steps") == str(report.summary.steps)
    assert page.inner_text("#n-critical") == str(report.summary.critical_alerts)
    # a picture of the page, to look at
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / "report.png"), full_page=True)


def test_pose_track_input_says_there_is_no_snapshot(audited, page, tmp_path):
    report = audited[0]
    path = tmp_path / "r.html"
    path.write_text(render_html(report, snapshot_note="no snapshot: pose-track input"))
    page.goto(path.as_uri())
    assert "no snapshot: pose-track input" in page.inner_text("#timeline-section")
    assert page.query_selector_all(".shots img") == []


def _empty_report(frames: int = 30) -> Report:
    """A session where nobody is seen: no steps, the back never known."""
    aud = Auditor(Header(fps=30.0, width=640, height=480), None)
    for i in range(frames):
        aud.push(Frame(t=i / 30.0, people=[]))
    return aud.finish()


def test_nothing_seen_reads_unknown_never_safe(page, tmp_path):
    report = _empty_report()
    assert report.summary.verdict == "unknown" and not report.steps
    path = write_html(tmp_path / "empty.html", report)
    page.goto(path.as_uri())
    c = _counts(page)
    assert c["verdict"] == "unknown"
    assert "safe" not in page.inner_text("#verdict").lower()
    assert page.is_visible("#verdict") and page.is_visible("#no-steps")
    assert c["map_steps"] == [] and c["tl_steps"] == [] and c["tl_alerts"] == []
    assert "not proof of safety" in page.inner_text("#no-alerts")
    assert page.query_selector("svg.backmap") and page.query_selector("svg.timeline")


def test_pdf_is_printed_from_the_same_page(audited, tmp_path):
    report, links = audited
    page = write_html(tmp_path / "r.html", report, snapshots=links)
    pdf = html_to_pdf(page, tmp_path / "r.pdf")
    raw = pdf.read_bytes()
    assert raw.startswith(b"%PDF") and len(raw) > 20_000
    assert not (tmp_path / "r.pdf.part").exists()
    # and the picture of it (what a person looks at before calling it done)
    png = html_to_png(page, tmp_path / "r.png", height=1400)
    im = cv2.imread(str(png))
    assert im is not None and im.shape[1] == 1060 and im.std() > 10


def test_cli_writes_html_and_pdf_and_fails_in_one_line(tmp_path):
    html, pdf, out = tmp_path / "r.html", tmp_path / "r.pdf", tmp_path / "r.json"
    r = runner.invoke(app, ["audit", str(SESSION), "--studio", str(STUDIO), "--client",
                            str(CLIENT), "--out", str(out), "--html", str(html), "--pdf",
                            str(pdf)])
    assert r.exit_code == 0, r.output
    report = Report.model_validate_json(out.read_text())
    text = html.read_text()
    assert f'data-steps="{len(report.steps)}"' in text
    assert text.count('class="tl-alert"') == len(report.alerts)
    assert "no snapshot: pose-track input" in text
    assert pdf.read_bytes().startswith(b"%PDF")
    # a pose track has no pictures: --snapshots is refused in one line
    r = runner.invoke(app, ["audit", str(SESSION), "--snapshots", str(tmp_path / "s"),
                            "--html", str(html)])
    assert r.exit_code == 2 and "needs a video input" in r.output
    assert len(r.output.strip().splitlines()) == 1
    # no chromium: one line, before any audit work, and no PDF
    env = {"ASHIWATCH_CHROMIUM": str(tmp_path / "no-chromium")}
    r = runner.invoke(app, ["audit", str(SESSION), "--pdf", str(tmp_path / "x.pdf")], env=env)
    assert r.exit_code == 2 and "chromium" in r.output
    assert len(r.output.strip().splitlines()) == 1 and not (tmp_path / "x.pdf").exists()


def test_cli_video_input_writes_snapshots_beside_the_page(tmp_path):
    from samples.registry import pose2sim_video
    src = cv2.VideoCapture(str(pose2sim_video("MultiPerson", 1)))
    clip = tmp_path / "clip.mp4"
    w = cv2.VideoWriter(str(clip), cv2.VideoWriter_fourcc(*"mp4v"), 30.0, (544, 960))
    for _ in range(15):
        ok, f = src.read()
        assert ok
        w.write(cv2.resize(f, (544, 960)))
    w.release()
    html, out = tmp_path / "rep" / "clip.html", tmp_path / "clip.json"
    r = runner.invoke(app, ["audit", str(clip), "--model", "lite", "--html", str(html),
                            "--out", str(out)])
    assert r.exit_code == 0, r.output
    report = Report.model_validate_json(out.read_text())
    index = json.loads((tmp_path / "rep" / "clip_snapshots" / "index.json").read_text())
    # every alert is either linked to a picture that exists or listed as missing
    linked = {e["alert"] for e in index["alerts"]}
    assert linked | set(index["missing"]) == set(range(len(report.alerts)))
    for e in index["alerts"]:
        assert (tmp_path / "rep" / "clip_snapshots" / e["file"]).is_file()
    # each picture embedded once, in the page itself
    assert html.read_text().count("data:image/jpeg;base64,") == len(linked)
