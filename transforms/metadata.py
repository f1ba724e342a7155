"""Article metadata from the text itself: dateline, date, agency, title, body.

Each field comes with how it was found (``*_source``): ``dateline`` (the
opening ``أستانا أول يوليو 2024 (شينخوا)`` or ``دمشق-سانا``), ``timestamp`` (a
page stamp: ``نشر في 2017/10/22``, ``29/05/2023 الساعة 22:29``, the crawler's
``date 2025-09-24`` prefix, a ``/مصدر: شينخوا/`` line), ``credit`` (a credit
line or a closing ``(أ ف ب)``), ``lead`` (the first sentence), ``header`` (a
headline above the body), ``metadata`` (fields that came with the item: HTML
meta, JSON, feed), ``registry`` (the source's default agency) or ``none``.
Nothing is guessed: a field not found is None with source ``none``.

Agencies are data, not code: :func:`agency_rules` compiles the rows of
``seeds/agencies.csv`` (names, abbreviations, Latin names, domains) that users
extend. An agency counts only where the press credits one (the dateline, a
credit line, a closing marker), never where a story merely quotes it
(``ونقلت وكالة رويترز عن``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from typing import Iterable, Mapping
from urllib.parse import urlsplit

from transforms.boilerplate import (
    PHOTO_CREDIT,
    QUOTED_FROM_LINE,
    SOURCE_LINE,
    TITLE_MAX_CHARS,
    PUBLISHED_CUE,
    UPDATED_CUE,
    Line,
    first_paragraph,
    is_breadcrumb,
    is_furniture,
    is_header_furniture,
    is_other_script,
    is_paragraph,
    is_published_line,
    is_stamp_line,
    lines_of,
    split_page,
    without_crawler_prefix,
)
from transforms.dates import (
    FIRST_DAY,
    HIJRI_DATE,
    LATIN_DATE,
    MONTH_PATTERN,
    NAMED_DATE,
    NOT_LETTER,
    WEEKDAY_NUMBERS,
    WEEKDAY_PATTERN,
    find_date,
    find_latin_date,
    find_named_date,
    find_stamp_date,
    make_date,
    shows_month_first,
    named_date,
)
from transforms.normalize import collapse_whitespace, fold, fold_text

# Bumped whenever a rule here, in dates.py, boilerplate.py, seeds/agencies.csv or the dateline gazetteer
# changes what a text yields; each article records the version that produced its fields (``akhbar
# reprocess`` re-derives them). 2: the rules of issue 20; 3: the dateline gazetteer is the knowledge base's
# places (Persian and Urdu spellings left out; the press's country and capital names, the curated regions).
METADATA_RULES_VERSION = 3

AGENCY_KINDS = ("wire", "outlet", "release")
DATELINE_SCAN_LINES = 14
LEAD_CHARS = 1200
CREDIT_LINE_CHARS = 70

# Words that open a line like a place name would, but are not one.
_NOT_PLACES = {fold_text(w) for w in (
    "في", "يوم", "اليوم", "منذ", "بتاريخ", "تاريخ", "خلال", "بعد", "قبل", "حتى", "صباح", "مساء", "ظهر", "عصر",
    "الساعة", "حوالي", "نحو", "أكثر", "أقل", "من", "إلى", "عن", "على", "العالم")} | set(WEEKDAY_NUMBERS)
_WORD = r"(?!(?:في|يوم|اليوم|منذ|بتاريخ|خلال|بعد|قبل)\b)[^\W\d_]+"
_PLACE = rf"{_WORD}(?:[ \t]+{_WORD}){{0,2}}?"
_DAY = rf"(?:\d{{1,2}}|(?<![^\W\d_]){FIRST_DAY})"
_ARABIC_DATE = (
    rf"{_DAY}\s*(?:من\s+)?(?:{MONTH_PATTERN}){NOT_LETTER}(?:\s*/\s*(?:{MONTH_PATTERN}){NOT_LETTER})?"
    rf"(?:\s*[,،]?\s*\d{{4}}(?!\d)(?:\s*م(?![^\W\d_]))?)?"
)
_LATIN_DATE = re.sub(r"\(\?P<\w+>", "(?:", LATIN_DATE.pattern)
_NUMERIC_DATE = r"\d{1,2}[/\-.]\d{1,2}[/\-.]\d{4}(?!\d)"  # "رام الله 29-7-2012 وفا-"
_DATE_PART = rf"(?:{HIJRI_DATE.pattern})?(?:{_ARABIC_DATE}|{_LATIN_DATE}|{_NUMERIC_DATE})"
_MARKER = r"\(+[^()\n]{1,40}\)+|/[^/\n]{1,40}/"
DATELINE = re.compile(
    rf"^\s*(?P<cities>{_PLACE}(?:[ \t]*/[ \t]*{_PLACE})*)[ \t]*[,،]?[ \t]*(?:في[ \t]+)?"
    rf"(?:(?P<date>{_DATE_PART})[ \t]*(?P<marker>{_MARKER}|[^\W\d_]{{2,6}}(?![^\W\d_]))?|(?P<marker_only>{_MARKER}))",
    re.IGNORECASE,
)
# Separators between the labels opening a dateline: "دمشق-سانا", "أربيل (كوردستان 24)-", "غابالا/الأناضول".
_LABEL_SEPARATOR = re.compile(r"\s*(?:[-–—ـ]+|[:：]|/+|\||[()])\s*")
_LABEL_MAX_WORDS = 4
_LABEL_MAX_CHARS = 40
LEAD_DATE_CUE = re.compile(rf"(اليوم|يوم|بتاريخ|في|{WEEKDAY_PATTERN})[\s،,(]*([^\W\d_]+[\s،,(]+)?$")
_WEEKDAY_BEFORE = re.compile(rf"({WEEKDAY_PATTERN})[\s،,(]*(?:[^\W\d_]+[\s،,(]+)?$")
_WEEKDAY = re.compile(rf"(?<![^\W\d_])({WEEKDAY_PATTERN})(?![^\W\d_])")
_SENTENCE_END = re.compile(r"[.!؟?]\s|\n")
_CLOSING_MARKER = re.compile(r"[(\[]\s*(?P<marker>[^()\[\]\n]{1,30}?)\s*[)\]]\s*[.]?\s*$")
_NON_LETTERS = re.compile(r"[\W_]+")


@dataclass(frozen=True)
class AgencyRule:
    """One agency of the registry, with every way the press names it (folded)."""

    agency: str
    kind: str  # wire | outlet | release
    names: tuple[str, ...]  # Arabic names, folded, words separated by one space
    abbreviations: tuple[str, ...]  # Arabic abbreviations, folded, letters only ("اشا" for "أ ش أ")
    spaced: tuple[bool, ...]  # whether each abbreviation is written in separate letters (then it must be)
    latin: re.Pattern | None
    domains: tuple[str, ...] = ()
    lead: re.Pattern | None = None  # a pattern that credits the agency from the story's first paragraphs


@dataclass(frozen=True)
class KnownFields:
    """What came with the item, outside its text (HTML meta, JSON fields, a feed entry, the registry)."""

    title: str | None = None
    published: date | None = None
    agency: str | None = None
    default_agency: str | None = None  # the source's agency in the registry, used last
    url: str | None = None  # the page's address: an outlet naming itself is no credit
    author: str | None = None  # a page's byline and the name it gives its site (kept, not derived)
    site_name: str | None = None


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
    # Furniture lines inside the body span (an ad label, an embedded post): (start, end) offsets into the text.
    masked: tuple[tuple[int, int], ...] = ()


# ------------------------------------------------------------------ the agency registry


def _words(text: str) -> str:
    return " ".join(_NON_LETTERS.sub(" ", fold_text(text)).split())


def without_agency_word(name: str) -> str:
    """"وكالة أنباء البحرين" is also credited as "أنباء البحرين"."""
    words = name.split()
    return " ".join(words[1:]) if len(words) >= 3 and fold_text(words[0]) in ("وكاله", "وكالة", "الوكاله", "الوكالة") else name


def _listed(value: str | None) -> list[str]:
    return [part.strip() for part in (value or "").split("|") if part.strip()]


def agency_rules(rows: Iterable[Mapping[str, str]]) -> tuple[AgencyRule, ...]:
    """Compile registry rows (agency, kind, names_ar, abbreviations_ar, names_latin, domains, lead_pattern)."""
    rules = []
    for number, row in enumerate(rows, start=1):
        agency, kind = (row.get("agency") or "").strip(), (row.get("kind") or "").strip()
        names, abbreviations, latin = (_listed(row.get(k)) for k in ("names_ar", "abbreviations_ar", "names_latin"))
        if not agency or kind not in AGENCY_KINDS or not (names or abbreviations or latin):
            raise ValueError(f"agency row {number}: need agency, kind in {AGENCY_KINDS} and at least one name: "
                             f"{dict(row)}")
        try:
            lead = re.compile(fold_text(row["lead_pattern"])) if (row.get("lead_pattern") or "").strip() else None
        except re.error as err:
            raise ValueError(f"agency row {number}: bad lead_pattern {row['lead_pattern']!r}: {err}") from None
        latin_pattern = (re.compile(r"(?<![A-Za-z])(?:" + "|".join(
            r"\s*".join(map(re.escape, name.split())) for name in latin) + r")(?![A-Za-z])", re.IGNORECASE)
            if latin else None)
        rules.append(AgencyRule(
            agency=agency, kind=kind,
            names=tuple(dict.fromkeys(_words(n) for n in names + [without_agency_word(n) for n in names])),
            abbreviations=tuple(_NON_LETTERS.sub("", fold_text(a)) for a in abbreviations),
            spaced=tuple(len(a.split()) > 1 for a in abbreviations),
            latin=latin_pattern,
            domains=tuple(d.lower() for d in _listed(row.get("domains"))),
            lead=lead,
        ))
    return tuple(rules)


def _own_outlet(rule: AgencyRule, url: str | None) -> bool:
    if rule.kind != "outlet" or not url or not rule.domains:
        return False
    host = (urlsplit(url).hostname or "").lower()
    return any(host == d or host.endswith("." + d) for d in rule.domains)


def agency_of_label(label: str, rules: Iterable[AgencyRule], url: str | None = None) -> str | None:
    """The agency a short credit label names (``واس``, ``(أ ف ب)``, ``وكالة الأنباء الأردنية``), or None."""
    words = _words(label)
    if not words or len(words.split()) > 7:
        return None
    squashed = words.replace(" ", "")
    separated = bool(re.search(r"[^\W\d_][\W_]+[^\W\d_]", fold_text(label)))
    for rule in rules:
        if _own_outlet(rule, url):
            continue
        if any(squashed == abbr and (separated or not spaced)
               for abbr, spaced in zip(rule.abbreviations, rule.spaced)):
            return rule.agency
        if any(words == name or (" " in name and f" {name} " in f" {words} ") for name in rule.names):
            return rule.agency  # a one-word name ("العمانية", "بترا") only as the whole label
        if rule.latin and rule.latin.search(label):
            return rule.agency
    return None


def agency_in_lead(lead: str, rules: Iterable[AgencyRule]) -> str | None:
    folded = fold_text(lead)
    return next((r.agency for r in rules if r.lead and r.lead.search(folded)), None)


def is_wire(agency: str | None, rules: Iterable[AgencyRule]) -> bool:
    return any(r.agency == agency and r.kind != "outlet" for r in rules)


# ------------------------------------------------------------------ datelines


def gazetteer(*name_lists: Iterable[str]) -> frozenset[str]:
    """Place names folded as datelines are matched; words that open sentences are never places."""
    names = {" ".join(fold_text(name).split()) for names in name_lists for name in names}
    return frozenset(n for n in names if n and n not in _NOT_PLACES)


def _is_place(label: str, places: frozenset[str]) -> bool:
    folded = " ".join(fold_text(label).split())
    return bool(folded) and folded not in _NOT_PLACES and folded in places


def _dated_dateline(line: str, rules, not_after, places, url) -> Dateline | None:
    """``ألماتي 25 أبريل 2025 (شينخوا)``, ``بكين, June 19, 2025 (GLOBE NEWSWIRE) —``: a place, its date, a marker."""
    folded = fold(line)
    match = DATELINE.match(folded.text)
    if not match or " ".join(match["cities"].split()) in _NOT_PLACES:
        return None
    marker = match["marker"] or match["marker_only"]
    agency = agency_of_label(marker, rules, url) if marker else None
    if match["marker_only"] and not (agency or all(_is_place(c, places) for c in match["cities"].split("/"))):
        return None  # "(كلمة)" after a few words is a parenthesis, not a dateline
    if agency_of_label(match["cities"], rules):
        return None  # "وكالة الأنباء الليبية (وال)": the agency's own name, a masthead
    day = None
    if match["date"]:
        found = (find_named_date(match["date"], not_after) or find_latin_date(match["date"], not_after)
                 or find_stamp_date(match["date"], not_after))
        day = found.value if found else None
    start, end = folded.original_span(*match.span("cities"))
    whole = folded.original_span(*match.span())
    return Dateline(
        cities=collapse_whitespace(re.sub(r"\s*/\s*", "/", line[start:end])),
        start=whole[0],
        end=whole[1],
        date=day,
        agency=agency,
    )


def _labels(line: str) -> tuple[list[tuple[str, str, int, int]], int | None]:
    """The short labels opening a line, each (text, separator before it, start, end), and where the story starts."""
    labels, position, separator = [], 0, ""
    pieces = _LABEL_SEPARATOR.split(line[:200])
    separators = _LABEL_SEPARATOR.findall(line[:200])
    for index, piece in enumerate(pieces):
        stripped = piece.strip()
        offset = position + (len(piece) - len(piece.lstrip()))
        if stripped:
            head = re.match(r"^(\S+(?:\s\S+){0,2})\.\s+\S", stripped)  # "سبوتنيك. وقال ..."
            if len(stripped.split()) > _LABEL_MAX_WORDS or len(stripped) > _LABEL_MAX_CHARS:
                if head:
                    labels.append((head[1], separator, offset, offset + len(head[1])))
                    return labels, offset + head.end() - 1
                return labels, offset
            labels.append((stripped, separator, offset, offset + len(stripped)))
            if len(labels) > 5:
                return labels, None
        position += len(piece)
        if index < len(separators):
            separator = separators[index].strip() or " "
            position += len(separators[index])
    return labels, None


def _labelled_dateline(line: str, rules, places, url, paragraph: bool) -> Dateline | None:
    """``دمشق-سانا``, ``الدمام – واس``, ``أربيل (كوردستان 24)- ...``, ``شفق نيوز- بغداد``, ``غابالا/الأناضول``."""
    labels, story = _labels(line)
    if not labels or (story is None and not paragraph and len(labels) > 4):
        return None
    texts = [text for text, _, _, _ in labels]
    cities: list[int] = []
    if _is_place(texts[0], places):
        cities = [0]
        while len(cities) < len(labels) and labels[len(cities)][1] == "/" and _is_place(texts[len(cities)], places):
            cities.append(len(cities))
    elif len(labels) >= 2 and _is_place(texts[1], places) and len(texts[0].split()) <= 3:
        cities = [1]  # the outlet, then the place: "شفق نيوز- بغداد", "يمن مونيتور/ صنعاء/ وكالات:"
    elif (len(labels) >= 2 and labels[1][1] == "/" and len(texts[0].split()) <= 2
          and is_wire(agency_of_label(texts[1], rules, url), rules) and fold_text(texts[0]) not in _NOT_PLACES):
        cities = [0]  # the wires' "place/agency": "غابالا/الأناضول"
    if not cities:
        return None
    after = cities[-1] + 1
    agency = next((a for a in (agency_of_label(t, rules, url) for t in texts[after:] + texts[:cities[0]]) if a), None)
    if story is None and not paragraph and len(labels) == 1:
        return None  # a place alone on its line is a section label or a tag ("لبنان")
    if story is None and not paragraph:
        # A line of labels only: a headline such as "موسكو: سندعم طاجيكستان" is not a dateline.
        if after < len(labels) and labels[after][1] in (":", "：") and not agency:
            return None
        if any(len(t.split()) > 3 for t in texts[after:]) and not agency:
            return None
    if story is None and paragraph:
        return None
    if story is not None and not paragraph:
        return None  # "تايوان: تدريبات عسكرية ...": a headline that opens with a place
    start = labels[cities[0]][2]
    end = story if story is not None else labels[-1][3]
    return Dateline(
        cities="/".join(collapse_whitespace(texts[i]) for i in cities),
        start=start,
        end=end,
        date=None,
        agency=agency,
    )


def parse_dateline(line: str, rules: Iterable[AgencyRule] = (), not_after: date | None = None,
                   places: frozenset[str] = frozenset(), url: str | None = None,
                   paragraph: bool | None = None) -> Dateline | None:
    """The dateline opening a line: cities as written, its date and the agency it credits; None when there is none.

    Two shapes: a place followed by a full date (and a marker), and a place among short labels split by
    dashes, slashes, colons or brackets (``دمشق-سانا``), where the place must be a known one.
    """
    rules = tuple(rules)
    if paragraph is None:
        paragraph = is_paragraph(lines_of(line)[0]) if line.strip() else False
    return _dated_dateline(line, rules, not_after, places, url) or _labelled_dateline(line, rules, places, url,
                                                                                      paragraph)


def _find_dateline(lines: list[Line], rules, not_after, places, url,
                   paragraph_at: int | None) -> tuple[int, Dateline] | None:
    """The dateline opens the story's first paragraph or stands on its own line above it.

    Below the first paragraph (which was then a deck or a caption) only two things count: a full dateline,
    dated and credited, or a line of labels only a few lines down ("يمن مونيتور/ صنعاء/ وكالات:"). A line
    that reads as a stamp counts when it is a known place and its full date ("بورتسودان 10-11-2023").
    """
    seen = 0

    def at(index: int, found: Dateline) -> tuple[int, Dateline]:
        start = lines[index].start
        return index, Dateline(found.cities, start + found.start, start + found.end, found.date, found.agency)

    for index, line in enumerate(lines):
        if line.blank:
            continue
        seen += 1
        if seen > DATELINE_SCAN_LINES:
            return None
        if paragraph_at is not None and index > paragraph_at:
            found = _dated_dateline(line.text, rules, not_after, places, url)
            if found and found.date and found.agency:
                return at(index, found)
            found = _labelled_dateline(line.text, rules, places, url, False) if index - paragraph_at <= 4 else None
            if found:
                return at(index, found)
            continue
        if is_stamp_line(line) or is_breadcrumb(line) or is_published_line(line):
            found = _dated_dateline(line.text, rules, not_after, places, url)
            if found and found.date and (found.agency or all(_is_place(c, places) for c in found.cities.split("/"))):
                return at(index, found)
            continue
        found = parse_dateline(line.text, rules, not_after, places, url, paragraph=index == paragraph_at)
        if found:
            return at(index, found)
    return None


# ------------------------------------------------------------------ dates of the page


def _lead_sentence(body: str) -> str:
    head = body.lstrip()[:LEAD_CHARS]
    end = _SENTENCE_END.search(head)
    return head[: end.start()] if end else head


def lead_date(body: str, not_after: date | None = None) -> date | None:
    """A full date in the first sentence, introduced as the day of the news (``اليوم الخميس 5 يوليو 2024``).

    A weekday written beside it must be the date's own weekday.
    """
    lead = fold_text(_lead_sentence(body))
    for match in NAMED_DATE.finditer(lead):
        value = named_date(match, not_after)
        before = lead[max(0, match.start() - 25) : match.start()]
        if not value or not LEAD_DATE_CUE.search(before):
            continue
        weekday = _WEEKDAY_BEFORE.search(before)
        if weekday and WEEKDAY_NUMBERS[weekday[1]] != value.weekday():
            continue  # "الخميس 6 يوليو 2024" when the 6th was a Saturday: not trusted
        return value
    return None


def _stamp_after_cue(folded: str, not_after, month_first: bool = False) -> date | None:
    """The date of a stamp line: the one after a "published" cue first, else the line's first date."""
    cue = PUBLISHED_CUE.search(folded)
    if cue:
        after = find_date(folded[cue.end():], not_after, month_first)
        updated = UPDATED_CUE.search(folded, cue.end())
        if after and (not updated or cue.end() + after.start < updated.start()):
            return after.value
    found = find_date(folded, not_after, month_first)
    return found.value if found else None


def _page_stamp(lines: list[Line], header_end: int, title_at: int | None, not_after) -> date | None:
    """The article's own stamp in the page header.

    A "published" line wins; then a date-and-time line. A line above the headline that names the
    weekday is the site's masthead (today's date: "الخميس 26 سبتمبر 2024"), not the article's.
    """
    published = updated = stamp = None
    header = [i for i in range(header_end) if not lines[i].blank]
    month_first = any(shows_month_first(lines[i].folded) for i in header if len(lines[i].folded) <= 200)
    for position, index in enumerate(header):
        line = lines[index]
        folded = line.folded
        if len(folded) > 200:
            continue
        if PUBLISHED_CUE.search(folded) or UPDATED_CUE.search(folded):
            value = _stamp_after_cue(folded, not_after, month_first)
            if value is None:  # "تاريخ النشر (" then the stamp on the next line
                value = next((v for v in (_stamp_after_cue(lines[j].folded, not_after, month_first)
                                          for j in header[position + 1 : position + 3]) if v), None)
            if PUBLISHED_CUE.search(folded):
                published = published or value
            else:
                updated = updated or value
            continue
        source = SOURCE_LINE.match(folded)
        if source:
            found = find_date(source["rest"], not_after, month_first)
            stamp = stamp or (found.value if found else None)
            continue
        masthead = title_at is not None and index < title_at and _WEEKDAY.search(folded)
        if is_stamp_line(line) and not masthead:
            found = find_date(folded, not_after, month_first)
            stamp = stamp or (found.value if found else None)
    return published or stamp or updated


# ------------------------------------------------------------------ titles and credits


_TWO_SENTENCES = re.compile(r"(?<!\.)[.!؟?]\s+[^\W\d_]")
_TEASER_END = re.compile(r"\[\s*(…|\.\.\.)\s*\]\s*$")


def _title_candidates(lines: list[Line], header_end: int, rules=()) -> list[int]:
    """Header lines that can be a headline: a few words of Arabic, one sentence at most, not furniture,
    not the agency's own name, not a teaser cut short."""
    return [
        i for i in range(header_end)
        if not lines[i].blank and 3 <= len(lines[i].text.split()) and len(lines[i].text.strip()) <= TITLE_MAX_CHARS
        and re.search(r"[^\W\d_]", lines[i].folded) and not lines[i].text.lstrip().startswith(("-", "*", "•", "·"))
        and not (is_header_furniture(lines[i]) or is_furniture(lines[i]) or is_other_script(lines[i]))
        and not _TWO_SENTENCES.search(lines[i].text) and not _TEASER_END.search(lines[i].text)
        and not agency_of_label(re.sub(r"[()]", " ", lines[i].text), rules)
    ]


def _title(lines: list[Line], header_end: int, rules=()) -> int | None:
    """The headline: the first header line of four words or more (a ticker, a label or a byline is shorter),
    else the first candidate. Not the line the page repeats: captions are printed twice as often."""
    candidates = _title_candidates(lines, header_end, rules)
    return next((i for i in candidates if len(lines[i].text.split()) >= 4), candidates[0] if candidates else None)


def _credit_in_line(line: Line, rules, url) -> str | None:
    """A credit line: ``المصدر: شينخوا``, ``نقلا عن ...``, ``(أ ف ب)``, ``المواطن - واس``, ``كشـ24 | و.م.ع``."""
    text = line.text.strip()
    if not text or len(text) > CREDIT_LINE_CHARS * 2 or PHOTO_CREDIT.search(text):
        return None  # a photo credit ("حقوق النشر Andrey Gordeyev/Sputnik") credits the picture, not the story
    source = SOURCE_LINE.match(line.folded)
    if source:  # "/مصدر: شينخوا/  08:23, June 09, 2017": the label ends at a slash, a bar or the stamp
        label = re.split(r"/|\||\s{2,}|\d", f"{source['source']} {source['rest']}".strip())[0]
        return agency_of_label(label, rules, url)
    quoted = QUOTED_FROM_LINE.match(line.folded)
    if quoted:
        return agency_of_label(quoted["source"], rules, url)
    if len(text) > CREDIT_LINE_CHARS:
        return None
    labels, story = _labels(text)
    if story is not None:
        return None
    for label, _, _, _ in labels:
        tokens = label.split()
        for size in range(len(tokens), 0, -1):
            agency = agency_of_label(" ".join(tokens[:size]), rules, url)
            if agency:
                return agency
    return None


def _opening_credit(body: str, rules, url) -> str | None:
    """``أ ش أ: واصلت البورصة ...``: the agency opening the story, before its first sentence."""
    labels, story = _labels(body.lstrip()[:200])
    if story is None or not labels or labels[0][1]:
        return None
    return agency_of_label(labels[0][0], rules, url) if len(labels) == 1 else None


def _closing_credit(body: str, rules, url) -> str | None:
    """``... في المنطقة. (أ ف ب)``: a marker closing the story."""
    match = _CLOSING_MARKER.search(body[-120:])
    return agency_of_label(match["marker"], rules, url) if match else None


def _first(*candidates: tuple[object, str]) -> tuple[object, str]:
    return next(((value, source) for value, source in candidates if value), (None, "none"))


def _crawler_date(stamp: str | None, not_after) -> date | None:
    if not stamp or len(stamp) < 10:
        return None  # "2023-08": a month gives no day
    year, month, day = map(int, stamp.split("-"))
    return make_date(year, month, day, not_after)


def extract_metadata(
    text: str,
    rules: Iterable[AgencyRule] = (),
    known: KnownFields = KnownFields(),
    not_after: date | None = None,
    places: frozenset[str] = frozenset(),
) -> Metadata:
    """Every metadata field of one article, each with how it was found."""
    rules = tuple(rules)
    lines = lines_of(text)
    crawler_stamp = None
    if lines:
        lines[0], crawler_stamp = without_crawler_prefix(lines[0])
    paragraph_at = first_paragraph(lines)
    dateline_at = _find_dateline(lines, rules, not_after, places, known.url, paragraph_at)
    page = split_page(text, dateline_at[0] if dateline_at else paragraph_at, lines)
    dateline = dateline_at[1] if dateline_at else None
    header_end = page.first_line
    title_at = _title(lines, header_end, rules)
    body = page.body(text)
    credit_lines = [lines[i] for i in range(header_end) if not lines[i].blank] + list(page.footer) + list(page.masked)

    published, date_source = _first(
        (dateline.date if dateline else None, "dateline"),
        (_page_stamp(lines, header_end, title_at, not_after), "timestamp"),
        (_crawler_date(crawler_stamp, not_after), "timestamp"),
        (known.published if known.published and (not_after is None or known.published <= not_after) else None,
         "metadata"),
        (lead_date(text[dateline.end if dateline else page.body_start : page.body_end], not_after), "lead"),
    )
    agency, agency_source = _first(
        (dateline.agency if dateline else None, "dateline"),
        (next((a for a in (_credit_in_line(l, rules, known.url) for l in credit_lines) if a), None), "credit"),
        (_opening_credit(body, rules, known.url), "credit"),
        (_closing_credit(body, rules, known.url), "credit"),
        (agency_in_lead(body[:LEAD_CHARS], rules), "lead"),
        (known.agency, "metadata"),
        (known.default_agency, "registry"),
    )
    title = collapse_whitespace(lines[title_at].text) if title_at is not None else None
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
        masked=tuple((l.start, l.end) for l in page.masked),
    )
