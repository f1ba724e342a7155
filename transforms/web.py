"""News on the web, the pure parts: addresses, feed and sitemap entries, robots rules, what a fetch means.

Discovery (``flows/web.py``) reads feeds and news sitemaps into :class:`Entry` records; an entry is new when
its :func:`normalize_url` address was never taken in. Each new entry's page is fetched (``flows/crawl.py``)
unless the feed itself holds the story (:func:`holds_full_text`). Everything here is pure: bytes and
strings in, records out.
"""

from __future__ import annotations

import datetime
import json
import re
import zlib
from dataclasses import dataclass, replace
from typing import Iterable
from urllib.parse import parse_qsl, urlencode, urljoin, urlsplit, urlunsplit
from urllib.robotparser import RobotFileParser

from transforms.formats import RawItem, parse_date, parse_feed, parse_html
from transforms.rejection import Rejection

# ------------------------------------------------------------------ addresses

# Query parameters that say how a reader arrived, not what they read.
_TRACKING_PREFIXES = ("utm_",)
_TRACKING_NAMES = frozenset({"fbclid", "gclid", "dclid", "gclsrc", "msclkid", "yclid", "igshid", "mc_cid",
                             "mc_eid", "_ga", "_gl", "ref_src", "cmpid", "at_medium", "at_campaign", "ocid"})
_DEFAULT_PORTS = {"http": 80, "https": 443}


def normalize_url(url: str) -> str:
    """The address that identifies a story: scheme and host lowercased, default port and fragment dropped,
    tracking parameters (``utm_*``, ``fbclid``, ``gclid``...) removed, an empty path made ``/``.

    The rest of the query stays, in its order: on many sites it selects the article (``?id=123``).
    """
    parts = urlsplit(url.strip())
    scheme, host = parts.scheme.lower(), (parts.hostname or "").lower()
    port = parts.port
    netloc = host if port is None or _DEFAULT_PORTS.get(scheme) == port else f"{host}:{port}"
    if parts.username:
        netloc = f"{parts.username}@{netloc}"
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True)
             if not k.lower().startswith(_TRACKING_PREFIXES) and k.lower() not in _TRACKING_NAMES]
    return urlunsplit((scheme, netloc, parts.path or "/", urlencode(query, doseq=True), ""))


def host_key(url: str) -> str:
    """What politeness counts per: the host and port a request goes to."""
    parts = urlsplit(url)
    return f"{(parts.hostname or '').lower()}:{parts.port or _DEFAULT_PORTS.get(parts.scheme.lower(), 0)}"


# ------------------------------------------------------------------ entries


@dataclass(frozen=True)
class Entry:
    """A story a source announced: where it is, and what the announcement said of it."""

    source_id: str
    url: str  # normalized
    guid: str | None = None
    title: str | None = None
    published: datetime.date | None = None
    text: str | None = None  # what the feed carried of the story, if anything
    raw: bytes = b""  # the entry as announced (for the quarantine when its page cannot be had)


# A feed entry whose text ends so is a teaser, however long.
_TRUNCATED = re.compile(r"(\.\.\.|…|\[…\]|\[\.\.\.\]|اقرأ المزيد|اقرا المزيد|المزيد|للمزيد|read more|continue reading)"
                        r"\W*$", re.IGNORECASE)
FULL_TEXT_MIN_CHARS = 1500


def holds_full_text(text: str | None) -> bool:
    """Whether a feed entry carries the story itself, so its page need not be fetched.

    Most news feeds carry a title and a first paragraph; some carry the whole story (``content:encoded``).
    The rule: at least :data:`FULL_TEXT_MIN_CHARS` characters (a story of a few paragraphs), not ending
    in a truncation mark (``...``, ``…``, ``[…]``, ``اقرأ المزيد``, "read more").
    """
    text = (text or "").strip()
    return len(text) >= FULL_TEXT_MIN_CHARS and not _TRUNCATED.search(text[-40:])


def feed_entries(raw: bytes, source_id: str, location: str) -> tuple[list[Entry], list[Rejection], dict[str, RawItem]]:
    """A feed's entries with a web link, what could not be read, and the item each entry's own text would
    make (by address), for the entries that hold the story (:func:`holds_full_text`).

    An entry with a link but no text is an entry all the same: its page is the story.
    """
    items, rejected = parse_feed(raw, location)
    entries, held, refused = [], {}, []
    for item in items:
        entry = _feed_entry(item.raw, source_id, _absolute(location, item.url), item.title, item.published, item.text)
        if entry is None:
            refused.append(Rejection("feed_item_no_link", f"entry {item.title or '(untitled)'!r} has no web link",
                                     source_path=item.source_path, raw=item.raw, format="feed"))
            continue
        entries.append(entry)
        held.setdefault(entry.url, item)
    for rejection in rejected:
        fields = _json(rejection.raw) if rejection.reason == "feed_item_no_text" else {}
        entry = _feed_entry(rejection.raw, source_id, _absolute(location, fields.get("link")), fields.get("title"),
                            parse_date(fields.get("published")), None) if fields else None
        if entry is not None:
            entries.append(entry)
        else:
            refused.append(rejection)
    return entries, refused, held


def _feed_entry(raw: bytes, source_id: str, link: str | None, title: str | None, published: datetime.date | None,
                text: str | None) -> Entry | None:
    if not link or urlsplit(link).scheme not in ("http", "https"):
        return None
    return Entry(source_id, normalize_url(link), _json(raw).get("id"), title, published, text, raw)


def _absolute(base: str, link: str | None) -> str | None:
    """A feed's link made absolute against the feed's own address (``/news/1`` is common)."""
    return urljoin(base, link) if link else link


def _json(raw: bytes) -> dict:
    try:
        value = json.loads(raw.decode("utf-8", "replace")) if raw else {}
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def announcement(entry: Entry) -> bytes:
    """An entry as the quarantine keeps it when its page could not be had: enough to ask for it again
    (``akhbar retry``), as JSON; the same bytes whatever the failure, so that it is quarantined once."""
    fields = {"source_id": entry.source_id, "url": entry.url, "guid": entry.guid, "title": entry.title,
              "published": entry.published.isoformat() if entry.published else None}
    return json.dumps(fields, ensure_ascii=False, sort_keys=True).encode("utf-8")


def entry_from_announcement(raw: bytes) -> Entry | None:
    """The entry an :func:`announcement` describes (None if the bytes are not one)."""
    fields = _json(raw)
    url = fields.get("url")
    if not isinstance(url, str) or urlsplit(url).scheme not in ("http", "https"):
        return None
    return Entry(str(fields.get("source_id") or "quarantine"), normalize_url(url), fields.get("guid"),
                 fields.get("title"), parse_date(fields.get("published")), None, raw)


# ------------------------------------------------------------------ sitemaps

_SITEMAP_NS = "{http://www.sitemaps.org/schemas/sitemap/0.9}"
_NEWS_NS = "{http://www.google.com/schemas/sitemap-news/0.9}"


@dataclass(frozen=True)
class Sitemap:
    entries: list[Entry]  # a urlset's pages
    children: list[tuple[str, datetime.date | None]]  # a sitemap index's sitemaps, with their lastmod


class SitemapError(ValueError):
    pass


# The sitemap protocol's own limit on one file, uncompressed.
SITEMAP_MAX_BYTES = 50 * 1024 * 1024


def parse_sitemap(raw: bytes, source_id: str) -> Sitemap:
    """A sitemap (``<urlset>``, with Google News' ``<news:news>`` title and date) or a sitemap index, plain or
    gzipped (``sitemap.xml.gz``).

    Parsed without entities, DTDs or network: a sitemap is untrusted input.
    """
    import lxml.etree

    if raw[:2] == b"\x1f\x8b":
        raw = _gunzipped(raw, SITEMAP_MAX_BYTES)

    parser = lxml.etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False,
                                  remove_comments=True, recover=False)
    try:
        root = lxml.etree.fromstring(raw, parser)
    except lxml.etree.XMLSyntaxError as error:
        raise SitemapError(f"not XML: {error}") from None
    if root is None:
        raise SitemapError("empty document")
    tag = lxml.etree.QName(root).localname
    if tag == "sitemapindex":
        children = [(loc, parse_date(_text(node, "lastmod"))) for node in root
                    if lxml.etree.QName(node).localname == "sitemap" and (loc := _text(node, "loc"))]
        return Sitemap([], children)
    if tag != "urlset":
        raise SitemapError(f"neither <urlset> nor <sitemapindex> but <{tag}>")
    entries = []
    for node in root:
        if lxml.etree.QName(node).localname != "url":
            continue
        loc = _text(node, "loc")
        if not loc or urlsplit(loc).scheme not in ("http", "https"):
            continue
        news = node.find(f"{_NEWS_NS}news")
        title = _text(news, "title", _NEWS_NS) if news is not None else None
        published = parse_date((_text(news, "publication_date", _NEWS_NS) if news is not None else None)
                               or _text(node, "lastmod"))
        record = {"loc": loc, "title": title, "published": published.isoformat() if published else None}
        entries.append(Entry(source_id, normalize_url(loc), None, title, published, None,
                             json.dumps(record, ensure_ascii=False, sort_keys=True).encode("utf-8")))
    return Sitemap(entries, [])


def _gunzipped(raw: bytes, limit: int) -> bytes:
    inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
    try:
        data = inflater.decompress(raw, limit + 1)
    except zlib.error as error:
        raise SitemapError(f"broken gzip: {error}") from None
    if len(data) > limit:
        raise SitemapError(f"larger than {limit} bytes once inflated")
    return data


def _text(node, name: str, namespace: str = _SITEMAP_NS) -> str | None:
    if node is None:
        return None
    found = node.find(f"{namespace}{name}")
    if found is None:  # a sitemap written without its namespace
        found = node.find(name)
    value = (found.text or "").strip() if found is not None else ""
    return value or None


# ------------------------------------------------------------------ robots.txt


@dataclass(frozen=True)
class Robots:
    """A host's robots.txt as read for akhbar's user agent."""

    parser: RobotFileParser | None  # None: no rules (404, or no file): everything allowed
    disallow_all: bool = False  # 401/403 on robots.txt: the site forbids crawling
    delays: tuple[tuple[str, float], ...] = ()  # (user-agent token, Crawl-delay seconds), as the file groups them

    def allows(self, user_agent: str, url: str) -> bool:
        if self.disallow_all:
            return False
        return self.parser is None or self.parser.can_fetch(user_agent, url)

    def delay(self, user_agent: str) -> float | None:
        """The Crawl-delay of the group naming our product token, else of ``*`` (decimals too: the standard
        library reads whole seconds only)."""
        product = user_agent.split("/")[0].strip().lower()
        named = [seconds for agent, seconds in self.delays if agent != "*" and agent in product]
        anyone = [seconds for agent, seconds in self.delays if agent == "*"]
        return (named or anyone or [None])[0]


def robots_from(status: int | None, body: bytes) -> Robots:
    """The rules of an answer to ``/robots.txt`` as the robots exclusion standard (RFC 9309) reads it:
    2xx: its rules; 401/403: nothing may be fetched; another 4xx or no answer: no rules."""
    if status is not None and 200 <= status < 300:
        lines = body.decode("utf-8", "replace").splitlines()
        parser = RobotFileParser()
        parser.parse(lines)
        return Robots(parser, delays=_crawl_delays(lines))
    return Robots(None, disallow_all=status in (401, 403))


def _crawl_delays(lines: list[str]) -> tuple[tuple[str, float], ...]:
    delays, group, in_agents = [], [], False
    for line in lines:
        name, _, value = line.split("#", 1)[0].partition(":")
        name, value = name.strip().lower(), value.strip()
        if name == "user-agent":
            group = group if in_agents else []
            group.append(value.lower())
            in_agents = True
            continue
        in_agents = False
        if name == "crawl-delay":
            try:
                seconds = float(value)
            except ValueError:
                continue
            if seconds >= 0:
                delays += [(agent, seconds) for agent in group]
    return tuple(delays)


# ------------------------------------------------------------------ what a fetch means

# Reasons a page (or a feed) could not be had, as the quarantine shows them.
TRANSIENT = ("timeout", "connection_error", "http_429", "http_5xx")


def failure_reason(status: int | None = None, error: str | None = None) -> str:
    """The quarantine reason of a failed fetch: ``http_404``, ``http_5xx``... or the error's own word."""
    if error:
        return error
    if status is not None and 500 <= status < 600:
        return "http_5xx"
    return f"http_{status}"


def is_transient(reason: str) -> bool:
    """Worth trying again later (a timeout, a refused connection, 429, 5xx); a 404 or a robots rule is not."""
    return reason in TRANSIENT


def retry_after(value: str | None, now: datetime.datetime) -> float | None:
    """Seconds a ``Retry-After`` header asks to wait: a number, or an HTTP date."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    from email.utils import parsedate_to_datetime

    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=datetime.timezone.utc)
    return max(0.0, (when - now).total_seconds())


_HTML_TYPES = ("text/html", "application/xhtml+xml")
_FEED_TYPES = ("xml", "rss", "atom", "text/plain", "application/octet-stream", "gzip")


def media_type(content_type: str | None) -> str:
    return (content_type or "").split(";")[0].strip().lower()


def charset_of(content_type: str | None) -> str | None:
    """The charset a Content-Type header names (``text/html; charset=windows-1256``), if any."""
    match = re.search(r"charset\s*=\s*[\"']?([A-Za-z0-9._:-]+)", content_type or "", re.IGNORECASE)
    return match.group(1) if match else None


def is_page(content_type: str | None) -> bool:
    """An HTML page (a server that sends no type is given the benefit of the doubt)."""
    kind = media_type(content_type)
    return not kind or kind in _HTML_TYPES


def is_feed_or_sitemap(content_type: str | None) -> bool:
    kind = media_type(content_type)
    return not kind or any(word in kind for word in _FEED_TYPES)


def page_item(raw: bytes, entry: Entry, content_type: str | None, final_url: str) -> RawItem:
    """The article of a fetched page (trafilatura, htmldate through it), labelled by the entry's address; the
    feed's own title and date stand in where the page has none; its address is the page's canonical one."""
    item = parse_html(raw, entry.url, charset_of(content_type))
    return replace(item, title=item.title or entry.title, published=item.published or entry.published,
                   url=normalize_url(item.url) if item.url and urlsplit(item.url).scheme in ("http", "https")
                   else normalize_url(final_url))


def unique_entries(entries: Iterable[Entry]) -> list[Entry]:
    """The first entry of each address (a feed can list a story twice)."""
    seen, result = set(), []
    for entry in entries:
        if entry.url not in seen:
            seen.add(entry.url)
            result.append(entry)
    return result
