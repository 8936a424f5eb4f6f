"""One colour per zone and state, shared by the frame overlay, the SVG plots and the report CSS.

Families: the zones where a step is critical (spine, kidney, neck) in reds, the zones where it
is a warning or needs care (ribs, sciatic notch, popliteal) in oranges, safe in green, and
`unknown` in grey — never green: what we could not see must not look safe.
"""

from __future__ import annotations

ZONE_COLOURS: dict[str, str] = {
    "spine": "#c62828",
    "kidney": "#e53935",
    "neck": "#ad1457",
    "ribs": "#fb8c00",
    "sciatic_notch": "#f4511e",
    "popliteal": "#ffb300",
    "safe": "#43a047",
    "off_body": "#90a4ae",
    "unknown": "#757575",
}
GRIP_COLOURS: dict[str, str] = {"on": "#43a047", "off": "#e53935", "unknown": "#9e9e9e"}
SEVERITY_COLOURS: dict[str, str] = {"critical": "#c62828", "warning": "#fb8c00"}
VERDICT_COLOURS: dict[str, str] = {"safe": "#2e7d32", "caution": "#ef6c00", "unsafe": "#c62828",
                                   "unknown": "#616161"}
# the two people on frames (BGR hex as RGB strings, converted by bgr())
PERSON_COLOURS: dict[str, str] = {"therapist": "#ffa726", "client": "#4fc3f7", "other": "#bdbdbd"}


def zone_colour(zone: str) -> str:
    """Hex colour of a zone; anything unrecognised is drawn as unknown."""
    return ZONE_COLOURS.get(zone, ZONE_COLOURS["unknown"])


def bgr(hex_colour: str) -> tuple[int, int, int]:
    """'#rrggbb' → OpenCV (b, g, r)."""
    h = hex_colour.lstrip("#")
    r, g, b = (int(h[i:i + 2], 16) for i in (0, 2, 4))
    return (b, g, r)
