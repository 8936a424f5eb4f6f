"""Trainees' scores in the service: stored by `ashiwatch score` into a running server's data
folder, read back from /trainees, scored from an audit job, and shown by the trainee page in
Debian's chromium (the fixtures of tests/test_service.py and tests/test_dashboard.py)."""

from __future__ import annotations

import json

import httpx
import pytest

from samples.exercise_sessions import ExercisePlan, write_exercise_session
from tests.browser import browser, needs_chromium, page  # noqa: F401  (fixtures)
from tests.test_dashboard import SHOTS
from tests.test_scoring import run_cli
from tests.test_service import SESSION, STUDIO, env, upload, wait_job  # noqa: F401  (env: the server)
from vision.scoring.exercises import find_exercise
from vision.safety.report import Report
from vision.scoring.score import score_report

EXERCISE = "gluteal-compressions"
TRAINEE = "Mia Kowalski"


@pytest.fixture(scope="module")
def scored(env, tmp_path_factory):
    """Two sessions of one trainee scored by the CLI into the server's data folder: the
    bundled sample session (steps in every danger zone) first, then a clean exercise."""
    srv, _ = env
    d = tmp_path_factory.mktemp("trainee-sessions")
    write_exercise_session(d, "clean", ExercisePlan(find_exercise(EXERCISE)), seed=21,
                           n_steps=8)
    outs = []
    for track, studio in ((SESSION, STUDIO), (d / "clean.jsonl", d / "clean.studio.yaml")):
        r = run_cli("score", str(track), "--studio", str(studio), "--exercise", EXERCISE,
                    "--trainee", TRAINEE, "--json", "--data", str(srv.data))
        assert r.returncode == 0, r.stderr
        outs.append(json.loads(r.stdout))
    return outs


def test_scores_from_the_cli_are_served_oldest_first(env, scored):
    srv, tok = env
    with srv.client(tok["auditor"]) as c:
        r = c.get(f"/trainees/{TRAINEE}/scores")
        assert r.status_code == 200, r.text
        got = r.json()
        assert got["trainee"] == TRAINEE
        assert [s["score"] for s in got["scores"]] == [o["score"] for o in scored]
        for s, o in zip(got["scores"], scored):
            assert s["parts"] == o["parts"] and s["reasons"] == o["reasons"]
            assert s["exercise"] == EXERCISE
        # the sample session steps on the spine and kidneys: capped; the clean one is not
        assert scored[0]["score"] <= 40 and scored[0]["cap"] == 40
        assert scored[1]["score"] > 90
        listing = c.get("/trainees").json()
        me = next(t for t in listing if t["name"] == TRAINEE)
        assert me["sessions"] == 2 and me["latest"] == scored[1]["score"]
        assert me["best"] == max(o["score"] for o in scored)


def test_trainee_scores_need_an_auditor_token_and_a_known_trainee(env, scored):
    srv, tok = env
    path = f"/trainees/{TRAINEE}/scores"
    for headers in ({}, {"Authorization": "Bearer aw_wrong"}):
        assert httpx.get(srv.url + path, headers=headers).status_code == 401
        assert httpx.get(srv.url + "/trainees", headers=headers).status_code == 401
    with srv.client(tok["viewer"]) as c:
        assert c.get(path).status_code == 403
    with srv.client(tok["admin"]) as c:
        assert c.get(path).status_code == 200
        r = c.get("/trainees/nobody/scores")
        assert r.status_code == 404 and "nobody" in r.json()["detail"]


def test_a_finished_audit_is_scored_by_the_service(env):
    srv, tok = env
    with srv.client(tok["auditor"]) as c:
        job = upload(c, SESSION, "session.jsonl", studio=STUDIO.read_text()).json()
        done = wait_job(c, job["id"])
        assert done["status"] == "done", done
        r = c.post("/trainees/Leo/scores", json={"audit_id": job["id"], "exercise": EXERCISE})
        assert r.status_code == 201, r.text
        expected = score_report(Report.model_validate(done["report"]), find_exercise(EXERCISE))
        assert r.json()["score"] == expected.score and r.json()["reasons"] == expected.reasons
        assert c.get("/trainees/Leo/scores").json()["scores"][0]["id"] == r.json()["id"]
        bad = c.post("/trainees/Leo/scores", json={"audit_id": job["id"], "exercise": "nope"})
        assert bad.status_code == 422 and "no exercise 'nope'" in bad.json()["detail"]
        missing = c.post("/trainees/Leo/scores", json={"audit_id": "0" * 32,
                                                       "exercise": EXERCISE})
        assert missing.status_code == 404
        assert len(c.get("/trainees/Leo/scores").json()["scores"]) == 1


@needs_chromium
def test_trainee_page_shows_the_sessions_and_the_progress_chart(env, scored, page):  # noqa: F811
    srv, tok = env
    page.goto(srv.url + "/dashboard/trainee.html")
    page.fill("#token", tok["auditor"])
    page.click("#login-button")
    link = page.locator("#trainee-table a", has_text=TRAINEE)
    link.wait_for(timeout=10000)
    cells = page.locator("#trainee-table tbody tr", has_text=TRAINEE).locator("td")
    assert cells.nth(1).inner_text() == "2"                           # sessions
    assert cells.nth(2).inner_text() == f"{scored[1]['score']:g}"      # the latest score
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / "trainees.png"))
    link.click()
    page.wait_for_selector("#sessions tbody tr")
    assert page.text_content("#trainee-name") == TRAINEE
    rows = page.locator("#sessions tbody tr")
    assert rows.count() == 2
    assert page.locator("#progress circle").count() == 2
    first, second = rows.nth(0).inner_text(), rows.nth(1).inner_text()
    assert "(capped)" in first and "caps the score" in first
    assert f"{scored[1]['score']:g}" in second
    # one point per session, higher on the chart for the better score (SVG y grows downward)
    ys = [float(page.locator("#progress circle").nth(i).get_attribute("cy")) for i in (0, 1)]
    assert ys[1] < ys[0]
    page.screenshot(path=str(SHOTS / "trainee.png"), full_page=True)
    assert page.errors == []
