"""HTML report → PDF with Debian's headless chromium (the same page, printed), and → PNG for a
look at it. chromium is found at run time (ASHIWATCH_CHROMIUM, else /usr/bin/chromium, else
on PATH); without it the caller gets a ChromiumMissing with one line to show."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

CANDIDATES = ("/usr/bin/chromium", "/usr/bin/chromium-browser")
BASE_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
             "--disable-background-networking", "--disable-component-update", "--disable-sync",
             "--mute-audio", "--hide-scrollbars"]


class ChromiumMissing(RuntimeError):
    pass


class RenderError(RuntimeError):
    pass


def find_chromium() -> str:
    env = os.environ.get("ASHIWATCH_CHROMIUM")
    if env:
        if Path(env).is_file():
            return env
        raise ChromiumMissing(f"ASHIWATCH_CHROMIUM={env}: no such file")
    for c in CANDIDATES:
        if Path(c).is_file():
            return c
    for name in ("chromium", "chromium-browser"):
        found = shutil.which(name)
        if found:
            return found
    raise ChromiumMissing("chromium not found: a PDF needs it (Debian: apt-get install chromium)")


def _run(args: list[str], out: Path, timeout: float) -> None:
    chromium = find_chromium()
    # A profile of our own: chromium refuses to share one, and must not touch the user's.
    with tempfile.TemporaryDirectory(prefix="ashiwatch-chromium-") as prof:
        cmd = [chromium, *BASE_ARGS, f"--user-data-dir={prof}", *args]
        try:
            res = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
        except subprocess.TimeoutExpired:
            raise RenderError(f"{out}: chromium took longer than {timeout:g} s") from None
    if res.returncode != 0 or not out.is_file() or out.stat().st_size == 0:
        tail = (res.stderr or "").strip().splitlines()[-1:] or ["no output"]
        raise RenderError(f"{out}: chromium failed (exit {res.returncode}: {tail[0][:200]})")


def html_to_pdf(html_path: str | Path, pdf_path: str | Path, timeout: float = 120.0) -> Path:
    """Print the HTML page to a PDF (A4, no browser header or footer)."""
    src, out = Path(html_path).resolve(), Path(pdf_path).resolve()
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(out.name + ".part")   # never leave a half-written PDF under its name
    tmp.unlink(missing_ok=True)
    _run(["--no-pdf-header-footer", "--print-to-pdf-no-header", f"--print-to-pdf={tmp}",
          src.as_uri()], tmp, timeout)
    tmp.replace(out)
    return out


def html_to_png(html_path: str | Path, png_path: str | Path, width: int = 1060,
                height: int = 3000, timeout: float = 120.0) -> Path:
    """A screenshot of the page (to look at it as a picture)."""
    src, out = Path(html_path).resolve(), Path(png_path).resolve()
    out.parent.mkdir(parents=True, exist_ok=True)
    _run([f"--screenshot={out}", f"--window-size={width},{height}", src.as_uri()], out, timeout)
    return out
