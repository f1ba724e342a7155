"""From the bytes of one inbox file to article items, per file format.

Plain text and HTML files hold one article; JSON Lines files and RSS/Atom
feeds hold many, so their parsers return the good items *and* one
:class:`ItemError` per bad item: one broken line must not cost the others.
Nothing here touches the filesystem or the network; ``source_path`` is only
a label for messages and listings.
"""

from __future__ import annotations

import datetime
import io
import json
import re
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import Any

from transforms.encoding import decode_bytes, decode_declared
from transforms.errors import ArticleRejected

__all__ = [
    "FORMATS",
    "ItemError",
    "RawItem",
    "declared_charset",
    "format_for",
    "html_to_text",
    "parse_date",
    "parse_feed",
    "parse_html",
    "parse_items",
    "parse_jsonl",
    "parse_text",
]

FORMATS = ("text", "html", "jsonl", "feed")

_FORMAT_BY_SUFFIX = {
    "": "text",
    ".txt": "text",
    ".text": "text",
    ".html": "html",
    ".htm": "html",
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".xml": "feed",
    ".rss": "feed",
    ".atom": "feed",
}

# Shorter "main text" than this is a navigation page or an error page, not an article.
MIN_MAIN_TEXT_CHARS = 20


@dataclass(frozen=True)
class RawItem:
    source_path: str  # a display label (file, file#L3, feed#entry-id), never opened
    text: str  # plain text, paragraphs separated by "\n"; the title is not prepended
    raw: bytes  # the item's own bytes: the file, the JSON line, or the feed entry as JSON
    format: str  # one of FORMATS
    encoding: str | None = None
    title: str | None = None
    published: datetime.date | None = None
    agency: str | None = None
    url: str | None = None


@dataclass(frozen=True)
class ItemError:
    source_path: str
    reason: str
    detail: str
    raw: bytes


def format_for(name: str) -> str | None:
    """The format of a file by its suffix (case-insensitive); None means "not ours"."""
    return _FORMAT_BY_SUFFIX.get(PurePosixPath(name).suffix.lower())


def parse_items(raw: bytes, source_path: str, fmt: str) -> tuple[list[RawItem], list[ItemError]]:
    """One entry point for every format, with a uniform result.

    A rejected single-item file (text, HTML) becomes one ItemError, so callers
    treat every format alike.
    """
    if fmt in _MULTI_ITEM_PARSERS:
        return _MULTI_ITEM_PARSERS[fmt](raw, source_path)
    if fmt not in _SINGLE_ITEM_PARSERS:
        raise ValueError(f"unknown format {fmt!r}; expected one of {FORMATS}")
    try:
        return [_SINGLE_ITEM_PARSERS[fmt](raw, source_path)], []
    except ArticleRejected as rejected:
        return [], [ItemError(source_path, rejected.reason, rejected.detail, raw)]


# ---------------------------------------------------------------- plain text


def parse_text(raw: bytes, source_path: str) -> RawItem:
    decoded = decode_bytes(raw)
    text = _unify_newlines(decoded.text)
    _require_text(text)
    return RawItem(source_path, text, raw, "text", encoding=decoded.encoding)


def _unify_newlines(text: str) -> str:
    return text.replace("\r\n", "\n").replace("\r", "\n")


def _require_text(text: str) -> None:
    if not text.strip():
        raise ArticleRejected("empty", "only whitespace")


# ---------------------------------------------------------------------- HTML

# Per the HTML standard, the charset declaration must be in the first 1024 bytes.
_CHARSET_PREFIX_BYTES = 1024
_META_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([A-Za-z0-9._:-]+)""", re.IGNORECASE)


def parse_html(raw: bytes, source_path: str) -> RawItem:
    """The main text of a web page, without navigation, comments or scripts."""
    decoded = decode_declared(raw, declared_charset(raw))
    document = _extract_main_text(decoded.text)
    paragraphs = (document.text or "").split("\n") if document else []
    title = _clean_str(document.title) if document else None
    text = _clean_paragraphs(_without_headline(paragraphs, title))
    if len(text) < MIN_MAIN_TEXT_CHARS:
        raise ArticleRejected("no_main_text", f"{len(text)} characters of main text found")
    return RawItem(
        source_path,
        text,
        raw,
        "html",
        encoding=decoded.encoding,
        title=title,
        published=parse_date(document.date),
        url=_clean_str(document.url),
    )


def _without_headline(paragraphs: list[str], title: str | None) -> list[str]:
    """Drop the page's <h1> when it repeats the title: the title is kept apart, not in the text."""
    first = next((i for i, paragraph in enumerate(paragraphs) if paragraph.strip()), None)
    if title and first is not None and _SPACES.sub(" ", paragraphs[first]).strip() == title:
        return paragraphs[first + 1 :]
    return paragraphs


def declared_charset(raw: bytes) -> str | None:
    """The charset named by a ``<meta charset>`` or ``http-equiv`` tag, if any."""
    match = _META_CHARSET.search(raw[:_CHARSET_PREFIX_BYTES])
    return match.group(1).decode("ascii") if match else None


def _extract_main_text(html: str) -> Any:
    """trafilatura's Document (or None): main text plus title, date and canonical URL."""
    import trafilatura  # heavy import, only needed for HTML

    return trafilatura.bare_extraction(
        html,
        with_metadata=True,
        include_comments=False,
        include_tables=True,
        favor_precision=True,
        # Dates from markup only: the extensive search guesses from any year in the text.
        date_extraction_params={"original_date": True, "extensive_search": False},
    )


# --------------------------------------------------------------- JSON Lines

_TEXT_FIELDS = ("text", "body", "content")
_DATE_FIELDS = ("published", "date")
_AGENCY_FIELDS = ("agency", "source")
_URL_FIELDS = ("url", "link")


def parse_jsonl(raw: bytes, source_path: str) -> tuple[list[RawItem], list[ItemError]]:
    """One JSON object per line; each bad line is its own error, the rest still count."""
    try:
        raw.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        detail = f"JSON Lines file is not UTF-8 at byte {err.start}"
        return [], [ItemError(source_path, "undecodable", detail, raw)]
    items: list[RawItem] = []
    errors: list[ItemError] = []
    for number, line in enumerate(raw.removeprefix(b"\xef\xbb\xbf").split(b"\n"), start=1):
        line = line.rstrip(b"\r")
        if not line.strip():
            continue
        where = f"{source_path}#L{number}"
        try:
            items.append(_jsonl_item(line, where))
        except ArticleRejected as rejected:
            errors.append(ItemError(where, rejected.reason, rejected.detail, line))
    return items, errors


def _jsonl_item(line: bytes, source_path: str) -> RawItem:
    try:
        record = json.loads(line)
    except json.JSONDecodeError as err:
        raise ArticleRejected("bad_json_line", str(err)) from None
    if not isinstance(record, dict):
        raise ArticleRejected("bad_json_line", f"expected a JSON object, got {type(record).__name__}")
    text = _first_str(record, _TEXT_FIELDS)
    if text is None:
        raise ArticleRejected("missing_text", f"no non-empty string in any of {', '.join(_TEXT_FIELDS)}")
    return RawItem(
        source_path,
        _unify_newlines(text),
        line,
        "jsonl",
        encoding="utf-8",
        title=_first_str(record, ("title",)),
        published=parse_date(_first_str(record, _DATE_FIELDS)),
        agency=_first_str(record, _AGENCY_FIELDS),
        url=_first_str(record, _URL_FIELDS),
    )


def _first_str(record: dict[str, Any], fields: Iterable[str]) -> str | None:
    """The first field holding a non-blank string; other types count as absent."""
    for name in fields:
        value = _clean_str(record.get(name))
        if value is not None:
            return value
    return None


# --------------------------------------------------------------------- feeds


def parse_feed(raw: bytes, source: str) -> tuple[list[RawItem], list[ItemError]]:
    """RSS 0.9x/2.0 and Atom entries; feedparser tolerates small XML errors."""
    import feedparser  # only needed for feeds

    # A file-like object, never bytes or str: feedparser treats a string as a
    # URL or file name to open, and that must not happen to content.
    if not raw:
        return [], [ItemError(source, "empty", "0 bytes", raw)]
    parsed = feedparser.parse(io.BytesIO(raw))
    # Broken XML is tolerated as long as entries could be recovered from it.
    entries = [entry for entry in parsed.entries if any(entry.get(key) for key in _ENTRY_KEYS)]
    if not entries and (parsed.bozo or not parsed.get("version")):
        problem = parsed.get("bozo_exception") or "no RSS or Atom feed found"
        return [], [ItemError(source, "malformed_feed", str(problem), raw)]
    items: list[RawItem] = []
    errors: list[ItemError] = []
    for entry in entries:
        try:
            items.append(_feed_item(entry, source))
        except _EntryRejected as rejected:
            errors.append(ItemError(rejected.source_path, rejected.reason, rejected.detail, rejected.raw))
    return items, errors


_ENTRY_KEYS = ("id", "link", "title", "content", "summary")


class _EntryRejected(ArticleRejected):
    """A rejected feed entry, carrying the label and bytes its ItemError needs."""

    def __init__(self, reason: str, detail: str, source_path: str, raw: bytes):
        super().__init__(reason, detail)
        self.source_path = source_path
        self.raw = raw


def _feed_item(entry: Any, source: str) -> RawItem:
    entry_id = _clean_str(entry.get("id"))
    link = _clean_str(entry.get("link"))
    title = _clean_str(entry.get("title"))
    published = _struct_time_to_date(entry.get("published_parsed") or entry.get("updated_parsed"))
    text = _entry_text(entry)
    raw = _entry_bytes(entry_id, link, title, published, text)
    source_path = f"{source}#{entry_id or link}" if entry_id or link else source
    if not (entry_id or link):
        detail = f"entry {title or '(untitled)'!r} has neither id nor link"
        raise _EntryRejected("feed_item_no_link", detail, source_path, raw)
    if not text:
        raise _EntryRejected("feed_item_no_text", "entry has no content and no summary", source_path, raw)
    return RawItem(
        source_path, text, raw, "feed", encoding="utf-8", title=title, published=published, url=link
    )


def _entry_text(entry: Any) -> str:
    """Plain text of an entry: its full content if given, else its summary."""
    contents = entry.get("content") or []
    detail = contents[0] if contents else entry.get("summary_detail")
    value = (detail or {}).get("value") or entry.get("summary") or ""
    if (detail or {}).get("type") == "text/plain":
        return _clean_paragraphs(_unify_newlines(value).split("\n"))
    return html_to_text(value)


def _entry_bytes(
    entry_id: str | None, link: str | None, title: str | None, published: datetime.date | None, text: str
) -> bytes:
    """A stable serialization of an entry: its bytes for hashing and the quarantine."""
    fields = {
        "id": entry_id,
        "link": link,
        "title": title,
        "published": published.isoformat() if published else None,
        "content": text,
    }
    return json.dumps(fields, ensure_ascii=False, sort_keys=True).encode("utf-8")


def _struct_time_to_date(value: time.struct_time | None) -> datetime.date | None:
    if value is None:
        return None
    try:
        return datetime.date(value.tm_year, value.tm_mon, value.tm_mday)
    except (ValueError, AttributeError):
        return None


# ------------------------------------------------------- HTML fragments → text

_BLOCK_TAGS = frozenset(
    "address article aside blockquote br dd div dl dt figcaption figure footer h1 h2 h3 h4 h5 h6 "
    "header hr li main nav ol p pre section table tbody td th thead tr ul".split()
)
_DROPPED_TAGS = ("script", "style", "noscript", "template", "iframe", "object", "embed")
# Marks a paragraph break while whitespace inside paragraphs is collapsed (private-use character).
_BREAK = "\ue000"
_SPACES = re.compile(r"\s+")


def html_to_text(fragment: str) -> str:
    """Plain text of an HTML fragment, one paragraph per line; scripts and styles dropped."""
    if not fragment.strip():
        return ""
    import lxml.etree
    import lxml.html

    try:
        root = lxml.html.fragment_fromstring(fragment, create_parent="div")
    except (lxml.etree.ParserError, ValueError):
        return ""
    for element in list(root.iter(*_DROPPED_TAGS)):
        element.drop_tree()
    for element in root.iter(lxml.etree.Element):
        if element.tag in _BLOCK_TAGS:
            element.text = _BREAK + (element.text or "")
            element.tail = _BREAK + (element.tail or "")
    return _clean_paragraphs(root.text_content().split(_BREAK))


def _clean_paragraphs(paragraphs: Iterable[str]) -> str:
    lines = (_SPACES.sub(" ", paragraph).strip() for paragraph in paragraphs)
    return "\n".join(line for line in lines if line)


# ------------------------------------------------------------------- values

_ISO_DATE = re.compile(r"(\d{4})-(\d{2})-(\d{2})(?:[T ].*)?")


def parse_date(value: str | None) -> datetime.date | None:
    """The calendar date of an ISO date or datetime string, as written; None if not one."""
    match = _ISO_DATE.fullmatch(value.strip()) if isinstance(value, str) else None
    if match is None:
        return None
    try:
        return datetime.date(*map(int, match.groups()))
    except ValueError:
        return None


def _clean_str(value: object) -> str | None:
    """A stripped non-empty string, or None for blanks and non-strings."""
    if isinstance(value, str) and value.strip():
        return value.strip()
    return None


_SINGLE_ITEM_PARSERS: dict[str, Callable[[bytes, str], RawItem]] = {
    "text": parse_text,
    "html": parse_html,
}
_MULTI_ITEM_PARSERS: dict[str, Callable[[bytes, str], tuple[list[RawItem], list[ItemError]]]] = {
    "jsonl": parse_jsonl,
    "feed": parse_feed,
}
