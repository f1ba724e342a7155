"""The quarantine: items that could not be published, kept whole with their reason.

Each item is a folder ``quarantine/<item_id>/`` holding the original bytes
exactly as received and ``item.json`` (reason, detail, validation result).
The ``quarantine`` table is the event log of those folders: one row each time
an item is quarantined, and one when a retry resolves it.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import duckdb


@dataclass
class QuarantineItem:
    item_id: str
    source_path: str
    reason: str
    detail: str
    level: str  # "article" (this item alone) or "batch" (held back with its whole batch)
    run_id: str
    quarantined_at: datetime
    validation: dict[str, Any] = field(default_factory=dict)
    format: str | None = None  # how to read the original bytes again on retry
    source_id: str | None = None

    def row(self, stored_path: Path) -> dict[str, Any]:
        return {
            "item_id": self.item_id,
            "source_path": self.source_path,
            "reason": self.reason,
            "detail": self.detail,
            "level": self.level,
            "run_id": self.run_id,
            "quarantined_at": self.quarantined_at,
            "stored_path": str(stored_path),
            "status": "open",
        }


def item_id_for(raw: bytes) -> str:
    """Same bytes, same item: quarantining a file twice keeps one folder."""
    return hashlib.sha256(raw).hexdigest()[:32]


class QuarantineStore:
    def __init__(self, root: Path):
        self.root = root

    def folder(self, item_id: str) -> Path:
        return self.root / item_id

    def put(self, item: QuarantineItem, raw: bytes) -> Path:
        folder = self.folder(item.item_id)
        folder.mkdir(parents=True, exist_ok=True)
        original = folder / "original"
        if not original.exists():
            tmp = folder / "original.tmp"
            tmp.write_bytes(raw)
            os.replace(tmp, original)
        meta = asdict(item) | {"quarantined_at": item.quarantined_at.isoformat()}
        tmp = folder / "item.json.tmp"
        tmp.write_text(json.dumps(meta, ensure_ascii=False, indent=2, default=str), encoding="utf-8")
        os.replace(tmp, folder / "item.json")
        return folder

    def original(self, item_id: str) -> bytes:
        return (self.folder(item_id) / "original").read_bytes()

    def meta(self, item_id: str) -> dict[str, Any]:
        return json.loads((self.folder(item_id) / "item.json").read_text(encoding="utf-8"))


OPEN_ITEMS_SQL = """
SELECT item_id, source_path, reason, detail, level, run_id, quarantined_at, stored_path
FROM (
    SELECT *, row_number() OVER (PARTITION BY item_id ORDER BY quarantined_at DESC) AS latest
    FROM quarantine
)
WHERE latest = 1 AND status = 'open'
ORDER BY quarantined_at, item_id
"""


def open_items(con: duckdb.DuckDBPyConnection) -> list[dict[str, Any]]:
    cursor = con.execute(OPEN_ITEMS_SQL)
    columns = [d[0] for d in cursor.description]
    return [dict(zip(columns, row)) for row in cursor.fetchall()]
