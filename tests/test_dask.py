"""The same flow on a 2-worker local Dask cluster gets the same tables as the default runner."""

from __future__ import annotations

import os

import duckdb

from tests.conftest import require_model

TABLE_QUERIES = {
    "articles": "SELECT article_id, source_path, body_start, body_end, n_sentences, n_mentions, published_date, "
                "agency FROM articles ORDER BY article_id",
    "sentences": "SELECT article_id, sentence_index, start_char, end_char, n_tokens FROM sentences ORDER BY ALL",
    "mentions": "SELECT article_id, mention_index, start_char, end_char, surface, label, entity_id "
                "FROM mentions ORDER BY ALL",
    "entities": "SELECT entity_id, type, name_ar, mention_count, article_count, first_seen, last_seen "
                "FROM entities ORDER BY ALL",
    "article_entities": "SELECT * FROM article_entities ORDER BY ALL",
}


def tables(path) -> dict[str, list]:
    with duckdb.connect(str(path), read_only=True) as con:
        return {name: con.execute(sql).fetchall() for name, sql in TABLE_QUERIES.items()}


def test_dask_runner_matches_the_default_runner(prefect_api, inbox, tmp_path, monkeypatch):
    from core.settings import get_settings
    from flows.runners import ingest_flow

    require_model()
    monkeypatch.setenv("AKHBAR_NER_BATCH_ARTICLES", "1")  # five chunks to spread
    local = tmp_path / "local" / "akhbar.duckdb"  # separate folders: separate NER caches, so both compute
    ingest_flow(get_settings())(inbox=str(inbox), warehouse=str(local))

    monkeypatch.setenv("AKHBAR_TASK_RUNNER", "dask")
    monkeypatch.setenv("AKHBAR_DASK_WORKERS", "2")
    distributed = tmp_path / "dask" / "akhbar.duckdb"
    summary = ingest_flow(get_settings())(inbox=str(inbox), warehouse=str(distributed))

    assert summary.status == "succeeded" and summary.n_new == 5 and summary.ner_cached == 0
    assert tables(distributed) == tables(local)
    pids = {worker.rsplit(":", 1)[1] for worker in summary.ner_workers}
    assert str(os.getpid()) not in pids  # NER ran in the workers, not in the flow's process
    assert all(built == 1 for built in summary.ner_workers.values())  # each worker loaded the model once
