"""Article metadata from the text itself: dateline, date, agency, title, body.

Each field comes with how it was found (``*_source``): ``dateline`` (the
opening ``أستانا أول يوليو 2024 (شينخوا)``), ``timestamp`` (a page stamp such
as ``/مصدر: شينخوا/ 2025:04:27.09:40``), ``lead`` (the first sentence),
``header`` (a headline above the body), ``metadata`` (fields that came with
the item: HTML meta, JSON, feed), ``registry`` (the source's default agency)
or ``none``. Nothing is guessed: a field not found is None with source ``none``.

Agencies are data, not code: :func:`agency_rules` compiles rows of
``seeds/agencies.csv`` that users extend.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from typing import Iterable, Mapping

from transforms.boilerplate import (
    SOURCE_LINE,
    TIMESTAMP_LINE,
    Line,
    is_header_furniture,
    lines_of,
    looks_like_title,
    split_page,
)
from transforms.dates import (
    FIRST_DAY,
    MONTH_PATTERN,
    NAMED_DATE,
    NOT_LETTER,
    find_date,
    find_named_date,
    named_date,
)
from transforms.normalize import collapse_whitespace, fold, fold_text

# Bumped whenever a rule here, in dates.py, boilerplate.py or seeds/agencies.csv changes what a text
# yields; each article records the version that produced its fields (``akhbar reprocess`` re-derives them).
METADATA_RULES_VERSION = 2

AGENCY_CONTEXTS = ("marker", "lead")
DATELINE_SCAN_LINES = 12
LEAD_CHARS = 1200

_WORD = r"(?!في\b)[^\W\d_]+"
_PLACE = rf"{_WORD}(?:[ \t]+{_WORD}){{0,2}}?"
_DAY = rf"(?:\d{{1,2}}|(?<![^\W\d_]){FIRST_DAY})"
_DATE_PART = (
    rf"{_DAY}\s*(?:من\s+)?(?:{MONTH_PATTERN}){NOT_LETTER}(?:\s*/\s*(?:{MONTH_PATTERN}){NOT_LETTER})?"
    rf"(?:\s*[,،]?\s*\d{{4}}(?!\d))?"
)
_MARKER = r"\(+[^()\n]{1,40}\)+|/[^/\n]{1,40}/"
DATELINE = re.compile(
    rf"^\s*(?P<cities>{_PLACE}(?:[ \t]*/[ \t]*{_PLACE})*)[ \t]*[,،]?[ \t]*(?:في[ \t]+)?"
    rf"(?:(?P<date>{_DATE_PART})[ \t]*(?P<marker>{_MARKER})?|(?P<marker_only>{_MARKER}))"
)
LEAD_DATE_CUE = re.compile(r"(اليوم|يوم|بتاريخ|في)\s+([^\W\d_]+\s+)?$")
_SENTENCE_END = re.compile(r"[.!؟?]\s|\n")


@dataclass(frozen=True)
class AgencyRule:
    agency: str
    context: str  # "marker": inside (...) or /.../ in a dateline or source line; "lead": in the first paragraphs
    pattern: re.Pattern


@dataclass(frozen=True)
class KnownFields:
    """What came with the item, outside its text (HTML meta, JSON fields, a feed entry, the registry)."""

    title: str | None = None
    published: date | None = None
    agency: str | None = None
    default_agency: str | None = None  # the source's agency in the registry, used last


@dataclass(frozen=True)
class Dateline:
    cities: str
    start: int  # span of the whole dateline in the original text
    end: int
    date: date | None
    agency: str | None


@dataclass(frozen=True)
class Metadata:
    dateline_city: str | None
    published_date: date | None
    date_source: str
    agency: str | None
    agency_source: str
    title: str | None
    title_source: str
    body_start: int
    body_end: int


def agency_rules(rows: Iterable[Mapping[str, str]]) -> tuple[AgencyRule, ...]:
    """Compile agency rows (agency, context, pattern); patterns are folded like the text they match."""
    rules = []
    for number, row in enumerate(rows, start=1):
        agency, context, pattern = (row.get(k, "").strip() for k in ("agency", "context", "pattern"))
        if not agency or not pattern or context not in AGENCY_CONTEXTS:
            raise ValueError(f"agency row {number}: need agency, context in {AGENCY_CONTEXTS}, pattern: {dict(row)}")
        try:
            rules.append(AgencyRule(agency, context, re.compile(fold_text(pattern), re.IGNORECASE)))
        except re.error as err:
            raise ValueError(f"agency row {number}: bad pattern {pattern!r}: {err}") from None
    return tuple(rules)


def agency_in_marker(marker: str, rules: Iterable[AgencyRule]) -> str | None:
    folded = fold_text(marker)
    return next((r.agency for r in rules if r.context == "marker" and r.pattern.search(folded)), None)


def agency_in_lead(lead: str, rules: Iterable[AgencyRule]) -> str | None:
    folded = fold_text(lead)
    return next((r.agency for r in rules if r.context == "lead" and r.pattern.search(folded)), None)


def parse_dateline(line: str, rules: Iterable[AgencyRule] = (), not_after: date | None = None) -> Dateline | None:
    """``ألماتي 25 أبريل 2025 (شينخوا)`` → cities, date, agency; None when the line opens otherwise.

    A dateline needs a date or an agency marker right after one to three words
    of place name; the date counts only with its year.
    """
    folded = fold(line)
    match = DATELINE.match(folded.text)
    if not match:
        return None
    marker = match["marker"] or match["marker_only"]
    agency = agency_in_marker(marker.strip("()/ \t"), rules) if marker else None
    if match["marker_only"] and not agency:
        return None  # "(كلمة)" after a few words is a parenthesis, not a dateline
    day = find_named_date(match["date"], not_after) if match["date"] else None
    start, end = folded.original_span(*match.span("cities"))
    whole = folded.original_span(*match.span())
    return Dateline(
        cities=collapse_whitespace(re.sub(r"\s*/\s*", "/", line[start:end])),
        start=whole[0],
        end=whole[1],
        date=day.value if day else None,
        agency=agency,
    )


def _find_dateline(lines: list[Line], rules, not_after) -> tuple[int, Dateline] | None:
    """The dateline opens the first paragraph after the header, or there is none."""
    seen = 0
    for index, line in enumerate(lines):
        if line.blank:
            continue
        seen += 1
        if seen > DATELINE_SCAN_LINES:
            return None
        found = parse_dateline(line.text, rules, not_after)
        if found:
            return index, Dateline(found.cities, line.start + found.start, line.start + found.end,
                                   found.date, found.agency)
        if not (is_header_furniture(line) or looks_like_title(line)):
            return None  # a paragraph: the story has begun without a dateline
    return None


def _lead_sentence(body: str) -> str:
    head = body[:LEAD_CHARS]
    end = _SENTENCE_END.search(head)
    return head[: end.start()] if end else head


def lead_date(body: str, not_after: date | None = None) -> date | None:
    """A full date in the first sentence, introduced as the day of the news (``اليوم الخميس 5 يوليو 2024``)."""
    lead = fold_text(_lead_sentence(body))
    for match in NAMED_DATE.finditer(lead):
        value = named_date(match, not_after)
        if value and LEAD_DATE_CUE.search(lead[max(0, match.start() - 25) : match.start()]):
            return value
    return None


def _header_facts(header: Iterable[Line], rules, not_after) -> tuple[str | None, date | None, str | None]:
    """(title, timestamp date, source-line agency) from header lines."""
    title = stamp = agency = None
    for line in header:
        source = SOURCE_LINE.match(line.folded)
        if source and len(line.folded) < 200:
            agency = agency or agency_in_marker(source["source"], rules)
            found = find_date(source["rest"], not_after)
            stamp = stamp or (found.value if found else None)
            continue
        timestamp = TIMESTAMP_LINE.match(line.folded)
        if timestamp:
            found = find_date(timestamp["rest"], not_after)
            stamp = stamp or (found.value if found else None)
            continue
        if title is None and not is_header_furniture(line) and looks_like_title(line):
            title = collapse_whitespace(line.text)
    return title, stamp, agency


def _first(*candidates: tuple[object, str]) -> tuple[object, str]:
    return next(((value, source) for value, source in candidates if value), (None, "none"))


def extract_metadata(
    text: str,
    rules: Iterable[AgencyRule] = (),
    known: KnownFields = KnownFields(),
    not_after: date | None = None,
) -> Metadata:
    """Every metadata field of one article, each with how it was found."""
    rules = tuple(rules)
    lines = lines_of(text)
    dateline_at = _find_dateline(lines, rules, not_after)
    page = split_page(text, dateline_at[0] if dateline_at else None)
    dateline = dateline_at[1] if dateline_at else None
    title, stamp, source_agency = _header_facts(page.header, rules, not_after)
    body = page.body(text)

    published, date_source = _first(
        (dateline.date if dateline else None, "dateline"),
        (stamp, "timestamp"),
        (known.published if known.published and (not_after is None or known.published <= not_after) else None,
         "metadata"),
        (lead_date(body, not_after), "lead"),
    )
    agency, agency_source = _first(
        (dateline.agency if dateline else None, "dateline"),
        (source_agency, "timestamp"),
        (agency_in_lead(body[:LEAD_CHARS], rules), "lead"),
        (known.agency, "metadata"),
        (known.default_agency, "registry"),
    )
    title, title_source = _first((title, "header"), (known.title and collapse_whitespace(known.title), "metadata"))
    return Metadata(
        dateline_city=dateline.cities if dateline else None,
        published_date=published,
        date_source=date_source,
        agency=agency,
        agency_source=agency_source,
        title=title,
        title_source=title_source,
        body_start=page.body_start,
        body_end=page.body_end,
    )
