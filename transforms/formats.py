"""From the bytes of one inbox file to article items, per file format.

Plain text and HTML files hold one article; JSON Lines files and RSS/Atom
feeds hold many, so their parsers return the good items *and* one
:class:`~transforms.rejection.Rejection` per bad item (its label and bytes
filled in): one broken line must not cost the others.
Nothing here touches the filesystem or the network; ``source_path`` is only
a label for messages and listings.
"""

from __future__ import annotations

import codecs
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
from transforms.rejection import Rejection

__all__ = [
    "FORMATS",
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
    author: str | None = None  # a page's byline, from its markup
    site_name: str | None = None  # the outlet a page names itself in its markup


def format_for(name: str) -> str | None:
    """The format of a file by its suffix (case-insensitive); None means "not ours"."""
    return _FORMAT_BY_SUFFIX.get(PurePosixPath(name).suffix.lower())


def parse_items(raw: bytes, source_path: str, fmt: str) -> tuple[list[RawItem], list[Rejection]]:
    """One entry point for every format, with a uniform result.

    A rejected single-item file (text, HTML) becomes one rejection, so callers
    treat every format alike.
    """
    if fmt in _MULTI_ITEM_PARSERS:
        try:
            return _MULTI_ITEM_PARSERS[fmt](raw, source_path)
        except Exception as error:  # a bug in a format's parser loses that file only, kept in quarantine
            return [], [Rejection.internal_error(error, source_path=source_path, raw=raw)]
    if fmt not in _SINGLE_ITEM_PARSERS:
        raise ValueError(f"unknown format {fmt!r}; expected one of {FORMATS}")
    return _one_item(lambda: _SINGLE_ITEM_PARSERS[fmt](raw, source_path), source_path, raw)


def _one_item(parse: Callable[[], "RawItem"], source_path: str, raw: bytes) -> tuple[list[RawItem], list[Rejection]]:
    """One item parsed under the guard every item gets: a rejection, or any error, is that item's alone."""
    try:
        return [_valid_unicode(parse())], []
    except Rejection as rejected:
        return [], [rejected.about(source_path=source_path, raw=raw)]
    except RecursionError:
        return [], [Rejection("too_deep", "nested deeper than the parser can follow", source_path=source_path,
                              raw=raw)]
    except Exception as error:
        return [], [Rejection.internal_error(error, source_path=source_path, raw=raw)]


_SURROGATE = re.compile("[\ud800-\udfff]")
# feedparser fails on a whole feed at a character reference to a lone surrogate: such a reference
# (&#55296;, &#xD800;) is read as U+FFFD instead, so the other entries go on.
_SURROGATE_REFERENCE = re.compile(rb"&#(?:0*(?:5529[6-9]|55[3-9]\d\d|56\d{3}|57[0-2]\d\d|573[0-3]\d|5734[0-3])"
                                  rb"|[xX]0*[dD][89a-fA-F][0-9a-fA-F]{2});")


def _valid_unicode(item: "RawItem") -> "RawItem":
    """Text with a lone surrogate (``\\ud800`` in JSON, ``&#55296;`` in XML) cannot be stored or hashed."""
    for name in ("text", "title", "agency", "url"):
        value = getattr(item, name)
        if value is not None and _SURROGATE.search(value):
            at = _SURROGATE.search(value).start()
            raise Rejection("invalid_unicode", f"a lone surrogate code point in {name} at character {at}")
    return item


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
        raise Rejection("empty", "only whitespace")


# ---------------------------------------------------------------------- HTML

# Per the HTML standard, the charset declaration must be in the first 1024 bytes.
_CHARSET_PREFIX_BYTES = 1024
_META_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([A-Za-z0-9._:-]+)""", re.IGNORECASE)


def parse_html(raw: bytes, source_path: str, charset: str | None = None) -> RawItem:
    """The main text of a web page, without navigation, comments or scripts.

    The charset is the one the server named (``charset``, from its Content-Type), else the page's own
    ``<meta>``, else what the bytes show (Windows-1256 pages exist).
    """
    decoded = decode_declared(raw, charset or declared_charset(raw))
    document = _extract_main_text(decoded.text)
    paragraphs = (document.text or "").split("\n") if document else []
    title = _clean_str(document.title) if document else None
    text = _clean_paragraphs(_without_headline(paragraphs, title))
    if len(text) < MIN_MAIN_TEXT_CHARS:
        raise Rejection("no_main_text", f"{len(text)} characters of main text found")
    return RawItem(
        source_path,
        text,
        raw,
        "html",
        encoding=decoded.encoding,
        title=title,
        published=parse_date(document.date),
        url=_clean_str(document.url),
        author=_clean_str(document.author) if document else None,
        site_name=_clean_str(document.sitename) if document else None,
    )


def _without_headline(paragraphs: list[str], title: str | None) -> list[str]:
    """Drop the page's <h1> when it repeats the title: the title is kept apart, not in the text."""
    first = next((i for i, paragraph in enumerate(paragraphs) if paragraph.strip()), None)
    if title and first is not None and _SPACES.sub(" ", paragraphs[first]).strip() == title:
        return paragraphs[first + 1 :]
    return paragraphs


def declared_charset(raw: bytes) -> str | None:
    """The charset named by a ``<meta charset>`` or ``http-equiv`` tag, if it names a text encoding.

    A page that declares a codec that is not one (``base64``, ``rot13``,
    ``zlib``, ``undefined``) is read as if it declared nothing.
    """
    match = _META_CHARSET.search(raw[:_CHARSET_PREFIX_BYTES])
    if not match:
        return None
    name = match.group(1).decode("ascii")
    try:
        info = codecs.lookup(name)
    except LookupError:
        return name  # an unknown name: the decoder says so (unknown_encoding)
    return name if info._is_text_encoding and info.name != "undefined" else None


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


def parse_jsonl(raw: bytes, source_path: str) -> tuple[list[RawItem], list[Rejection]]:
    """One JSON object per line; each bad line is its own error, the rest still count.

    A file none of whose lines is UTF-8 (a legacy export) is one error for the
    whole file; otherwise a line that is not UTF-8 is rejected alone.
    """
    lines = [(n, line.rstrip(b"\r")) for n, line in enumerate(raw.removeprefix(b"\xef\xbb\xbf").split(b"\n"), 1)]
    lines = [(n, line) for n, line in lines if line.strip()]
    if not lines:  # as an empty text file: quarantined, not settled with no items
        return [], [Rejection("empty", f"{len(raw)} bytes, no JSON line", source_path=source_path, raw=raw)]
    undecodable = {n: _utf8_error(line) for n, line in lines if _utf8_error(line) is not None}
    if lines and len(undecodable) == len(lines):
        return [], [Rejection("undecodable", "JSON Lines file is not UTF-8", source_path=source_path, raw=raw)]
    items: list[RawItem] = []
    errors: list[Rejection] = []
    for number, line in lines:
        where = f"{source_path}#L{number}"
        if number in undecodable:
            errors.append(Rejection("undecodable", undecodable[number], source_path=where, raw=line))
            continue
        parsed, refused = _one_item(lambda: _jsonl_item(line, where), where, line)
        items += parsed
        errors += refused
    return items, errors


def _utf8_error(line: bytes) -> str | None:
    try:
        line.decode("utf-8")
    except UnicodeDecodeError as err:
        return f"not UTF-8 at byte {err.start} of the line"
    return None


def _jsonl_item(line: bytes, source_path: str) -> RawItem:
    try:
        record = json.loads(line)
    except RecursionError:
        raise Rejection("too_deep", "JSON nested deeper than the parser can follow") from None
    except ValueError as err:  # malformed JSON, or an integer past Python's digit limit
        raise Rejection("bad_json_line", str(err)[:300]) from None
    if not isinstance(record, dict):
        raise Rejection("bad_json_line", f"expected a JSON object, got {type(record).__name__}")
    text = _first_str(record, _TEXT_FIELDS)
    if text is None:
        raise Rejection("missing_text", f"no non-empty string in any of {', '.join(_TEXT_FIELDS)}")
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


def parse_feed(raw: bytes, source: str) -> tuple[list[RawItem], list[Rejection]]:
    """RSS 0.9x/2.0 and Atom entries; feedparser tolerates small XML errors."""
    import feedparser  # only needed for feeds

    # A file-like object, never bytes or str: feedparser treats a string as a
    # URL or file name to open, and that must not happen to content.
    if not raw:
        return [], [Rejection("empty", "0 bytes", source_path=source, raw=raw)]
    parsed = feedparser.parse(io.BytesIO(_SURROGATE_REFERENCE.sub(b"&#65533;", raw)))
    # Broken XML is tolerated as long as entries could be recovered from it (recovered fragments with
    # nothing in them are not entries); in a well-formed feed every entry counts, an empty one is rejected.
    entries = [entry for entry in parsed.entries if not parsed.bozo or any(entry.get(key) for key in _ENTRY_KEYS)]
    if not entries and (parsed.bozo or not parsed.get("version")):
        problem = parsed.get("bozo_exception") or "no RSS or Atom feed found"
        return [], [Rejection("malformed_feed", str(problem), source_path=source, raw=raw)]
    items: list[RawItem] = []
    errors: list[Rejection] = []
    for entry in entries:
        parsed, refused = _one_item(lambda: _feed_item(entry, source), source, None)
        items += parsed
        errors += refused  # an entry's own rejection names it and carries its bytes
    return items, errors


_ENTRY_KEYS = ("id", "link", "title", "content", "summary")


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
        raise Rejection("feed_item_no_link", detail, source_path=source_path, raw=raw)
    if not text:
        raise Rejection("feed_item_no_text", "entry has no content and no summary", source_path=source_path,
                        raw=raw)
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
    # Escaped, not raw, where a lone surrogate would not encode: the bytes go to quarantine whatever the text.
    return json.dumps(fields, ensure_ascii=False, sort_keys=True).encode("utf-8", "backslashreplace")


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
_MULTI_ITEM_PARSERS: dict[str, Callable[[bytes, str], tuple[list[RawItem], list[Rejection]]]] = {
    "jsonl": parse_jsonl,
    "feed": parse_feed,
}
