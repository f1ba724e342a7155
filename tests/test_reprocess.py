"""`akhbar reprocess` end to end: the real flow, the real gate, a real DuckDB file and Prefect API.

Articles published "by older rules" are made the honest way: the samples go
through a normal run, then a warehouse write turns them into what version 1
left behind (``metadata_rules`` 1 or no column at all, no stored item fields,
and a wrong date, agency and body span on some), as an upgrade finds them.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys

import duckdb
import pytest

from tests.conftest import copy_samples, repeat_a_mention_key, require_model, sample_text
from transforms.metadata import METADATA_RULES_VERSION
from warehouse.replica import refresh_replica

DATA_TABLES = ("articles", "sentences", "mentions", "entities", "article_entities", "entity_review", "fingerprints",
               "duplicates")
NEW_COLUMNS = ("metadata_rules", "item_title", "item_published", "item_agency", "registry_agency")
WRONG_DAY = "2001-02-03"


@pytest.fixture(scope="module")
def ingested(prefect_api, tmp_path_factory):
    """One normal run over the samples; each test works on a copy of its warehouse folder (NER cache included)."""
    from flows.ingest import ingest

    require_model()
    root = tmp_path_factory.mktemp("reprocess")
    warehouse = root / "wh" / "akhbar.duckdb"
    inbox = copy_samples(root / "inbox")
    # A near copy too (the same story under a new headline): an articles row without NER rows of its own.
    (inbox / "zz_near_copy.txt").write_text("عنوان جديد للخبر نفسه\n\n" + sample_text("001"), encoding="utf-8")
    summary = ingest(inbox=str(inbox), warehouse=str(warehouse))
    assert (summary.n_new, summary.n_duplicates) == (5, 1)
    return warehouse


@pytest.fixture
def warehouse(ingested, tmp_path):
    shutil.copytree(ingested.parent, tmp_path / "wh")
    return tmp_path / "wh" / ingested.name


def rows(path, sql, parameters=()):
    with duckdb.connect(str(path), read_only=True) as con:
        return con.execute(sql, list(parameters)).fetchall()


def snapshot(path, drop_columns=()) -> dict[str, tuple[int, str]]:
    """Row count and a checksum of every published data table (without ``drop_columns``)."""
    result = {}
    with duckdb.connect(str(path), read_only=True) as con:
        for table in DATA_TABLES:
            columns = [r[0] for r in con.execute("SELECT column_name FROM information_schema.columns "
                                                 "WHERE table_name = ? ORDER BY ordinal_position", [table]).fetchall()]
            kept = ", ".join(c for c in columns if c not in drop_columns)
            data = con.execute(f"SELECT {kept} FROM {table} ORDER BY ALL").fetchall()
            result[table] = (len(data), hashlib.sha256(repr(data).encode()).hexdigest())
    return result


def make_older(path, drop_columns: bool = False) -> dict[str, str]:
    """Turn the published samples into version-1 articles; returns the ids of the ones given wrong fields."""
    with duckdb.connect(str(path)) as con:
        dated = con.execute("SELECT article_id FROM articles WHERE date_source = 'dateline' AND body_start = 0 "
                            "ORDER BY source_path LIMIT 1").fetchone()[0]
        furnished = con.execute("SELECT article_id FROM articles WHERE body_start > 0 "
                                "ORDER BY source_path LIMIT 1").fetchone()[0]
        if drop_columns:
            for column in NEW_COLUMNS:
                con.execute(f"ALTER TABLE articles DROP COLUMN {column}")
        else:
            con.execute("UPDATE articles SET metadata_rules = 1, item_title = NULL, item_published = NULL, "
                        "item_agency = NULL, registry_agency = NULL")
        # Version 1 read a wrong date and agency here, and kept the page header in this body.
        con.execute(f"UPDATE articles SET published_date = DATE '{WRONG_DAY}', agency = 'Old Agency', "
                    "agency_source = 'lead' WHERE article_id = ?", [dated])
        con.execute("UPDATE entities SET first_seen = DATE '2001-02-03' WHERE entity_id IN "
                    "(SELECT entity_id FROM article_entities WHERE article_id = ?)", [dated])
        con.execute("UPDATE articles SET body_start = 0, body = substr(text, 1, body_end) WHERE article_id = ?",
                    [furnished])
        con.execute("CHECKPOINT")
    refresh_replica(path)
    return {"dated": dated, "furnished": furnished}


class CountingModel:
    """Counts the texts the real model is asked to annotate (a spy: the model still runs)."""

    def __init__(self, monkeypatch):
        from flows import nlp

        self.texts = 0
        real = nlp.annotate

        def annotate(pipeline, texts):
            self.texts += len(texts)
            return real(pipeline, texts)

        monkeypatch.setattr(nlp, "annotate", annotate)


def run_reprocess(path, **params):
    from flows.reprocess import reprocess
    from flows.summary import GateFailed

    state = reprocess(warehouse=str(path), return_state=True, **params)
    outcome = state.result(raise_on_failure=False)
    return state, outcome.summary if isinstance(outcome, GateFailed) else outcome


def test_older_articles_are_rederived_without_ner_and_a_second_run_does_nothing(warehouse, monkeypatch):
    from warehouse.status import read_status

    original = snapshot(warehouse, drop_columns=("run_id",))
    original_articles = snapshot(warehouse)["articles"]
    agencies = dict(rows(warehouse, "SELECT article_id, agency FROM articles"))
    wrong = make_older(warehouse)
    assert snapshot(warehouse)["articles"] != original_articles
    assert read_status(warehouse).older_rules == 6
    model = CountingModel(monkeypatch)

    state, summary = run_reprocess(warehouse)

    assert state.is_completed() and summary.status == "succeeded"
    assert (summary.n_selected, summary.n_rederived, summary.kept) == (6, 6, [])
    assert summary.changed == {"date": 1, "agency": 1, "dateline": 0, "title": 0, "body": 1}
    assert (summary.n_body_changed, summary.ner_cached, summary.ner_model) == (1, 1, 0)
    assert model.texts == 0  # the moved body's NER came from the cache
    # Every field, sentence, mention, link and entity total is what the rules make of the text, as at ingest
    # (entities' run_id names the run that last wrote their totals).
    assert snapshot(warehouse, drop_columns=("run_id",)) == original
    assert rows(warehouse, "SELECT DISTINCT metadata_rules FROM articles") == [(METADATA_RULES_VERSION,)]
    assert rows(warehouse, "SELECT published_date <> ?, agency FROM articles WHERE article_id = ?",
                [WRONG_DAY, wrong["dated"]]) == [(True, agencies[wrong["dated"]])]
    assert rows(warehouse, "SELECT count(*) FROM entities WHERE first_seen = ?", [WRONG_DAY]) == [(0,)]
    (run,) = rows(warehouse, "SELECT run_id, status, inbox FROM runs WHERE inbox = 'reprocess'")
    assert run[1] == "succeeded"
    assert (warehouse.parent / "lake" / "articles" / f"run={run[0]}").is_dir()
    assert read_status(warehouse).older_rules == 0  # the readers' replica was swapped too

    before = snapshot(warehouse)
    state, again = run_reprocess(warehouse)
    assert state.is_completed() and again.status == "nothing_to_do" and again.n_selected == 0
    assert snapshot(warehouse) == before
    assert rows(warehouse, "SELECT count(*) FROM runs WHERE inbox = 'reprocess'") == [(1,)]

    state, everything = run_reprocess(warehouse, all_articles=True)  # --all: same rules, nothing changes
    assert (everything.n_rederived, sum(everything.changed.values()), model.texts) == (6, 0, 0)
    assert snapshot(warehouse, drop_columns=("run_id",)) == original


def test_articles_published_before_stories_were_kept_get_one(warehouse):
    stories = rows(warehouse, "SELECT article_id, story_id FROM article_stories ORDER BY ALL")
    assert len(stories) == 6  # the five samples and the near copy, which joined its original's story
    with duckdb.connect(str(warehouse)) as con:
        con.execute("DELETE FROM article_stories")
        con.execute("DELETE FROM stories")
        con.execute("CHECKPOINT")
    refresh_replica(warehouse)

    state, summary = run_reprocess(warehouse, all_articles=True)

    assert state.is_completed() and summary.status == "succeeded"
    assert rows(warehouse, "SELECT article_id, story_id FROM article_stories ORDER BY ALL") == stories
    assert rows(warehouse, "SELECT sum(n_articles) FROM stories") == [(6,)]


def test_a_body_never_annotated_needs_the_model_once(warehouse, monkeypatch):
    from core.settings import get_settings
    from flows import nlp
    from flows.ner_cache import NerCache

    original = snapshot(warehouse, drop_columns=("run_id",))
    bodies = dict(rows(warehouse, "SELECT article_id, body FROM articles"))
    wrong = make_older(warehouse)
    settings = get_settings(warehouse=warehouse)
    info = nlp.inspect_model(nlp.resources_dir(settings), settings.segmenter)
    entry = NerCache(settings.ner_cache_dir, info.name, info.version)._path(bodies[wrong["furnished"]])
    entry.unlink()  # the body the rules find now was never annotated (as far as this cache knows)
    model = CountingModel(monkeypatch)

    state, summary = run_reprocess(warehouse)

    assert state.is_completed()
    assert (summary.n_body_changed, summary.ner_cached, summary.ner_model, model.texts) == (1, 0, 1, 1)
    assert entry.exists()  # and now it is cached
    assert snapshot(warehouse, drop_columns=("run_id",)) == original  # the model gives the same mentions again


def test_a_failed_gate_publishes_nothing_and_alerts(warehouse, monkeypatch, webhook):
    from warehouse.status import read_status

    make_older(warehouse)
    before = snapshot(warehouse)

    repeat_a_mention_key(monkeypatch)
    state, summary = run_reprocess(warehouse)

    assert state.is_failed() and summary.status == "gate_failed"
    assert snapshot(warehouse) == before
    assert rows(warehouse, "SELECT DISTINCT metadata_rules FROM articles") == [(1,)]
    assert rows(warehouse, "SELECT status FROM runs WHERE inbox = 'reprocess'") == [("gate_failed",)]
    assert rows(warehouse, "SELECT count(*) FROM quarantine") == [(0,)]  # published articles are not quarantined
    assert (warehouse.parent / "quarantine" / "batches" / summary.run_id / "mentions").is_dir()
    assert read_status(warehouse).older_rules == 6
    (alert,) = webhook.received
    assert alert["json"]["akhbar"]["level"] == "error"
    assert "unique" in " ".join(alert["json"]["akhbar"]["lines"]).lower()


def akhbar(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "akhbar.cli", *args], capture_output=True, text=True, env=env,
                          timeout=600)


def test_an_old_schema_warehouse_through_the_cli(warehouse, prefect_api):
    original = snapshot(warehouse, drop_columns=("run_id",) + NEW_COLUMNS)
    make_older(warehouse, drop_columns=True)
    env = dict(os.environ, PREFECT_API_URL=prefect_api, AKHBAR_WAREHOUSE=str(warehouse))

    status = akhbar("status", env=env)
    assert status.returncode == 0, status.stderr
    assert "6 published article(s) made by older rules" in status.stdout and "akhbar reprocess" in status.stdout

    first = akhbar("reprocess", env=env)
    assert first.returncode == 0, first.stderr
    assert "6 re-derived" in first.stdout
    assert "date 1" in first.stdout and "agency 1" in first.stdout and "body 1" in first.stdout
    assert "1 from the cache, 0 needed the model" in first.stdout
    columns = {r[0] for r in rows(warehouse, "SELECT column_name FROM information_schema.columns "
                                             "WHERE table_name = 'articles'")}
    assert set(NEW_COLUMNS) <= columns
    assert rows(warehouse, "SELECT DISTINCT metadata_rules FROM articles") == [(METADATA_RULES_VERSION,)]
    assert snapshot(warehouse, drop_columns=("run_id",) + NEW_COLUMNS) == original

    second = akhbar("reprocess", env=env)
    assert second.returncode == 0, second.stderr
    assert "0 articles made by older rules" in second.stdout
    assert "0 published article(s) made by older rules" in akhbar("status", env=env).stdout
