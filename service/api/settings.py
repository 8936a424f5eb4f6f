"""Service settings: where the data lives and the limits. One object, made once by the command
that starts the server (or the CLI that adds users), passed to the app; no global state."""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass
from pathlib import Path

DEFAULT_MAX_UPLOAD_MB = 2048.0
# 6 h: a 2-hour session's video with the heavy model on a 2-core machine, with room to spare
DEFAULT_JOB_TIMEOUT_S = 6 * 3600.0
DEFAULT_JOB_STALL_S = 120.0
# stream URLs with their passwords, {camera id: source} (service.api.cameras.CameraSecrets)
SECRETS_FILE = "secrets.json"


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
    # an audit is stopped past this (its process killed) and failed, not retried
    job_timeout_s: float = DEFAULT_JOB_TIMEOUT_S
    # ... and when it finishes no frame for this long (a hang in a decoder or a writer)
    job_stall_s: float = DEFAULT_JOB_STALL_S
    # an upload whose body pauses longer than this is dropped (408)
    upload_idle_s: float = 30.0
    # the interactive API pages (/docs, /redoc): off unless asked, since they load their
    # scripts from a CDN into the service's origin
    api_docs: bool = False
    # where audit jobs run: "local" (a process of this machine each) or "ray" (a Ray task
    # each, on a local Ray or the cluster at ray_address; docs/scale.md)
    jobs: str = "local"
    ray_address: str | None = None

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
        """One folder per audit: alert-NN-KIND.jpg and index.json (vision.pictures.snapshots)."""
        return self.snapshots_dir / "audits" / job_id

    def audit_video(self, job_id: str) -> Path:
        return self.videos_dir / f"{job_id}.mp4"

    def camera_snapshots(self, camera_id: int) -> Path:
        """One folder per camera: <event id>.jpg for each alert_start."""
        return self.snapshots_dir / "cameras" / str(camera_id)

    def ensure_dirs(self) -> None:
        """The data folder and its subfolders, 0700 whatever the umask; what a looser older
        version left in them is tightened too (folders 0700, files 0600). Only the service's
        own entries are walked: ``--data`` may name a folder that holds other things."""
        self.data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        os.chmod(self.data_dir, 0o700)
        for d in (self.uploads_dir, self.snapshots_dir, self.videos_dir):
            d.mkdir(mode=0o700, exist_ok=True)
        for d in (self.uploads_dir, self.snapshots_dir, self.videos_dir):
            _tighten(d)
        for f in self.data_dir.glob(self.db_path.name + "*"):    # the database, -wal, -shm
            _tighten(f)
        _tighten(self.data_dir / SECRETS_FILE)


def _tighten(path: Path) -> None:
    """``path`` and (a folder) all below it: folders 0700, files 0600; links left alone."""
    paths = [path]
    if path.is_dir() and not path.is_symlink():
        for root, dirs, files in os.walk(path):
            paths += [Path(root, n) for n in dirs + files]
    for p in paths:
        try:
            st = os.lstat(p)
        except FileNotFoundError:     # not there (yet), or gone meanwhile
            continue
        if stat.S_ISLNK(st.st_mode):
            continue
        want = 0o700 if stat.S_ISDIR(st.st_mode) else 0o600
        mode = stat.S_IMODE(st.st_mode)
        if mode & ~want:
            os.chmod(p, mode & want)
