"""Report v1 → one self-contained HTML page (Jinja2), the source of the PDF too.

Snapshots are embedded as base64 ``data:`` URIs, not linked: an audit report is filed, mailed and
printed on its own, and a page that points at files next to it loses them on the way. The cost
is size (a 1280x720 JPEG snapshot adds ~100-200 kB).
"""

from __future__ import annotations

import base64
import datetime as _dt
from pathlib import Path

import jinja2

from vision.safety.report import Report
from vision.pictures.reporting.colours import (SEVERITY_COLOURS, VERDICT_COLOURS, ZONE_COLOURS,
                                      zone_colour)
from vision.pictures.reporting.svg import back_map_svg, heat_map_svg, timeline_svg
from vision.safety.zones import Atlas, default_atlas

TEMPLATES = Path(__file__).with_name("templates")
_MIME = {".jpg": "image/jpeg", ".jpeg": "image/jpeg", ".png": "image/png"}

VERDICT_TEXT = {
    "safe": "no alert; every step located",
    "caution": "warning alerts, no critical one",
    "unsafe": "critical alerts",
    "unknown": "not enough seen to judge: steps not located, or the back unknown most of the time",
}


def _env() -> jinja2.Environment:
    return jinja2.Environment(loader=jinja2.FileSystemLoader(str(TEMPLATES)),
                              autoescape=jinja2.select_autoescape(["html", "j2"]),
                              undefined=jinja2.StrictUndefined, trim_blocks=True,
                              lstrip_blocks=True)


def data_uri(path: str | Path) -> str | None:
    """The file as a data: URI, or None when it cannot be read."""
    p = Path(path)
    try:
        raw = p.read_bytes()
    except OSError:
        return None
    mime = _MIME.get(p.suffix.lower(), "application/octet-stream")
    return f"data:{mime};base64,{base64.b64encode(raw).decode('ascii')}"


def client_atlas(report: Report) -> Atlas:
    """The atlas the audit judged by: the default one widened by the client's conditions."""
    from vision.safety.profile import CONDITIONS, Profile
    conds = tuple(c for c in report.client.conditions if c in CONDITIONS)
    return default_atlas().widened(Profile(conditions=conds).zone_margins())


def render_html(report: Report, snapshots: dict[int, str] | None = None,
                title: str = "ashiwatch audit report", snapshot_note: str | None = None,
                atlas: Atlas | None = None, generated: str | None = None) -> str:
    """The report page.

    ``snapshots`` maps an alert's index in ``report.alerts`` to an image file (see
    vision.pictures.snapshots); each is embedded. An alert without one says why: ``snapshot_note`` (for
    example "no snapshot: pose-track input"), else "no snapshot". ``atlas``: the zones to draw
    (default: the standard atlas widened by the client's conditions, as the audit did).
    """
    snapshots = snapshots or {}
    atlas = atlas or client_atlas(report)
    shots: dict[int, dict] = {}
    for i, a in enumerate(report.alerts):
        path = snapshots.get(i)
        uri = data_uri(path) if path else None
        if uri:
            shots[i] = {"uri": uri, "note": None, "name": Path(path).name}
        elif path:
            shots[i] = {"uri": None, "note": f"snapshot missing: {Path(path).name}", "name": None}
        else:
            shots[i] = {"uri": None, "note": snapshot_note or "no snapshot", "name": None}
    s = report.summary
    zones_order = [z for z in ZONE_COLOURS if z in s.steps_by_zone] + \
        sorted(z for z in s.steps_by_zone if z not in ZONE_COLOURS)
    ctx = {
        "title": title,
        "r": report,
        "s": s,
        "generated": generated or _dt.datetime.now(_dt.timezone.utc).strftime(
            "%Y-%m-%d %H:%M UTC"),
        "verdict_colour": VERDICT_COLOURS.get(s.verdict, VERDICT_COLOURS["unknown"]),
        "verdict_text": VERDICT_TEXT.get(s.verdict, ""),
        "zone_colours": ZONE_COLOURS,
        "zone_colour": zone_colour,
        "severity_colours": SEVERITY_COLOURS,
        "zones_order": zones_order,
        "back_map": back_map_svg(report, atlas),
        "heat_map": heat_map_svg(report, atlas),
        "timeline": timeline_svg(report),
        "shots": shots,
        "n_shots": sum(1 for v in shots.values() if v["uri"]),
        "snapshot_note": snapshot_note,
        "loaded_s": s.time_feet_on_client_s.get("1", 0.0) + s.time_feet_on_client_s.get("2", 0.0),
        "unplaced": sum(1 for st in report.steps
                        if st.body_xy_cm is None or st.zone == "unknown"),
    }
    return _env().get_template("report.html.j2").render(**ctx)


def write_html(path: str | Path, report: Report, **kw) -> Path:
    """Render and write the page; returns its path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render_html(report, **kw), encoding="utf-8")
    return path
