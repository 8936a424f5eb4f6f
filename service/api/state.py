"""The services one app instance owns: settings, database, job runner, cameras, events."""

from __future__ import annotations

from dataclasses import dataclass, field

from service.api.cameras import CameraManager
from service.api.db import Database
from service.api.events import EventHub
from service.api.jobs import JobRunner
from service.api.live import CameraSnapshots, LiveFrames
from service.api.settings import Settings


@dataclass
class Services:
    settings: Settings
    db: Database
    jobs: JobRunner
    hub: EventHub
    cameras: CameraManager
    snapshots: CameraSnapshots
    live: LiveFrames = field(default_factory=LiveFrames)

    @classmethod
    def create(cls, settings: Settings) -> "Services":
        settings.ensure_dirs()
        db = Database(settings.db_path)
        hub = EventHub(db)
        snaps = CameraSnapshots(settings)
        return cls(settings, db, JobRunner(settings, db), hub,
                   CameraManager(db, hub, on_alert=snaps.submit), snaps)

    def start(self) -> None:
        self.jobs.start()
        self.cameras.start_all()

    def stop(self) -> None:
        self.cameras.stop_all()
        self.snapshots.close()
        self.jobs.stop()
        self.db.dispose()
