"""Pictures of an audit for people: the HTML report (and its PDF), with SVG plots.

``render_html`` (vision.pictures.reporting.html) turns a report v1 into one self-contained HTML page;
``html_to_pdf`` (vision.pictures.reporting.pdf) prints that page with Debian's chromium. Zone colours
(vision.pictures.reporting.colours) are shared with the frame overlay (vision.pictures.overlay), so a zone has the
same colour on a snapshot, the back map and the timeline. See docs/reports.md.
"""
