"""Published articles, their metadata derived again from the stored text with the current rules.

Pure: the stored row is passed in, the new article comes out through the very
function an ingest calls (:func:`transforms.articles.build_article`), with the
fields that came with the item outside its text. Rows written before those
fields were stored (``metadata_rules`` NULL: version 1) get them back where
the row shows them: a field whose ``*_source`` is ``metadata`` (or
``registry``) came from there; otherwise the source's agency in the current
registry stands in for the registry's default.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from typing import Any, Iterable, Mapping

from transforms.articles import Article, build_article
from transforms.formats import RawItem
from transforms.metadata import AgencyRule, KnownFields, Metadata

# What `akhbar reprocess` counts as changed, and the columns that make each field.
FIELDS: dict[str, tuple[str, ...]] = {
    "date": ("published_date", "date_source"),
    "agency": ("agency", "agency_source"),
    "dateline": ("dateline_city",),
    "title": ("title", "title_source"),
    "body": ("body_start", "body_end"),
}
# The columns of a published article that reprocessing reads.
STORED_COLUMNS = (
    "article_id", "source_path", "text", "text_norm", "raw_sha256", "run_id", "ingested_at", "source_id", "format",
    "encoding", "url", "title", "title_source", "dateline_city", "published_date", "date_source", "agency",
    "agency_source", "body", "body_start", "body_end", "n_sentences", "n_tokens", "n_mentions", "duplicate_of",
    "duplicate_similarity", "metadata_rules", "item_title", "item_published", "item_agency", "registry_agency",
    "author", "site_name",
)


def rules_version(value: int | None) -> int:
    """The rules version of a stored row: NULL is a row from before the version was recorded, version 1."""
    return 1 if value is None else int(value)


def known_fields(row: Mapping[str, Any], registry_agencies: Mapping[str, str | None] | None = None) -> KnownFields:
    """What came with the item outside its text, as stored, or reconstructed for a row older than the columns."""
    if row.get("metadata_rules") is not None:  # stored since version 2: NULL means nothing came
        return KnownFields(row.get("item_title"), row.get("item_published"), row.get("item_agency"),
                           row.get("registry_agency"), row.get("url"), row.get("author"), row.get("site_name"))

    def came_with(column: str, source_column: str, source: str = "metadata"):
        return row.get(column) if row.get(source_column) == source else None

    default = came_with("agency", "agency_source", "registry") or (registry_agencies or {}).get(row.get("source_id") or "")
    return KnownFields(
        row.get("item_title") or came_with("title", "title_source"),
        row.get("item_published") or came_with("published_date", "date_source"),
        row.get("item_agency") or came_with("agency", "agency_source"),
        row.get("registry_agency") or default,
    )


def not_after_of(row: Mapping[str, Any]) -> date:
    """The latest date the rules accept for a stored article: the day after it was taken in, as at its ingest."""
    ingested = row["ingested_at"]
    day = ingested.date() if isinstance(ingested, datetime) else ingested
    return day + timedelta(days=1)


def rederive(row: Mapping[str, Any], rules: Iterable[AgencyRule] = (),
             registry_agencies: Mapping[str, str | None] | None = None,
             places: frozenset[str] = frozenset()) -> Article:
    """The stored article with its metadata derived again; its identity (id, normalized text, bytes' hash) kept.

    Raises :class:`transforms.rejection.Rejection` when the current rules
    cannot make an article of the text (no body left, for instance).
    """
    known = known_fields(row, registry_agencies)
    item = RawItem(row["source_path"], row["text"], b"", row.get("format") or "text", row.get("encoding"),
                   known.title, known.published, known.agency, row.get("url"), known.author, known.site_name)
    article = build_article(item, rules, known.default_agency, row.get("source_id"), not_after_of(row), places)
    return replace(article, article_id=row["article_id"], text_norm=row["text_norm"], raw_sha256=row["raw_sha256"])


def masked_ranges(text: str, start: int, end: int, body: str | None) -> tuple[tuple[int, int], ...]:
    """The furniture lines blanked inside a stored body: (start, end) offsets into the text where the body
    holds spaces and the text does not."""
    if not body or len(body) != end - start:
        return ()
    ranges, run_start, last = [], None, None
    for offset, (kept, original) in enumerate(zip(body, text[start:end])):
        if kept == " " and not original.isspace():  # a blanked character
            run_start = offset if run_start is None else run_start
            last = offset
        elif not original.isspace() and run_start is not None:  # a kept character ends the run
            ranges.append((start + run_start, start + last + 1))
            run_start = None
    if run_start is not None:
        ranges.append((start + run_start, start + last + 1))
    return tuple(ranges)


def stored_article(row: Mapping[str, Any], registry_agencies: Mapping[str, str | None] | None = None) -> Article:
    """The published article exactly as stored: its metadata as the row holds it, not derived again
    (``akhbar relink`` changes entity links, never metadata)."""
    start, end = row["body_start"], row["body_end"]
    meta = Metadata(
        dateline_city=row.get("dateline_city"), published_date=row.get("published_date"),
        date_source=row.get("date_source") or "none", agency=row.get("agency"),
        agency_source=row.get("agency_source") or "none", title=row.get("title"),
        title_source=row.get("title_source") or "none", body_start=start, body_end=end,
        masked=masked_ranges(row["text"], start, end, row.get("body")),
    )
    return Article(row["article_id"], row["source_path"], row["text"], row["text_norm"], row["raw_sha256"], meta,
                   row.get("format") or "text", row.get("encoding"), row.get("url"), row.get("source_id"),
                   known=known_fields(row, registry_agencies), metadata_rules=rules_version(row.get("metadata_rules")))


def new_values(article: Article) -> dict[str, Any]:
    meta = article.meta
    return {"published_date": meta.published_date, "date_source": meta.date_source, "agency": meta.agency,
            "agency_source": meta.agency_source, "dateline_city": meta.dateline_city, "title": meta.title,
            "title_source": meta.title_source, "body_start": meta.body_start, "body_end": meta.body_end}


def changed_fields(row: Mapping[str, Any], article: Article) -> list[str]:
    """Which of :data:`FIELDS` the re-derived article has differently from the stored row.

    The body has changed when its span moved or its text differs (furniture
    lines blanked inside it): either way NER's input and offsets are not the same.
    """
    values = new_values(article)
    changed = [name for name, columns in FIELDS.items() if any(row.get(c) != values[c] for c in columns)]
    if "body" not in changed and "body" in row and row["body"] != article.body:
        changed.append("body")
    return changed


@dataclass(frozen=True, eq=False)
class Rederived:
    """One stored article and what the current rules make of it."""

    row: Mapping[str, Any]
    article: Article
    changed: tuple[str, ...]
    relink: bool = False  # mentions and links made again though nothing changed (``akhbar relink``)

    @property
    def body_changed(self) -> bool:
        """The body moved or changed, or the article is relinked: its sentences and mentions are made again."""
        return "body" in self.changed or self.relink

    @property
    def near_copy(self) -> bool:
        return self.row.get("duplicate_of") is not None
