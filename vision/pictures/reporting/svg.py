"""The report's plots as SVG strings: the back map, the heat map and the timeline.

Every drawn step and alert carries data attributes (``data-step``, ``data-alert``, ``data-zone``,
``data-foot``, ...) so that a test, or a person with the browser's inspector, can count what is
drawn and compare it with the report JSON.

Body coordinates come from the report (``body_xy_cm``, scaled to the client's stature when the
profile gives one) and are drawn on the reference atlas, so they are scaled back first. The map
shows the back as seen from above with the head at the top: the client's left is on the left.
"""

from __future__ import annotations

from html import escape

import numpy as np

from vision.safety.report import Report
from vision.pictures.reporting.colours import (GRIP_COLOURS, SEVERITY_COLOURS, ZONE_COLOURS, zone_colour)
from vision.pictures.reporting.shapes import (leg_polygon, outline_polygon, popliteal_polygon,
                                     reference_legs, trunk_zones)
from vision.safety.zones import Atlas, default_atlas

# Map extent in reference cm: x (client's left positive) and y (shoulder line 0, feet down).
X_HALF = 46.0
Y_TOP, Y_BOTTOM = -38.0, 150.0
PX_PER_CM = 2.2
MAP_W = 2 * X_HALF * PX_PER_CM
MAP_H = (Y_BOTTOM - Y_TOP) * PX_PER_CM
TRAY_H = 46.0        # below the map: steps that could not be placed on the body


def _xy(p: np.ndarray) -> np.ndarray:
    """Body cm → map px. The client's left (+x) is drawn on the left (seen from above)."""
    p = np.asarray(p, dtype=np.float64).reshape(-1, 2)
    return np.stack([(X_HALF - p[:, 0]) * PX_PER_CM, (p[:, 1] - Y_TOP) * PX_PER_CM], axis=1)


def _points(poly: np.ndarray) -> str:
    return " ".join(f"{x:.1f},{y:.1f}" for x, y in _xy(poly))


def body_scale(report: Report, atlas: Atlas) -> float:
    """Report cm per reference cm (the audit scales body coordinates to the client's stature)."""
    h = report.client.height_cm
    return (h / atlas.reference_stature_cm) if h else 1.0


def _body_layer(atlas: Atlas, zones: bool, uid: str) -> str:
    """The trunk outline and legs, with the zones drawn (or only the outline)."""
    out = [f'<clipPath id="{uid}-trunk"><polygon points="{_points(outline_polygon(atlas))}"/>'
           f'</clipPath>']
    legs = reference_legs(atlas)
    body_fill = ZONE_COLOURS["safe"] if zones else "#eceff1"
    op = "0.55" if zones else "1"
    for side, chain in legs.items():
        out.append(f'<polygon class="leg" points="{_points(leg_polygon(atlas, chain))}" '
                   f'fill="{body_fill}" fill-opacity="{op}" stroke="#37474f" stroke-width="1"/>')
    out.append(f'<g clip-path="url(#{uid}-trunk)">'
               f'<polygon class="trunk" points="{_points(outline_polygon(atlas))}" '
               f'fill="{body_fill}" fill-opacity="{op}"/>')
    if zones:
        for name, poly in trunk_zones(atlas):
            out.append(f'<polygon class="zone" data-zone="{name}" points="{_points(poly)}" '
                       f'fill="{zone_colour(name)}" fill-opacity="0.7">'
                       f'<title>{escape(name)}</title></polygon>')
    out.append('</g>')
    if zones:
        for side, chain in legs.items():
            out.append(f'<polygon class="zone" data-zone="popliteal" '
                       f'points="{_points(popliteal_polygon(atlas, chain))}" '
                       f'fill="{zone_colour("popliteal")}" fill-opacity="0.8">'
                       f'<title>popliteal</title></polygon>')
    # The outline on top, so the zones read as inside the body.
    trunk_line = outline_polygon(atlas)
    out.append(f'<polygon points="{_points(trunk_line)}" fill="none" stroke="#37474f" '
               f'stroke-width="1.2" clip-path="url(#{uid}-trunk)"/>')
    # side labels: which way round the map is
    out.append(f'<text x="6" y="{MAP_H - 6:.0f}" class="side">client\'s L</text>'
               f'<text x="{MAP_W - 6:.0f}" y="{MAP_H - 6:.0f}" class="side" '
               f'text-anchor="end">R</text>')
    return "".join(out)


def _footprint(x: float, y: float, foot: str) -> str:
    """A small sole outline centred on the loaded centre, in map px (heel down, toes up the
    page would be a guess: the report does not keep the foot's direction, so the print is
    upright, mirrored for the right foot)."""
    s = 1.0 if foot == "left" else -1.0
    w, h = 4.2 * PX_PER_CM, 11.0 * PX_PER_CM
    # an ellipse for the sole and a smaller one for the heel pad, slightly offset per foot
    return (f'<ellipse cx="{x + s * 0.6:.1f}" cy="{y - h * 0.18:.1f}" rx="{w * 0.55:.1f}" '
            f'ry="{h * 0.34:.1f}"/>'
            f'<ellipse cx="{x - s * 0.4:.1f}" cy="{y + h * 0.28:.1f}" rx="{w * 0.42:.1f}" '
            f'ry="{h * 0.2:.1f}"/>')


def back_map_svg(report: Report, atlas: Atlas | None = None, uid: str = "bm") -> str:
    """The back with its zones and every step as a footprint in its zone's colour.

    Steps that cannot be placed (zone unknown, or no body position) are drawn in a tray under
    the map, grey, so that the map holds exactly one footprint per step of the report.
    """
    atlas = atlas or default_atlas()
    k = body_scale(report, atlas)
    n = len(report.steps)
    out = [f'<svg class="backmap" xmlns="http://www.w3.org/2000/svg" role="img" '
           f'aria-label="back map with {n} steps" data-steps="{n}" '
           f'viewBox="0 0 {MAP_W:.0f} {MAP_H + TRAY_H:.0f}" width="{MAP_W:.0f}" '
           f'height="{MAP_H + TRAY_H:.0f}">', _body_layer(atlas, True, uid)]
    unplaced = []
    for i, s in enumerate(report.steps):
        if s.body_xy_cm is None or s.zone == "unknown":
            unplaced.append((i, s))
            continue
        x, y = _xy(np.asarray(s.body_xy_cm) / k)[0]
        x, y = float(np.clip(x, 4, MAP_W - 4)), float(np.clip(y, 4, MAP_H - 4))
        out.append(f'<g class="step" data-step="{i}" data-zone="{s.zone}" data-foot="{s.foot}" '
                   f'data-located="true" fill="{zone_colour(s.zone)}" fill-opacity="0.85" '
                   f'stroke="#212121" stroke-width="0.8">'
                   f'<title>step {i + 1}: {s.foot} foot, {s.start_s:.2f}-{s.end_s:.2f} s, '
                   f'{escape(s.zone)}</title>{_footprint(x, y, s.foot)}</g>')
    ty = MAP_H + 8
    out.append(f'<line x1="0" x2="{MAP_W:.0f}" y1="{MAP_H + 1:.0f}" y2="{MAP_H + 1:.0f}" '
               f'stroke="#b0bec5"/>')
    label = (f"{len(unplaced)} step(s) not located: zone unknown" if unplaced
             else "every step located")
    out.append(f'<text x="4" y="{ty + 8:.0f}" class="tray">{escape(label)}</text>')
    per_row = int((MAP_W - 8) // 11)
    for j, (i, s) in enumerate(unplaced):
        x = 9 + (j % per_row) * 11
        y = ty + 20 + (j // per_row) * 13
        out.append(f'<g class="step" data-step="{i}" data-zone="{s.zone}" data-foot="{s.foot}" '
                   f'data-located="false" fill="{zone_colour("unknown")}" stroke="#212121" '
                   f'stroke-width="0.6"><title>step {i + 1}: {s.foot} foot, '
                   f'{s.start_s:.2f}-{s.end_s:.2f} s, not located ({escape(s.zone)})</title>'
                   f'<ellipse cx="{x}" cy="{y}" rx="3.5" ry="5.5"/></g>')
    out.append('</svg>')
    return "".join(out)


HEAT_CELL_CM = 2.0
HEAT_SIGMA_CM = 4.0
# light yellow → orange → deep red → purple (few steps → many)
HEAT_RAMP = np.array([[255, 245, 157], [255, 167, 38], [229, 57, 53], [106, 27, 154]], float)


def heat_grid(xy: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Gaussian density of step centres (N, 2) on a grid: cell centres gx (W,), gy (H,) and the
    density (H, W) in steps per cell (a step spreads over its neighbourhood)."""
    gx = np.arange(-X_HALF + HEAT_CELL_CM / 2, X_HALF, HEAT_CELL_CM)
    gy = np.arange(Y_TOP + HEAT_CELL_CM / 2, Y_BOTTOM, HEAT_CELL_CM)
    if len(xy) == 0:
        return gx, gy, np.zeros((len(gy), len(gx)))
    dx = gx[None, :] - xy[:, 0:1]                       # (N, W)
    dy = gy[None, :] - xy[:, 1:2]                       # (N, H)
    kx = np.exp(-0.5 * (dx / HEAT_SIGMA_CM) ** 2)
    ky = np.exp(-0.5 * (dy / HEAT_SIGMA_CM) ** 2)
    norm = HEAT_CELL_CM ** 2 / (2 * np.pi * HEAT_SIGMA_CM ** 2)
    return gx, gy, norm * np.einsum("nh,nw->hw", ky, kx)


def _ramp(v: np.ndarray) -> np.ndarray:
    """Values 0..1 → RGB rows along HEAT_RAMP."""
    pos = np.clip(v, 0, 1) * (len(HEAT_RAMP) - 1)
    i = np.minimum(pos.astype(int), len(HEAT_RAMP) - 2)
    f = (pos - i)[:, None]
    return (HEAT_RAMP[i] * (1 - f) + HEAT_RAMP[i + 1] * f).round().astype(int)


def heat_map_svg(report: Report, atlas: Atlas | None = None, uid: str = "hm") -> str:
    """Where the steps pile up: a density of the located steps over the body outline."""
    atlas = atlas or default_atlas()
    k = body_scale(report, atlas)
    pts = np.array([s.body_xy_cm for s in report.steps
                    if s.body_xy_cm is not None and s.zone != "unknown"], float).reshape(-1, 2) / k
    gx, gy, d = heat_grid(pts)
    out = [f'<svg class="heatmap" xmlns="http://www.w3.org/2000/svg" role="img" '
           f'aria-label="heat map of {len(pts)} located steps" data-located="{len(pts)}" '
           f'viewBox="0 0 {MAP_W:.0f} {MAP_H + TRAY_H:.0f}" width="{MAP_W:.0f}" '
           f'height="{MAP_H + TRAY_H:.0f}">', _body_layer(atlas, False, uid)]
    peak = float(d.max()) if d.size else 0.0
    if peak > 0:
        iy, ix = np.nonzero(d >= 0.04 * peak)
        v = d[iy, ix] / peak
        rgb = _ramp(v)
        cell = HEAT_CELL_CM * PX_PER_CM
        xy = _xy(np.stack([gx[ix] + HEAT_CELL_CM / 2, gy[iy] - HEAT_CELL_CM / 2], axis=1))
        out.append('<g class="heat" shape-rendering="crispEdges">')
        out += [f'<rect x="{x:.1f}" y="{y:.1f}" width="{cell + 0.3:.1f}" height="{cell + 0.3:.1f}" '
                f'fill="rgb({r},{g},{b})" fill-opacity="{0.25 + 0.7 * a:.2f}"/>'
                for (x, y), (r, g, b), a in zip(xy, rgb, v)]
        out.append('</g>')
        # the scale: what the darkest colour means
        out.append(f'<text x="4" y="{MAP_H + 16:.0f}" class="tray">darkest: '
                   f'{peak / (HEAT_CELL_CM ** 2) * 100:.1f} steps per 10 x 10 cm</text>')
    else:
        out.append(f'<text x="{MAP_W / 2:.0f}" y="{MAP_H / 2:.0f}" text-anchor="middle" '
                   f'class="empty">no located steps</text>')
    out.append('</svg>')
    return "".join(out)


# -- timeline ------------------------------------------------------------------------------------
TL_W, TL_LEFT, TL_RIGHT = 960.0, 118.0, 12.0
ROW_H = 22.0


def _nice_step(span: float, target: int = 10) -> float:
    raw = max(span, 1e-6) / target
    mag = 10 ** np.floor(np.log10(raw))
    for m in (1, 2, 5, 10):
        if raw <= m * mag:
            return float(m * mag)
    return float(10 * mag)


def alert_lanes(alerts) -> list[int]:
    """Greedy lanes so that overlapping alerts do not hide each other."""
    ends: list[float] = []
    lanes = []
    for a in alerts:
        for j, e in enumerate(ends):
            if a.start_s >= e:
                ends[j] = a.end_s
                lanes.append(j)
                break
        else:
            ends.append(a.end_s)
            lanes.append(len(ends) - 1)
    return lanes


def _alert_number(n: int, x0: float, x1: float, y: float) -> str:
    """The alert's number inside its bar, or just after it when the bar is too short."""
    inside = x1 - x0 >= 7 * len(str(n)) + 4
    x = x0 + 2 if inside else max(x1, x0 + 1.2) + 2
    cls = "num" if inside else "num out"
    return f'<text x="{x:.1f}" y="{y + ROW_H * 0.62:.1f}" class="{cls}">{n}</text>'


def timeline_svg(report: Report) -> str:
    """Feet on the client, each foot's steps (zone colours), each hand's grip and the alerts,
    along the session. Alerts are numbered as in the alert table."""
    t0 = min([0.0] + [s.start_s for s in report.steps] + [a.start_s for a in report.alerts]
             + [f.start_s for f in report.feet_on_client])
    t1 = max([t0 + report.duration_s, t0 + 1e-3] + [s.end_s for s in report.steps]
             + [a.end_s for a in report.alerts] + [f.end_s for f in report.feet_on_client])
    span = t1 - t0
    plot_w = TL_W - TL_LEFT - TL_RIGHT

    def X(t: float) -> float:
        return TL_LEFT + (t - t0) / span * plot_w

    lanes = alert_lanes(report.alerts)
    n_lanes = max(lanes) + 1 if lanes else 1
    rows = ["feet on client", "left foot steps", "right foot steps", "left hand on bar",
            "right hand on bar"]
    top = 8.0
    alert_top = top + len(rows) * ROW_H + 6
    axis_y = alert_top + n_lanes * ROW_H + 6
    height = axis_y + 28
    out = [f'<svg class="timeline" xmlns="http://www.w3.org/2000/svg" role="img" '
           f'aria-label="timeline" data-steps="{len(report.steps)}" '
           f'data-alerts="{len(report.alerts)}" viewBox="0 0 {TL_W:.0f} {height:.0f}" '
           f'width="{TL_W:.0f}" height="{height:.0f}">']
    labels = rows + ["alerts"]
    for j, name in enumerate(labels):
        y = top + j * ROW_H if j < len(rows) else alert_top
        out.append(f'<text x="{TL_LEFT - 6:.0f}" y="{y + ROW_H * 0.65:.1f}" text-anchor="end" '
                   f'class="row">{escape(name)}</text>')
        out.append(f'<line x1="{TL_LEFT:.0f}" x2="{TL_W - TL_RIGHT:.0f}" y1="{y + ROW_H - 1:.1f}" '
                   f'y2="{y + ROW_H - 1:.1f}" stroke="#eceff1"/>')

    def bar(cls: str, a: float, b: float, y: float, fill: str, title: str, attrs: str = "",
            h: float = ROW_H - 6) -> str:
        x0 = X(a)
        w = max(X(b) - x0, 1.2)     # an instant stays visible
        return (f'<rect class="{cls}" {attrs} x="{x0:.1f}" y="{y + 2:.1f}" width="{w:.1f}" '
                f'height="{h:.1f}" fill="{fill}"><title>{escape(title)}</title></rect>')

    feet_fill = {0: "#eceff1", 1: "#78909c", 2: "#263238"}
    for f in report.feet_on_client:
        if f.count:
            out.append(bar("tl-feet", f.start_s, f.end_s, top, feet_fill.get(min(f.count, 2)),
                           f"{f.count} foot/feet on the client {f.start_s:.2f}-{f.end_s:.2f} s",
                           f'data-count="{f.count}"'))
    for i, s in enumerate(report.steps):
        y = top + (1 if s.foot == "left" else 2) * ROW_H
        out.append(bar("tl-step", s.start_s, s.end_s, y, zone_colour(s.zone),
                       f"step {i + 1}: {s.foot} foot {s.start_s:.2f}-{s.end_s:.2f} s, {s.zone}",
                       f'data-step="{i}" data-zone="{s.zone}" data-foot="{s.foot}"'))
    for j, side in enumerate(("left", "right")):
        y = top + (3 + j) * ROW_H
        for g in report.grip.get(side, []):
            out.append(bar("tl-grip", g.start_s, g.end_s, y, GRIP_COLOURS[g.state],
                           f"{side} hand {g.state} {g.start_s:.2f}-{g.end_s:.2f} s",
                           f'data-state="{g.state}"'))
    for i, (a, lane) in enumerate(zip(report.alerts, lanes)):
        y = alert_top + lane * ROW_H
        foot = f" ({a.foot} foot)" if a.foot else ""
        out.append(f'<g class="tl-alert" data-alert="{i}" data-kind="{a.kind}" '
                   f'data-severity="{a.severity}">'
                   + bar("tl-alert-bar", a.start_s, a.end_s, y, SEVERITY_COLOURS[a.severity],
                         f"alert {i + 1}: {a.kind}{foot}, {a.severity}, "
                         f"{a.start_s:.2f}-{a.end_s:.2f} s")
                   + _alert_number(i + 1, X(a.start_s), X(a.end_s), y) + '</g>')
    # time axis
    step = _nice_step(span)
    out.append(f'<line x1="{TL_LEFT:.0f}" x2="{TL_W - TL_RIGHT:.0f}" y1="{axis_y:.1f}" '
               f'y2="{axis_y:.1f}" stroke="#607d8b"/>')
    for t in np.arange(np.ceil(t0 / step) * step, t1 + 1e-9, step):
        x = X(float(t))
        out.append(f'<line x1="{x:.1f}" x2="{x:.1f}" y1="{top:.0f}" y2="{axis_y + 4:.1f}" '
                   f'stroke="#cfd8dc" stroke-dasharray="2 3"/>'
                   f'<text x="{x:.1f}" y="{axis_y + 16:.1f}" text-anchor="middle" '
                   f'class="tick">{t:g}</text>')
    out.append(f'<text x="{TL_W - TL_RIGHT:.0f}" y="{axis_y + 27:.1f}" text-anchor="end" '
               f'class="tick">seconds</text>')
    if not report.alerts:
        out.append(f'<text x="{TL_LEFT + 6:.0f}" y="{alert_top + ROW_H * 0.65:.1f}" '
                   f'class="empty">no alerts</text>')
    out.append('</svg>')
    return "".join(out)
