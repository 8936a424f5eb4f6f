"""Service settings: where the data lives and the limits. One object, made once by the command
that starts the server (or the CLI that adds users), passed to the app; no global state."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

DEFAULT_MAX_UPLOAD_MB = 2048.0


def default_data_dir() -> Path:
    """``$ASHIWATCH_DATA``, else ``$XDG_DATA_HOME/ashiwatch`` (``~/.local/share/ashiwatch``).

    Not ``./data``: ``ashiwatch user add`` and ``ashiwatch serve`` must find the same database
    whatever folder they are started from."""
    env = os.environ.get("ASHIWATCH_DATA")
    if env:
        return Path(env)
    xdg = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(xdg) / "ashiwatch"


@dataclass(frozen=True)
class Settings:
    data_dir: Path
    max_upload_bytes: int = int(DEFAULT_MAX_UPLOAD_MB * 1024 * 1024)

    @property
    def db_path(self) -> Path:
        return self.data_dir / "ashiwatch.db"

    @property
    def uploads_dir(self) -> Path:
        return self.data_dir / "uploads"

    def ensure_dirs(self) -> None:
        self.uploads_dir.mkdir(parents=True, exist_ok=True)
