"""Rules, debouncing and the client profile."""

import numpy as np
import pytest

from vision.safety.profile import CONDITIONS, ProfileError, load_profile, parse_profile
from vision.safety.rules import Debouncer, RuleEngine, step_alerts
from vision.safety.steps import FootStatus, Step

DT = 1 / 30


def feet(n_on, visible=True):
    return {s: FootStatus(s, visible, i < n_on, "safe" if i < n_on else "unknown", i < n_on)
            for i, s in enumerate(("left", "right"))}


def test_debouncer_ignores_blips_and_gives_one_interval_per_event():
    d = Debouncer(0.3, 0.4)
    t = 0.0
    pattern = [True] * 3 + [False] * 20 + [True] * 30 + [False] * 3 + [True] * 30 + [False] * 30
    for c in pattern:
        d.update(t, c)
        t += DT
    d.finish(t)
    assert len(d.closed) == 1
    a, b = d.closed[0]
    assert abs(a - 23 * DT) < 1e-9 and abs(b - 86 * DT) < 1e-9


def run(engine, n, hands, n_on=1, visible=True, t0=0.0):
    for i in range(n):
        engine.update(t0 + i * DT, feet(n_on, visible), hands, None)
    return t0 + n * DT


def test_no_hands_on_bars_only_when_loaded_and_both_hands_off():
    e = RuleEngine()
    t = run(e, 60, {"left": "on", "right": "on"})
    t = run(e, 60, {"left": "off", "right": "off"}, t0=t)
    t = run(e, 60, {"left": "off", "right": "off"}, n_on=0, t0=t)   # standing off the client
    t = run(e, 60, {"left": "on", "right": "off"}, t0=t)
    alerts = e.finish(t, [])
    kinds = [(a.kind, a.severity, round(a.start_s, 2), round(a.end_s, 2)) for a in alerts]
    assert kinds == [("no_hands_on_bars", "critical", 2.0, 4.0),
                     ("one_hand_on_bars", "warning", 6.0, 8.0)]


def test_unknown_hands_do_not_make_a_no_hands_alert_but_one_off_does():
    e = RuleEngine()
    t = run(e, 60, {"left": "unknown", "right": "unknown"})
    t = run(e, 60, {"left": "unknown", "right": "off"}, t0=t)
    alerts = e.finish(t, [])
    assert [a.kind for a in alerts] == ["no_hands_on_bars"]
    assert alerts[0].start_s == pytest.approx(2.0)


def test_a_loaded_foot_that_cannot_be_seen():
    e = RuleEngine()
    t = run(e, 30, {"left": "on", "right": "on"}, visible=True)
    t = run(e, 30, {"left": "on", "right": "on"}, visible=False, t0=t)
    alerts = e.finish(t, [])
    assert [(a.kind, a.foot) for a in alerts] == [("foot_not_visible", "left")]


def test_sudden_shift_while_loaded():
    from tests.helpers_safety import therapist_kp
    e = RuleEngine()
    t = 0.0
    for i in range(120):
        x = 500.0 + (150.0 if i >= 60 else 0.0) * min(1.0, max(0.0, (i - 60) / 4))
        kp = therapist_kp([x - 20, 300], [x - 20, 250], [x + 20, 300], [x + 20, 250],
                          centre=[x, 300])
        e.update(t, feet(2), {"left": "on", "right": "on"}, kp)
        t += DT
    alerts = e.finish(t, [])
    assert [a.kind for a in alerts] == ["sudden_shift"]
    assert 2.0 <= alerts[0].start_s <= 2.2


def test_step_alerts_one_per_step_and_severities():
    steps = [Step("left", 1.0, 2.0, "spine", (0.0, 10.0)),
             Step("right", 1.5, 3.0, "ribs", (12.0, 10.0)),
             Step("left", 2.1, 3.0, "spine", (0.5, 12.0)),     # same foot, same zone, 0.1 s on
             Step("right", 4.0, 5.0, "safe", (5.0, 10.0)),
             Step("right", 6.0, 7.0, "unknown", None)]
    alerts = step_alerts(steps, parse_profile({}, "test"))
    assert [(a.kind, a.severity, a.start_s, a.end_s) for a in alerts] == [
        ("step_on_spine", "critical", 1.0, 3.0), ("step_on_ribs", "warning", 1.5, 3.0)]
    osteo = parse_profile({"conditions": ["osteoporosis"]}, "test")
    assert [a.severity for a in step_alerts(steps, osteo)] == ["critical", "critical"]


def test_profile_parsing_and_effects(tmp_path):
    p = parse_profile({"conditions": ["Kidney disease", "high-blood-pressure"],
                       "height_cm": 160}, "p.yaml")
    assert p.conditions == ("kidney_disease", "high_blood_pressure")
    assert p.zone_margins() == {"kidney": 2.5}
    assert p.max_feet() == 1
    assert {c["condition"] for c in p.contraindications()} == set(p.conditions)
    for bad in ({"conditions": ["bad knees"]}, {"conditions": 3}, {"height_cm": "tall"},
                {"height_cm": 20}, ["osteoporosis"]):
        with pytest.raises(ProfileError):
            parse_profile(bad, "p.yaml")
    f = tmp_path / "p.yaml"
    f.write_text("conditions: [osteoporosis\n", encoding="utf-8")
    with pytest.raises(ProfileError, match="not valid YAML"):
        load_profile(f)
    with pytest.raises(ProfileError, match="no such file"):
        load_profile(tmp_path / "missing.yaml")


def test_every_condition_tightens_something():
    for name, c in CONDITIONS.items():
        assert c.severity or c.zone_margin_cm or c.shift_factor < 1 or c.max_feet, name


def test_full_body_weight_alert_for_a_one_foot_profile():
    e = RuleEngine(parse_profile({"conditions": ["pregnancy"]}, "p"))
    t = run(e, 60, {"left": "on", "right": "on"}, n_on=2)
    alerts = e.finish(t, [])
    assert [a.kind for a in alerts] == ["full_body_weight"]
    assert np.isclose(alerts[0].start_s, 0.0)


def test_alert_events_start_backdated_end_debounced_and_are_the_report():
    """One definition of an alert: the start/end events of each frame are the report's alerts."""
    from vision.vocab import Phase
    e = RuleEngine()
    events = []
    t = 0.0
    for i, hands in enumerate([{"left": "on", "right": "on"}] * 30 +
                              [{"left": "off", "right": "off"}] * 45 +
                              [{"left": "on", "right": "on"}] * 30):
        t = i * DT
        for ev in e.update(t, feet(1), hands, None):
            events.append(ev)
            assert ev.t == t            # told by the frame that decides it
    start, end = events
    assert (start.kind, start.phase, start.severity) == ("no_hands_on_bars", Phase.START,
                                                         "critical")
    assert start.began_s == pytest.approx(1.0)      # backdated to when the hands let go
    assert start.t == pytest.approx(1.0 + e.p.no_hands_on_s, abs=DT)
    assert end.phase == Phase.END and end.ended_s == pytest.approx(2.5)
    assert end.t == pytest.approx(2.5 + e.p.off_s, abs=DT)
    assert e.active == {}
    (alert,) = e.finish(t, [])
    assert (alert.kind, alert.start_s, alert.end_s) == (start.kind, start.began_s, end.ended_s)


def test_a_planted_foot_on_a_danger_zone_is_a_live_zone_alert_until_it_leaves():
    from vision.vocab import Phase
    e = RuleEngine()
    on_spine = {"left": FootStatus("left", True, True, "spine", True, possible=True),
                "right": FootStatus("right", True, False, "unknown", False)}
    safe = {"left": FootStatus("left", True, True, "safe", True),
            "right": FootStatus("right", True, False, "unknown", False)}
    hands = {"left": "on", "right": "on"}
    assert e.update(0.0, safe, hands, None) == []
    (start,) = e.update(DT, on_spine, hands, None)
    assert (start.kind, start.foot, start.phase, start.possible) == \
        ("step_on_spine", "left", Phase.START, True)
    assert e.update(2 * DT, on_spine, hands, None) == []        # once, not every frame
    assert [k for k, _ in e.active] == ["step_on_spine"]
    (end,) = e.update(3 * DT, safe, hands, None)
    assert (end.kind, end.phase, end.began_s, end.ended_s) == \
        ("step_on_spine", Phase.END, DT, 3 * DT)
    # the report's zone alerts come from finished steps, not from the running decision
    assert e.finish(3 * DT, []) == []


def test_close_ends_every_open_alert():
    from vision.vocab import Phase
    e = RuleEngine()
    t = run(e, 30, {"left": "off", "right": "off"})
    e.update(t, {"left": FootStatus("left", True, True, "kidney", True),
                 "right": FootStatus("right", False, True, "safe", True)},
             {"left": "off", "right": "off"}, None)
    assert {(k, f) for k, f in e.active} == {("no_hands_on_bars", None),
                                             ("step_on_kidney", "left")}
    ends = e.close(t)
    assert {(ev.kind, ev.foot) for ev in ends} == {("no_hands_on_bars", None),
                                                   ("step_on_kidney", "left")}
    assert all(ev.phase == Phase.END and ev.t == t for ev in ends) and e.active == {}
