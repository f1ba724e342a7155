"""Web intake without the flow: addresses, feeds and sitemaps, robots rules, and the polite crawler and the
discover → select → fetch step against real HTTP servers on 127.0.0.1 (``tests/websites.py``)."""

from __future__ import annotations

import datetime
import gzip
import time

import pytest

from core.settings import Settings
from flows import web
from flows.crawl import Crawler, Politeness, user_agent
from flows.intake import SourceSpec
from tests.websites import RSS, XML, Answer, Site, article_page, news_sitemap, robots, rss, sitemap_index, stories
from transforms.web import (Entry, SitemapError, announcement, entry_from_announcement, feed_entries,
                            holds_full_text, normalize_url, parse_sitemap, retry_after, robots_from)
from warehouse.store import Warehouse

STORIES = stories()


@pytest.fixture
def sites():
    made = []

    def make(routes=None, latency=0.0):
        made.append(Site(routes, latency))
        return made[-1]

    yield make
    for site in made:
        site.close()


def quick(**overrides) -> Politeness:
    """Politeness with short waits, for tests."""
    values = dict(delay=0.05, timeout=2.0, retries=3, backoff=0.05, max_wait=3.0)
    values.update(overrides)
    return Politeness(user_agent("https://example.org/akhbar-contact"), **values)


# ------------------------------------------------------------------ addresses, feeds, sitemaps, robots


def test_a_story_address_is_normalized_as_crawlers_do():
    assert normalize_url("HTTPS://Www.Example.COM:443/News/Story?id=5&utm_source=tw&fbclid=x#comments") == \
        "https://www.example.com/News/Story?id=5"
    assert normalize_url("http://example.com") == "http://example.com/"
    assert normalize_url("http://example.com:8080/a?gclid=1&page=2") == "http://example.com:8080/a?page=2"
    # the query that selects the article stays, in its order
    assert normalize_url("http://e.com/a.php?b=2&a=1") == "http://e.com/a.php?b=2&a=1"


def test_a_feed_holds_the_story_only_when_long_and_not_cut():
    story = STORIES[0].text
    long = (story + "\n") * (1 + 1500 // len(story))
    assert holds_full_text(long)
    assert not holds_full_text(STORIES[0].paragraphs[0])  # a first paragraph is a teaser
    assert not holds_full_text(long + " ...") and not holds_full_text(long + " اقرأ المزيد")
    assert not holds_full_text(None)


def test_feed_entries_without_text_are_still_stories_to_fetch():
    feed = rss("http://site/", [
        {"title": "خبر أول", "link": "http://site/a?utm_medium=rss", "guid": "g-1", "description": "مقدمة الخبر."},
        {"title": "خبر بلا نص", "link": "http://site/b", "guid": "g-2"},
        {"title": "خبر بلا رابط", "description": "لا رابط له"},
    ])
    entries, refused, held = feed_entries(feed, "site", "http://site/feed")
    assert [(e.url, e.guid) for e in entries] == [("http://site/a", "g-1"), ("http://site/b", "g-2")]
    assert [r.reason for r in refused] == ["feed_item_no_link"]
    assert set(held) == {"http://site/a"}  # the entry without text has no item of its own


def test_a_news_sitemap_and_an_index_are_read_without_entities():
    story = STORIES[0]
    urlset = parse_sitemap(news_sitemap([("http://s/a", story), ("http://s/b?utm_source=x", None)]), "s")
    assert [(e.url, e.title, e.published) for e in urlset.entries] == [
        ("http://s/a", story.title, datetime.date.fromisoformat(story.published) if story.published else None),
        ("http://s/b", None, None)]
    index = parse_sitemap(sitemap_index([("http://s/1.xml", "2025-01-02"), ("http://s/2.xml", None)]), "s")
    assert index.children == [("http://s/1.xml", datetime.date(2025, 1, 2)), ("http://s/2.xml", None)]
    with pytest.raises(SitemapError):
        parse_sitemap(b"<html><body>not a sitemap</body></html>", "s")
    bomb = (b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]>'
            b'<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9"><url><loc>http://s/&e;</loc></url></urlset>')
    assert all("root:" not in e.url for e in parse_sitemap(bomb, "s").entries)


def test_robots_rules_as_rfc_9309_reads_them():
    rules = robots_from(200, b"User-agent: *\nDisallow: /private/\nCrawl-delay: 2\n")
    assert rules.allows("akhbar/0.1", "http://s/news/1") and not rules.allows("akhbar/0.1", "http://s/private/1")
    assert rules.delay("akhbar/0.1") == 2.0
    assert not robots_from(403, b"").allows("akhbar/0.1", "http://s/news/1")  # forbidden: nothing may be fetched
    assert robots_from(404, b"").allows("akhbar/0.1", "http://s/news/1")  # no file: no rules
    assert robots_from(None, b"").allows("akhbar/0.1", "http://s/news/1")  # no answer: no rules


def test_retry_after_in_seconds_or_as_a_date():
    now = datetime.datetime(2025, 1, 1, 12, 0, tzinfo=datetime.timezone.utc)
    assert retry_after("7", now) == 7.0
    assert retry_after("Wed, 01 Jan 2025 12:00:30 GMT", now) == 30.0
    assert retry_after("soon", now) is None and retry_after(None, now) is None


def test_an_unfetched_story_is_kept_as_its_announcement():
    entry = Entry("feed1", "http://s/a", "g", "عنوان", datetime.date(2025, 5, 1))
    again = entry_from_announcement(announcement(entry))
    assert (again.source_id, again.url, again.guid, again.title, again.published) == (
        "feed1", "http://s/a", "g", "عنوان", datetime.date(2025, 5, 1))
    assert entry_from_announcement(b"{not json") is None


# ------------------------------------------------------------------ the crawler


def test_what_the_crawler_sends_and_robots_read_once(sites):
    site = sites({"/robots.txt": robots(["/private/"]), "/a": Answer(body=b"<p>a</p>"),
                  "/b": Answer(body=b"<p>b</p>"), "/private/c": Answer(body=b"<p>c</p>")})
    crawler = Crawler(quick())
    results = crawler.fetch_many([(site.url(p), None) for p in ("/a", "/b", "/private/c")])
    assert [r.reason for r in results] == [None, None, "robots_disallowed"]
    assert site.hits("/robots.txt") == 1 and site.hits("/private/c") == 0
    agents = {r.headers["user-agent"] for r in site.requests}
    assert agents == {"akhbar/0.1 (+https://example.org/akhbar-contact)"}


def test_transient_failures_are_tried_again_and_others_not(sites):
    site = sites({"/flaky": [Answer(500), Answer(503), Answer(body=b"<p>ok</p>")],
                  "/gone": Answer(404), "/forbidden": Answer(403)})
    crawler = Crawler(quick())
    flaky, gone, forbidden = crawler.fetch_many([(site.url(p), None) for p in ("/flaky", "/gone", "/forbidden")])
    assert (flaky.ok, flaky.status, flaky.attempts, flaky.body) == (True, 200, 3, b"<p>ok</p>")
    assert (gone.reason, gone.attempts) == ("http_404", 1) and site.hits("/gone") == 1
    assert (forbidden.reason, forbidden.attempts) == ("http_403", 1)
    always = sites({"/down": Answer(502)})
    down = Crawler(quick(retries=2)).fetch(always.url("/down"))
    assert (down.reason, down.attempts, always.hits("/down")) == ("http_5xx", 2, 2)


def test_retry_after_is_honoured_within_the_runs_patience(sites):
    site = sites({"/busy": [Answer(429, headers={"Retry-After": "1"}), Answer(body=b"<p>ok</p>")],
                  "/later": Answer(429, headers={"Retry-After": "3600"})})
    crawler = Crawler(quick())
    busy = crawler.fetch(site.url("/busy"))
    first, second = [r for r in site.requests if r.path == "/busy"]
    assert busy.ok and second.started - first.started >= 0.95
    later = crawler.fetch(site.url("/later"))  # an hour is more than a run waits: left to a later run
    assert (later.reason, later.attempts) == ("http_429", 1)


def test_a_slow_page_times_out_and_a_refused_connection_is_named(sites):
    site = sites({"/slow": Answer(body=b"<p>late</p>", delay=3)})
    started = time.monotonic()
    slow = Crawler(quick(timeout=0.5, retries=2)).fetch(site.url("/slow"))
    assert (slow.reason, slow.attempts) == ("timeout", 2), slow.detail
    assert time.monotonic() - started < 4
    refused = Crawler(quick(retries=1)).fetch("http://127.0.0.1:9/nothing-listens-here")
    assert refused.reason == "connection_error"


def test_redirects_are_followed_bounded_and_loops_told_apart(sites):
    site = sites({"/old": Answer(301, headers={"Location": "/older"}),
                  "/older": Answer(302, headers={"Location": "/new"}), "/new": Answer(body=b"<p>new</p>"),
                  "/ping": Answer(302, headers={"Location": "/pong"}), "/pong": Answer(302, headers={"Location": "/ping"}),
                  **{f"/hop{n}": Answer(302, headers={"Location": f"/hop{n + 1}"}) for n in range(10)}})
    crawler = Crawler(quick(max_redirects=5))
    chain, loop, long = crawler.fetch_many([(site.url(p), None) for p in ("/old", "/ping", "/hop0")])
    assert (chain.ok, chain.final_url, chain.body) == (True, site.url("/new"), b"<p>new</p>")
    assert loop.reason == "redirect_loop"
    assert long.reason == "too_many_redirects" and site.hits("/hop6") == 0


def test_bodies_are_bounded_gzip_included(sites):
    page = article_page(STORIES[0])
    site = sites({"/big": Answer(body=b"x" * 50_000), "/zipped": Answer(body=page, gzip=True),
                  "/bomb": Answer(body=b" " * 5_000_000, gzip=True)})
    crawler = Crawler(quick(max_bytes=40_000))
    big, zipped, bomb = crawler.fetch_many([(site.url(p), None) for p in ("/big", "/zipped", "/bomb")])
    assert big.reason == "too_large"
    assert zipped.ok and zipped.body == page and "content-encoding" not in zipped.headers
    assert bomb.reason == "too_large" and len(gzip.compress(b" " * 5_000_000)) < 40_000


def test_one_request_per_host_at_a_time_a_delay_apart_and_hosts_concurrently(sites):
    hosts = [sites({f"/p{n}": Answer(body=b"<p>x</p>") for n in range(4)}, latency=0.1) for _ in range(3)]
    crawler = Crawler(quick(delay=0.3, per_host=1, total=8))
    started = time.monotonic()
    results = crawler.fetch_many([(host.url(f"/p{n}"), None) for n in range(4) for host in hosts])
    elapsed = time.monotonic() - started
    assert all(r.ok for r in results)
    for host in hosts:
        pages = sorted(r.started for r in host.requests if r.path != "/robots.txt")
        assert host.max_in_flight == 1
        assert all(b - a >= 0.29 for a, b in zip(pages, pages[1:]))
    # three hosts at once: about 4 pages × 0.3 s (plus robots.txt), not 12 × 0.3 s
    assert elapsed < 2.6


def test_a_sites_crawl_delay_is_longer_than_ours(sites):
    site = sites({"/robots.txt": robots([], crawl_delay=0.5), "/a": Answer(body=b"a"), "/b": Answer(body=b"b")})
    Crawler(quick(delay=0.05)).fetch_many([(site.url("/a"), None), (site.url("/b"), None)])
    a, b = [r.started for r in site.requests if r.path in ("/a", "/b")]
    assert b - a >= 0.49


# ------------------------------------------------------------------ discover → select → fetch


def settings_for(tmp_path, **overrides) -> Settings:
    values = dict(warehouse=tmp_path / "wh" / "akhbar.duckdb", crawl_delay=0.02, fetch_timeout=1.0,
                  fetch_retries=2, fetch_max_wait=2.0, contact_url="https://example.org/akhbar-contact")
    values.update(overrides)
    return Settings(**values)


def teaser(story) -> str:
    return story.paragraphs[0][:200] + " ..."


def test_a_feed_and_a_sitemap_index_become_pages_to_take_in(sites, tmp_path):
    one, two, three, four = STORIES[:4]
    outlet = sites()
    outlet.routes.update({
        "/robots.txt": robots(["/private/"]),
        "/feed.xml": Answer(body=rss(outlet.url("/"), [
            {"title": one.title, "link": outlet.url("/news/1?utm_source=rss"), "guid": "n-1",
             "description": teaser(one), "pubDate": "Mon, 05 May 2025 08:00:00 +0000"},
            {"title": two.title, "link": outlet.url("/news/2"), "guid": "n-2",
             "content": "".join(f"<p>{p}</p>" for p in two.paragraphs * 3)},  # the feed holds the story
            {"title": "صفحة محجوبة", "link": outlet.url("/private/3"), "guid": "n-3", "description": "..."},
            {"title": "صفحة محذوفة", "link": outlet.url("/news/404"), "guid": "n-4", "description": "..."},
        ]), content_type=RSS, etag='"v1"'),
        "/news/1": Answer(body=article_page(one, canonical=outlet.url("/news/1"))),
    })
    wire = sites()
    wire.routes.update({
        "/sitemap.xml": Answer(body=sitemap_index([(wire.url("/sitemap-new.xml"), "2025-06-02"),
                                                   (wire.url("/sitemap-old.xml"), "2025-06-01")]), content_type=XML),
        "/sitemap-new.xml": Answer(body=news_sitemap([(wire.url("/story/3"), three), (wire.url("/file.pdf"), None)]),
                                   content_type=XML),
        "/sitemap-old.xml": Answer(body=news_sitemap([(wire.url("/story/4"), four)]), content_type=XML),
        "/story/3": Answer(body=article_page(three, charset="windows-1256", declare_charset=False),
                           content_type="text/html; charset=windows-1256"),
        "/story/4": Answer(body=article_page(four, with_date=False)),
        "/file.pdf": Answer(body=b"%PDF-1.4", content_type="application/pdf"),
    })
    specs = [SourceSpec("outlet", "feed", outlet.url("/feed.xml")), SourceSpec("wire", "sitemap", wire.url("/sitemap.xml"))]
    settings = settings_for(tmp_path, sitemap_max_children=1)
    taken = web.take_in(specs, settings, Warehouse(settings.warehouse))

    by_url = {o.entry.url: o for o in taken.entries if o.fetched_via != "canonical"}
    assert {url: (o.status, o.fetched_via, o.reason) for url, o in by_url.items()} == {
        outlet.url("/news/1"): ("taken", "page", None),
        outlet.url("/news/2"): ("taken", "feed", None),
        outlet.url("/private/3"): ("quarantined", "page", "robots_disallowed"),
        outlet.url("/news/404"): ("quarantined", "page", "http_404"),
        wire.url("/story/3"): ("taken", "page", None),
        wire.url("/file.pdf"): ("quarantined", "page", "not_html"),
    }  # the older sitemap waits: one child per run here, the newest first
    assert wire.hits("/sitemap-old.xml") == 0 and outlet.hits("/news/2") == 0
    items = {item.source_path: item for item, _ in taken.items}
    page = items[outlet.url("/news/1")]
    assert page.format == "html" and page.text.startswith(one.paragraphs[0][:40])
    assert len(page.text) > 3 * len(teaser(one)) and "التعليقات" not in page.text and "اقرأ أيضا" not in page.text
    assert (page.title, page.site_name, page.author) == (one.title, "أخبار الخليج", "القسم الدولي")
    legacy = items[wire.url("/story/3")]
    assert legacy.encoding.replace("-", "").lower() in ("windows1256", "cp1256")
    assert legacy.text.startswith(three.paragraphs[0][:40])
    assert {r.reason for r in taken.rejected} == {"robots_disallowed", "http_404", "not_html"}
    reports = taken.reports
    assert (reports["outlet"].entries_seen, reports["outlet"].entries_new, reports["outlet"].pages_fetched) == (4, 4, 1)
    assert dict(reports["outlet"].failures) == {"robots_disallowed": 1, "http_404": 1}
    assert (reports["outlet"].etag, reports["wire"].entries_seen) == ('"v1"', 2)


def test_the_feeds_date_and_title_stand_in_where_the_page_has_none(sites, tmp_path):
    story = STORIES[5]
    site = sites()
    bare = article_page(story, with_date=False).replace(b"<title>", b"<title-x>").replace(b"</title>", b"</title-x>")
    bare = bare.replace(b'property="og:title"', b'property="x"').replace(b'class="headline"', b"")
    site.routes.update({"/feed": Answer(body=rss(site.url("/"), [
        {"title": "عنوان من الخلاصة", "link": site.url("/s"), "guid": "s", "description": "مقدمة",
         "pubDate": "Tue, 06 May 2025 10:00:00 +0000"}]), content_type=RSS), "/s": Answer(body=bare)})
    settings = settings_for(tmp_path)
    taken = web.take_in([SourceSpec("f", "feed", site.url("/feed"))], settings, Warehouse(settings.warehouse))
    ((item, _),) = taken.items
    assert item.published == datetime.date(2025, 5, 6)
    assert item.title in ("عنوان من الخلاصة", story.title)  # trafilatura may still find the <h1>


def test_a_failing_source_never_stops_the_others(sites, tmp_path):
    good = sites()
    good.routes.update({"/feed": Answer(body=rss(good.url("/"), [
        {"title": STORIES[0].title, "link": good.url("/a"), "guid": "a", "description": "..."}]), content_type=RSS),
        "/a": Answer(body=article_page(STORIES[0]))})
    html_not_feed = sites({"/feed": Answer(body=b"<html><body>maintenance</body></html>")})
    specs = [SourceSpec("down", "feed", "http://127.0.0.1:9/feed"), SourceSpec("html", "feed", html_not_feed.url("/feed")),
             SourceSpec("good", "feed", good.url("/feed"))]
    settings = settings_for(tmp_path)
    taken = web.take_in(specs, settings, Warehouse(settings.warehouse))
    assert [item.source_path for item, _ in taken.items] == [good.url("/a")]
    assert {k: (r.status, r.error) for k, r in taken.reports.items()} == {
        "down": ("failed", "connection_error"), "html": ("failed", "not_feed"), "good": ("ok", None)}
    assert len(taken.problems) == 2


def test_transient_failures_wait_for_a_later_run_then_are_quarantined(sites, tmp_path):
    site = sites()
    site.routes.update({"/feed": Answer(body=rss(site.url("/"), [
        {"title": "t", "link": site.url("/flaky"), "guid": "f", "description": "..."}]), content_type=RSS),
        "/flaky": Answer(503)})
    settings = settings_for(tmp_path, fetch_max_attempts=2)
    taken = web.take_in([SourceSpec("f", "feed", site.url("/feed"))], settings, Warehouse(settings.warehouse))
    (outcome,) = taken.entries
    assert (outcome.status, outcome.reason, outcome.attempts, taken.rejected) == ("retrying", "http_5xx", 1, [])
    assert site.hits("/flaky") == 2  # tried again within the run (AKHBAR_FETCH_RETRIES), then left


def test_a_gzipped_sitemap_is_read_and_a_gzip_bomb_refused():
    story = STORIES[0]
    packed = gzip.compress(news_sitemap([("http://s/a", story)]))
    assert [e.url for e in parse_sitemap(packed, "s").entries] == ["http://s/a"]
    with pytest.raises(SitemapError):
        parse_sitemap(gzip.compress(b"<urlset>" + b" " * 60_000_000 + b"</urlset>"), "s")


def test_a_whole_archive_sitemap_is_taken_a_few_newest_stories_a_run(sites, tmp_path):
    site = sites()
    dated = [STORIES[n] for n in range(5)]
    days = ["2025-01-0%d" % (n + 1) for n in range(5)]
    pages = [(site.url(f"/a/{n}"), type(story)(story.story_id, story.title, day, story.paragraphs))
             for n, (story, day) in enumerate(zip(dated, days))]
    site.routes["/sitemap.xml"] = Answer(body=news_sitemap(pages), content_type=XML)
    for n, story in enumerate(dated):
        site.routes[f"/a/{n}"] = Answer(body=article_page(story))
    settings = settings_for(tmp_path, max_new_per_source=2)
    taken = web.take_in([SourceSpec("archive", "sitemap", site.url("/sitemap.xml"))], settings,
                        Warehouse(settings.warehouse))
    assert sorted(item.source_path for item, _ in taken.items) == [site.url("/a/3"), site.url("/a/4")]
    report = taken.reports["archive"]
    assert (report.entries_new, report.entries_deferred, report.pages_fetched) == (5, 3, 2)
    assert site.hits("/a/0") == 0


def test_relative_feed_links_are_made_absolute_against_the_feed():
    feed = rss("http://site/", [{"title": "خبر", "link": "/news/7?utm_source=rss", "guid": "7", "description": "…"}])
    entries, refused, _ = feed_entries(feed, "site", "https://www.site.example/feeds/ar.xml")
    assert [e.url for e in entries] == ["https://www.site.example/news/7"] and refused == []
