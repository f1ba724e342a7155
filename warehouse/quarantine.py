"""The quarantine: items that could not be published, kept whole with their reason.

Each item is a folder ``quarantine/<item_id>/`` holding the original bytes
exactly as received and ``item.json`` (reason, detail, validation result).
The ``quarantine`` table is the event log of those folders: one row each time
an item is quarantined, and one when a retry resolves it; the
``open_quarantine`` view is what is in quarantine now.
"""

from __future__ import annotations

import dataclasses
import json
import os
from datetime import datetime
from pathlib import Path
from typing import Any

import duckdb

from transforms.rejection import Rejection
from warehouse.rows import quarantine_row


class QuarantineStore:
    def __init__(self, root: Path):
        self.root = root

    def folder(self, item_id: str) -> Path:
        return self.root / item_id

    def put(self, rejection: Rejection, run_id: str, at: datetime) -> dict[str, Any]:
        """Keep the item's bytes (once) and its latest reason; returns its ``quarantine`` row."""
        item_id = rejection.item_id
        folder = self.folder(item_id)
        folder.mkdir(parents=True, exist_ok=True)
        original = folder / "original"
        if not original.exists():
            tmp = folder / "original.tmp"
            tmp.write_bytes(rejection.raw if rejection.raw is not None else b"")
            os.replace(tmp, original)
        meta = {"item_id": item_id, "source_path": rejection.source_path, "reason": rejection.reason,
                "detail": rejection.detail, "level": rejection.level, "run_id": run_id,
                "quarantined_at": at.isoformat(), "validation": rejection.validation,
                "format": rejection.format, "source_id": rejection.source_id}
        tmp = folder / "item.json.tmp"
        tmp.write_text(json.dumps(meta, ensure_ascii=False, indent=2, default=str), encoding="utf-8")
        os.replace(tmp, folder / "item.json")
        return quarantine_row(item_id, rejection.source_path, rejection.reason, rejection.detail,
                              rejection.level, run_id, at, folder, "open")

    def resolved_row(self, item_id: str, run_id: str, at: datetime) -> dict[str, Any]:
        """The event that closes an item: a retry published it."""
        meta = self.meta(item_id)
        return quarantine_row(item_id, meta["source_path"], meta["reason"], "resolved by retry", meta["level"],
                              run_id, at, self.folder(item_id), "resolved")

    def original(self, item_id: str) -> bytes:
        return (self.folder(item_id) / "original").read_bytes()

    def meta(self, item_id: str) -> dict[str, Any]:
        return json.loads((self.folder(item_id) / "item.json").read_text(encoding="utf-8"))

    def rejection(self, item_id: str) -> Rejection:
        """The stored item as the rejection it was (bytes, label, format and source, without its findings)."""
        meta = self.meta(item_id)
        known = {f.name for f in dataclasses.fields(Rejection)} - {"raw", "validation"}
        return Rejection(**{k: v for k, v in meta.items() if k in known}, raw=self.original(item_id))


def open_items(con: duckdb.DuckDBPyConnection) -> list[dict[str, Any]]:
    cursor = con.execute("SELECT * FROM open_quarantine ORDER BY quarantined_at, item_id")
    columns = [d[0] for d in cursor.description]
    return [dict(zip(columns, row)) for row in cursor.fetchall()]
