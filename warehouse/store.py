"""The DuckDB file and the Parquet files around it: the resources a run writes through.

- :class:`Warehouse`: the DuckDB file. Every read and write of it goes through
  one connection policy (:meth:`Warehouse.connection`: read-write, the schema
  current, closed after each step), so no other module opens the file for the writer.
- :class:`StagingArea` and :class:`Staging`: a run writes Parquet into
  ``staging/<run_id>/<table>/part-NNNNN.parquet``; only this module knows that layout.

Publishing loads every staged file and the run's record in one transaction,
so a reader sees the whole batch or none of it, then files the Parquet in
``lake/`` and refreshes the readers' replica.
"""

from __future__ import annotations

import hashlib
import logging
import shutil
import threading
from contextlib import contextmanager
from pathlib import Path
from typing import Iterable, Iterator, NamedTuple, Sequence

import duckdb
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from core import faults
from transforms import dedup
from warehouse.replica import refresh_replica, replica_path
from warehouse.views import create_views_sql
from warehouse.tables import (PRIMARY_KEYS, REPLACED_TABLES, TABLES, UNINDEXED_KEYS, create_table_sql, duckdb_type,
                              to_arrow)

log = logging.getLogger(__name__)


def connect(path: Path, read_only: bool = False) -> duckdb.DuckDBPyConnection:
    if not read_only:
        path.parent.mkdir(parents=True, exist_ok=True)
    return duckdb.connect(str(path), read_only=read_only)


def ensure_schema(con: duckdb.DuckDBPyConnection) -> None:
    """Create missing tables, add columns that newer code defines (never drop), and (re)create changed views.

    Every connection of a run calls this, so a current warehouse costs three
    catalog reads and no write: each view carries a digest of its definition as its
    comment, and only a view whose digest differs is replaced. A writer also
    rebuilds, once, a table made with a key index that the schema no longer has
    (``tables.UNINDEXED_KEYS``); a reader reads such a table as it is.
    """
    columns: dict[str, set[str]] = {}
    for table, column in con.execute(
        "SELECT table_name, column_name FROM duckdb_columns() "
        "WHERE database_name = current_database() AND schema_name = current_schema()"
    ).fetchall():
        columns.setdefault(table, set()).add(column)
    tables_changed = False
    for name, schema in TABLES.items():
        if name not in columns:
            con.execute(create_table_sql(name))
            tables_changed = True
            continue
        for f in schema:
            if f.name not in columns[name]:
                con.execute(f"ALTER TABLE {name} ADD COLUMN {f.name} {duckdb_type(f.type)}")
                tables_changed = True
    for name in _indexed_in_a_writable_file(con):
        _rebuild_without_key_index(con, name)
        tables_changed = True
    comments = dict(con.execute(
        "SELECT view_name, comment FROM duckdb_views() "
        "WHERE database_name = current_database() AND schema_name = current_schema()"
    ).fetchall())
    for name, statement in create_views_sql().items():
        marker = view_marker(statement)
        if tables_changed or comments.get(name) != marker:
            con.execute(statement)
            con.execute(f"COMMENT ON VIEW {name} IS '{marker}'")


def _indexed_in_a_writable_file(con: duckdb.DuckDBPyConnection) -> list[str]:
    """Tables of ``UNINDEXED_KEYS`` that still have a primary key index, when this connection may write."""
    return [table for (table,) in con.execute(
        "SELECT DISTINCT table_name FROM duckdb_constraints() "
        "WHERE constraint_type = 'PRIMARY KEY' AND database_name = current_database() "
        "AND schema_name = current_schema() AND list_contains(?, table_name) "
        "AND NOT (SELECT readonly FROM duckdb_databases() WHERE database_name = current_database())",
        [list(UNINDEXED_KEYS)]).fetchall()]


def _rebuild_without_key_index(con: duckdb.DuckDBPyConnection, name: str) -> None:
    """The table made again without its key index, every row and column kept, in one transaction."""
    log.warning("rebuilding table %s without its key index (once per warehouse)", name)
    rebuilt = f"{name}__rebuilt"
    con.execute("BEGIN TRANSACTION")
    try:
        con.execute(create_table_sql(name, as_name=rebuilt))
        for column, type_ in con.execute(  # columns an older schema had, which are never dropped
                "SELECT column_name, data_type FROM duckdb_columns() WHERE database_name = current_database() "
                "AND schema_name = current_schema() AND table_name = ? ORDER BY column_index", [name]).fetchall():
            if column not in TABLES[name].names:
                con.execute(f'ALTER TABLE {rebuilt} ADD COLUMN "{column}" {type_}')
        con.execute(f"INSERT INTO {rebuilt} BY NAME SELECT * FROM {name}")
        con.execute(f"DROP TABLE {name}")
        con.execute(f"ALTER TABLE {rebuilt} RENAME TO {name}")
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise


def view_marker(statement: str) -> str:
    """The comment a view carries: which definition created it."""
    return "akhbar view " + hashlib.sha256(statement.encode()).hexdigest()[:16]


# Staged tables whose rows belong to one article (by article_id).
ARTICLE_TABLES = ("articles", "sentences", "mentions", "amounts", "quotes", "article_entities", "entity_review",
                  "duplicates", "fingerprints", "fingerprint_bands")
# Everything a batch stages except its run record and quarantine rows.
DATA_TABLES = ARTICLE_TABLES + ("entities", "stories", "article_stories")
_PART = "part-{:05d}.parquet"
_PARTS = "part-*.parquet"


_HOLDING = threading.Lock()


class NearFingerprints(NamedTuple):
    """Published signatures a batch's near copies are looked for among (:meth:`Warehouse.fingerprints_near`)."""

    banded: list[tuple[str, bytes]]  # sharing a band key with the batch
    unbanded: list[tuple[str, bytes]]  # no band keys in the layout asked for: read whole, to be given keys

    @property
    def all(self) -> list[tuple[str, bytes]]:
        return self.banded + self.unbanded


class Warehouse:
    """The DuckDB file: what is published, and publishing."""

    def __init__(self, path: Path):
        self.path = path
        self._held: duckdb.DuckDBPyConnection | None = None  # see held_open
        self._holds = 0

    def __getstate__(self) -> dict:
        return {**self.__dict__, "_held": None, "_holds": 0}  # an open database stays in its process

    @property
    def replica(self) -> Path:
        return replica_path(self.path)

    @contextmanager
    def held_open(self) -> Iterator[None]:
        """Keep the database open in this process while a run works on it.

        A run opens some twenty connections, one per step. Opening the file
        reads its catalog (about 15 ms); while one connection stays open,
        DuckDB hands every new one the database it has open (well under 1 ms),
        and the schema is checked once. The file is opened by the first
        connection asked for, so a run that never reads it never creates it;
        it is closed when the hold ends. The writer lock keeps other writers
        out meanwhile, and readers use the replica, as always.
        """
        self._holds += 1
        try:
            yield
        finally:
            self._holds -= 1
            if not self._holds and self._held is not None:
                held, self._held = self._held, None
                held.close()

    @contextmanager
    def connection(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """A read-write connection with the schema current, closed when the step is done.

        Read-write even to read: in one process DuckDB refuses to mix the two
        modes on a file, and the writer both reads and publishes. Readers in
        other processes use the replica (``warehouse.query``).
        """
        with _HOLDING:  # a run's fetch threads may ask for their first connections together
            checked = self._held is not None
            if self._holds and self._held is None:
                self._held = connect(self.path)
        with connect(self.path) as con:
            if not checked:
                ensure_schema(con)
            yield con

    def known_articles(self, candidate_ids: Sequence[str]) -> dict[str, str]:
        """Which of these ids are already published, with the source path of their first copy."""
        if not self.path.exists() or not candidate_ids:
            return {}
        with self.connection() as con:
            con.register("candidates", pa.table({"article_id": list(set(candidate_ids))}))
            return dict(con.execute(
                "SELECT a.article_id, a.source_path FROM articles a JOIN candidates c USING (article_id)"
            ).fetchall())

    def known_copies(self, candidates: Sequence[tuple[str, str]]) -> set[tuple[str, str]]:
        """Which (source_path, article_id) copies are already recorded in ``duplicates``."""
        if not self.path.exists() or not candidates:
            return set()
        with self.connection() as con:
            paths, ids = zip(*candidates)
            con.register("candidates", pa.table({"source_path": list(paths), "article_id": list(ids)}))
            rows = con.execute(
                "SELECT d.source_path, d.article_id FROM duplicates d JOIN candidates c USING (source_path, article_id)"
            ).fetchall()
        return {(p, i) for p, i in rows}

    def web_sources(self) -> dict[str, dict]:
        """Each web source's state between runs (``web_sources``), by source id."""
        return {row["source_id"]: row for row in self._rows("SELECT * FROM web_sources")}

    def web_entries(self, urls: Sequence[str]) -> dict[str, dict]:
        """What became of these story addresses, whichever source announced them (one row per address)."""
        if not urls or not self.path.exists():
            return {}
        with self.connection() as con:
            con.register("wanted", pa.table({"url": pa.array(sorted(set(urls)), type=pa.string())}))
            cursor = con.execute("SELECT e.* FROM web_entries e JOIN wanted USING (url) "
                                 "QUALIFY row_number() OVER (PARTITION BY url ORDER BY status = 'retrying') = 1")
            names = [d[0] for d in cursor.description]
            return {row[1]: dict(zip(names, row)) for row in cursor.fetchall()}

    def known_web_guids(self, pairs: Sequence[tuple[str, str]]) -> set[tuple[str, str]]:
        """The (source id, GUID) pairs of these that a source announced before."""
        if not pairs or not self.path.exists():
            return set()
        source_ids, guids = zip(*sorted(set(pairs)))
        with self.connection() as con:
            con.register("wanted", pa.table({"source_id": pa.array(source_ids, type=pa.string()),
                                             "guid": pa.array(guids, type=pa.string())}))
            return set(con.execute("SELECT DISTINCT source_id, guid FROM web_entries JOIN wanted "
                                   "USING (source_id, guid)").fetchall())

    def web_entries_retrying(self) -> list[dict]:
        """Story addresses whose page failed and will be asked for again."""
        return self._rows("SELECT * FROM web_entries WHERE status = 'retrying' ORDER BY first_seen_at, url")

    def source_runs(self, limit_runs: int = 20) -> list[dict]:
        """The per-source figures of the last runs that read web sources, newest first."""
        return self._rows("SELECT r.*, x.started_at FROM source_runs r JOIN runs x USING (run_id) "
                          f"ORDER BY x.started_at DESC, r.source_id LIMIT {int(limit_runs) * 50}")

    def _rows(self, sql: str) -> list[dict]:
        if not self.path.exists():
            return []
        with self.connection() as con:
            cursor = con.execute(sql)
            names = [d[0] for d in cursor.description]
            return [dict(zip(names, row)) for row in cursor.fetchall()]

    def name_keys(self) -> frozenset[str]:
        """Every name key the published mentions show: the corpus's evidence that an unknown name occurs
        bare (``transforms.linking``: ``وفلان`` is ``فلان`` once ``فلان`` is seen)."""
        if not self.path.exists():
            return frozenset()
        with self.connection() as con:
            return frozenset(k for (k,) in con.execute(
                "SELECT DISTINCT entity_key FROM mentions WHERE entity_key IS NOT NULL").fetchall())

    def fingerprints_near(self, signatures: Sequence[bytes], layout: tuple[int, int]) -> "NearFingerprints":
        """The published first copies' MinHash signatures that an LSH index of every one of them could return
        for one of ``signatures`` (``transforms/dedup.py``): those sharing a band key with one of them in
        ``layout``, and those that have no band keys in ``layout`` yet (published under another threshold, or
        before band keys were kept), which are read whole."""
        if not self.path.exists() or not signatures:
            return NearFingerprints([], [])
        bands, rows_per_band = layout
        keys = [(band, key) for blob in signatures for band, key in enumerate(dedup.band_keys(blob, layout))]
        with self.connection() as con:
            con.register("wanted_bands", pa.table({"band": pa.array([b for b, _ in keys], pa.int32()),
                                                   "band_key": pa.array([k for _, k in keys], pa.int64())}))
            found = con.execute("""
                WITH in_layout AS (SELECT * FROM fingerprint_bands WHERE bands = $bands AND rows_per_band = $rows),
                     sharing AS (SELECT DISTINCT article_id FROM in_layout JOIN wanted_bands USING (band, band_key)),
                     banded AS (SELECT DISTINCT article_id FROM in_layout)
                SELECT article_id, minhash, article_id IN (SELECT article_id FROM banded) AS banded
                FROM fingerprints
                WHERE article_id IN (SELECT article_id FROM sharing)
                   OR article_id NOT IN (SELECT article_id FROM banded)
                ORDER BY article_id""", {"bands": bands, "rows": rows_per_band}).fetchall()
        return NearFingerprints([(i, bytes(b)) for i, b, banded in found if banded],
                                [(i, bytes(b)) for i, b, banded in found if not banded])

    def settled_files(self) -> dict[tuple[str, int, int], int]:
        """(source_path, size, mtime_ns) → item count, of inbox files whose items are all published or recorded."""
        if not self.path.exists():
            return {}
        with self.connection() as con:
            rows = con.execute("SELECT source_path, size, mtime_ns, n_items FROM inbox_files").fetchall()
        return {(p, s, m): n for p, s, m, n in rows}

    def files_seen(self) -> tuple[set[tuple[str, int, int]], set[str]]:
        """The inbox files runs settled (source_path, size, mtime_ns) and the paths they quarantined items of,
        read read-only, before a run opens the warehouse as its writer; empty when there is no warehouse yet."""
        if not self.path.exists():
            return set(), set()
        with connect(self.path, read_only=True) as con:
            settled = set(con.execute("SELECT source_path, size, mtime_ns FROM inbox_files").fetchall())
            quarantined = {path for (path,) in con.execute("SELECT DISTINCT source_path FROM quarantine").fetchall()}
        return settled, quarantined

    def open_quarantine_ids(self) -> set[str]:
        """Items in quarantine now (the ``open_quarantine`` view)."""
        if not self.path.exists():
            return set()
        with self.connection() as con:
            return {i for (i,) in con.execute("SELECT item_id FROM open_quarantine").fetchall()}

    def published_tables(self, tables: Sequence[str]) -> dict[str, pa.Table]:
        """Every published row of these tables, with the warehouse's columns (read-only; no writer may be running)."""
        with connect(self.path, read_only=True) as con:
            return {t: con.sql(f"SELECT {', '.join(TABLES[t].names)} FROM {t}").to_arrow_table() for t in tables}

    def stored_articles(self, columns: Sequence[str], older_than: int | None) -> list[dict]:
        """These columns of published articles, for reprocessing: those whose metadata rules are older than
        ``older_than`` (NULL counts as version 1), or every one with None; in publication order."""
        if not self.path.exists():
            return []
        where = "" if older_than is None else "WHERE coalesce(metadata_rules, 1) < ?"
        with self.connection() as con:
            cursor = con.execute(f"SELECT {', '.join(columns)} FROM articles {where} "
                                 "ORDER BY ingested_at, source_path, article_id",
                                 [] if older_than is None else [older_than])
            names = [d[0] for d in cursor.description]
            return [dict(zip(names, row)) for row in cursor.fetchall()]

    def article_rows(self, tables: Sequence[str], article_ids: Sequence[str]) -> dict[str, pa.Table]:
        """The published rows of these articles in these tables, with the warehouse's columns (to stage again)."""
        with self.connection() as con:
            con.register("wanted", pa.table({"article_id": pa.array(list(article_ids), type=pa.string())}))
            return {t: con.sql(f"SELECT {', '.join(TABLES[t].names)} FROM {t} "
                               "WHERE article_id IN (SELECT article_id FROM wanted) ORDER BY ALL").to_arrow_table()
                    for t in tables}

    def without(self, article_ids: Iterable[str]) -> "WarehouseWithout":
        """This warehouse as it will be once these articles' rows are replaced: what a replacing batch is gated against."""
        return WarehouseWithout(self.path, article_ids)

    def published_run(self, run_id: str) -> bool:
        if not self.path.exists():
            return False
        with self.connection() as con:
            return bool(con.execute("SELECT count(*) FROM runs WHERE run_id = ?", [run_id]).fetchone()[0])

    def record_run(self, run_row: dict) -> None:
        """Record a run that failed before publishing anything: its row alone, then the replica."""
        with self.connection() as con:
            rows = pa.Table.from_pylist([run_row], schema=TABLES["runs"])  # noqa: F841  (read by DuckDB below)
            con.execute("INSERT INTO runs BY NAME SELECT * FROM rows")
            con.execute("CHECKPOINT")
        refresh_replica(self.path)

    def publish(self, staging: "Staging", run_row: dict, lake_dir: Path, replace_articles: bool = False) -> None:
        """Load the staged batch and its run record in one transaction, then file it in the lake.

        ``replace_articles`` (``akhbar reprocess``): the staged articles are
        published already, and their rows are replaced in the same transaction
        (see :func:`_delete_replaced`).

        Idempotent: a retry after the commit (the replica copy or the lake move
        failed) finds its run recorded and only finishes those steps.
        """
        staging.write("runs", 0, pa.Table.from_pylist([run_row], schema=TABLES["runs"]))
        if self.published_run(staging.run_id):
            refresh_replica(self.path)
            staging.file_in(lake_dir)
            return
        with self.connection() as con:
            con.execute("BEGIN TRANSACTION")
            try:
                stale = _delete_replaced(con, staging) if replace_articles else None
                for n, table in enumerate(TABLES):
                    _insert_parquet(con, table, staging.files(table))
                    if n == 0:
                        faults.at("publish")
                if stale:
                    _drop_unmentioned(con, stale)
                _refuse_repeated_keys(con, staging)
                con.execute("COMMIT")
            except BaseException:
                con.execute("ROLLBACK")
                raise
            faults.at("published")
            con.execute("CHECKPOINT")  # everything in the main file, for the replica copy below
        refresh_replica(self.path)
        staging.file_in(lake_dir)


class Staging:
    """One run's staged Parquet files."""

    def __init__(self, root: Path, run_id: str):
        self.root = root
        self.run_id = run_id

    def write(self, table: str, part: int, data: pa.Table) -> Path:
        # Empty parts are written too: every staged table then exists for the gate.
        folder = self.root / table
        folder.mkdir(parents=True, exist_ok=True)
        target = folder / _PART.format(part)
        tmp = target.with_suffix(".parquet.tmp")
        faults.at("stage_write")
        pq.write_table(data.cast(TABLES[table]), tmp)
        tmp.replace(target)  # a crash never leaves a half-written part under its final name
        return target

    def write_rows(self, table: str, part: int, rows: list[dict]) -> Path:
        return self.write(table, part, to_arrow(table, rows))

    def files(self, table: str) -> list[Path]:
        return sorted((self.root / table).glob(_PARTS))

    def paths(self, table: str) -> list[str]:
        """The table's staged files as strings, for DuckDB's ``read_parquet``."""
        return [str(p) for p in self.files(table)]

    def row_count(self, table: str) -> int:
        return sum(pq.read_metadata(p).num_rows for p in self.files(table))

    def column(self, table: str, column: str) -> list:
        return [v for part in self.files(table) for v in pq.read_table(part, columns=[column])[column].to_pylist()]

    def drop_articles(self, article_ids: set[str]) -> None:
        """Remove these articles' rows from every staged table (they go to quarantine instead)."""
        if not article_ids:
            return
        drop = pa.array(sorted(article_ids), type=pa.string())
        for table in ARTICLE_TABLES:
            for part in self.files(table):
                data = pq.read_table(part)
                kept = data.filter(pc.invert(pc.is_in(data["article_id"], value_set=drop)))
                if kept.num_rows == data.num_rows:
                    continue
                if kept.num_rows == 0:
                    part.unlink()
                else:
                    tmp = part.with_suffix(".parquet.tmp")
                    pq.write_table(kept, tmp)
                    tmp.replace(part)

    def hold_back(self, destination: Path) -> None:
        """Move a rejected batch's data files aside, for inspection; they are never published."""
        for table in DATA_TABLES:
            folder = self.root / table
            if folder.exists():
                destination.mkdir(parents=True, exist_ok=True)
                shutil.rmtree(destination / table, ignore_errors=True)
                folder.replace(destination / table)

    def file_in(self, lake_dir: Path) -> None:
        """Move the published parts into ``lake/<table>/run=<run_id>/``, then drop the staging folder."""
        for table in TABLES:
            for part in self.files(table):
                target = lake_dir / table / f"run={self.run_id}" / part.name
                target.parent.mkdir(parents=True, exist_ok=True)
                part.replace(target)
        self.discard()

    def discard(self) -> None:
        shutil.rmtree(self.root, ignore_errors=True)


class StagingArea:
    """The folder of every run's staging: ``staging/<run_id>/``."""

    def __init__(self, root: Path):
        self.root = root

    def for_run(self, run_id: str) -> Staging:
        return Staging(self.root / run_id, run_id)

    def leftovers(self) -> list[Staging]:
        """Staging of runs that did not finish (under the writer lock, no live run owns any)."""
        if not self.root.is_dir():
            return []
        return [self.for_run(p.name) for p in sorted(self.root.iterdir()) if p.is_dir()]


def _insert_parquet(con: duckdb.DuckDBPyConnection, table: str, files: Iterable[Path]) -> None:
    paths = [str(p) for p in files]
    if not paths:
        return
    if table in REPLACED_TABLES:
        keys = ", ".join(PRIMARY_KEYS[table])
        con.execute(f"DELETE FROM {table} WHERE ({keys}) IN (SELECT ({keys}) FROM read_parquet(?))", [paths])
    con.execute(f"INSERT INTO {table} BY NAME SELECT * FROM read_parquet(?)", [paths])


def _refuse_repeated_keys(con: duckdb.DuckDBPyConnection, staging: "Staging") -> None:
    """Raise, inside the publishing transaction, if a key of the batch's unindexed tables is now there twice.

    What a primary key index would refuse, checked where it can repeat: every
    key of these tables holds its article's id, so only the rows of the
    batch's articles are grouped (a scan of one column per table, not an
    index; one statement, which DuckDB runs in parallel).
    """
    checks, files = [], []
    for table in UNINDEXED_KEYS:
        paths = staging.paths(table)
        if paths:
            keys = PRIMARY_KEYS[table]
            checks.append(f"(SELECT '{table}', [{', '.join(f'{k}::VARCHAR' for k in keys)}] AS key FROM {table} "
                          "WHERE article_id IN (SELECT article_id FROM read_parquet(?)) "
                          "GROUP BY key HAVING count(*) > 1 LIMIT 1)")
            files.append(paths)
    repeated = con.execute(" UNION ALL ".join(checks), files).fetchall() if checks else []
    if repeated:
        table, key = repeated[0]
        named = ", ".join(f"{k}: {v}" for k, v in zip(PRIMARY_KEYS[table], key))
        raise duckdb.ConstraintException(f"duplicate key in {table} ({named}): the batch is not published")


# What an article's replacement replaces: its row and every row computed from its body.
REPLACED_ARTICLE_TABLES = ("articles", "sentences", "mentions", "amounts", "quotes", "article_entities",
                           "entity_review", "article_stories")


def _delete_replaced(con: duckdb.DuckDBPyConnection, staging: "Staging") -> str | None:
    """Delete the published rows of the staged articles (and the fingerprints staged again), inside the
    publishing transaction; returns the temporary table of the entities their old mentions named, or None.

    Entity rows are replaced by key as in every publish; an entity that only
    the replaced mentions named is dropped once the new rows are in
    (:func:`_drop_unmentioned`).
    """
    articles = staging.paths("articles")
    if not articles:
        return None
    con.execute("CREATE OR REPLACE TEMP TABLE akhbar_replaced AS "
                "SELECT DISTINCT article_id FROM read_parquet(?)", [articles])
    con.execute("CREATE OR REPLACE TEMP TABLE akhbar_stale_entities AS SELECT DISTINCT entity_id FROM mentions "
                "WHERE entity_id IS NOT NULL AND article_id IN (SELECT article_id FROM akhbar_replaced)")
    for table in REPLACED_ARTICLE_TABLES:
        con.execute(f"DELETE FROM {table} WHERE article_id IN (SELECT article_id FROM akhbar_replaced)")
    fingerprints = staging.paths("fingerprints")
    if fingerprints:
        for table in ("fingerprints", "fingerprint_bands"):
            con.execute(f"DELETE FROM {table} WHERE article_id IN (SELECT article_id FROM read_parquet(?))",
                        [fingerprints])
    return "akhbar_stale_entities"


def _drop_unmentioned(con: duckdb.DuckDBPyConnection, stale: str) -> None:
    con.execute(f"DELETE FROM entities WHERE entity_id IN (SELECT entity_id FROM {stale}) "
                "AND entity_id NOT IN (SELECT entity_id FROM mentions WHERE entity_id IS NOT NULL)")
    con.execute(f"DROP TABLE {stale}")
    con.execute("DROP TABLE IF EXISTS akhbar_replaced")


class WarehouseWithout(Warehouse):
    """A warehouse whose connections hide some articles' rows, as if they were already replaced.

    Temporary views shadow the published tables by name in that connection
    only (nothing is written): the gate's audit of a replacing batch then
    reads "already published", totals and parents exactly as they will be.
    """

    def __init__(self, path: Path, article_ids: Iterable[str]):
        super().__init__(path)
        self.article_ids = sorted(set(article_ids))

    @contextmanager
    def connection(self) -> Iterator[duckdb.DuckDBPyConnection]:
        with super().connection() as con:
            database = con.execute("SELECT current_database()").fetchall()[0][0].replace('"', '""')
            con.register("akhbar_hidden_ids", pa.table({"article_id": pa.array(self.article_ids, type=pa.string())}))
            con.execute("CREATE OR REPLACE TEMP TABLE akhbar_hidden AS SELECT article_id FROM akhbar_hidden_ids")
            con.unregister("akhbar_hidden_ids")
            for table in REPLACED_ARTICLE_TABLES:
                con.execute(f'CREATE OR REPLACE TEMP VIEW {table} AS SELECT * FROM "{database}".main.{table} '
                            "WHERE article_id NOT IN (SELECT article_id FROM temp.akhbar_hidden)")
            try:
                yield con
            finally:
                for table in REPLACED_ARTICLE_TABLES:
                    con.execute(f"DROP VIEW IF EXISTS temp.main.{table}")
                con.execute("DROP TABLE IF EXISTS temp.main.akhbar_hidden")
