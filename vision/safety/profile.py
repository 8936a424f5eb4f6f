"""The client profile (YAML): conditions that tighten the rules, and contraindications.

    name: optional
    height_cm: 168            # optional: scales reported body coordinates to this client
    conditions: [osteoporosis, high_blood_pressure]

Each condition is explained (with its effect) in docs/safety-core.md.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from vision.io.yamlfile import read_yaml


class ProfileError(ValueError):
    pass


@dataclass(frozen=True)
class Condition:
    contraindication: bool                 # stated up front in the report
    note: str
    severity: dict = field(default_factory=dict)   # alert kind → severity override
    zone_margin_cm: dict = field(default_factory=dict)  # zone → widen by cm (reference body)
    shift_factor: float = 1.0              # multiply the sudden-shift threshold (smaller = stricter)
    max_feet: int | None = None            # feet on the client above this is an alert


_ALL_ZONES = ("step_on_spine", "step_on_kidney", "step_on_ribs", "step_on_neck",
              "step_on_popliteal", "step_on_sciatic_notch")

CONDITIONS: dict[str, Condition] = {
    "osteoporosis": Condition(
        True, "fragile bone: rib and vertebral fractures under load",
        severity={"step_on_ribs": "critical", "step_on_sciatic_notch": "critical",
                  "sudden_shift": "critical", "one_hand_on_bars": "critical"},
        zone_margin_cm={"ribs": 2.0, "spine": 1.0}, shift_factor=0.75),
    "pregnancy": Condition(
        True, "prone position and abdominal pressure are contraindicated",
        severity={k: "critical" for k in _ALL_ZONES} | {"one_hand_on_bars": "critical",
                                                        "sudden_shift": "critical"},
        zone_margin_cm={"kidney": 2.0}, shift_factor=0.75, max_feet=1),
    "high_blood_pressure": Condition(
        True, "uncontrolled high blood pressure is a contraindication for deep pressure",
        severity={"one_hand_on_bars": "critical"}, max_feet=1),
    "recent_surgery": Condition(
        True, "recent surgery (joints within 6 weeks, implants within 9 months)",
        severity={k: "critical" for k in _ALL_ZONES} | {"one_hand_on_bars": "critical"},
        shift_factor=0.75),
    "kidney_disease": Condition(
        True, "kidney disorders: no pressure over the kidneys or floating ribs",
        severity={"step_on_ribs": "critical"}, zone_margin_cm={"kidney": 2.5}),
    "disc_protrusion": Condition(
        True, "disc protrusion: no load on or beside the spine at the affected levels",
        severity={"step_on_sciatic_notch": "critical", "one_hand_on_bars": "critical",
                  "sudden_shift": "critical"},
        zone_margin_cm={"spine": 1.5}, shift_factor=0.75),
}


@dataclass
class Profile:
    name: str | None = None
    height_cm: float | None = None
    conditions: tuple[str, ...] = ()

    def severity(self, kind: str, default: str) -> str:
        sev = default
        for c in self.conditions:
            if CONDITIONS[c].severity.get(kind) == "critical":
                sev = "critical"
        return sev

    def zone_margins(self) -> dict[str, float]:
        out: dict[str, float] = {}
        for c in self.conditions:
            for z, m in CONDITIONS[c].zone_margin_cm.items():
                out[z] = max(out.get(z, 0.0), m)
        return out

    def shift_factor(self) -> float:
        return min([CONDITIONS[c].shift_factor for c in self.conditions] + [1.0])

    def max_feet(self) -> int:
        caps = [CONDITIONS[c].max_feet for c in self.conditions if CONDITIONS[c].max_feet]
        return min(caps) if caps else 2

    def contraindications(self) -> list[dict]:
        return [{"condition": c, "note": CONDITIONS[c].note} for c in self.conditions
                if CONDITIONS[c].contraindication]


def parse_profile(doc: object, where: str) -> Profile:
    if doc is None:
        return Profile()
    if not isinstance(doc, dict):
        raise ProfileError(f"{where}: a client profile is a mapping (name, height_cm, conditions)")
    conds = doc.get("conditions") or []
    if isinstance(conds, str):
        conds = [conds]
    if not isinstance(conds, list) or not all(isinstance(c, str) for c in conds):
        raise ProfileError(f"{where}: \"conditions\" must be a list of names")
    norm = []
    for c in conds:
        key = c.strip().lower().replace(" ", "_").replace("-", "_")
        if key not in CONDITIONS:
            raise ProfileError(f"{where}: unknown condition {c!r} (known: "
                               f"{', '.join(sorted(CONDITIONS))})")
        if key not in norm:
            norm.append(key)
    height = doc.get("height_cm")
    if height is not None:
        try:
            height = float(height)
        except (TypeError, ValueError):
            raise ProfileError(f"{where}: \"height_cm\" must be a number") from None
        if not 50 <= height <= 250:
            raise ProfileError(f"{where}: \"height_cm\" {height} is not a human stature")
    name = doc.get("name")
    return Profile(name=None if name is None else str(name), height_cm=height,
                   conditions=tuple(norm))


def load_profile(path: str | Path) -> Profile:
    return parse_profile(read_yaml(path, ProfileError), str(path))
