"""The warehouse schema: created once, upgraded in place, and only read when it is current."""

from __future__ import annotations

import duckdb
import pytest

from warehouse import store, views
from warehouse.tables import TABLES


def _columns(con, table: str) -> list[str]:
    return [r[0] for r in con.execute(
        "SELECT column_name FROM information_schema.columns WHERE table_name = ? ORDER BY ordinal_position",
        [table]).fetchall()]


def test_a_fresh_file_gets_every_table_and_view(tmp_path):
    path = tmp_path / "w.duckdb"
    with store.connect(path) as con:
        store.ensure_schema(con)
        for table, schema in TABLES.items():
            assert _columns(con, table) == schema.names
        for name in views.VIEWS:
            con.execute(f"SELECT * FROM {name} LIMIT 0")


def test_a_current_warehouse_is_only_read(tmp_path):
    path = tmp_path / "w.duckdb"
    with store.connect(path) as con:
        store.ensure_schema(con)
    # A read-only connection refuses any write: ensure_schema must not need one.
    with store.connect(path, read_only=True) as con:
        store.ensure_schema(con)


def test_a_missing_column_is_added_and_nothing_is_dropped(tmp_path):
    path = tmp_path / "w.duckdb"
    with store.connect(path) as con:
        store.ensure_schema(con)
        con.execute("ALTER TABLE articles DROP COLUMN agency_source")
        con.execute("ALTER TABLE articles ADD COLUMN analyst_note VARCHAR")
        store.ensure_schema(con)
        present = _columns(con, "articles")
    assert "agency_source" in present and "analyst_note" in present


def test_a_changed_or_dropped_view_is_created_again(tmp_path, monkeypatch):
    path = tmp_path / "w.duckdb"
    with store.connect(path) as con:
        store.ensure_schema(con)
        con.execute("DROP VIEW top_entities")
        monkeypatch.setitem(views.VIEWS, "entity_cooccurrence", "SELECT 42 AS answer")
        store.ensure_schema(con)
        assert con.execute("SELECT count(*) FROM top_entities").fetchone() == (0,)
        assert con.execute("SELECT answer FROM entity_cooccurrence").fetchall() == [(42,)]
    with store.connect(path, read_only=True) as con:
        store.ensure_schema(con)  # and now it is current again


def test_a_view_replaced_by_hand_loses_its_marker_and_is_restored(tmp_path):
    path = tmp_path / "w.duckdb"
    with store.connect(path) as con:
        store.ensure_schema(con)
        con.execute("CREATE OR REPLACE VIEW top_entities AS SELECT 1 AS rank")
        store.ensure_schema(con)
        assert "entity_id" in [d[0] for d in con.execute("SELECT * FROM top_entities LIMIT 0").description]


def test_read_only_connection_to_an_outdated_warehouse_says_so(tmp_path):
    path = tmp_path / "w.duckdb"
    with store.connect(path) as con:
        store.ensure_schema(con)
        con.execute("DROP VIEW top_entities")
    with store.connect(path, read_only=True) as con, pytest.raises(duckdb.Error):
        store.ensure_schema(con)


def test_a_held_warehouse_stays_open_for_the_run_and_is_closed_after(tmp_path):
    import pickle

    path = tmp_path / "w.duckdb"
    warehouse = store.Warehouse(path)
    with warehouse.held_open():
        assert not path.exists()  # nothing asked for a connection: no file made
        with warehouse.connection() as con:
            con.execute("CREATE TABLE kept (n INTEGER)")
        # Between steps the database stays open in this process: another mode is refused...
        with pytest.raises(duckdb.Error):
            duckdb.connect(str(path), read_only=True)
        with warehouse.connection() as con:  # ...and the next step's connection sees the same database
            assert con.execute("SELECT count(*) FROM kept").fetchone() == (0,)
        assert pickle.loads(pickle.dumps(warehouse)).path == path  # a held warehouse still pickles (Dask)
    with duckdb.connect(str(path), read_only=True) as con:  # closed when the hold ends
        assert "articles" in {r[0] for r in con.execute("SHOW TABLES").fetchall()}


def _primary_keys(con) -> set[str]:
    return {t for (t,) in con.execute("SELECT table_name FROM duckdb_constraints() "
                                      "WHERE constraint_type = 'PRIMARY KEY'").fetchall()}


def test_tables_with_rows_for_every_article_have_no_key_index_and_the_others_keep_theirs(tmp_path):
    from warehouse.tables import UNINDEXED_KEYS

    with store.connect(tmp_path / "w.duckdb") as con:
        store.ensure_schema(con)
        assert _primary_keys(con) == set(TABLES) - set(UNINDEXED_KEYS)


def test_a_table_made_with_a_key_index_is_rebuilt_once_without_it_keeping_every_row_and_column(tmp_path):
    """A warehouse made before its article tables lost their key index: its writer rebuilds them, a reader
    reads them as they are."""
    path = tmp_path / "w.duckdb"
    with store.connect(path) as con:
        store.ensure_schema(con)
        con.execute("DROP TABLE fingerprints")  # as an older schema made it, with a column since dropped
        con.execute("CREATE TABLE fingerprints (article_id VARCHAR NOT NULL, minhash BLOB NOT NULL, "
                    "analyst_note VARCHAR, PRIMARY KEY (article_id))")
        con.execute("INSERT INTO fingerprints VALUES ('a1', '\\x01'::BLOB, 'kept'), ('a2', '\\x02'::BLOB, NULL)")
    with store.connect(path, read_only=True) as con:
        store.ensure_schema(con)  # a reader neither rebuilds nor refuses
        assert "fingerprints" in _primary_keys(con)
    with store.connect(path) as con:
        store.ensure_schema(con)
        assert "fingerprints" not in _primary_keys(con) and "entities" in _primary_keys(con)
        assert con.execute("SELECT article_id, minhash, analyst_note FROM fingerprints ORDER BY 1").fetchall() == [
            ("a1", b"\x01", "kept"), ("a2", b"\x02", None)]
        with pytest.raises(duckdb.ConstraintException):  # NOT NULL stays
            con.execute("INSERT INTO fingerprints (article_id, minhash) VALUES (NULL, '\\x03'::BLOB)")
        for name in views.VIEWS:
            con.execute(f"SELECT * FROM {name} LIMIT 0")
    with store.connect(path, read_only=True) as con:
        store.ensure_schema(con)  # current again: nothing left to rebuild


def test_a_batch_repeating_a_published_key_is_refused_and_nothing_of_it_is_published(tmp_path):
    """No index enforces an article table's key any more: publishing checks it, and rolls the batch back."""
    from datetime import datetime, timezone

    from warehouse.query import run_query
    from warehouse.rows import run_row
    from warehouse.store import StagingArea, Warehouse

    warehouse = Warehouse(tmp_path / "wh" / "akhbar.duckdb")
    at = datetime(2024, 7, 5, tzinfo=timezone.utc)

    def publish(run_id: str, article_ids: list[str]) -> None:
        staging = StagingArea(tmp_path / "staging").for_run(run_id)
        staging.write_rows("fingerprints", 0, [{"article_id": i, "minhash": b"\x01"} for i in article_ids])
        warehouse.publish(staging, run_row(run_id, None, at, at, "succeeded", "inbox"), tmp_path / "lake")

    publish("run-1", ["a1", "a2"])
    with pytest.raises(duckdb.ConstraintException, match=r"fingerprints \(article_id: a2\)"):
        publish("run-2", ["a3", "a2"])
    with pytest.raises(duckdb.ConstraintException, match=r"fingerprints \(article_id: a4\)"):
        publish("run-3", ["a4", "a4"])  # repeated within the batch itself
    assert run_query(warehouse.path, "SELECT article_id FROM fingerprints ORDER BY 1").rows == [("a1",), ("a2",)]
    assert run_query(warehouse.path, "SELECT run_id FROM runs").rows == [("run-1",)]
