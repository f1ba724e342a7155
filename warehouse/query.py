"""Read-only SQL for analysts.

The connection is opened read-only, with access to anything outside the
database file switched off and the configuration locked, so a query can read
the published tables and nothing else. Every statement runs under a deadline
(the connection is interrupted when it passes), a displayed result is cut at
a row limit that says so, and exports stream to their file in record batches,
written under a temporary name and renamed into place when complete.
"""

from __future__ import annotations

import csv
import io
import json
import os
import threading
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any, Iterator

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq

from warehouse.lock import WriterLock, writer_lock_path
from warehouse.replica import replica_path


class WarehouseMissing(FileNotFoundError):
    pass


class QueryTimeout(RuntimeError):
    """The statement ran past its deadline and was interrupted."""


@dataclass
class QueryResult:
    columns: list[str]
    rows: list[tuple[Any, ...]]
    truncated: bool = False  # more rows than the limit: only the first ``len(rows)`` are here


@contextmanager
def _deadline(con: duckdb.DuckDBPyConnection, seconds: float | None) -> Iterator[None]:
    """Interrupt ``con`` when the block takes longer than ``seconds`` (None: no deadline)."""
    if not seconds:
        yield
        return
    expired = threading.Event()

    def interrupt() -> None:
        expired.set()
        con.interrupt()

    timer = threading.Timer(seconds, interrupt)
    timer.daemon = True
    timer.start()
    try:
        yield
    except duckdb.Error as error:
        if expired.is_set():
            raise QueryTimeout(f"the query ran for more than {seconds:g} s and was stopped "
                               f"(--timeout, AKHBAR_SQL_TIMEOUT_SECONDS)") from error
        raise
    finally:
        timer.cancel()


def readable_path(path: Path) -> Path:
    """The replica a writer refreshes after each publish (see ``warehouse.replica``), else the file."""
    replica = replica_path(path)
    if replica.exists():
        return replica
    if path.exists():
        # No replica yet: the first run is still writing the file, and a reader would collide with it.
        if WriterLock(writer_lock_path(path)).held():
            raise WarehouseMissing(f"nothing published yet at {path}: its first run is still writing it")
        return path
    raise WarehouseMissing(f"no warehouse at {path}: run `akhbar run` first, or pass --warehouse")


def open_read_only(path: Path) -> duckdb.DuckDBPyConnection:
    """A locked-down read-only connection to the replica; to the main file if the replica cannot be opened."""
    readable = readable_path(path)
    try:
        con = _connect_locked(readable)
    except duckdb.Error:
        if readable == path or not path.exists():
            raise
        con = _connect_locked(path)  # a truncated or corrupted replica: the writer refreshes it at its next publish
    return con


def _connect_locked(path: Path) -> duckdb.DuckDBPyConnection:
    con = duckdb.connect(
        str(path), read_only=True, config={"enable_external_access": False, "autoload_known_extensions": False},
    )
    con.execute("SET lock_configuration = true")
    return con


def run_query(path: Path, sql: str, limit: int | None = None, timeout: float | None = None) -> QueryResult:
    """The result of ``sql``: all rows, or the first ``limit`` (``truncated`` says more were there)."""
    with open_read_only(path) as con, _deadline(con, timeout):
        cursor = con.execute(sql)
        columns = [d[0] for d in cursor.description] if cursor.description else []
        if not columns:
            return QueryResult(columns, [])
        if limit is None:
            return QueryResult(columns, cursor.fetchall())
        rows = cursor.fetchmany(limit + 1)
    return QueryResult(columns, rows[:limit], truncated=len(rows) > limit)


def export(path: Path, sql: str, fmt: str, output: Path, timeout: float | None = None) -> int:
    """Stream the result of ``sql`` into ``output`` (csv, json or parquet); returns the row count.

    Memory stays bounded by one record batch; the file appears only when
    complete (written as ``.<name>.partial`` beside it, then renamed).
    """
    partial = output.with_name(f".{output.name}.partial")
    written = 0
    try:
        with open_read_only(path) as con, _deadline(con, timeout):
            relation = con.sql(sql)
            if relation is None:
                raise duckdb.InvalidInputException("the statement returns no rows to export")
            reader = relation.to_arrow_reader(50_000)
            if fmt == "parquet":
                with pq.ParquetWriter(partial, reader.schema) as writer:
                    for batch in reader:
                        writer.write_batch(batch)
                        written += batch.num_rows
            else:
                with partial.open("w", encoding="utf-8", newline="") as handle:
                    written = _write_text(reader, fmt, handle)
        os.replace(partial, output)
    finally:
        partial.unlink(missing_ok=True)
    return written


def _write_text(reader: pa.RecordBatchReader, fmt: str, handle) -> int:
    columns, written = reader.schema.names, 0
    if fmt == "csv":
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(columns)
    else:
        handle.write("[")
    for batch in reader:
        for row in zip(*(column.to_pylist() for column in batch.columns)):
            if fmt == "csv":
                writer.writerow(row)
            else:
                handle.write(("," if written else "") + "\n  " + json.dumps(
                    dict(zip(columns, map(_jsonable, row))), ensure_ascii=False))
            written += 1
    if fmt != "csv":
        handle.write("\n]\n" if written else "]\n")
    return written


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
