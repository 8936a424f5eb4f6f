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

    @property
    def snapshots_dir(self) -> Path:
        return self.data_dir / "snapshots"

    @property
    def videos_dir(self) -> Path:
        return self.data_dir / "videos"

    def audit_snapshots(self, job_id: str) -> Path:
        """One folder per audit: alert-NN-KIND.jpg and index.json (vision.snapshots)."""
        return self.snapshots_dir / "audits" / job_id

    def audit_video(self, job_id: str) -> Path:
        return self.videos_dir / f"{job_id}.mp4"

    def camera_snapshots(self, camera_id: int) -> Path:
        """One folder per camera: <event id>.jpg for each alert_start."""
        return self.snapshots_dir / "cameras" / str(camera_id)

    def ensure_dirs(self) -> None:
        for d in (self.uploads_dir, self.snapshots_dir, self.videos_dir):
            d.mkdir(parents=True, exist_ok=True)
