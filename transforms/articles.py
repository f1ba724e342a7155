"""From an intake item to an article record: content id, metadata, body."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import date
from typing import Iterable

from transforms.rejection import Rejection
from transforms.formats import RawItem, parse_text
from transforms.metadata import METADATA_RULES_VERSION, AgencyRule, KnownFields, Metadata, extract_metadata
from transforms.normalize import normalize_text

__all__ = ["Article", "articles_from_items", "build_article", "content_id", "parse_article"]


@dataclass(frozen=True)
class Article:
    article_id: str
    source_path: str
    text: str  # as received (decoded), never altered: every offset points into it
    text_norm: str
    raw_sha256: str
    meta: Metadata
    format: str = "text"
    encoding: str | None = None
    url: str | None = None
    source_id: str | None = None
    raw: bytes = field(repr=False, compare=False, default=b"")
    known: KnownFields = KnownFields()  # what came with the item outside its text, kept to re-derive ``meta``
    metadata_rules: int = METADATA_RULES_VERSION  # the version of the rules that produced ``meta``

    @property
    def body(self) -> str:
        """The story without site furniture: ``text[body_start:body_end]``, with the furniture lines inside
        it (an ad label, an embedded post) blanked to spaces, so every offset into it is one into the text."""
        start, end = self.meta.body_start, self.meta.body_end
        body = self.text[start:end]
        for cut_start, cut_end in self.meta.masked:
            a, b = max(cut_start, start) - start, min(cut_end, end) - start
            if a < b:
                body = body[:a] + " " * (b - a) + body[b:]
        return body


def content_id(text_norm: str) -> str:
    """A stable id from the normalized text: the same story re-saved keeps its id."""
    return hashlib.sha256(text_norm.encode("utf-8")).hexdigest()[:32]


def build_article(
    item: RawItem,
    rules: Iterable[AgencyRule] = (),
    default_agency: str | None = None,
    source_id: str | None = None,
    not_after: date | None = None,
    places: frozenset[str] = frozenset(),
) -> Article:
    text_norm = normalize_text(item.text)
    if not text_norm:
        raise Rejection("empty", "no text after normalization")
    known = KnownFields(item.title, item.published, item.agency, default_agency, item.url, item.author,
                        item.site_name)
    meta = extract_metadata(item.text, rules, known, not_after, places)
    if meta.body_end <= meta.body_start:
        raise Rejection("no_body", "nothing left once the page header and footer are set aside")
    return Article(
        article_id=content_id(text_norm),
        source_path=item.source_path,
        text=item.text,
        text_norm=text_norm,
        raw_sha256=hashlib.sha256(item.raw).hexdigest(),
        meta=meta,
        format=item.format,
        encoding=item.encoding,
        url=item.url,
        source_id=source_id,
        raw=item.raw,
        known=known,
        metadata_rules=METADATA_RULES_VERSION,
    )


def articles_from_items(
    items: Iterable[tuple[RawItem, str | None, str | None]],
    rules: Iterable[AgencyRule] = (),
    not_after: date | None = None,
    places: frozenset[str] = frozenset(),
) -> tuple[list[Article], list[Rejection]]:
    """Each (item, default agency, source id) as an article or a rejection, one item at a time.

    The guard every item gets: a rejection, or any error (a bug met on one
    text), is that item's alone, kept with its bytes; the others go on.
    """
    rules = tuple(rules)
    articles, rejected = [], []
    for item, default_agency, source_id in items:
        known = {"source_path": item.source_path, "raw": item.raw, "format": item.format, "source_id": source_id}
        try:
            articles.append(build_article(item, rules, default_agency, source_id, not_after, places))
        except Rejection as err:
            rejected.append(err.about(**known))
        except RecursionError:
            rejected.append(Rejection("too_deep", "nested deeper than the parser can follow", **known))
        except Exception as err:
            rejected.append(Rejection.internal_error(err, **known))
    return articles, rejected


def parse_article(raw: bytes, source_path: str, rules: Iterable[AgencyRule] = ()) -> Article:
    """A plain-text article file (any supported encoding)."""
    return build_article(parse_text(raw, source_path), rules)
