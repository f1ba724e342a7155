"""The warehouse tables, defined once as Arrow schemas.

The Parquet files and the DuckDB DDL both come from these schemas, so a column
exists in one place only. Names listed in the README are a contract with
analysts: add columns, never rename or drop them.
"""

from __future__ import annotations

import pyarrow as pa

_TS = pa.timestamp("us", tz="UTC")


def _field(name: str, type_: pa.DataType, nullable: bool = True) -> pa.Field:
    return pa.field(name, type_, nullable=nullable)


ARTICLES = pa.schema(
    [
        _field("article_id", pa.string(), False),
        _field("source_path", pa.string(), False),
        _field("text", pa.string(), False),
        _field("text_norm", pa.string(), False),
        _field("text_chars", pa.int32(), False),
        _field("text_norm_chars", pa.int32(), False),
        _field("n_sentences", pa.int32(), False),
        _field("n_tokens", pa.int32(), False),
        _field("n_mentions", pa.int32(), False),
        _field("raw_sha256", pa.string(), False),
        _field("run_id", pa.string(), False),
        _field("ingested_at", _TS, False),
    ]
)

SENTENCES = pa.schema(
    [
        _field("article_id", pa.string(), False),
        _field("sentence_index", pa.int32(), False),
        _field("start_char", pa.int32(), False),
        _field("end_char", pa.int32(), False),
        _field("n_tokens", pa.int32(), False),
    ]
)

MENTIONS = pa.schema(
    [
        _field("article_id", pa.string(), False),
        _field("mention_index", pa.int32(), False),
        _field("sentence_index", pa.int32(), False),
        _field("start_char", pa.int32(), False),
        _field("end_char", pa.int32(), False),
        _field("surface", pa.string(), False),
        _field("label", pa.string(), False),
        _field("norm_key", pa.string(), False),
    ]
)

RUNS = pa.schema(
    [
        _field("run_id", pa.string(), False),
        _field("flow_run_id", pa.string()),
        _field("started_at", _TS, False),
        _field("finished_at", _TS),
        _field("n_seen", pa.int32(), False),
        _field("n_new", pa.int32(), False),
        _field("n_skipped", pa.int32(), False),
        _field("n_failed", pa.int32(), False),
        _field("n_sentences", pa.int32(), False),
        _field("n_mentions", pa.int32(), False),
        _field("model", pa.string()),
        _field("model_version", pa.string()),
        _field("status", pa.string(), False),
        _field("inbox", pa.string()),
        _field("message", pa.string()),
    ]
)

QUARANTINE = pa.schema(
    [
        _field("item_id", pa.string(), False),
        _field("source_path", pa.string(), False),
        _field("reason", pa.string(), False),
        _field("run_id", pa.string(), False),
        _field("quarantined_at", _TS, False),
        _field("detail", pa.string()),
        _field("level", pa.string(), False),
        _field("stored_path", pa.string()),
        _field("status", pa.string(), False),
    ]
)

# Publication order: parents before children.
TABLES: dict[str, pa.Schema] = {
    "articles": ARTICLES,
    "sentences": SENTENCES,
    "mentions": MENTIONS,
    "runs": RUNS,
    "quarantine": QUARANTINE,
}

PRIMARY_KEYS: dict[str, tuple[str, ...]] = {
    "articles": ("article_id",),
    "sentences": ("article_id", "sentence_index"),
    "mentions": ("article_id", "mention_index"),
    "runs": ("run_id",),
    "quarantine": ("item_id", "run_id", "status"),
}

_DUCKDB_TYPES = {
    pa.string(): "VARCHAR",
    pa.int32(): "INTEGER",
    pa.int64(): "BIGINT",
    pa.float64(): "DOUBLE",
    pa.bool_(): "BOOLEAN",
    pa.date32(): "DATE",
    _TS: "TIMESTAMPTZ",
}


def duckdb_type(type_: pa.DataType) -> str:
    return _DUCKDB_TYPES[type_]


def create_table_sql(name: str) -> str:
    schema = TABLES[name]
    columns = [
        f"{f.name} {duckdb_type(f.type)}{'' if f.nullable else ' NOT NULL'}" for f in schema
    ]
    columns.append(f"PRIMARY KEY ({', '.join(PRIMARY_KEYS[name])})")
    return f"CREATE TABLE IF NOT EXISTS {name} (\n  " + ",\n  ".join(columns) + "\n)"


def to_arrow(name: str, rows: list[dict]) -> pa.Table:
    return pa.Table.from_pylist(rows, schema=TABLES[name])
