"""`akhbar relink` end to end: the real flow, gate and DuckDB file, NER only from the cache.

The samples are taken in with a curated table that does not know Tokayev; the row is then added, as a user
who extends the knowledge base would, and relink must correct the whole history in one publish.
"""

from __future__ import annotations

import csv
import shutil

import duckdb
import pytest

from tests.conftest import ROOT, copy_samples, repeat_a_mention_key, require_model

SMALL = ROOT / "tests" / "data" / "entity_aliases_small.csv"
TOKAYEV = "kassym_jomart_tokayev"
METADATA = ("title", "dateline_city", "published_date", "agency", "body_start", "body_end", "metadata_rules")


def write_table(path, without: str | None = None) -> None:
    with SMALL.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(r for r in rows if r["entity_id"] != without)


def rows(path, sql):
    with duckdb.connect(str(path), read_only=True) as con:
        return con.execute(sql).fetchall()


@pytest.fixture(scope="module")
def ingested(prefect_api, tmp_path_factory):
    """The samples taken in while the curated table lacked Tokayev; each test works on a copy."""
    from flows.ingest import ingest

    require_model()
    root = tmp_path_factory.mktemp("relink")
    table = root / "aliases.csv"
    write_table(table, without=TOKAYEV)
    patch = pytest.MonkeyPatch()
    patch.setenv("AKHBAR_ENTITY_ALIASES", str(table))
    try:
        summary = ingest(inbox=str(copy_samples(root / "inbox")), warehouse=str(root / "wh" / "akhbar.duckdb"))
    finally:
        patch.undo()
    assert summary.n_new == 5
    return root


@pytest.fixture
def setup(ingested, tmp_path, monkeypatch):
    shutil.copytree(ingested / "wh", tmp_path / "wh")
    table = tmp_path / "aliases.csv"
    write_table(table)  # now with Tokayev
    monkeypatch.setenv("AKHBAR_ENTITY_ALIASES", str(table))
    return tmp_path / "wh" / "akhbar.duckdb"


def run_relink(path):
    from flows.reprocess import relink
    from flows.summary import GateFailed

    state = relink(warehouse=str(path), return_state=True)
    outcome = state.result(raise_on_failure=False)
    return state, outcome.summary if isinstance(outcome, GateFailed) else outcome


def test_relink_corrects_the_history_without_the_model(setup, monkeypatch):
    from flows import nlp

    path = setup
    assert rows(path, f"SELECT count(*) FROM mentions WHERE entity_id = '{TOKAYEV}'") == [(0,)]
    unlinked = rows(path, "SELECT count(*) FROM mentions WHERE surface IN ('توكاييف', 'Tokayev', 'وTokayev')")[0][0]
    assert unlinked > 5
    metadata = rows(path, f"SELECT article_id, {', '.join(METADATA)} FROM articles ORDER BY ALL")
    monkeypatch.setattr(nlp, "get_pipeline", lambda *a, **k: pytest.fail("relink must not load the model"))

    state, summary = run_relink(path)

    assert state.is_completed() and summary.status == "succeeded" and summary.relink
    assert (summary.n_selected, summary.n_rederived, summary.ner_cached, summary.ner_model) == (5, 5, 5, 0)
    assert summary.links_changed >= unlinked
    assert rows(path, f"SELECT count(*) FROM mentions WHERE entity_id = '{TOKAYEV}'")[0][0] >= unlinked
    assert rows(path, f"SELECT name_en, mention_count > 5 FROM entities WHERE entity_id = '{TOKAYEV}'") == [
        ("Kassym-Jomart Tokayev", True)]
    # the old local entities of his names are gone, totals agree with the mentions, metadata untouched
    assert rows(path, "SELECT count(*) FROM entities e WHERE NOT EXISTS "
                      "(SELECT 1 FROM mentions m WHERE m.entity_id = e.entity_id)") == [(0,)]
    assert rows(path, "SELECT count(*) FROM entities e WHERE mention_count <> "
                      "(SELECT count(*) FROM mentions m WHERE m.entity_id = e.entity_id)") == [(0,)]
    assert rows(path, f"SELECT article_id, {', '.join(METADATA)} FROM articles ORDER BY ALL") == metadata
    assert [status for _, status in rows(path, "SELECT started_at, status FROM runs ORDER BY started_at")] == [
        "succeeded", "succeeded"]
    assert rows(path, "SELECT count(*) FROM runs WHERE inbox = 'relink'") == [(1,)]

    again_state, again = run_relink(path)
    assert again_state.is_completed() and again.links_changed == 0
    assert again.mentions_before == again.n_mentions


def test_a_failed_gate_publishes_nothing(setup, monkeypatch):
    path = setup
    before = rows(path, "SELECT * FROM mentions ORDER BY ALL")
    repeat_a_mention_key(monkeypatch)
    state, summary = run_relink(path)
    assert state.is_failed() and summary.status == "gate_failed"
    assert rows(path, "SELECT * FROM mentions ORDER BY ALL") == before
    assert rows(path, "SELECT status FROM runs WHERE inbox = 'relink'") == [("gate_failed",)]
