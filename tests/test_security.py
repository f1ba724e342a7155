"""Security: paths inside feeds and JSON are never opened, and the webhook secret is never written anywhere.

One run takes in a JSON Lines record whose fields name a secret file outside
the inbox, and an RSS feed whose XML declares an external entity pointing at
the same file. Afterwards the secret's content is nowhere: not in the
warehouse's tables, its files, Data Docs, quarantine, the report or the logs.
The webhook URL (a secret too) is used for a real alert and is likewise nowhere.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import duckdb
import pytest

from tests.conftest import require_model, sample_paths

MARKER = "SECRET-MARKER-7f3a"
ARABIC = ("قال الرئيس الكازاخستاني قاسم جومارت توكاييف إن الاجتماع المرتقب بين رئيسي كازاخستان والصين "
          "سيعود بالنفع على شعبي البلدين، وإن التعاون في إطار منظمة شنغهاي للتعاون يتعمق عاما بعد عام.")


@pytest.fixture
def hostile_paths_run(prefect_api, tmp_path, warehouse_path, webhook):
    from flows.ingest import ingest

    require_model()
    outside = tmp_path / "outside"
    outside.mkdir()
    secret = outside / "secret.txt"
    secret.write_text(f"{MARKER} {ARABIC}", encoding="utf-8")
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    shutil.copy(sample_paths()[0], inbox / sample_paths()[0].name)
    record = {"text": ARABIC * 2, "title": "خبر", "source_path": str(secret), "path": "../outside/secret.txt",
              "file": str(secret), "stored_path": str(secret), "url": secret.as_uri()}
    (inbox / "records.jsonl").write_text(json.dumps(record, ensure_ascii=False) + "\n", encoding="utf-8")
    (inbox / "xxe.xml").write_text(
        f'<?xml version="1.0" encoding="utf-8"?>\n<!DOCTYPE rss [<!ENTITY leak SYSTEM "{secret.as_uri()}">]>\n'
        '<rss version="2.0"><channel><title>t</title><item><link>http://127.0.0.1:9/a</link><title>خبر آخر</title>'
        f"<description>{ARABIC} &leak;</description></item></channel></rss>\n", encoding="utf-8")
    (inbox / "empty.txt").write_bytes(b"")  # quarantined: the run sends a (warning) alert to the webhook
    summary = ingest(inbox=str(inbox), warehouse=str(warehouse_path))
    return inbox, summary


def text_files(folder: Path):
    for path in folder.rglob("*"):
        if path.is_file() and not path.name.endswith((".duckdb", ".parquet", ".wal")):
            yield path


def test_paths_in_records_and_feed_entities_are_never_opened(hostile_paths_run, warehouse_path, capfd):
    inbox, summary = hostile_paths_run
    with duckdb.connect(str(warehouse_path), read_only=True) as con:
        rows = con.execute("SELECT source_path, text, coalesce(url, '') FROM articles").fetchall()
        quarantined = con.execute("SELECT source_path, coalesce(detail, '') FROM quarantine").fetchall()
    paths = {r[0] for r in rows}
    assert str(inbox / "records.jsonl") + "#L1" in paths  # named by where it was read, not by its fields
    assert any(p.startswith(str(inbox / "xxe.xml")) for p in paths)  # the entry published, without the entity
    assert all(p.startswith(str(inbox)) for p in paths | {q[0] for q in quarantined})
    assert not any(MARKER in text for _, text, _ in rows)
    assert not any(MARKER in detail for _, detail in quarantined)
    for path in text_files(warehouse_path.parent):
        assert MARKER.encode() not in path.read_bytes(), path
    out, err = capfd.readouterr()
    assert MARKER not in out + err


def test_the_webhook_secret_is_in_no_log_file_table_data_docs_or_report(hostile_paths_run, warehouse_path, webhook,
                                                                        capfd, caplog):
    from akhbar.report import write_report

    _, summary = hostile_paths_run
    assert summary.rejected and webhook.received  # the secret was used: one warning alert went out
    token = webhook.url.rsplit("/", 1)[1]
    report = write_report(warehouse_path, warehouse_path.parent / "report.html",
                          warehouse_path.parent / "data_docs" / "index.html")
    assert (warehouse_path.parent / "data_docs" / "index.html").exists()
    for path in [report, *text_files(warehouse_path.parent)]:
        assert token.encode() not in path.read_bytes(), path
    with duckdb.connect(str(warehouse_path), read_only=True) as con:
        for table, column in (("runs", "message"), ("runs", "inbox"), ("quarantine", "detail")):
            values = [v for (v,) in con.execute(f"SELECT {column} FROM {table}").fetchall() if v]
            assert not any(token in v for v in values)
    out, err = capfd.readouterr()
    assert token not in out + err + caplog.text
