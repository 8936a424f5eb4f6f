"""The dashboard (service/api/static/) in a real browser: Debian's chromium driven by Playwright,
against a real server (the fixtures of tests/test_service.py)."""

from __future__ import annotations

import httpx

from tests.browser import SHOTS_ROOT, browser, needs_chromium, page  # noqa: F401  (fixtures)
from tests.browser import wait_until
from tests.test_service import SESSION, STUDIO, Server, env, read_sse  # noqa: F401  (env: the server)

VIEWPORT = {"width": 1100, "height": 760}
SHOTS = SHOTS_ROOT / "ashiwatch-dashboard"
pytestmark = needs_chromium


def login(page, srv: Server, token: str) -> None:
    page.goto(srv.url + "/")
    assert page.url.endswith("/dashboard/")
    page.fill("#token", token)
    page.click("#login-button")


def test_event_stream_takes_the_token_as_a_query_parameter(env):
    srv, tok = env
    with httpx.Client(base_url=srv.url, timeout=10) as c:
        assert c.get("/cameras/1/events?token=wrong").status_code == 401
        assert c.get("/cameras/1/events").status_code == 401
        # only event streams take ?token= (a URL with a token ends up in logs and histories)
        assert c.get(f"/cameras?token={tok['viewer']}").status_code == 401
        assert c.get(f"/cameras/999/events?token={tok['viewer']}").status_code == 404
        r = c.get("/dashboard/app.js")
        assert r.status_code == 200 and "EventSource" in r.text
    assert tok["viewer"] not in srv.log_text()      # the access log redacts it


def test_live_feed_shows_a_critical_alert_and_lights_the_back_map(env, page):
    srv, tok = env
    with srv.client(tok["admin"]) as admin:
        # looped: however slow the browser is to start, a live step is still to come
        r = admin.post("/cameras", json={"name": "table 1", "source": str(SESSION),
                                         "studio": str(STUDIO), "speed": 4, "loop": True})
        assert r.status_code == 201, r.text
        cam = r.json()["id"]
    try:
        login(page, srv, "aw_not-a-token")
        page.wait_for_selector("#login-error:has-text('Unknown token')")
        login(page, srv, tok["viewer"])
        card = f"#camera-{cam}"
        crit = page.wait_for_selector(f"{card} .feed li.alert_start.critical", timeout=60_000)
        assert "critical" in crit.inner_text()
        color = crit.evaluate("e => getComputedStyle(e).backgroundColor")
        assert color == "rgb(211, 47, 47)"                         # critical red
        # a live step event lights a zone of the back map
        page.wait_for_selector(f"{card} .state.online", timeout=30_000)
        page.wait_for_selector(f"{card} .backmap .zone.lit", state="attached", timeout=30_000)
        # the live view beside the feed: MJPEG frames of the replay (skeletons on a dark
        # canvas of the track's 16:9 size, scaled to 480 px wide)
        wait_until(page, f"document.querySelector('{card} img.live').naturalWidth > 0")
        assert page.eval_on_selector(f"{card} img.live",
                                     "e => [e.naturalWidth, e.naturalHeight]") == [480, 270]
        # an alert's snapshot, fetched with the token and shown under it
        page.click(f"{card} .feed li.alert_start button.snap")
        wait_until(page, f"(document.querySelector('{card} .feed li.alert_start img.snapshot')"
                         f" || {{}}).naturalWidth > 0")
        SHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SHOTS / "live.png"))
        page.wait_for_selector(f"{card} .feed li.camera_offline", timeout=90_000)
        page.screenshot(path=str(SHOTS / "live-end.png"))
        # the feed holds the stream's events: each once, newest first, none missing
        with srv.client(tok["viewer"]) as c, c.stream("GET", f"/cameras/{cam}/events") as r:
            first_replay = [e["id"] for e in read_sse(r)]          # up to the first offline
        ids = page.eval_on_selector_all(f"{card} .feed li", "els => els.map(e => +e.dataset.id)")
        assert ids == sorted(set(ids), reverse=True)
        assert set(first_replay) <= set(ids)
        assert page.eval_on_selector_all(f"{card} .feed li.warning", "els => els.length") >= 1
        assert page.evaluate("window.ashiwatchBeeps || 0") >= 1       # critical alerts beeped
        # the token is kept for the tab (sessionStorage): a reload stays logged in
        page.reload()
        page.wait_for_selector(f"{card} .feed li.camera_offline", timeout=30_000)
        assert page.evaluate("sessionStorage.getItem('ashiwatch.token')") == tok["viewer"]
        assert page.errors == []
    finally:
        with srv.client(tok["admin"]) as admin:
            admin.delete(f"/cameras/{cam}")


def test_audit_upload_progress_and_report(env, page):
    srv, tok = env
    login(page, srv, tok["viewer"])
    page.click("button.tab[data-view=audits]")
    page.wait_for_selector("#audits-error:has-text('may not')")     # viewers do not audit
    page.click("#logout")
    login(page, srv, tok["auditor"])
    page.click("button.tab[data-view=audits]")
    page.set_input_files("#upload-file", str(SESSION))
    page.fill("#upload-studio", STUDIO.read_text())
    page.click("#upload-button")
    page.wait_for_selector("#upload-status:has-text('uploaded')", timeout=30_000)
    job = page.get_attribute("#upload-status", "data-job")
    page.wait_for_selector(f"tr[data-job='{job}'][data-status=done] button.report-link",
                           timeout=120_000)
    page.click(f"tr[data-job='{job}'] button.report-link")
    page.wait_for_selector("#report-summary:has-text('verdict')")
    with srv.client(tok["auditor"]) as c:
        rep = c.get(f"/audits/{job}/report.json").json()
        shots = c.get(f"/audits/{job}").json()["snapshots"]
    assert f"verdict: {rep['summary']['verdict']}" in page.inner_text("#report-summary")
    # each alert listed, with its snapshot where it has one
    assert page.eval_on_selector_all("#report-alerts li", "els => els.length") == \
        len(rep["alerts"]) > 0
    assert shots
    first = shots[0]["alert"]
    wait_until(page, f"document.querySelector('#report-alerts li[data-alert=\"{first}\"] "
                     f"img.snapshot').naturalWidth > 0")
    # the full HTML report, fetched with the token, opens from a blob: URL
    wait_until(page, "document.querySelector('#report-html').href.startsWith('blob:')")
    with page.context.expect_page() as popup:
        page.click("#report-html")
    report_page = popup.value
    report_page.wait_for_load_state()
    assert rep["summary"]["verdict"] in report_page.content()
    report_page.close()
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / "audit.png"), full_page=True)
    assert page.errors == []
