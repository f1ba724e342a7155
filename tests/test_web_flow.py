"""Web sources through the real ingest flow: a feed and a sitemap index on 127.0.0.1, story pages built from
real Arabic articles, Stanza NER, the quality gate, DuckDB; then the runs after it."""

from __future__ import annotations

import json

import duckdb
import pytest
from typer.testing import CliRunner

from tests.conftest import require_model
from tests.websites import RSS, XML, Answer, Site, article_page, news_sitemap, robots, rss, sitemap_index, stories

STORIES = [story for story in stories(min_chars=700) if story.published]


def rows(path, sql):
    with duckdb.connect(str(path), read_only=True) as con:
        cursor = con.execute(sql)
        names = [d[0] for d in cursor.description]
        return [dict(zip(names, r)) for r in cursor.fetchall()]


def teaser(story) -> str:
    return story.paragraphs[0][:160] + " ..."


@pytest.fixture
def web_sources(tmp_path, monkeypatch):
    """An outlet with a feed (teasers only) and a news agency with a sitemap index, each its own host."""
    s = STORIES
    outlet, wire = Site(latency=0.02), Site(latency=0.02)
    big = article_page(s[0]).replace(b"<footer>", b"<!--" + b"x" * 120_000 + b"--><footer>")
    outlet.routes.update({
        "/robots.txt": robots(["/members/"]),
        "/news/gzip": Answer(body=article_page(s[0]), gzip=True),
        "/old/moved": Answer(301, headers={"Location": "/old/moved-again"}),
        "/old/moved-again": Answer(302, headers={"Location": "/news/moved"}),
        "/news/moved": Answer(body=article_page(s[1], canonical=outlet.url("/news/moved"))),
        "/news/legacy": Answer(body=article_page(s[2], charset="windows-1256", declare_charset=False),
                               content_type="text/html; charset=windows-1256"),
        "/news/busy": [Answer(429, headers={"Retry-After": "1"}), Answer(body=article_page(s[3]))],
        # fails the whole first run (two tries), answers at the second
        "/news/flaky": [Answer(500), Answer(503), Answer(body=article_page(s[4]))],
        "/news/slow": Answer(body=article_page(s[5]), delay=3),
        "/news/big": Answer(body=big),
        "/news/gone": Answer(404),
        "/news/loop": Answer(302, headers={"Location": "/news/loop2"}),
        "/news/loop2": Answer(302, headers={"Location": "/news/loop"}),
        "/news/report.pdf": Answer(body=b"%PDF-1.4 ...", content_type="application/pdf"),
        "/members/only": Answer(body=article_page(s[6])),
    })
    links = {"gzip": s[0], "moved": s[1], "legacy": s[2], "busy": s[3], "flaky": s[4], "slow": s[5], "big": s[0],
             "gone": None, "loop": None, "report.pdf": None}
    entries = [{"title": story.title if story else "خبر", "link": outlet.url(f"/news/{name}?utm_source=rss"),
                "guid": f"outlet-{name}", "description": teaser(story) if story else "...",
                "pubDate": "Mon, 05 May 2025 08:00:00 +0000"} for name, story in links.items()]
    entries[1]["link"] = outlet.url("/old/moved")
    entries.append({"title": s[6].title, "link": outlet.url("/members/only"), "guid": "outlet-members",
                    "description": teaser(s[6])})
    outlet.routes["/rss.xml"] = Answer(body=rss(outlet.url("/"), entries), content_type=RSS, etag='"feed-v1"')
    wire.routes.update({
        "/sitemap_index.xml": Answer(body=sitemap_index([(wire.url("/sitemap-news-1.xml"), "2025-06-02"),
                                                         (wire.url("/sitemap-news-2.xml"), "2025-06-01")]),
                                     content_type=XML),
        "/sitemap-news-1.xml": Answer(body=news_sitemap([(wire.url("/ar/7"), s[7])]), content_type=XML),
        "/sitemap-news-2.xml": Answer(body=news_sitemap([(wire.url("/ar/8"), s[8])]), content_type=XML),
        "/ar/7": Answer(body=article_page(s[7], site_name="وكالة الأنباء")),
        "/ar/8": Answer(body=article_page(s[8], site_name="وكالة الأنباء")),
    })
    sources = tmp_path / "sources.csv"
    sources.write_text("source_id,kind,location,agency\n"
                       f"outlet,feed,{outlet.url('/rss.xml')},\n"
                       f"wire,sitemap,{wire.url('/sitemap_index.xml')},\n", encoding="utf-8")
    for name, value in {"SOURCES": sources, "CRAWL_DELAY": 0.05, "FETCH_TIMEOUT": 1.0, "FETCH_RETRIES": 2,
                        "FETCH_MAX_WAIT": 2, "FETCH_MAX_ATTEMPTS": 2, "MAX_ITEM_BYTES": 100_000,
                        "SILENT_RUNS_ALERT": 2, "CONTACT_URL": "https://example.org/akhbar"}.items():
        monkeypatch.setenv(f"AKHBAR_{name}", str(value))
    monkeypatch.delenv("AKHBAR_INBOX", raising=False)
    yield outlet, wire
    outlet.close()
    wire.close()


def page_paths(site):
    return [p for p in site.paths() if p.startswith(("/news/", "/ar/", "/members/", "/old/"))]


def test_feeds_and_sitemaps_become_full_articles_and_the_next_runs_fetch_nothing_they_have(
        prefect_api, web_sources, warehouse_path, webhook):
    from flows.ingest import ingest

    require_model()
    outlet, wire = web_sources
    s = STORIES

    first = ingest(warehouse=str(warehouse_path))
    assert first.status == "succeeded"
    articles = {r["url"]: r for r in rows(warehouse_path, "SELECT * FROM articles")}
    expected = {outlet.url("/news/gzip"): s[0], outlet.url("/news/moved"): s[1], outlet.url("/news/legacy"): s[2],
                outlet.url("/news/busy"): s[3], wire.url("/ar/7"): s[7], wire.url("/ar/8"): s[8]}
    assert set(articles) == set(expected)
    for url, story in expected.items():
        article = articles[url]
        assert (article["format"], article["source_id"]) == ("html", "outlet" if "/news/" in url else "wire")
        assert article["title"] == story.title
        assert len(article["text"]) > 3 * len(teaser(story))  # the story, not the feed's teaser
        assert story.paragraphs[-1][:30] in article["text"] and "التعليقات" not in article["text"]
        assert article["published_date"] is not None and article["n_mentions"] > 0
    assert articles[outlet.url("/news/legacy")]["encoding"].replace("-", "").lower() in ("windows1256", "cp1256")
    assert articles[wire.url("/ar/7")]["site_name"] == "وكالة الأنباء"
    assert rows(warehouse_path, "SELECT count(*) AS n FROM mentions")[0]["n"] > 20
    from warehouse.pages import PageArchive

    kept = PageArchive(warehouse_path.parent / "pages").get(articles[outlet.url("/news/gzip")]["raw_sha256"])
    assert kept == article_page(s[0])  # the page as fetched (inflated), for replay

    quarantined = {r["source_path"].split("/news/")[-1].split("/members/")[-1]: r["reason"]
                   for r in rows(warehouse_path, "SELECT source_path, reason FROM quarantine")}
    assert quarantined == {"big": "too_large", "gone": "http_404", "loop": "redirect_loop",
                           "report.pdf": "not_html", "only": "robots_disallowed"}
    states = {r["url"].split("/")[-1]: (r["status"], r["fetched_via"], r["attempts"], r["last_reason"])
              for r in rows(warehouse_path, "SELECT * FROM web_entries WHERE fetched_via <> 'canonical'")}
    assert states["flaky"] == ("retrying", "page", 1, "http_5xx")
    assert states["slow"] == ("retrying", "page", 1, "timeout")
    assert states["gzip"] == ("taken", "page", 1, None) and states["only"][0] == "quarantined"
    assert outlet.hits("/members/only") == 0 and outlet.hits("/robots.txt") == 1
    assert outlet.max_in_flight == 1 and wire.max_in_flight == 1  # one request per host at a time
    runs = {r["source_id"]: r for r in rows(warehouse_path, "SELECT * FROM source_runs")}
    assert (runs["outlet"]["entries_seen"], runs["outlet"]["entries_new"], runs["outlet"]["pages_fetched"]) == (11, 11, 4)
    assert json.loads(runs["outlet"]["failures"]) == {"http_404": 1, "http_5xx": 1, "not_html": 1,
                                                      "redirect_loop": 1, "robots_disallowed": 1, "timeout": 1,
                                                      "too_large": 1}
    assert (runs["wire"]["entries_seen"], runs["wire"]["pages_fetched"], runs["wire"]["status"]) == (2, 2, "ok")

    fetched_before = {site.port: page_paths(site) for site in (outlet, wire)}
    second = ingest(warehouse=str(warehouse_path))
    assert second.status == "succeeded" and second.n_new == 1  # the flaky page, at its second run
    new_requests = [p for p in page_paths(outlet)[len(fetched_before[outlet.port]):]]
    assert sorted(new_requests) == ["/news/flaky", "/news/slow", "/news/slow"]  # the retries only
    assert page_paths(wire) == fetched_before[wire.port]
    assert wire.hits("/sitemap-news-1.xml") == 1  # not modified since the index was last read
    (feed_run,) = rows(warehouse_path, f"SELECT * FROM source_runs WHERE run_id = '{second.run_id}' "
                                       "AND source_id = 'outlet'")
    assert (feed_run["status"], feed_run["http_status"]) == ("not_modified", 304)
    states = {r["url"].split("/")[-1]: (r["status"], r["attempts"], r["last_reason"])
              for r in rows(warehouse_path, "SELECT * FROM web_entries WHERE fetched_via <> 'canonical'")}
    assert states["flaky"] == ("taken", 2, None) and states["slow"] == ("quarantined", 2, "timeout")
    assert ("timeout",) in {(r["reason"],) for r in rows(warehouse_path, "SELECT reason FROM quarantine")}

    third = ingest(warehouse=str(warehouse_path))
    assert third.n_new == 0 and page_paths(outlet) == fetched_before[outlet.port] + new_requests
    # neither source announced anything new for two runs (AKHBAR_SILENT_RUNS_ALERT=2): one alert
    assert sorted(third.silent_sources) == ["outlet", "wire"]
    alerts = [m["json"]["akhbar"] for m in webhook.received if "silent" in m["json"]["akhbar"]["title"]]
    assert len(alerts) == 1 and {"• outlet", "• wire"} <= set(alerts[0]["lines"])

    # a page that was gone is back: `akhbar quarantine retry` asks for it again and takes it in
    outlet.routes["/news/gone"] = Answer(body=article_page(s[9]))
    (gone,) = rows(warehouse_path, "SELECT item_id FROM quarantine WHERE source_path LIKE '%/news/gone'")
    retried = ingest(warehouse=str(warehouse_path), retry_items=[gone["item_id"]])
    assert retried.resolved_items == [gone["item_id"]] and retried.n_new == 1
    (entry,) = rows(warehouse_path, "SELECT status, attempts FROM web_entries WHERE url LIKE '%/news/gone'")
    assert entry == {"status": "taken", "attempts": 2}
    assert rows(warehouse_path, "SELECT count(*) AS n FROM articles WHERE url LIKE '%/news/gone'") == [{"n": 1}]

    from akhbar.cli import app

    shown = CliRunner().invoke(app, ["status", "--warehouse", str(warehouse_path)], env={"PREFECT_API_URL": ""})
    assert shown.exit_code == 0, shown.output
    assert "web sources" in shown.output and "outlet" in shown.output and "wire" in shown.output
