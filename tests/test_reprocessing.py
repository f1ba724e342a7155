"""Reprocessing's parts without Prefect or the model: re-derivation, old rows, old schemas, views, status."""

from __future__ import annotations

from core.settings import get_settings

from datetime import date, datetime, timezone

import duckdb
import pyarrow as pa
import pytest

from tests.conftest import ROOT, sample_text
from transforms.articles import build_article
from transforms.formats import RawItem
from transforms.metadata import METADATA_RULES_VERSION, KnownFields
from transforms.reprocessing import STORED_COLUMNS, changed_fields, known_fields, not_after_of, rederive
from warehouse import replica, store
from warehouse.rows import article_row
from warehouse.status import read_status
from warehouse.tables import TABLES

NEW_COLUMNS = ("metadata_rules", "item_title", "item_published", "item_agency", "registry_agency")
INGESTED = datetime(2025, 5, 2, 8, 30, tzinfo=timezone.utc)


@pytest.fixture(scope="module")
def rules():
    from flows.intake import load_agency_rules

    return load_agency_rules(ROOT / "seeds" / "agencies.csv")


@pytest.fixture(scope="module")
def places():
    from flows.intake import load_places

    return load_places(get_settings())


def _ingested(text: str, rules, known: KnownFields = KnownFields(), source_path: str = "a.txt",
              places: frozenset[str] = frozenset()):
    item = RawItem(source_path, text, text.encode(), "text", "utf-8", known.title, known.published, known.agency)
    return build_article(item, rules, known.default_agency, "samples", date(2025, 5, 3), places)


def _stored(article, **changes) -> dict:
    row = article_row(article, "run-1", INGESTED, 3, 40, 5)
    row.update(changes)
    return {column: row.get(column) for column in STORED_COLUMNS}


def test_a_row_written_now_records_its_rules_and_what_came_with_the_item(rules):
    known = KnownFields("عنوان من الصفحة", date(2025, 4, 27), "Xinhua", "Registry Agency")
    row = article_row(_ingested(sample_text("001"), rules, known), "run-1", INGESTED)
    assert row["metadata_rules"] == METADATA_RULES_VERSION
    assert (row["item_title"], row["item_published"], row["item_agency"], row["registry_agency"]) == (
        "عنوان من الصفحة", date(2025, 4, 27), "Xinhua", "Registry Agency")
    assert set(NEW_COLUMNS) <= set(row) and list(row) == TABLES["articles"].names


@pytest.mark.parametrize("prefix", ["000", "001", "002", "003", "004"])
def test_rederiving_a_stored_sample_gives_what_its_ingest_gave(rules, places, prefix):
    article = _ingested(sample_text(prefix), rules, places=places)
    again = rederive(_stored(article), rules, places=places)
    assert again.meta == article.meta and again.body == article.body
    assert (again.article_id, again.text_norm, again.raw_sha256) == (article.article_id, article.text_norm,
                                                                      article.raw_sha256)
    assert changed_fields(_stored(article), again) == []


def test_fields_that_changed_are_named(rules):
    article = _ingested(sample_text("001"), rules)
    old = _stored(article, published_date=date(2001, 2, 3), agency="Old", body_start=0, metadata_rules=None)
    assert changed_fields(old, rederive(old, rules)) == ["date", "agency"] + (["body"] if article.meta.body_start else [])
    blanked = _stored(article, body=article.body[:-1] + "x")  # same span, another text: NER's input differs
    assert changed_fields(blanked, rederive(blanked, rules)) == ["body"]


def test_an_old_row_gets_back_what_its_sources_show():
    old = {"metadata_rules": None, "title": "T", "title_source": "metadata", "published_date": date(2024, 7, 1),
           "date_source": "metadata", "agency": "Xinhua", "agency_source": "registry", "source_id": "x"}
    assert known_fields(old) == KnownFields("T", date(2024, 7, 1), None, "Xinhua")
    from_text = dict(old, title_source="header", date_source="dateline", agency_source="dateline")
    assert known_fields(from_text) == KnownFields(None, None, None, None)
    assert known_fields(from_text, {"x": "Registry"}) == KnownFields(None, None, None, "Registry")
    metadata_agency = dict(from_text, agency="AFP", agency_source="metadata")
    assert known_fields(metadata_agency, {"x": "Registry"}) == KnownFields(None, None, "AFP", "Registry")


def test_a_row_of_version_two_or_later_is_taken_as_stored():
    row = {"metadata_rules": 2, "title": "T", "title_source": "metadata", "agency": "A", "agency_source": "registry",
           "item_title": None, "item_published": None, "item_agency": None, "registry_agency": None, "source_id": "x"}
    assert known_fields(row, {"x": "Registry"}) == KnownFields()


def test_dates_are_bounded_by_the_day_the_article_came_in():
    assert not_after_of({"ingested_at": INGESTED}) == date(2025, 5, 3)


def _old_schema_warehouse(path, rules) -> str:
    """A warehouse as the previous version made it: no new columns, one article published."""
    article = _ingested(sample_text("002"), rules)
    row = {k: v for k, v in article_row(article, "run-1", INGESTED).items() if k not in NEW_COLUMNS}
    with store.connect(path) as con:
        store.ensure_schema(con)
        for column in NEW_COLUMNS:
            con.execute(f"ALTER TABLE articles DROP COLUMN {column}")
        rows = pa.Table.from_pylist([row])  # noqa: F841  (read by DuckDB)
        con.execute("INSERT INTO articles BY NAME SELECT * FROM rows")
        con.execute("CHECKPOINT")
    replica.refresh_replica(path)
    return article.article_id


def test_an_old_schema_warehouse_gains_the_columns_and_its_rows_count_as_older(tmp_path, rules):
    path = tmp_path / "akhbar.duckdb"
    article_id = _old_schema_warehouse(path, rules)
    assert read_status(path).older_rules == 1  # the replica has no metadata_rules column at all

    warehouse = store.Warehouse(path)
    (stored,) = warehouse.stored_articles(STORED_COLUMNS, METADATA_RULES_VERSION)
    assert stored["article_id"] == article_id and stored["metadata_rules"] is None
    with duckdb.connect(str(path), read_only=True) as con:
        columns = [r[0] for r in con.execute("SELECT column_name FROM information_schema.columns "
                                              "WHERE table_name = 'articles'").fetchall()]
    assert set(NEW_COLUMNS) <= set(columns)
    assert warehouse.stored_articles(STORED_COLUMNS, 1) == []  # NULL is version 1: not older than 1
    replica.refresh_replica(path)
    assert read_status(path).older_rules == 1


def test_the_gate_sees_the_warehouse_without_the_articles_being_replaced(tmp_path, rules):
    path = tmp_path / "akhbar.duckdb"
    article_id = _old_schema_warehouse(path, rules)
    warehouse = store.Warehouse(path)
    with warehouse.without([article_id]).connection() as con:
        assert con.execute("SELECT count(*) FROM articles").fetchone() == (0,)
    with warehouse.connection() as con:  # nothing was written: the next connection sees it again
        assert con.execute("SELECT count(*) FROM articles").fetchone() == (1,)


def test_timelines_say_where_each_day_came_from(tmp_path):
    path = tmp_path / "akhbar.duckdb"
    base = {name: None for name in TABLES["articles"].names}
    base.update(source_path="p", text="t", text_norm="t", text_chars=1, text_norm_chars=1, n_sentences=1, n_tokens=1,
                n_mentions=2, raw_sha256="x", run_id="r", ingested_at=INGESTED)
    articles = [dict(base, article_id="dated", published_date=date(2024, 7, 1)),
                dict(base, article_id="undated", source_path="q")]
    with store.connect(path) as con:
        store.ensure_schema(con)
        for table, rows in (("articles", articles),
                            ("entities", [{"entity_id": "sco", "type": "ORG", "name_ar": "شنغهاي", "mention_count": 4,
                                           "article_count": 2, "in_alias_table": True, "run_id": "r"}]),
                            ("article_entities", [{"article_id": a, "entity_id": "sco", "mention_count": 2,
                                                   "first_char": 0} for a in ("dated", "undated")])):
            data = pa.Table.from_pylist(rows, schema=TABLES[table])  # noqa: F841
            con.execute(f"INSERT INTO {table} BY NAME SELECT * FROM data")
        daily = con.execute("SELECT day, day_source, mentions, articles FROM entity_timeline ORDER BY day").fetchall()
        monthly = con.execute("SELECT month, day_source, mentions FROM entity_timeline_monthly "
                              "WHERE day_source = 'published_date'").fetchall()
        columns = [d[0] for d in con.execute("SELECT * FROM entity_timeline LIMIT 0").description]
    assert daily == [(date(2024, 7, 1), "published_date", 2, 1), (date(2025, 5, 2), "ingested", 2, 1)]
    assert monthly == [(date(2024, 7, 1), "published_date", 2)]
    assert columns[:9] == ["entity_id", "type", "name_ar", "name_en", "wikidata_qid", "day", "month", "mentions",
                           "articles"]  # the analysts' columns, as they were
