"""The resources a run works with, built once from settings and handed to the steps that need them.

As in Dagster's resources, the steps never build what they write to: a test
(or another deployment) swaps a resource by configuration, not by code.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from core.settings import Settings
from warehouse.lock import WriterLock, writer_lock_path
from warehouse.pages import PageArchive
from warehouse.quarantine import QuarantineStore
from warehouse.store import StagingArea, Warehouse


@dataclass(frozen=True)
class Resources:
    warehouse: Warehouse
    staging: StagingArea
    quarantine: QuarantineStore
    lake_dir: Path  # published Parquet, one folder per table and run
    pages: PageArchive  # story pages taken from the web, as fetched
    lock_path: Path
    lock_wait_seconds: float

    @classmethod
    def from_settings(cls, settings: Settings) -> "Resources":
        return cls(
            warehouse=Warehouse(settings.warehouse),
            staging=StagingArea(settings.staging_dir),
            quarantine=QuarantineStore(settings.quarantine_dir),
            lake_dir=settings.lake_dir,
            pages=PageArchive(settings.pages_dir),
            lock_path=writer_lock_path(settings.warehouse),
            lock_wait_seconds=settings.lock_wait_seconds,
        )

    def writer_lock(self) -> WriterLock:
        """One writer per warehouse, for the whole run (plain data here, so resources pickle for Dask)."""
        return WriterLock(self.lock_path, self.lock_wait_seconds)

    def held_back_dir(self, run_id: str) -> Path:
        """Where a batch that failed the gate is kept for inspection."""
        return self.quarantine.root / "batches" / run_id
