"""Evaluate the safety core on generated sessions with known truth.

For every session of a suite (samples.scenario_config.suite) the pose track is audited and compared
with its truth: step recall (a true step is found when a detected step of the same foot covers
at least half of it), zone accuracy per zone (found, visible steps), hidden steps called `safe`,
no-hands intervals found and no-hands false alarms, and critical alerts in sessions of only safe,
bar-held steps.

    python -m samples.evaluate [--suite small|large] [--work DIR] [--no-camera]

``--no-camera`` leaves the camera out of the studio files, so that the safety core has to do
without it (the parallax of oblique views is then flagged, not corrected).
"""

from __future__ import annotations

import argparse
import json
import tempfile
from dataclasses import replace
from pathlib import Path

from samples.scenario_config import suite as make_suite
from samples.scenarios import write_session
from vision.session import audit_frames
from vision.io.posetrack import iter_pose_track
from vision.io.studio import load_studio


def _overlap(a0, a1, b0, b1):
    return max(0.0, min(a1, b1) - max(a0, b0))


def on_client(truth: dict) -> list[dict]:
    """The truth's steps on the client (not those beside it)."""
    return [s for s in truth["steps"] if s["zone"] != "off_body"]


def compare(report: dict, truth: dict) -> dict:
    det = report["steps"]
    used = set()
    rows = []
    # a foot planted beside the client (on the floor or the table) is no step on the client:
    # the audit does not report it, and it is neither found nor missed
    for ts in on_client(truth):
        best, best_ov = None, 0.0
        for j, ds in enumerate(det):
            if j in used or ds["foot"] != ts["foot"]:
                continue
            ov = _overlap(ts["start_s"], ts["end_s"], ds["start_s"], ds["end_s"])
            if ov > best_ov:
                best, best_ov = j, ov
        dur = ts["end_s"] - ts["start_s"]
        found = best is not None and best_ov >= 0.5 * dur
        if found:
            used.add(best)
        rows.append(dict(truth=ts["zone"], hidden=ts["hidden"], found=found,
                         zone=det[best]["zone"] if found else None))
    alerts = report["alerts"]
    nh = [a for a in alerts if a["kind"] == "no_hands_on_bars"]
    nh_found = sum(any(_overlap(a, b, x["start_s"], x["end_s"]) > 0 for x in nh)
                   for a, b in truth["no_hands"])
    nh_false = sum(not any(_overlap(a - 0.5, b + 0.5, x["start_s"], x["end_s"]) > 0
                           for a, b in truth["no_hands"]) for x in nh)
    sh = [a for a in alerts if a["kind"] == "sudden_shift"]
    shift_found = sum(any(_overlap(a - 0.3, b + 0.6, x["start_s"], x["end_s"]) > 0 for x in sh)
                      for a, b in truth["shifts"])
    shift_false = sum(not any(_overlap(a - 0.3, b + 0.6, x["start_s"], x["end_s"]) > 0
                              for a, b in truth["shifts"]) for x in sh)
    crit = [a for a in alerts if a["severity"] == "critical"]
    return dict(steps=rows, no_hands=len(truth["no_hands"]), no_hands_found=nh_found,
                no_hands_false=nh_false, shifts=len(truth["shifts"]), shifts_found=shift_found,
                shifts_false=shift_false,
                critical=len(crit), safe_only=bool(truth["config"]["safe_only"]))


def aggregate(results: dict[str, dict]) -> dict:
    rows = [r | {"session": name} for name, res in results.items() for r in res["steps"]]
    visible = [r for r in rows if not r["hidden"]]
    found = [r for r in visible if r["found"]]
    per_zone: dict[str, list[int]] = {}
    for r in found:
        z = per_zone.setdefault(r["truth"], [0, 0])
        z[0] += r["zone"] == r["truth"]
        z[1] += 1
    by_noise: dict[str, list[int]] = {}
    for r in found:
        key = next((w for w in r["session"].split("_") if w.endswith("px")), "other")
        z = by_noise.setdefault(key, [0, 0])
        z[0] += r["zone"] == r["truth"]
        z[1] += 1
    hidden = [r for r in rows if r["hidden"]]
    return dict(
        sessions=len(results),
        steps=len(rows),
        step_recall=round(sum(r["found"] for r in rows) / max(len(rows), 1), 4),
        zone_accuracy=round(sum(r["zone"] == r["truth"] for r in found) / max(len(found), 1), 4),
        zone_accuracy_by_zone={z: f"{c}/{n} = {c / n:.3f}" for z, (c, n) in sorted(per_zone.items())},
        zone_accuracy_by_noise={z: f"{c}/{n} = {c / n:.3f}" for z, (c, n) in sorted(by_noise.items())},
        hidden_steps=len(hidden),
        hidden_found=sum(r["found"] for r in hidden),
        hidden_called_safe=sum(r["zone"] == "safe" for r in hidden),
        no_hands_intervals=sum(r["no_hands"] for r in results.values()),
        no_hands_found=sum(r["no_hands_found"] for r in results.values()),
        no_hands_false_alarms=sum(r["no_hands_false"] for r in results.values()),
        sudden_shifts=sum(r["shifts"] for r in results.values()),
        sudden_shifts_found=sum(r["shifts_found"] for r in results.values()),
        sudden_shift_false_alarms=sum(r["shifts_false"] for r in results.values()),
        safe_only_sessions=sum(r["safe_only"] for r in results.values()),
        safe_only_critical_alerts=sum(r["critical"] for r in results.values() if r["safe_only"]),
        misses=[(r["session"], r["truth"], r["zone"]) for r in rows
                if (r["found"] and not r["hidden"] and r["zone"] != r["truth"])
                or not r["found"]][:40],
    )


def run_suite(kind: str = "small", work: str | Path | None = None, camera: bool = True) -> dict:
    tmp = None
    if work is None:
        tmp = tempfile.TemporaryDirectory(prefix="ashiwatch-eval-")
        work = tmp.name
    work = Path(work)
    results = {}
    try:
        for name, cfg in make_suite(kind):
            cfg = replace(cfg, studio_camera=camera)
            truth = write_session(work, name, cfg)
            header, frames = iter_pose_track(work / f"{name}.jsonl")
            rep = audit_frames(header, frames, load_studio(work / f"{name}.studio.yaml"))
            results[name] = compare(rep.model_dump(), truth)
    finally:
        if tmp is not None:
            tmp.cleanup()
    return aggregate(results)


def format_table(res: dict) -> str:
    lines = [f"sessions: {res['sessions']}   steps: {res['steps']}",
             f"step recall:            {res['step_recall']:.4f}",
             f"zone accuracy (all):    {res['zone_accuracy']:.4f}"]
    lines += [f"  {z:<14} {v}" for z, v in res["zone_accuracy_by_zone"].items()]
    lines += [f"  noise {z:<8} {v}" for z, v in res["zone_accuracy_by_noise"].items()]
    lines += [f"hidden steps: {res['hidden_steps']} (found {res['hidden_found']}, "
              f"called safe {res['hidden_called_safe']})",
              f"no-hands intervals found: {res['no_hands_found']}/{res['no_hands_intervals']}, "
              f"false alarms: {res['no_hands_false_alarms']}",
              f"sudden shifts found: {res['sudden_shifts_found']}/{res['sudden_shifts']}, "
              f"false alarms: {res['sudden_shift_false_alarms']}",
              f"critical alerts in {res['safe_only_sessions']} safe-only session(s): "
              f"{res['safe_only_critical_alerts']}"]
    if res["misses"]:
        lines.append("misses (session, truth, detected): " +
                     "; ".join(f"{s} {t}->{d}" for s, t, d in res["misses"]))
    return "\n".join(lines)


def main(argv=None):
    ap = argparse.ArgumentParser(description="evaluate the safety core on generated sessions")
    ap.add_argument("--suite", choices=["small", "large", "stress"], default="small")
    ap.add_argument("--work", default=None)
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--no-camera", action="store_true",
                    help="studio files without the camera (parallax flagged, not corrected)")
    a = ap.parse_args(argv)
    res = run_suite(a.suite, a.work, camera=not a.no_camera)
    print(json.dumps(res, indent=1) if a.json else format_table(res))


if __name__ == "__main__":
    main()
