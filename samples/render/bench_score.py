"""The rendered benchmark's scoring of one audit report against its session's truth (the rules
are in samples/render/benchmark.py's docstring), and its table rows."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

from vision.safety.zones import RISKY

def _iou(a0, a1, b0, b1) -> float:
    inter = max(0.0, min(a1, b1) - max(a0, b0))
    union = max(a1, b1) - min(a0, b0)
    return inter / union if union > 0 else 0.0


@dataclass
class Score:
    true_steps: int = 0
    found: int = 0
    zone_ok: int = 0
    danger: int = 0
    d_flagged: int = 0
    d_own: int = 0
    d_safe: int = 0
    d_unknown: int = 0
    d_missed: int = 0
    safe: int = 0
    safe_flagged: int = 0
    unknown: int = 0
    possible: int = 0
    detected: int = 0
    spurious: int = 0
    no_hands: int = 0
    no_hands_found: int = 0
    no_hands_false: int = 0
    minutes: float = 0.0
    read_safe: list = field(default_factory=list)   # (session, truth zone, t) of each

    def add(self, o: "Score") -> None:
        for k, v in asdict(o).items():
            if k == "read_safe":
                self.read_safe += o.read_safe
            else:
                setattr(self, k, getattr(self, k) + v)


def score(report: dict, truth: dict, name: str = "") -> Score:
    from samples.evaluate import compare, on_client
    tsteps = on_client(truth)
    det = report["steps"]
    pairs = sorted(((_iou(t["start_s"], t["end_s"], d["start_s"], d["end_s"]), i, j)
                    for i, t in enumerate(tsteps) for j, d in enumerate(det)
                    if t["foot"] == d["foot"]), reverse=True)
    match: dict[int, int] = {}
    used: set[int] = set()
    for iou, i, j in pairs:
        if iou < 0.3:
            break
        if i not in match and j not in used:
            match[i] = j
            used.add(j)
    s = Score(true_steps=len(tsteps), detected=len(det), spurious=len(det) - len(used),
              minutes=truth["duration_s"] / 60.0)
    for i, t in enumerate(tsteps):
        d = det[match[i]] if i in match else None
        z = None if d is None else d["zone"]
        if d is not None:
            s.found += 1
            s.zone_ok += z == t["zone"]
            s.unknown += z == "unknown"
            s.possible += bool(d.get("possible"))
        if t["hidden"]:
            continue
        if t["zone"] in RISKY:
            s.danger += 1
            if d is None:
                s.d_missed += 1
                continue
            s.d_flagged += z in RISKY
            s.d_own += z == t["zone"]
            s.d_unknown += z == "unknown"
            if z in ("safe", "off_body"):
                s.d_safe += 1
                s.read_safe.append((name, t["zone"], t["start_s"]))
        elif t["zone"] == "safe":
            s.safe += 1
            s.safe_flagged += d is not None and z in RISKY
    c = compare(report, truth)
    s.no_hands, s.no_hands_found, s.no_hands_false = c["no_hands"], c["no_hands_found"], \
        c["no_hands_false"]
    return s


def row(label: str, s: Score) -> str:
    f = lambda a, b: "–" if b == 0 else f"{a / b:.2f}"  # noqa: E731
    return (f"| {label} | {f(s.found, s.true_steps)} | {f(s.zone_ok, s.found)} | "
            f"{f(s.d_flagged, s.danger)} / {f(s.d_own, s.danger)} / {s.d_safe} / {s.d_unknown} / "
            f"{s.d_missed} | {f(s.safe_flagged, s.safe)} | {f(s.unknown, s.found)} | "
            f"{f(s.spurious, s.true_steps)} | {s.no_hands_found}/{s.no_hands} "
            f"(+{s.no_hands_false}; {s.no_hands_false / max(s.minutes / 10, 1e-9):.1f}/10 min) |")


HEAD = ("| session / input | step recall | zone accuracy | dangerous: flagged / own zone / read "
        "safe / unknown / missed | safe flagged | unknown | spurious per true step | no-hands "
        "found (+false) |\n| --- | --- | --- | --- | --- | --- | --- | --- |")
