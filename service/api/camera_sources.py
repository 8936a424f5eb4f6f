"""What a camera is: its source (a stream URL, a device, a file), the password kept out of the
database (``CameraSecrets``), and its studio text."""

from __future__ import annotations

import json
import os
import re
import threading
from pathlib import Path
from urllib.parse import unquote, urlparse

STREAM_SCHEMES = {"rtsp", "rtsps", "rtmp", "http", "https", "udp", "tcp", "srt"}
DEVICE = re.compile(r"^(?:\d+|/dev/video(\d+))$")
class SourceError(ValueError):
    """A camera source that cannot be used; one line."""


def source_kind(source: str) -> str:
    """'stream', 'device', or 'file' (a video or a pose track on the server)."""
    s = source.strip()
    if DEVICE.match(s):
        return "device"
    url = urlparse(s)
    if url.scheme == "file":
        return "file"
    if url.scheme and len(url.scheme) > 1:        # (one letter: a Windows drive)
        if url.scheme.lower() in STREAM_SCHEMES:
            return "stream"
        raise SourceError(f"source {source!r}: unsupported scheme {url.scheme!r} (use a file, "
                          f"a device index, or an {'/'.join(sorted(STREAM_SCHEMES))} URL)")
    return "file"


def source_path(source: str) -> Path:
    url = urlparse(source)
    return Path(unquote(url.path)) if url.scheme == "file" else Path(source)


def capture_spec(source: str) -> str:
    """What vision.io.frames.FrameSource opens: a device number, or the URL."""
    m = DEVICE.match(source.strip())
    if m:
        return m.group(1) or source.strip()
    return source.strip()


# scheme://userinfo@host: the netloc ends at the first / ? # (urlparse's rule); within it the
# last @ ends the userinfo, so a password may itself contain an @
_URL_NETLOC = re.compile(r"([A-Za-z][A-Za-z0-9+.-]*://)([^\s/?#]*)")


def redact(text: str) -> str:
    """Every URL in ``text`` without its password (``rtsp://user:***@host/…``): a source, or
    a message naming one (an error of FFmpeg, a log line)."""
    def hide(m: re.Match) -> str:
        userinfo, at, host = m.group(2).rpartition("@")
        if not at or ":" not in userinfo:
            return m.group(0)
        return f"{m.group(1)}{userinfo.split(':', 1)[0]}:***@{host}"
    return _URL_NETLOC.sub(hide, text)


class CameraSecrets:
    """The real sources of cameras whose URL has a password, ``{camera id: source}`` in one
    0600 JSON file of the data folder (``secrets.json``): the database, its WAL and backups of
    it only ever hold the redacted form (docs/service.md)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()

    def _read(self) -> dict[str, str]:
        try:
            return json.loads(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return {}

    def _write(self, secrets: dict[str, str]) -> None:
        # a new file made 0600 whatever the umask, renamed over the old one: whole or not there
        tmp = self.path.with_name(f".{self.path.name}.part")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            os.fchmod(f.fileno(), 0o600)
            json.dump(secrets, f, indent=1, sort_keys=True)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, self.path)

    def get(self, camera_id: int) -> str | None:
        with self._lock:
            return self._read().get(str(camera_id))

    def set(self, camera_id: int, source: str | None) -> None:
        """Keep ``source`` for the camera, or (None) forget what was kept."""
        with self._lock:
            secrets = self._read()
            if source is None and str(camera_id) not in secrets:
                return
            if source is None:
                del secrets[str(camera_id)]
            else:
                secrets[str(camera_id)] = source
            self._write(secrets)


def studio_text(studio: str | None) -> str | None:
    """The stored studio is YAML text, or a path to a studio file (read at each start)."""
    if studio and "\n" not in studio.strip() and len(studio) < 4096:
        try:
            is_file = Path(studio.strip()).is_file()
        except (OSError, ValueError):       # a name too long, a NUL: text, not a path
            is_file = False
        if is_file:
            return Path(studio.strip()).read_text(encoding="utf-8")
    return studio
