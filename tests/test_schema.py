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
