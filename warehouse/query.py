"""Read-only SQL for analysts.

The connection is opened read-only, with access to anything outside the
database file switched off and the configuration locked, so a query can read
the published tables and nothing else.
"""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq

from warehouse.store import replica_path


class WarehouseMissing(FileNotFoundError):
    pass


@dataclass
class QueryResult:
    columns: list[str]
    rows: list[tuple[Any, ...]]


def readable_path(path: Path) -> Path:
    """The replica a writer refreshes after each publish (see ``store.refresh_replica``), else the file."""
    replica = replica_path(path)
    if replica.exists():
        return replica
    if path.exists():
        return path
    raise WarehouseMissing(f"no warehouse at {path}: run `akhbar run` first, or pass --warehouse")


def open_read_only(path: Path) -> duckdb.DuckDBPyConnection:
    con = duckdb.connect(
        str(readable_path(path)),
        read_only=True,
        config={"enable_external_access": False, "autoload_known_extensions": False},
    )
    con.execute("SET lock_configuration = true")
    return con


def run_query(path: Path, sql: str) -> QueryResult:
    with open_read_only(path) as con:
        cursor = con.execute(sql)
        columns = [d[0] for d in cursor.description] if cursor.description else []
        rows = cursor.fetchall() if columns else []
    return QueryResult(columns, rows)


def _jsonable(value: Any) -> Any:
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if isinstance(value, Decimal):
        return float(value)
    return value


def to_csv(result: QueryResult) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(result.columns)
    writer.writerows(result.rows)
    return out.getvalue()


def to_json(result: QueryResult) -> str:
    records = [dict(zip(result.columns, map(_jsonable, row))) for row in result.rows]
    return json.dumps(records, ensure_ascii=False, indent=2)


def to_parquet(result: QueryResult, path: Path) -> None:
    table = pa.Table.from_pylist([dict(zip(result.columns, row)) for row in result.rows]) if result.rows \
        else pa.table({name: pa.array([], pa.null()) for name in result.columns})
    pq.write_table(table, path)
