"""What an operator asks first: the last runs, failed gates, the quarantine, the warehouse's size."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from transforms.metadata import METADATA_RULES_VERSION
from warehouse.query import open_read_only, readable_path

RECENT_RUNS_SQL = """
SELECT run_id, started_at, round(epoch(finished_at - started_at), 1) AS seconds,
       n_seen, n_new, n_skipped, n_failed, coalesce(n_duplicates, 0) AS n_duplicates,
       n_mentions, status, message
FROM runs ORDER BY started_at DESC LIMIT ?
"""
GATE_FAILURES_SQL = """
SELECT count(*), max(started_at) FROM runs WHERE status = 'gate_failed'
"""
QUARANTINE_SQL = """
SELECT reason, count(*) AS items FROM open_quarantine GROUP BY ALL ORDER BY items DESC, reason
"""
HAS_RULES_COLUMN_SQL = """
SELECT count(*) FROM duckdb_columns()
WHERE database_name = current_database() AND table_name = 'articles' AND column_name = 'metadata_rules'
"""
# A row from before the column (NULL, or no column at all in a warehouse not yet written by this version) is version 1.
OLDER_RULES_SQL = "SELECT count(*) FROM articles WHERE coalesce(metadata_rules, 1) < ?"
SIZES_SQL = """
SELECT (SELECT count(*) FROM articles), (SELECT count(*) FROM articles WHERE duplicate_of IS NOT NULL),
       (SELECT count(*) FROM mentions), (SELECT count(*) FROM entities)
"""

HAS_WEB_SOURCES_SQL = """
SELECT count(*) FROM duckdb_tables() WHERE database_name = current_database() AND table_name = 'web_sources'
"""
# Each web source: its state, the figures of the last run that read it, the pages waiting for another try.
WEB_SOURCES_SQL = """
SELECT s.source_id, s.kind, s.location, s.last_checked_at, s.last_success_at, s.last_delivery_at,
       s.failure_streak, s.silent_runs, s.last_error,
       r.status AS last_status, r.entries_seen, r.entries_new, r.pages_fetched, r.pages_failed, r.failures,
       (SELECT count(*) FROM web_entries e WHERE e.source_id = s.source_id AND e.status = 'retrying') AS retrying
FROM web_sources s LEFT JOIN source_runs r ON r.run_id = s.run_id AND r.source_id = s.source_id
ORDER BY s.source_id
"""


@dataclass
class Status:
    path: Path
    runs: list[dict] = field(default_factory=list)
    gate_failures: int = 0
    last_gate_failure: object = None
    quarantine: list[tuple[str, int]] = field(default_factory=list)
    articles: int = 0
    near_copies: int = 0
    mentions: int = 0
    entities: int = 0
    older_rules: int = 0  # published articles whose metadata an older version of the rules made
    rules_version: int = METADATA_RULES_VERSION
    web_sources: list[dict] = field(default_factory=list)  # feeds and sitemaps: health and last figures

    @property
    def quarantined(self) -> int:
        return sum(n for _, n in self.quarantine)


def read_status(warehouse: Path, last: int = 10) -> Status:
    status = Status(readable_path(warehouse))
    with open_read_only(warehouse) as con:
        cursor = con.execute(RECENT_RUNS_SQL, [last])
        names = [d[0] for d in cursor.description]
        status.runs = [dict(zip(names, row)) for row in cursor.fetchall()]
        status.gate_failures, status.last_gate_failure = con.execute(GATE_FAILURES_SQL).fetchall()[0]
        status.quarantine = [tuple(r) for r in con.execute(QUARANTINE_SQL).fetchall()]
        status.articles, status.near_copies, status.mentions, status.entities = con.execute(SIZES_SQL).fetchall()[0]
        if con.execute(HAS_RULES_COLUMN_SQL).fetchone()[0]:
            status.older_rules = con.execute(OLDER_RULES_SQL, [status.rules_version]).fetchone()[0]
        else:
            status.older_rules = status.articles
        if con.execute(HAS_WEB_SOURCES_SQL).fetchone()[0]:
            cursor = con.execute(WEB_SOURCES_SQL)
            names = [d[0] for d in cursor.description]
            status.web_sources = [dict(zip(names, row)) for row in cursor.fetchall()]
    return status
