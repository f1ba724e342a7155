"""Hostile endpoints and inputs, each reproduced as it was found: none may stop a run or leak a secret."""

from __future__ import annotations

import logging
import socket
import threading
import time

import pytest

from flows import intake
from flows.alerts import Alert, send_alert


class RawServer:
    """A TCP server on 127.0.0.1 that answers every connection with ``answer(conn)``, bounded in time."""

    def __init__(self, answer):
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.answer, self._stop = answer, threading.Event()
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self):
        stop_at = time.monotonic() + 30  # stops by itself
        while not self._stop.is_set() and time.monotonic() < stop_at:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                continue
            threading.Thread(target=self._handle, args=(conn,), daemon=True).start()

    def _handle(self, conn):
        try:
            conn.settimeout(5)
            conn.recv(65536)
            self.answer(conn, self._stop)
        except OSError:
            pass
        finally:
            conn.close()

    def url(self, path="/services/T000/B000/secret-token"):
        return f"http://127.0.0.1:{self.port}{path}"

    def close(self):
        self._stop.set()
        self.thread.join(2)
        self.sock.close()


@pytest.fixture
def server():
    made = []

    def make(answer):
        made.append(RawServer(answer))
        return made[-1]

    yield make
    for s in made:
        s.close()


def not_http(conn, stop):
    conn.sendall(b"\x00\x01 this is not HTTP at all\r\n\r\n")


def trickle(conn, stop):
    """A valid start of an answer, one byte every 0.3 s: never a per-recv timeout, never an end."""
    for byte in b"HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\n" + b"x" * 100000:
        if stop.is_set():
            return
        conn.sendall(bytes([byte]))
        time.sleep(0.3)


def test_a_receiver_that_answers_garbage_is_a_warning_not_a_failure(server, caplog):
    receiver = server(not_http)
    with caplog.at_level(logging.DEBUG):
        assert send_alert(receiver.url(), Alert("error", "x", "run-1"), timeout=3) is False
    assert "unreachable" in caplog.text and "secret-token" not in caplog.text
    assert all(r.levelno == logging.WARNING for r in caplog.records if r.name == "flows.alerts")


def test_a_trickling_receiver_cannot_hold_the_alert_past_its_deadline(server, caplog):
    receiver = server(trickle)
    started = time.monotonic()
    with caplog.at_level(logging.DEBUG):
        assert send_alert(receiver.url(), Alert("error", "x", "run-1"), timeout=1.5) is False
    assert time.monotonic() - started < 5
    assert "HttpTimeout" in caplog.text and "secret-token" not in caplog.text


def test_a_trickling_feed_cannot_hold_intake_past_its_deadline(server):
    from flows.crawl import Crawler, Politeness

    feed = server(trickle)
    started = time.monotonic()
    crawler = Crawler(Politeness("akhbar-test", delay=0, timeout=1.5, retries=1))
    fetched = crawler.fetch(feed.url("/rss.xml"))
    assert (fetched.ok, fetched.reason) == (False, "timeout")
    assert time.monotonic() - started < 8  # robots.txt and the feed, each within its deadline


def test_a_webhook_url_without_a_scheme_is_refused_by_the_request_not_raised(caplog):
    with caplog.at_level(logging.DEBUG):
        assert send_alert("hooks.example/T000/secret-token", Alert("error", "x", "run-1"), timeout=1) is False
    assert "secret-token" not in caplog.text


def test_a_file_name_that_is_not_utf8_is_quarantined_under_a_printable_label(tmp_path):
    import os

    good = tmp_path / "good.txt"
    good.write_text("أستانا تستضيف القمة الصينية الكازاخستانية", encoding="utf-8")
    with open(os.fsencode(tmp_path) + b"/bad\xff.txt", "wb") as handle:
        handle.write("نص عربي".encode())
    collected = intake.collect([intake.folder_source(tmp_path)], 1_000_000)
    assert [item.source_path for item, _ in collected.items] == [str(good)]
    (rejected,) = collected.rejected
    assert rejected.reason == "bad_file_name" and rejected.source_path == f"{tmp_path}/bad\\xff.txt"
    assert rejected.raw == "نص عربي".encode() and rejected.source_path.encode("utf-8")


def test_a_readers_spill_folder_beside_the_replica_does_not_stop_the_writer(tmp_path):
    from warehouse.replica import refresh_replica
    from warehouse.store import Warehouse

    warehouse = Warehouse(tmp_path / "akhbar.duckdb")
    with warehouse.connection():
        pass
    # DuckDB's default temporary folder of a reader of akhbar.read.duckdb, left by a killed reader.
    (tmp_path / "akhbar.read.duckdb.tmp").mkdir()
    (tmp_path / "akhbar.read.duckdb.tmp" / "spill.block").write_bytes(b"x")
    assert refresh_replica(warehouse.path) == warehouse.replica and warehouse.replica.is_file()
    assert refresh_replica(warehouse.path).is_file()  # and again


def test_two_warehouses_in_one_folder_stage_apart():
    from core.settings import get_settings
    from flows.resources import Resources

    one = Resources.from_settings(get_settings(warehouse="/data/wh/one.duckdb"))
    two = Resources.from_settings(get_settings(warehouse="/data/wh/two.duckdb"))
    assert one.staging.root != two.staging.root
    assert not one.staging.root.is_relative_to(two.staging.root) and not two.staging.root.is_relative_to(one.staging.root)


def test_a_utf8_page_that_declares_windows_1256_is_read_as_utf8_not_published_as_mojibake():
    from tests.conftest import sample_text
    from transforms.formats import parse_items
    from transforms.script import mojibake_share

    body = sample_text("001")
    page = ('<html><head><meta charset="windows-1256"><title>عنوان</title></head><body><article><p>'
            + body.replace("\n", "</p><p>") + "</p></article></body></html>")
    (item,), errors = parse_items(page.encode("utf-8"), "inbox/p.html", "html")
    assert errors == [] and item.encoding == "utf-8" and mojibake_share(item.text) < 0.1
    assert item.text.split("\n")[0] == body.split("\n")[0]
    # A page that really is Windows-1256 stays so.
    (legacy,), _ = parse_items(page.encode("cp1256", errors="replace"), "inbox/q.html", "html")
    assert legacy.encoding == "cp1256" and legacy.text.split("\n")[0] == body.split("\n")[0]


def test_an_empty_json_lines_file_is_quarantined_as_empty_like_an_empty_text_file():
    from transforms.formats import parse_items

    for name, fmt in (("a.jsonl", "jsonl"), ("a.txt", "text"), ("a.xml", "feed")):
        items, rejected = parse_items(b"", name, fmt)
        assert items == [] and [r.reason for r in rejected] == ["empty"], fmt


def test_looping_and_dangling_symlinks_are_reported_not_skipped(tmp_path):
    (tmp_path / "good.txt").write_text("أستانا تستضيف القمة الصينية الكازاخستانية", encoding="utf-8")
    (tmp_path / "loop.txt").symlink_to(tmp_path / "loop.txt")
    (tmp_path / "gone.txt").symlink_to(tmp_path / "nowhere.txt")
    collected = intake.collect([intake.folder_source(tmp_path)], 1_000_000)
    assert [item.source_path for item, _ in collected.items] == [str(tmp_path / "good.txt")]
    assert sorted((r.source_path.rsplit("/", 1)[-1], r.reason) for r in collected.rejected) == [
        ("gone.txt", "broken_symlink"), ("loop.txt", "broken_symlink")]


@pytest.mark.parametrize("damage", [b"", b"not a duckdb file at all" * 100])
def test_a_corrupted_or_empty_replica_falls_back_to_the_main_file(tmp_path, damage):
    from warehouse.query import run_query
    from warehouse.store import Warehouse

    warehouse = Warehouse(tmp_path / "akhbar.duckdb")
    with warehouse.connection():
        pass
    warehouse.replica.write_bytes(damage)
    assert run_query(warehouse.path, "SELECT count(*) FROM runs").rows == [(0,)]


@pytest.fixture
def small_warehouse(tmp_path):
    from warehouse.store import Warehouse

    warehouse = Warehouse(tmp_path / "wh" / "akhbar.duckdb")
    with warehouse.connection():
        pass
    return warehouse


def test_a_runaway_statement_is_stopped_at_its_deadline(small_warehouse):
    from warehouse.query import QueryTimeout, run_query

    started = time.monotonic()
    with pytest.raises(QueryTimeout, match="more than 1 s"):
        run_query(small_warehouse.path, "SELECT count(*) FROM range(10000000000000)", timeout=1)
    assert time.monotonic() - started < 10


def test_a_displayed_result_is_cut_at_its_limit_and_says_so(small_warehouse):
    from warehouse.query import run_query

    cut = run_query(small_warehouse.path, "SELECT * FROM range(10)", limit=3)
    assert (len(cut.rows), cut.truncated) == (3, True)
    whole = run_query(small_warehouse.path, "SELECT * FROM range(10)", limit=10)
    assert (len(whole.rows), whole.truncated) == (10, False)


@pytest.mark.parametrize("fmt", ["csv", "json", "parquet"])
def test_exports_stream_every_row_into_place(small_warehouse, tmp_path, fmt):
    import pyarrow.parquet as pq

    from warehouse.query import export

    output = tmp_path / f"out.{fmt}"
    assert export(small_warehouse.path, "SELECT range AS n FROM range(120000)", fmt, output) == 120_000
    if fmt == "parquet":
        assert pq.read_metadata(output).num_rows == 120_000
    elif fmt == "csv":
        assert output.read_text().count("\n") == 120_001
    else:
        import json

        assert len(json.loads(output.read_text())) == 120_000
    assert not list(tmp_path.glob(".*.partial"))


def test_sql_output_refuses_the_warehouse_folder_and_an_existing_file(small_warehouse, tmp_path):
    from typer.testing import CliRunner

    from akhbar.cli import app

    runner = CliRunner()
    before = small_warehouse.path.read_bytes()
    onto_db = runner.invoke(app, ["sql", "SELECT 1", "--warehouse", str(small_warehouse.path),
                                  "--format", "csv", "--output", str(small_warehouse.path)])
    assert onto_db.exit_code == 2 and "inside the warehouse folder" in onto_db.output
    assert small_warehouse.path.read_bytes() == before
    existing = tmp_path / "kept.csv"
    existing.write_text("keep me")
    refused = runner.invoke(app, ["sql", "SELECT 1", "--warehouse", str(small_warehouse.path), "--format", "csv",
                                  "--output", str(existing)])
    assert refused.exit_code == 2 and existing.read_text() == "keep me"
    forced = runner.invoke(app, ["sql", "SELECT 1 AS a", "--warehouse", str(small_warehouse.path), "--format", "csv",
                                 "--output", str(existing), "--force"])
    assert forced.exit_code == 0 and existing.read_text() == "a\n1\n"


def test_the_prompt_runs_a_last_statement_without_its_semicolon(small_warehouse):
    from typer.testing import CliRunner

    from akhbar.cli import app

    result = CliRunner().invoke(app, ["sql", "--warehouse", str(small_warehouse.path)], input="SELECT 42 AS answer")
    assert result.exit_code == 0 and "42" in result.output


@pytest.mark.parametrize(("variable", "value", "said"), [
    ("AKHBAR_MAX_ITEM_BYTES", "abc", "valid integer"),
    ("AKHBAR_MAX_ITEM_BYTES", "100000000000", "less than or equal"),
    ("AKHBAR_FETCH_TIMEOUT", "inf", "finite"),
    ("AKHBAR_TORCH_THREADS", "100000", "less than or equal"),
    ("AKHBAR_SEGMENTER", "fast", "auto|rules|stanza"),
    ("AKHBAR_ALERT_WEBHOOK", "hooks.example.com/T0/B0/secret-token", "http(s) URL"),
])
def test_a_bad_setting_is_one_line_naming_the_variable(monkeypatch, variable, value, said):
    from core.settings import SettingsError, get_settings

    monkeypatch.setenv(variable, value)
    with pytest.raises(SettingsError) as error:
        get_settings()
    message = str(error.value)
    assert "\n" not in message and message.startswith(variable) and said in message
    assert "secret-token" not in message


def test_publishing_again_after_the_commit_finishes_the_job_instead_of_duplicating_keys(small_warehouse, tmp_path):
    """A retry of publish after its commit (the replica copy had failed) must not insert the batch twice."""
    from datetime import datetime, timezone

    from warehouse.rows import run_row
    from warehouse.store import StagingArea

    staging = StagingArea(tmp_path / "staging").for_run("run-1")
    at = datetime(2024, 7, 5, tzinfo=timezone.utc)
    row = run_row("run-1", None, at, at, "succeeded", "inbox")
    staging.write_rows("inbox_files", 0, [{"source_path": "a.txt", "size": 1, "mtime_ns": 1, "n_items": 1,
                                           "run_id": "run-1"}])
    small_warehouse.publish(staging, row, tmp_path / "lake")
    again = StagingArea(tmp_path / "staging").for_run("run-1")  # the retry finds what is left of its staging
    small_warehouse.publish(again, row, tmp_path / "lake")
    from warehouse.query import run_query

    assert run_query(small_warehouse.path, "SELECT count(*) FROM runs").rows == [(1,)]
