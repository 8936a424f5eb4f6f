"""The OpenAPI schema says what the service does: schemathesis generates requests from it
(valid and invalid ones, and sequences that follow its links) against the real server on
loopback, for an auditor's token and an admin's, and checks every answer: no server error,
every status code and content type documented, every body as its schema says, invalid input
refused, no answer without a token. Bounded: 30 examples per operation and a time budget per
role. The seed changes from run to run (it is printed; ASHIWATCH_SCHEMA_SEED replays one).

Not checked: ``positive_data_acceptance`` (a request the schema allows must be accepted):
the schema cannot say what only the content tells (a file that is a video, an exercise that
is in the library), and those are refused with 4xx on purpose. The two endpoints that stream
until the client leaves (``/events``, ``live.mjpg``) are left out here; their bad inputs are
tested in test_service_hostile.py."""

from __future__ import annotations

import os
import random
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.test_service import SESSION, STUDIO, Server, add_user, upload, wait_job

ST = Path(sys.executable).with_name("schemathesis")
EXAMPLES = 30
BUDGET_S = 75          # per role; the run stops generating then (its last cases finish)


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    data = tmp_path_factory.mktemp("schema") / "data"
    data.mkdir()
    tokens = {role: add_user(data, f"{role}-1", role) for role in ("auditor", "admin")}
    srv = Server(data).start()
    with srv.client(tokens["auditor"]) as c:      # one done audit, for the links to follow
        job = upload(c, SESSION, "s.jsonl", studio=STUDIO.read_text()).json()["id"]
        assert wait_job(c, job)["status"] == "done"
    yield srv, tokens
    srv.stop()


# the auditor first: the admin's run may delete the auditor's account
@pytest.mark.slow
@pytest.mark.parametrize("role", ["auditor", "admin"])
def test_the_service_answers_as_its_openapi_schema_says(served, role, tmp_path):
    srv, tokens = served
    seed = int(os.environ.get("ASHIWATCH_SCHEMA_SEED") or random.randrange(2**31))
    cmd = [str(ST), "run", f"{srv.url}/openapi.json",
           "-H", f"Authorization: Bearer {tokens[role]}",
           "--checks", "all", "--exclude-checks", "positive_data_acceptance",
           "--exclude-path-regex", r"/(events|live\.mjpg)$",
           "-n", str(EXAMPLES), "--max-time", str(BUDGET_S), "--seed", str(seed),
           "--workers", "1", "--request-timeout", "30", "--no-color",
           "--generation-database", "none", "--report-dir", str(tmp_path)]
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=BUDGET_S + 240,
                       cwd=tmp_path)
    out = r.stdout + r.stderr
    assert r.returncode == 0, f"seed {seed} (ASHIWATCH_SCHEMA_SEED={seed} replays it):\n" \
                              f"{out[-12000:]}"
    counts = re.search(r"(\d+) generated, (\d+) passed", out)
    assert counts and int(counts[2]) == int(counts[1]) >= 20 * EXAMPLES, out[-3000:]
    assert "Traceback" not in srv.log_text(), srv.log_text()[-4000:]
