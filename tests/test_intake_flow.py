"""Every intake format through the real flow: a sources registry, a folder and a feed on 127.0.0.1."""

from __future__ import annotations

import html
import threading
from datetime import date
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import duckdb
import pytest

from tests.conftest import require_model, sample_text


class FeedServer:
    """Serves fixed bytes at /feed.xml on 127.0.0.1 (and no robots.txt: 404, no rules)."""

    def __init__(self, body: bytes):
        server_self = self
        self.paths = []

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                server_self.paths.append(self.path)
                if self.path != "/feed.xml":
                    self.send_error(404)
                    return
                self.send_response(200)
                self.send_header("Content-Type", "application/rss+xml; charset=utf-8")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/feed.xml"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


def rss(story: str) -> bytes:
    paragraphs = "".join(f"<p>{html.escape(p)}</p>" for p in story.split("\n") if p.strip())
    return f"""<?xml version="1.0" encoding="utf-8"?>
<rss version="2.0" xmlns:content="http://purl.org/rss/1.0/modules/content/">
<channel><title>جلوبال تايمز عربي</title><link>http://127.0.0.1/</link><description>x</description>
<item>
  <title>مقابلة: السفير الصيني لدى كازاخستان</title>
  <link>http://127.0.0.1/interview-2023</link>
  <guid>interview-2023</guid>
  <pubDate>Mon, 04 Sep 2023 08:00:00 +0000</pubDate>
  <content:encoded><![CDATA[{paragraphs}]]></content:encoded>
</item>
<item>
  <title>خبر بلا رابط</title>
  <description>خبر لا رابط له ولا معرف، فلا يمكن تتبعه.</description>
</item>
</channel></rss>""".encode("utf-8")


def html_page(story: str) -> bytes:
    body = "".join(f"<p>{html.escape(p)}</p>\n" for p in story.split("\n") if p.strip())
    return f"""<!DOCTYPE html><html lang="ar" dir="rtl"><head><meta charset="utf-8">
<title>الحوار الاستراتيجي بين الصين وكازاخستان</title>
<meta property="article:published_time" content="2025-04-27T09:40:00+08:00">
<script>document.write("لا يجوز أن يظهر هذا النص");</script></head>
<body><nav><a href="/">الصفحة الرئيسية</a> | <a href="/world">دولي</a></nav>
<article><h1>الحوار الاستراتيجي بين الصين وكازاخستان</h1>
{body}</article>
<footer>جميع الحقوق محفوظة</footer></body></html>""".encode("utf-8")


def near_copy(story: str) -> str:
    return (
        "توكاييف: زيارة شي ستفتح فصلا جديدا في العلاقات\n"
        + story.replace("قال الرئيس", "صرح الرئيس", 1).replace("الاستراتيجية", "الإستراتيجية")
    )


@pytest.fixture
def registry(tmp_path, monkeypatch):
    import json

    folder = tmp_path / "incoming"
    folder.mkdir()
    story_003 = "\n".join(sample_text("003").split("\n")[7:-2])  # the body, without the page furniture
    (folder / "a_legacy.txt").write_bytes(sample_text("004").encode("cp1256"))
    (folder / "b_utf16.txt").write_bytes(sample_text("001").encode("utf-16"))
    (folder / "c_page.html").write_bytes(html_page(story_003))
    lines = [
        json.dumps({"id": "pr-1", "title": "شي يشيد بالعلاقات", "text": sample_text("000"),
                    "published": "2024-07-05", "url": "https://example.com/pr-1"}, ensure_ascii=False),
        '{"id": "broken", "text": "نص',
        json.dumps({"id": "copy", "text": near_copy(sample_text("001"))}, ensure_ascii=False),
    ]
    (folder / "d_dump.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    feed = FeedServer(rss(sample_text("002")))
    sources = tmp_path / "sources.csv"
    sources.write_text(
        "source_id,kind,location,agency,language,enabled\n"
        "incoming,folder,incoming,,ar,true\n"
        f"gt_feed,feed,{feed.url},Global Times,ar,true\n"
        "old,folder,nowhere,,ar,false\n",
        encoding="utf-8",
    )
    monkeypatch.delenv("AKHBAR_INBOX", raising=False)
    monkeypatch.setenv("AKHBAR_SOURCES", str(sources))
    yield folder, feed
    feed.close()


def rows(path, sql):
    with duckdb.connect(str(path), read_only=True) as con:
        cursor = con.execute(sql)
        names = [d[0] for d in cursor.description]
        return [dict(zip(names, r)) for r in cursor.fetchall()]


def test_every_format_from_a_registry(prefect_api, registry, warehouse_path):
    from flows.ingest import ingest

    require_model()
    folder, feed = registry
    summary = ingest(warehouse=str(warehouse_path))
    assert summary.status == "succeeded"
    assert (summary.n_new, summary.n_duplicates) == (5, 1)
    assert feed.paths == ["/robots.txt", "/feed.xml"]  # the feed holds the story: no page fetched

    articles = {r["source_path"]: r for r in rows(warehouse_path, "SELECT * FROM articles")}
    by_name = {path.rsplit("/", 1)[-1]: row for path, row in articles.items()}
    assert set(by_name) == {"a_legacy.txt", "b_utf16.txt", "c_page.html", "d_dump.jsonl#L1",
                            "d_dump.jsonl#L3", "feed.xml#interview-2023"}

    legacy = by_name["a_legacy.txt"]
    assert (legacy["format"], legacy["encoding"], legacy["source_id"]) == ("text", "cp1256", "incoming")
    assert legacy["text"] == sample_text("004")  # decoded exactly

    utf16 = by_name["b_utf16.txt"]
    assert (utf16["format"], utf16["encoding"][:6]) == ("text", "utf-16")
    assert (utf16["dateline_city"], utf16["published_date"], utf16["agency"]) == ("أستانا", date(2024, 7, 1), "Xinhua")

    page = by_name["c_page.html"]
    assert page["format"] == "html"
    assert (page["title"], page["title_source"]) == ("الحوار الاستراتيجي بين الصين وكازاخستان", "metadata")
    assert (page["dateline_city"], page["published_date"], page["date_source"]) == ("ألماتي", date(2025, 4, 25), "dateline")
    assert "لا يجوز" not in page["text"] and "جميع الحقوق" not in page["text"]

    pr = by_name["d_dump.jsonl#L1"]
    assert (pr["format"], pr["title"], pr["url"]) == ("jsonl", "شي يشيد بالعلاقات", "https://example.com/pr-1")
    assert (pr["published_date"], pr["date_source"], pr["agency"]) == (date(2024, 7, 5), "dateline", "PR Newswire")

    interview = by_name["feed.xml#interview-2023"]
    assert (interview["format"], interview["url"], interview["source_id"]) == (
        "feed", "http://127.0.0.1/interview-2023", "gt_feed")
    # the feed's pubDate is the date; the agency is named in the lead
    assert (interview["published_date"], interview["date_source"]) == (date(2023, 9, 4), "metadata")
    assert (interview["agency"], interview["agency_source"]) == ("Global Times", "lead")

    copy = by_name["d_dump.jsonl#L3"]
    assert copy["duplicate_of"] == utf16["article_id"] and copy["duplicate_similarity"] >= 0.8
    assert (copy["n_sentences"], copy["n_mentions"]) == (0, 0)
    assert rows(warehouse_path, f"SELECT count(*) AS n FROM mentions WHERE article_id = '{copy['article_id']}'") == [{"n": 0}]
    (duplicate,) = rows(warehouse_path, "SELECT kind, duplicate_of FROM duplicates")
    assert duplicate == {"kind": "near", "duplicate_of": utf16["article_id"]}

    quarantined = {(r["source_path"].rsplit("/", 1)[-1], r["reason"])
                   for r in rows(warehouse_path, "SELECT source_path, reason FROM quarantine")}
    assert quarantined == {("d_dump.jsonl#L2", "bad_json_line"), ("feed.xml", "feed_item_no_link")}

    again = ingest(warehouse=str(warehouse_path))
    assert (again.n_new, again.n_duplicates, again.model_loaded) == (0, 0, False)
    assert feed.paths.count("/feed.xml") == 2 and len(feed.paths) == 4  # nothing new: no page fetched


def test_a_near_copy_in_a_later_run_points_at_the_published_story(prefect_api, inbox, warehouse_path, tmp_path):
    from flows.ingest import ingest

    require_model()
    ingest(inbox=str(inbox), warehouse=str(warehouse_path))
    later = tmp_path / "later"
    later.mkdir()
    (later / "republished.txt").write_text(near_copy(sample_text("001")) + "\n\nاقرأ أيضا\nشي يصل إلى أستانا\n",
                                           encoding="utf-8")
    summary = ingest(inbox=str(later), warehouse=str(warehouse_path))
    assert (summary.n_new, summary.n_duplicates, summary.model_loaded) == (0, 1, False)
    (row,) = rows(warehouse_path, "SELECT a.duplicate_of, o.source_path AS original FROM articles a "
                                  "JOIN articles o ON o.article_id = a.duplicate_of")
    assert row["original"].endswith("001_d37bea9b1dcd7ee6.txt")


def test_published_signatures_are_found_by_their_band_keys_and_given_keys_when_they_have_none(
        prefect_api, inbox, warehouse_path, tmp_path):
    from flows.ingest import ingest
    from transforms import dedup

    require_model()
    ingest(inbox=str(inbox), warehouse=str(warehouse_path))
    bands, rows_per_band = dedup.band_layout(dedup.NEAR_THRESHOLD)
    count = "SELECT count(*) AS n FROM fingerprint_bands WHERE bands = {} AND rows_per_band = {}"
    assert rows(warehouse_path, count.format(bands, rows_per_band)) == [{"n": 5 * bands}]
    with duckdb.connect(str(warehouse_path)) as con:  # as a warehouse published before band keys were kept
        con.execute("DELETE FROM fingerprint_bands")

    later = tmp_path / "later"
    later.mkdir()
    (later / "republished.txt").write_text(near_copy(sample_text("002")) + "\n\nاقرأ أيضا\nشي يصل إلى أستانا\n",
                                           encoding="utf-8")
    summary = ingest(inbox=str(later), warehouse=str(warehouse_path))
    assert (summary.n_new, summary.n_duplicates) == (0, 1)

    # Read whole this time, every published signature now has its keys: the next run reads only what can match.
    (keyed,) = rows(warehouse_path, "SELECT count(DISTINCT article_id) AS n FROM fingerprint_bands")
    assert keyed["n"] == 5
    again = tmp_path / "again"
    again.mkdir()
    (again / "republished.txt").write_text(near_copy(sample_text("003")), encoding="utf-8")
    from warehouse.store import Warehouse

    signature = dedup.to_bytes(dedup.signature(near_copy(sample_text("003"))))
    near = Warehouse(warehouse_path).fingerprints_near([signature], (bands, rows_per_band))
    assert near.unbanded == [] and 1 <= len(near.banded) < 5
    assert ingest(inbox=str(again), warehouse=str(warehouse_path)).n_duplicates == 1


def test_an_unreachable_feed_is_reported_and_the_rest_goes_on(prefect_api, tmp_path, monkeypatch, warehouse_path):
    from flows.ingest import ingest

    require_model()
    folder = tmp_path / "one"
    folder.mkdir()
    (folder / "a.txt").write_text(sample_text("001"), encoding="utf-8")
    sources = tmp_path / "sources.csv"
    sources.write_text("source_id,kind,location\nlocal,folder,one\ndown,feed,http://127.0.0.1:9/feed.xml\n",
                       encoding="utf-8")
    monkeypatch.delenv("AKHBAR_INBOX", raising=False)
    monkeypatch.setenv("AKHBAR_SOURCES", str(sources))
    summary = ingest(warehouse=str(warehouse_path))
    assert summary.status == "succeeded" and summary.n_new == 1
    assert len(summary.problems) == 1 and summary.problems[0].startswith("down: cannot fetch")
    (run,) = rows(warehouse_path, "SELECT message FROM runs")
    assert "down: cannot fetch" in run["message"]
