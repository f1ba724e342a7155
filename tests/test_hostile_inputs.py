"""Broken and hostile input in one batch: each item quarantined with its own reason, the good ones published."""

from __future__ import annotations

import json
import os

import duckdb
import pytest

from tests.conftest import require_model, sample_paths, sample_text

ARABIC = ("قال الرئيس الكازاخستاني قاسم جومارت توكاييف إن الاجتماع المرتقب بين رئيسي كازاخستان والصين "
          "سيعود بالنفع على شعبي البلدين.")


def build_inbox(folder, outside):
    files = {}

    def put(name, data: bytes, reason):
        (folder / name).write_bytes(data)
        files[name] = reason

    put("empty.txt", b"", "empty")
    put("whitespace.txt", b"  \n\t\n  ", "empty")
    put("invisible_flood.txt", ("\u200b\u200f\u202e\u2066" * 2000).encode(), "empty")
    put("binary.txt", b"\x89PNG\r\n\x1a\n" + bytes(2000), "binary")
    put("nul_inside.txt", ARABIC.encode() + b"\x00\x00\x00" + ARABIC.encode(), "binary")
    put("truncated.txt", (ARABIC * 3).rstrip(".").encode()[:-1], "truncated_utf8")  # cut inside a letter
    put("invalid_utf8.txt", (ARABIC * 3).encode()[:150] + b"\xff" + (ARABIC * 3).encode()[150:], "invalid_utf8")
    put("bom_only.txt", b"\xef\xbb\xbf", "empty")
    put("latin1.txt", ("Café crème, déjà vu à Genève. " * 40).encode("latin-1"), "unknown_encoding")
    put("utf16_broken.txt", b"\xff\xfe" + "بكين".encode("utf-16-le") + b"\x00", "undecodable")
    put("huge.txt", (ARABIC + "\n").encode() * 2000, "too_large")
    put("english.txt", ("Astana, July 1 (Xinhua) -- Kazakh President Tokayev said the meeting between the heads "
                        "of state of Kazakhstan and China will benefit both peoples. ") .encode() * 5,
        "not_mostly_arabic")
    put("mostly_latin.txt", (ARABIC + " " + "The Shanghai Cooperation Organisation summit in Astana. " * 30)
        .encode(), "not_mostly_arabic")
    put("too_short.txt", "مرحبا بكم".encode(), "length_out_of_bounds")
    put("no_text.html", b"<html><head><script>alert('x')</script></head><body><nav><a href='/'>home</a></nav>"
                        b"</body></html>", "no_main_text")
    put("script_only.html", ("<html><body><script>var s = '" + ARABIC + "';</script></body></html>").encode(),
        "no_main_text")
    put("broken.xml", b"<rss><channel><item><title>\xd8\xa8 <<<", "malformed_feed")
    put("nolink.xml", ("<?xml version='1.0' encoding='utf-8'?><rss version='2.0'><channel><title>t</title>"
                       f"<item><title>خبر</title><description>{ARABIC}</description></item></channel></rss>")
        .encode(), "feed_item_no_link")
    put("notext.xml", b"<?xml version='1.0'?><rss version='2.0'><channel><title>t</title><item>"
                      b"<link>http://127.0.0.1/a</link><title>x</title></item></channel></rss>", None)
    files["notext.xml#http://127.0.0.1/a"] = "feed_item_no_text"
    del files["notext.xml"]
    put("lines.jsonl", b'{"text": "' + ARABIC.encode() + b'"\n{"title": "no text"}\n[1, 2, 3]\n', None)
    files["lines.jsonl#L1"] = "bad_json_line"
    files["lines.jsonl#L2"] = "missing_text"
    files["lines.jsonl#L3"] = "bad_json_line"
    del files["lines.jsonl"]
    put("document.pdf", b"%PDF-1.7\n" + bytes(100), "unsupported_format")
    (outside / "secret.txt").write_text(ARABIC * 3, encoding="utf-8")
    os.symlink(outside / "secret.txt", folder / "escape.txt")
    files["escape.txt"] = "outside_inbox"
    return files


@pytest.fixture
def hostile_run(prefect_api, tmp_path, warehouse_path, monkeypatch):
    from flows.ingest import ingest

    require_model()
    folder, outside = tmp_path / "inbox", tmp_path / "outside"
    folder.mkdir()
    outside.mkdir()
    for path in sample_paths():
        (folder / path.name).write_bytes(path.read_bytes())
    (folder / "copy of 001 ☃ (1).txt").write_text(sample_text("001"), encoding="utf-8")  # odd name, same story
    (folder / "عاجل: خبر جديد.txt").write_text(ARABIC + "\n" + sample_text("004")[:400], encoding="utf-8")
    expected = build_inbox(folder, outside)
    monkeypatch.setenv("AKHBAR_MAX_ITEM_BYTES", "100000")
    summary = ingest(inbox=str(folder), warehouse=str(warehouse_path))
    return folder, expected, summary


def test_each_hostile_item_is_quarantined_with_its_own_reason(hostile_run, warehouse_path):
    folder, expected, summary = hostile_run
    with duckdb.connect(str(warehouse_path), read_only=True) as con:
        quarantined = dict(con.execute("SELECT source_path, reason FROM quarantine").fetchall())
        published = {r[0] for r in con.execute("SELECT source_path FROM articles").fetchall()}
        copies = con.execute("SELECT source_path, kind FROM duplicates").fetchall()
    got = {path.replace(str(folder) + "/", ""): reason for path, reason in quarantined.items()}
    assert got == expected
    assert len(expected) >= 24  # with the odd names and the renamed copy below: 26 kinds of input
    # the good ones: the five samples and a story under an Arabic name with a colon
    assert {p.replace(str(folder) + "/", "") for p in published} == {p.name for p in sample_paths()} | {
        "عاجل: خبر جديد.txt"}
    assert copies == [(str(folder / "copy of 001 ☃ (1).txt"), "exact")]
    assert summary.status == "succeeded"


def test_the_secret_behind_the_symlink_was_never_read(hostile_run, warehouse_path, tmp_path):
    from core.settings import get_settings
    from warehouse.quarantine import QuarantineStore

    store = QuarantineStore(get_settings(warehouse=warehouse_path).quarantine_dir)
    for item in store.root.iterdir():
        if item.is_dir() and (item / "item.json").exists():
            meta = json.loads((item / "item.json").read_text(encoding="utf-8"))
            if meta["reason"] == "outside_inbox":
                assert (item / "original").read_bytes() == b""


def test_a_file_that_changes_while_read_is_quarantined_not_half_published(tmp_path, monkeypatch):
    """A producer appends to the file between our open and the end of our read (a real second writer)."""
    from pathlib import Path

    from flows import intake
    from transforms.rejection import Rejection

    path = tmp_path / "growing.txt"
    path.write_bytes(ARABIC.encode() * 3)
    real_open = Path.open

    class Racing:
        def __init__(self, handle):
            self.handle = handle

        def fileno(self):
            return self.handle.fileno()

        def read(self, n=-1):
            data = self.handle.read(n)
            with real_open(path, "ab") as writer:  # the producer writes the rest of the article
                writer.write(("\n" + ARABIC).encode())
            return data

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            self.handle.close()

    monkeypatch.setattr(Path, "open", lambda self, *a, **k: Racing(real_open(self, *a, **k)) if self == path
                        else real_open(self, *a, **k))
    with pytest.raises(Rejection) as rejected:
        intake._read_file(path, tmp_path, 1_000_000)
    assert rejected.value.reason == "changed_while_read"
    monkeypatch.undo()
    assert intake._read_file(path, tmp_path, 1_000_000)[0] == path.read_bytes()  # settled: read whole
