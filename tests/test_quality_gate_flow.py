"""Write–audit–publish end to end: the real flow, the real model, a webhook on 127.0.0.1."""

from __future__ import annotations

import hashlib
import threading

import duckdb
import pytest

from tests.conftest import repeat_a_mention_key, require_model, sample_paths

DATA_TABLES = ("articles", "sentences", "mentions")


def snapshot(path) -> dict[str, tuple[int, str]]:
    """Row count and a content checksum of every published data table."""
    result = {}
    with duckdb.connect(str(path), read_only=True) as con:
        for table in DATA_TABLES:
            rows = con.execute(f"SELECT * FROM {table} ORDER BY ALL").fetchall()
            result[table] = (len(rows), hashlib.sha256(repr(rows).encode()).hexdigest())
    return result


def query(path, sql):
    with duckdb.connect(str(path), read_only=True) as con:
        return con.execute(sql).fetchall()


def run_flow(**params):
    from flows.ingest import GateFailed, ingest

    state = ingest(**params, return_state=True)
    outcome = state.result(raise_on_failure=False)
    return state, outcome.summary if isinstance(outcome, GateFailed) else outcome


@pytest.fixture
def model():
    return require_model()


def test_clean_batch_publishes_and_builds_data_docs(prefect_api, model, inbox, warehouse_path, webhook):
    state, summary = run_flow(inbox=str(inbox), warehouse=str(warehouse_path))
    assert state.is_completed()
    assert (summary.status, summary.n_new, summary.n_failed) == ("succeeded", 5, 0)
    assert query(warehouse_path, "SELECT count(*) FROM articles") == [(5,)]
    assert summary.data_docs and (warehouse_path.parent / "data_docs" / "index.html").exists()
    assert webhook.received == []  # nothing to say about a clean run


def test_broken_invariant_holds_back_the_whole_batch(prefect_api, model, inbox, warehouse_path, webhook,
                                                     tmp_path, monkeypatch):
    # Publish one article first: it must come through the failed run untouched.
    first_inbox = tmp_path / "first"
    first_inbox.mkdir()
    first = sample_paths()[0]
    (first_inbox / first.name).write_bytes(first.read_bytes())
    run_flow(inbox=str(first_inbox), warehouse=str(warehouse_path))
    before = snapshot(warehouse_path)

    repeat_a_mention_key(monkeypatch)
    state, summary = run_flow(inbox=str(inbox), warehouse=str(warehouse_path))

    assert state.is_failed()
    assert summary.status == "gate_failed"
    assert snapshot(warehouse_path) == before
    held = {r.source_path for r in summary.rejected if r.level == "batch"}
    assert held == {str(inbox / p.name) for p in sample_paths()[1:]}
    quarantined = query(warehouse_path, "SELECT count(*) FROM quarantine WHERE reason = 'batch_failed_gate'")
    assert quarantined == [(4,)]
    assert query(warehouse_path, "SELECT status FROM runs ORDER BY started_at DESC LIMIT 1") == [("gate_failed",)]

    (alert,) = webhook.received
    payload = alert["json"]
    assert payload["akhbar"]["level"] == "error"
    assert payload["akhbar"]["run_id"] == summary.run_id
    failed_text = " ".join(payload["akhbar"]["lines"])
    assert "mentions" in failed_text and "unique" in failed_text.lower()
    assert "data_docs" in payload["akhbar"]


def test_mixed_batch_publishes_the_good_and_quarantines_the_bad(prefect_api, model, inbox, warehouse_path,
                                                                 webhook):
    (inbox / "english.txt").write_text(
        "Astana, 1 July 2024 (Xinhua) -- Kazakh President Kassym-Jomart Tokayev said the upcoming "
        "meeting between the heads of state of Kazakhstan and China will benefit both peoples.\n" * 3,
        encoding="utf-8",
    )
    (inbox / "blank.txt").write_text("  \n\u200f\n", encoding="utf-8")
    state, summary = run_flow(inbox=str(inbox), warehouse=str(warehouse_path))

    assert state.is_completed()
    assert summary.n_new == 5
    reasons = {r.source_path.rsplit("/", 1)[-1]: r.reason for r in summary.rejected}
    assert reasons["blank.txt"] == "empty"
    assert "arabic" in reasons["english.txt"].lower()
    assert query(warehouse_path, "SELECT count(*) FROM articles") == [(5,)]
    rows = query(warehouse_path, "SELECT source_path, reason FROM quarantine ORDER BY source_path")
    assert [(p.rsplit("/", 1)[-1], r) for p, r in rows] == [
        ("blank.txt", "empty"), ("english.txt", reasons["english.txt"])]
    (alert,) = webhook.received
    assert alert["json"]["akhbar"]["level"] == "warning"
    assert "english.txt" in " ".join(alert["json"]["akhbar"]["lines"])


def test_quarantined_item_keeps_its_bytes_and_retries_after_a_fix(prefect_api, model, inbox, warehouse_path,
                                                                 webhook, monkeypatch):
    from core.settings import get_settings
    from warehouse.quarantine import QuarantineStore

    import flows.annotate as annotate_module
    from transforms.rejection import Rejection

    real_annotate = annotate_module.annotate_isolating_failures
    target = sample_paths()[2].name

    def ner_breaks_on_one(pipeline, articles):
        done, failed = real_annotate(pipeline, [a for a in articles if not a.source_path.endswith(target)])
        failed += [Rejection("ner_failed", "RuntimeError: injected", source_path=a.source_path, raw=a.raw)
                   for a in articles if a.source_path.endswith(target)]
        return done, failed

    # A republished copy of the failing story: its first copy is quarantined, so it must wait with it.
    republished = "مقابلة حصرية مع السفير الصيني\n\n" + (inbox / target).read_text(encoding="utf-8")
    (inbox / "zz_republished.txt").write_text(republished, encoding="utf-8")
    monkeypatch.setattr(annotate_module, "annotate_isolating_failures", ner_breaks_on_one)
    _, summary = run_flow(inbox=str(inbox), warehouse=str(warehouse_path))
    assert summary.n_new == 4
    assert sorted(r.reason for r in summary.rejected) == ["first_copy_rejected", "ner_failed"]

    settings = get_settings(warehouse=warehouse_path)
    ids = dict(query(warehouse_path, "SELECT reason, item_id FROM quarantine"))
    item_id = ids["ner_failed"]
    store = QuarantineStore(settings.quarantine_dir)
    assert store.original(item_id) == (inbox / target).read_bytes()
    assert store.meta(item_id)["reason"] == "ner_failed"

    monkeypatch.setattr(annotate_module, "annotate_isolating_failures", real_annotate)  # the fix
    _, retried = run_flow(warehouse=str(warehouse_path), retry_items=sorted(ids.values()))
    assert (retried.n_new, retried.n_duplicates) == (1, 1)
    assert retried.resolved_items == sorted(ids.values())
    assert query(warehouse_path, "SELECT count(*), count(duplicate_of) FROM articles") == [(6, 1)]
    published = {r[0] for r in query(warehouse_path, "SELECT source_path FROM articles")}
    assert str(inbox / target) in published  # recorded under its original path
    from warehouse.quarantine import open_items

    with duckdb.connect(str(warehouse_path), read_only=True) as con:
        assert open_items(con) == []


def test_reader_never_sees_half_a_batch(prefect_api, model, inbox, warehouse_path, monkeypatch):
    monkeypatch.setenv("AKHBAR_NER_BATCH_ARTICLES", "1")  # five staged parts, one transaction
    from warehouse.store import connect, ensure_schema

    with connect(warehouse_path) as con:
        ensure_schema(con)
    seen: list[tuple[int, int, int]] = []
    stop = threading.Event()

    def reader():
        con = duckdb.connect(str(warehouse_path))  # same process, same database instance
        while not stop.is_set():
            seen.append(con.execute(
                "SELECT (SELECT count(*) FROM articles), (SELECT count(*) FROM sentences), "
                "(SELECT count(*) FROM mentions)").fetchall()[0])
        con.close()

    thread = threading.Thread(target=reader)
    thread.start()
    try:
        _, summary = run_flow(inbox=str(inbox), warehouse=str(warehouse_path))
    finally:
        stop.set()
        thread.join()
    final = (5, summary.n_sentences, summary.n_mentions)
    assert summary.n_new == 5
    assert set(seen) <= {(0, 0, 0), final}
    assert (0, 0, 0) in seen and len(seen) > 10


def test_a_bad_file_left_in_the_inbox_is_alerted_once(prefect_api, model, inbox, warehouse_path, webhook):
    from flows.ingest import ingest

    (inbox / "empty.txt").write_bytes(b"")
    first = ingest(inbox=str(inbox), warehouse=str(warehouse_path))
    assert [r.reason for r in first.newly_quarantined] == ["empty"]
    (alert,) = webhook.received
    assert alert["json"]["akhbar"]["title"] == "1 item(s) quarantined"

    second = ingest(inbox=str(inbox), warehouse=str(warehouse_path))
    assert (len(second.rejected), second.n_still_quarantined) == (1, 1)
    assert "1 quarantined (1 already were)" in second.line()
    assert len(webhook.received) == 1  # nothing new to say

    (inbox / "binary.txt").write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(500))
    ingest(inbox=str(inbox), warehouse=str(warehouse_path))
    assert len(webhook.received) == 2
    assert webhook.received[1]["json"]["akhbar"]["lines"] == [f"• {inbox / 'binary.txt'}: binary"]
    with duckdb.connect(str(warehouse_path), read_only=True) as con:
        from warehouse.quarantine import open_items

        assert sorted(i["reason"] for i in open_items(con)) == ["binary", "empty"]
