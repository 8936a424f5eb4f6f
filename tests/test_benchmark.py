"""The rendered benchmark (samples/render/benchmark.py, bench_score.py, bench_suite.py): its
scoring on hand-made reports, its suite, and one short rendered session with a glide and a
one-foot stance."""

from __future__ import annotations

import json

import pytest

from samples.render import benchmark as B
from samples.render import bench_score as BS
from samples.render import bench_suite as BU


def _truth(steps, no_hands=()):
    return {"duration_s": 20.0, "steps": [dict(foot=f, start_s=a, end_s=b, zone=z, hidden=h)
                                          for f, a, b, z, h in steps],
            "no_hands": [list(x) for x in no_hands], "shifts": [],
            "config": {"safe_only": False}}


def _report(steps, alerts=()):
    return {"steps": [dict(foot=f, start_s=a, end_s=b, zone=z, possible=p)
                      for f, a, b, z, p in steps],
            "alerts": [dict(kind=k, severity="critical", start_s=a, end_s=b)
                       for k, a, b in alerts]}


def test_score_matches_steps_by_temporal_iou_and_counts_each_outcome():
    truth = _truth([("left", 1.0, 3.0, "spine", False),      # found, own zone
                    ("left", 4.0, 6.0, "kidney", False),     # found as possible ribs: flagged
                    ("right", 1.0, 3.0, "ribs", False),      # read safe
                    ("right", 4.0, 6.0, "neck", False),      # found unknown
                    ("left", 7.0, 9.0, "popliteal", False),  # missed (IoU < 0.3)
                    ("right", 7.0, 9.0, "safe", False),      # safe, flagged
                    ("left", 10.0, 12.0, "safe", False),     # safe, read safe
                    ("left", 13.0, 14.0, "off_body", False)],  # beside the client: not a step
                   no_hands=[(2.0, 3.0)])
    report = _report([("left", 1.1, 3.0, "spine", False),
                      ("left", 4.0, 5.9, "ribs", True),
                      ("right", 1.0, 3.1, "safe", False),
                      ("right", 4.2, 6.0, "unknown", False),
                      ("left", 8.5, 13.0, "safe", False),     # IoU with 7-9: 0.08; with 10-12: 0.33
                      ("right", 7.0, 9.0, "spine", True),
                      ("right", 15.0, 16.0, "safe", False)],  # spurious
                     alerts=[("no_hands_on_bars", 2.1, 2.9), ("no_hands_on_bars", 15.0, 16.0)])
    s = BS.score(report, truth, "t")
    assert s.true_steps == 7 and s.found == 6 and s.zone_ok == 2
    assert (s.danger, s.d_flagged, s.d_own, s.d_safe, s.d_unknown, s.d_missed) == (5, 2, 1, 1, 1, 1)
    assert (s.safe, s.safe_flagged) == (2, 1)
    assert s.spurious == 1 and s.possible == 2 and s.unknown == 1
    assert (s.no_hands, s.no_hands_found, s.no_hands_false) == (1, 1, 1)
    assert s.read_safe == [("t", "ribs", 1.0)]
    total = BS.Score()
    total.add(s)
    total.add(s)
    assert total.d_safe == 2 and len(total.read_safe) == 2
    assert BS.row("x", total).startswith("| x | 0.86 | 0.33 | 0.40 / 0.20 / 2 / 2 / 2 |")


def test_the_suite_keeps_development_and_reported_sessions_apart():
    dev, rep = BU.suite("dev"), BU.suite("report")
    assert len(dev) == len(rep) == 12
    for s in (dev, rep):
        assert len({x.seed for x in s}) >= 6 and len({x.camera for x in s}) >= 5
        assert {x.plan for x in s} == {"zones", "glides", "mixed"}
    assert not {x.seed for x in dev} & {x.seed for x in rep}
    assert set(BU.DEV_CAMERAS) != set(BU.REPORT_CAMERAS)
    assert len({x.key() for x in dev + rep}) == 24
    # the foot-end development sessions: dev seeds, places neither other split uses
    foot = BU.suite("dev-foot")
    assert {x.seed for x in foot} <= {x.seed for x in dev}
    assert not {x.camera for x in foot} & (set(BU.DEV_CAMERAS) | set(BU.REPORT_CAMERAS))
    assert all(x.camera.startswith(("foot_", "corner_foot")) for x in foot)
    # the plans have what the benchmark must hold: glides, one-foot stances, no hands
    glides = BU.plans()["glides"]
    assert any(len(st) > 3 and st[3].get("glide") for st in glides)
    assert any(len(st) > 3 and st[3].get("lift") for st in glides)
    assert any(not st[2] for st in glides)
    with pytest.raises(ValueError):
        BU.suite("other")


@pytest.mark.slow
def test_a_rendered_glide_is_one_true_step_and_one_found_step(tmp_path):
    # a short session: both feet on the erectors, then the left glides down the thigh while
    # the right stands, then the right is held up (on the left foot alone)
    from samples.render.candidates import advised_camera
    from samples.render.evaluate import all_seen
    from samples.render.posing import Look
    from samples.render.sequence import write_sequence
    stances = [((4.5, 8.0), (-4.5, 8.0), True), ((13.0, 48.0), (-4.5, 8.0), True),
               ((13.0, 70.0), (-4.5, 8.0), True, {"glide": True}),
               ((13.0, 70.0), (-4.5, 8.0), True, {"lift": "R"})]
    look = Look.from_seed(3)
    look.client_shape = BU.body_shape(3)
    write_sequence(advised_camera("head_ceiling_1.1"), tmp_path, seed=3, fps=5.0, session=True,
                   stances=stances, plan_kw={"hold_s": 1.2, "move_s": 0.4, "lead_s": 1.2,
                                             "glide_s": 2.0}, look=look)
    truth = json.loads((tmp_path / "scene.truth.json").read_text())
    left = [s for s in truth["steps"] if s["foot"] == "left"]
    right = [s for s in truth["steps"] if s["foot"] == "right"]
    # the left foot: one step on the erector, one from the gluteals down the thigh (the glide)
    assert len(left) == 2 and left[1]["end_s"] - left[1]["start_s"] >= 3.0, left
    # the right foot comes up for the one-foot stance: its step ends before the session does
    assert len(right) == 1 and right[0]["end_s"] <= truth["duration_s"] - 1.0, right
    report = B.audit(all_seen(tmp_path / "truth.jsonl"), tmp_path / "studio.yaml")
    s = BS.score(report, truth)
    assert s.found == s.true_steps == 3 and s.zone_ok == 3, report["steps"]
    # the glide is one step, with the zone of its path (a foot held up still over the back is
    # not told from a planted one: docs/safety-core.md, "What it does not know")
    glide = [d for d in report["steps"] if d["foot"] == "left" and d["start_s"] > 2.0]
    assert len(glide) == 1 and glide[0]["zone"] == left[1]["zone"], glide
    assert BS._iou(glide[0]["start_s"], glide[0]["end_s"], left[1]["start_s"],
                  left[1]["end_s"]) >= 0.8, (glide, left)
