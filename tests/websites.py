"""News sites on 127.0.0.1 for the web-intake tests: real HTTP servers, real Arabic stories, realistic pages.

Each :class:`Site` is its own host for politeness (its own port). It answers from a table of routes, counts
every request (and how many were in flight at once), and can answer slowly, with a status sequence
(500 then 200), with ``ETag`` and ``304``, gzip, redirects, or a ``robots.txt``.

The stories are the development corpus's real texts (``seeds/dev``): their body lines (the gold's furniture
lines left out), their headline and date from the gold; pages wrap them in the furniture news sites carry
(header, navigation, breadcrumbs, share bar, related links, comments, footer).
"""

from __future__ import annotations

import gzip
import html
import json
import select
import socket
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Callable
from xml.sax.saxutils import escape

DEV = Path(__file__).resolve().parent.parent / "seeds" / "dev"


@dataclass(frozen=True)
class Story:
    story_id: str
    title: str
    published: str | None  # YYYY-MM-DD
    paragraphs: list[str]

    @property
    def text(self) -> str:
        return "\n".join(self.paragraphs)


def stories(min_chars: int = 900) -> list[Story]:
    """The development corpus's stories with a headline and at least ``min_chars`` of body, in id order."""
    found = []
    for gold_path in sorted((DEV / "gold").glob("*.json")):
        gold = json.loads(gold_path.read_text(encoding="utf-8"))
        lines = (DEV / "articles" / f"{gold['id']}.txt").read_text(encoding="utf-8").split("\n")
        furniture = set(gold.get("furniture_lines") or [])
        body = [line.strip() for n, line in enumerate(lines) if n not in furniture and line.strip()]
        if gold.get("title") and sum(map(len, body)) >= min_chars:
            found.append(Story(gold["id"], gold["title"], gold.get("published_date"), body))
    return found


@dataclass
class Answer:
    status: int = 200
    body: bytes = b""
    content_type: str | None = "text/html; charset=utf-8"
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0  # seconds before answering (a slow site; longer than the client's deadline: a timeout)
    etag: str | None = None  # answer 304 to a request that names it
    gzip: bool = False


Route = Answer | list[Answer] | Callable[[BaseHTTPRequestHandler], Answer]


@dataclass
class Request:
    path: str
    headers: dict[str, str]
    started: float
    ended: float = 0.0
    status: int = 0


class Site:
    """One news site: routes by path (query included), requests recorded."""

    def __init__(self, routes: dict[str, Route] | None = None, latency: float = 0.0, record: bool = True):
        self.routes: dict[str, Route] = dict(routes or {})
        self.latency = latency  # every answer takes at least this long (a realistic server)
        self.record = record  # keep every request (False: count in-flight requests only, for benchmarks)
        self.requests: list[Request] = []
        self.in_flight = 0
        self.max_in_flight = 0
        self._lock = threading.Lock()
        site = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self):
                site._serve(self)

            def log_message(self, *args):
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.port = self.httpd.server_address[1]
        self._thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self._thread.start()

    def url(self, path: str = "/") -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def hits(self, path: str) -> int:
        return sum(r.path == path for r in self.requests)

    def paths(self) -> list[str]:
        return [r.path for r in self.requests]

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    # ------------------------------------------------------------------ serving

    def _answer_for(self, handler: BaseHTTPRequestHandler) -> Answer:
        route = self.routes.get(handler.path)
        if route is None:
            return Answer(404, "<html><body><h1>404</h1><p>الصفحة غير موجودة</p></body></html>".encode())
        if callable(route):
            return route(handler)
        if isinstance(route, list):
            with self._lock:
                return route.pop(0) if len(route) > 1 else route[0]
        return route

    def _serve(self, handler: BaseHTTPRequestHandler) -> None:
        request = Request(handler.path, {k.lower(): v for k, v in handler.headers.items()}, time.monotonic())
        with self._lock:
            if self.record:
                self.requests.append(request)
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            answer = self._answer_for(handler)
            if not _wait_while_connected(handler.connection, max(self.latency, answer.delay)):
                return  # the client gave up (its deadline) and closed the connection: no longer in flight
            status, body = answer.status, answer.body
            if answer.etag and request.headers.get("if-none-match") == answer.etag:
                status, body = 304, b""
            if answer.gzip and body:
                body = gzip.compress(body)
            handler.send_response(status)
            if answer.content_type and status != 304:
                handler.send_header("Content-Type", answer.content_type)
            if answer.etag:
                handler.send_header("ETag", answer.etag)
            if answer.gzip and body:
                handler.send_header("Content-Encoding", "gzip")
            for name, value in answer.headers.items():
                handler.send_header(name, value)
            handler.send_header("Content-Length", str(len(body)))
            handler.end_headers()
            handler.wfile.write(body)
            request.status = status
        except OSError:  # the client gave up (its deadline): nothing to answer
            pass
        finally:
            with self._lock:
                self.in_flight -= 1
            request.ended = time.monotonic()


def _wait_while_connected(connection, seconds: float) -> bool:
    """Sleep ``seconds``, or until the client closes the connection (False then)."""
    ends = time.monotonic() + seconds
    while (left := ends - time.monotonic()) > 0:
        readable, _, _ = select.select([connection], [], [], min(left, 0.05))
        if readable and connection.recv(1, socket.MSG_PEEK) == b"":
            return False
    return True


# ------------------------------------------------------------------ documents


def article_page(story: Story, site_name: str = "أخبار الخليج", canonical: str | None = None,
                 author: str = "القسم الدولي", charset: str = "utf-8", declare_charset: bool = True,
                 with_date: bool = True) -> bytes:
    """A story in a news site's page: header, navigation, breadcrumbs, share bar, related links, comments."""
    paragraphs = "\n".join(f"<p>{html.escape(p)}</p>" for p in story.paragraphs)
    date_meta = (f'<meta property="article:published_time" content="{story.published}T09:30:00+03:00">'
                 if with_date and story.published else "")
    canonical_link = f'<link rel="canonical" href="{html.escape(canonical)}">' if canonical else ""
    charset_meta = f'<meta charset="{charset}">' if declare_charset else ""
    page = f"""<!DOCTYPE html>
<html lang="ar" dir="rtl"><head>{charset_meta}
<title>{html.escape(story.title)} | {html.escape(site_name)}</title>
<meta property="og:title" content="{html.escape(story.title)}">
<meta property="og:site_name" content="{html.escape(site_name)}">
<meta name="author" content="{html.escape(author)}">
{date_meta}{canonical_link}
<script>window.dataLayer = window.dataLayer || []; gtag("config", "G-XXXX");</script>
<style>body {{ font-family: sans-serif }}</style></head>
<body>
<header class="site-header"><a href="/" class="logo">{html.escape(site_name)}</a>
<form class="search"><input name="q" placeholder="ابحث في الموقع"></form></header>
<nav class="main-menu"><ul><li><a href="/">الرئيسية</a></li><li><a href="/politics">سياسة</a></li>
<li><a href="/economy">اقتصاد</a></li><li><a href="/world">عربي ودولي</a></li><li><a href="/sport">رياضة</a></li>
<li><a href="/opinion">مقالات الرأي</a></li></ul></nav>
<div class="breaking">عاجل: <a href="/news/1">أسعار النفط ترتفع في التعاملات الآسيوية</a></div>
<main>
<ol class="breadcrumb"><li><a href="/">الرئيسية</a></li><li><a href="/world">عربي ودولي</a></li></ol>
<article class="story">
<h1 class="headline">{html.escape(story.title)}</h1>
<div class="byline">بقلم: {html.escape(author)}</div>
<div class="share">شارك: <a href="#">فيسبوك</a> <a href="#">تويتر</a> <a href="#">واتساب</a> <a href="#">طباعة</a></div>
<div class="story-body">
{paragraphs}
</div>
<div class="tags">الوسوم: <a href="/tag/1">الصين</a> <a href="/tag/2">آسيا الوسطى</a></div>
</article>
<aside class="related"><h3>اقرأ أيضا</h3><ul>
<li><a href="/news/2">وزير الخارجية يستقبل سفير كازاخستان لدى المملكة</a></li>
<li><a href="/news/3">ارتفاع حجم التبادل التجاري بين الصين والدول العربية</a></li>
<li><a href="/news/4">افتتاح معرض الصين والدول العربية في ينتشوان</a></li></ul></aside>
<section class="comments"><h3>التعليقات</h3>
<div class="comment"><b>أبو محمد</b><p>خبر مهم جدا، شكرا على المتابعة.</p></div>
<div class="comment"><b>سارة</b><p>نتمنى المزيد من التغطية لهذه الأخبار.</p></div></section>
</main>
<footer><p>جميع الحقوق محفوظة © {html.escape(site_name)} 2025</p>
<a href="/about">من نحن</a> | <a href="/contact">اتصل بنا</a> | <a href="/privacy">سياسة الخصوصية</a></footer>
</body></html>"""
    return page.encode(charset)


def rss(site_url: str, entries: list[dict], title: str = "أخبار الخليج - عربي ودولي") -> bytes:
    """An RSS 2.0 feed; each entry: link, title, guid, pubDate (RFC 822), and description or content."""
    items = []
    for entry in entries:
        parts = [f"<title>{escape(entry['title'])}</title>"]
        if entry.get("link"):
            parts.append(f"<link>{escape(entry['link'])}</link>")
        if entry.get("guid"):
            parts.append(f'<guid isPermaLink="false">{escape(entry["guid"])}</guid>')
        if entry.get("pubDate"):
            parts.append(f"<pubDate>{entry['pubDate']}</pubDate>")
        if entry.get("description"):
            parts.append(f"<description>{escape(entry['description'])}</description>")
        if entry.get("content"):
            parts.append(f"<content:encoded><![CDATA[{entry['content']}]]></content:encoded>")
        items.append("<item>" + "".join(parts) + "</item>")
    return f"""<?xml version="1.0" encoding="utf-8"?>
<rss version="2.0" xmlns:content="http://purl.org/rss/1.0/modules/content/">
<channel><title>{escape(title)}</title><link>{escape(site_url)}</link><description>آخر الأخبار</description>
<language>ar</language>
{"".join(items)}
</channel></rss>""".encode("utf-8")


def news_sitemap(pages: list[tuple[str, Story | None]], site_name: str = "وكالة الأنباء") -> bytes:
    """A Google News sitemap: each page's address, with its story's title and date when given."""
    urls = []
    for loc, story in pages:
        news = ""
        if story is not None:
            news = (f"<news:news><news:publication><news:name>{escape(site_name)}</news:name>"
                    "<news:language>ar</news:language></news:publication>"
                    + (f"<news:publication_date>{story.published}</news:publication_date>" if story.published else "")
                    + f"<news:title>{escape(story.title)}</news:title></news:news>")
        urls.append(f"<url><loc>{escape(loc)}</loc>{news}</url>")
    return ('<?xml version="1.0" encoding="UTF-8"?>\n'
            '<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9" '
            'xmlns:news="http://www.google.com/schemas/sitemap-news/0.9">' + "".join(urls) + "</urlset>").encode()


def sitemap_index(children: list[tuple[str, str | None]]) -> bytes:
    """A sitemap index: each child sitemap's address and its lastmod (YYYY-MM-DD or None)."""
    entries = "".join(f"<sitemap><loc>{escape(loc)}</loc>" + (f"<lastmod>{day}</lastmod>" if day else "")
                      + "</sitemap>" for loc, day in children)
    return ('<?xml version="1.0" encoding="UTF-8"?>\n<sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
            + entries + "</sitemapindex>").encode()


XML = "application/xml; charset=utf-8"
RSS = "application/rss+xml; charset=utf-8"


def robots(disallow: list[str], crawl_delay: float | None = None) -> Answer:
    lines = ["User-agent: *"] + [f"Disallow: {path}" for path in disallow]
    if crawl_delay is not None:
        lines.append(f"Crawl-delay: {crawl_delay:g}")
    return Answer(200, ("\n".join(lines) + "\n").encode(), "text/plain")
