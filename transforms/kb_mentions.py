"""Mentions from the model and from the knowledge base, merged into one list of spans.

The NER model misses names it has seldom seen: Latin-script names in Arabic text (``Xi``, ``وTokayev``),
long organisation names (it cuts ``منظمة شنغهاي للتعاون`` after ``شنغهاي``), agencies in credit lines.
A **gazetteer pass** looks for the knowledge base's *trusted* names (``AliasClaim.trusted``: curated
names of several words, Latin names, long single words; CLDR's country, region and city names; the press's
country names) in the body, token by token, the first token with or without a glued conjunction or
preposition (``وبكين``, ``للصين``). A name it holds but does not trust is looked for only where its
context says what it is: an organisation's (an agency's abbreviation ``واس``) as the whole content of
brackets, where the press credits it, ``(واس)``; a place's that is also a common word
(``seeds/ambiguous_names.csv``: ``مسقط``) after a word that says a place follows, ``بالعاصمة العُمانية مسقط``.

**Merge rule.** Every model span is kept unless the annotation rules drop it (below). A gazetteer span
that overlaps no model span is added. One that overlaps model spans is taken when each of them gives way:
a model span the knowledge base knows by its own text gives way only to a longer name of another entity
that covers it (``منظمة شنغهاي للتعاون``, the SCO, over ``شنغهاي``; but ``الكويت`` stays inside ``دولة الكويت``);
a span it does not know, holding one known name of its own type, stays the model's and is linked by that
name (``حميد كرزاي`` by ``كرزاي``, ``الرئيس بوتين`` by ``بوتين``: the model decides where a name begins), but
gives way to two or more; an organisation's span gives way to no name of another type inside it
(``جامعة نزارباييف`` stays the university); any other span the knowledge base does not know gives way. A
model span that gave way only to names of other types keeps its remaining pieces with its label: the
model's person ``بيلاروسيا ألكسندر لوكاشينكو`` becomes the place ``بيلاروسيا`` and the person ``ألكسندر
لوكاشينكو``. Every mention records where it came from: ``model``, ``gazetteer`` or ``metadata`` (the places
of the dateline and the credited agency the metadata rules found, :func:`metadata_spans`).

**Drop rules** (the annotation rules of the field, ``seeds/dev/README.md``): a model span that is only a
nisba adjective (``الروسي``, ``الصينية``: "الرئيس الصيني" does not name China), only a currency
(``الدولار``, ``اليوان الصيني``) or only a generic noun (``الحكومة``, ``المدينة``) is not an entity. A name
the knowledge base looks for is never dropped; a place's name is no nisba (``مالي``); a name it only links
may be one (``العمانية``, the Oman News Agency's, is "Omani" in ``العاصمة العمانية``).
"""

from __future__ import annotations

import re
from bisect import bisect_right
from dataclasses import dataclass, replace
from functools import lru_cache
from typing import Any, Iterable, Mapping, NamedTuple

from transforms.entities import (AliasTable, ENTITY_TYPES, _ARTICLE, _LETTER_VARIANTS, _remainders, entity_key,
                                 resolve, skeleton_index)
from transforms.normalize import fold, normalize_key, word_starts

SOURCES = ("model", "gazetteer", "metadata")

_TOKEN = re.compile(r"[^\W_]+(?:['’ʼ`][^\W_]+)*")
_APOSTROPHES = re.compile("['’ʼ`]")
# Between two tokens of one name: spaces, a hyphen or a dash, nothing else (no comma, no line break).
_JOINER = re.compile(r"^[ \t\u00a0\-‐‑‒–—]*$")
_BRACKETS = {"(": ")", "[": "]", "«": "»", "﴿": "﴾"}
_KNOWN_METHODS = ("alias", "spacing", "clitic")
_PATRONYMIC = re.compile(r"(?:^|\s)(?:بن|ابن|بنت|إبن)\s*$")
# In brackets, untrusted names of organisations from the curated table and the agencies registry only:
# "(واس)" credits the Saudi Press Agency, "(الخميس)" is a weekday whatever town bears the name.
BRACKETED_MAX_RANK = 1.0


@dataclass(frozen=True, order=True)
class Span:
    start: int
    end: int
    label: str
    source: str = "model"
    hint: str | None = None  # a known name inside a span the knowledge base does not know, to link it by


class _Tokens(NamedTuple):  # one text's word tokens as three lists: an article has thousands of words
    starts: list[int]  # offsets into the text the tokens were taken from
    ends: list[int]
    keys: list[str]


# ------------------------------------------------------------------ tokens and the name index


@lru_cache(maxsize=8)  # one article's body is read by several passes in a row (names, credit, sport words)
def _tokens(text: str) -> _Tokens:
    """Word tokens with the letters :func:`transforms.entities.entity_key` gives them, and their offsets."""
    folded = fold(text)
    lowered = folded.text.lower()
    if len(lowered) != len(folded.text):  # a letter whose lower case is longer (İ): keep the case
        lowered = folded.text
    lowered = lowered.translate(_LETTER_VARIANTS)
    words = _TOKEN.findall(lowered)
    starts = word_starts(lowered, words)  # the characters the pattern skips cannot be part of a word
    ends = [start + len(word) for start, word in zip(starts, words)]
    keys = [_APOSTROPHES.sub("", w) for w in words] if _APOSTROPHES.search(lowered) else words
    origin = folded.origin  # Folded.original_span, inlined: tokens are never empty
    if origin != range(len(text)):  # folding moved characters: offsets back into the text
        starts = [origin[start] for start in starts]
        ends = [origin[end - 1] + 1 for end in ends]
    return _Tokens(starts, ends, keys)


def _key_tokens(key: str) -> tuple[str, ...]:
    return tuple(_APOSTROPHES.sub("", t) for t in _TOKEN.findall(key))


# A scan index: first token → [(token count, {the other tokens: [(kind, key)]})], longest names first, and for one
# length the kinds in KINDS order. ``trusted`` names are looked for everywhere; ``bracketed``: the organisations'
# names that are not trusted, only inside brackets; ``placed``: the places' names that are common words too
# (مسقط, العين), only after a word that says a place follows.
KINDS = ("trusted", "bracketed", "placed")
ScanIndex = dict[str, list[tuple[int, dict[tuple[str, ...], list[tuple[str, str]]]]]]


def _scan_index(entries: Iterable[tuple[str, str]]) -> ScanIndex:
    """The scan index of (kind, key) entries (see ``ScanIndex``)."""
    by_first: dict[str, dict[int, dict[tuple[str, ...], list[tuple[str, str]]]]] = {}
    for kind, key in sorted(entries, key=lambda entry: KINDS.index(entry[0])):  # stable: keys keep their order
        tokens = _key_tokens(key)
        if tokens:
            by_first.setdefault(tokens[0], {}).setdefault(len(tokens), {}).setdefault(tokens[1:], []).append(
                (kind, key))
    return {first: sorted(by_count.items(), key=lambda item: -item[0]) for first, by_count in by_first.items()}


def _name_index(table: AliasTable) -> ScanIndex:
    """The scan index of every name the knowledge base looks for, built once per table."""
    index = table.derived.get("name_index")
    if index is not None:
        return index
    entries = []
    for key, claims in table.aliases.items():
        if any(c.trusted for c in claims):
            entries.append(("trusted", key))
        elif any(c.type == "ORG" and c.rank <= BRACKETED_MAX_RANK for c in claims):
            entries.append(("bracketed", key))
        elif key in table.ambiguous and any(c.type == "LOC" for c in claims):
            entries.append(("placed", key))
    index = table.derived["name_index"] = _scan_index(entries)
    return index


def build_indexes(table: AliasTable) -> None:
    """Build now the indexes runs ask of the table (the names the gazetteer looks for, the transliteration
    skeletons), so that a copy of the table kept between processes holds them too."""
    _name_index(table)
    skeleton_index(table)


@lru_cache(maxsize=65_536)  # asked for every word of every article: the same few thousand words
def _first_token_forms(token: str) -> tuple[str, ...]:
    """The token, then without a glued conjunction and/or preposition (ل + ال written لل restored)."""
    return (token, *_remainders(token))


def _joined(text: str, tokens: _Tokens, first: int, count: int) -> bool:
    starts, ends = tokens.starts, tokens.ends
    return all(_JOINER.match(text[ends[i]:starts[i + 1]]) for i in range(first, first + count - 1))


# Words that say a place's name follows: بالعاصمة العُمانية مسقط, في مدينة الخبر, محافظة البصرة.
PLACE_WORDS = frozenset(entity_key(w) for w in (
    "العاصمة", "عاصمة", "مدينة", "المدينة", "بلدة", "البلدة", "قرية", "القرية", "محافظة", "ولاية", "مقاطعة",
    "إقليم", "إمارة", "جزيرة", "ميناء"))


def _after_place_word(text: str, tokens: _Tokens, position: int, adjectives: Mapping[str, str]) -> bool:
    """Whether the token before (a nisba adjective between them allowed) is a place word."""
    before = position - 1
    if before >= 0 and _word_forms(tokens.keys[before]) & adjectives.keys():
        before -= 1
    return before >= 0 and bool(set(_first_token_forms(tokens.keys[before])) & PLACE_WORDS) and _joined(
        text, tokens, before, position - before + 1)


def _bracketed(text: str, start: int, end: int) -> bool:
    before, after = text[:start].rstrip(), text[end:].lstrip()
    return bool(before) and bool(after) and _BRACKETS.get(before[-1]) == after[0]


def gazetteer_spans(text: str, table: AliasTable, offset: int = 0) -> list[tuple[int, int, str]]:
    """(start, end, key) of the known names found in ``text``, longest match first, not overlapping.

    Offsets are into ``text`` plus ``offset``; a span includes the conjunction or preposition glued to its
    first token.
    """
    return _scan(text, _name_index(table), offset, table.adjectives)


def _scan(text: str, index: ScanIndex, offset: int = 0,
          adjectives: Mapping[str, str] | None = None) -> list[tuple[int, int, str]]:
    tokens = _tokens(text)
    keys = tokens.keys
    adjectives = adjectives or {}
    # The index's entries for each distinct word of the text, in _first_token_forms order: most words begin no
    # name, and are looked up once, not at each of their places.
    entries_of = {}
    for key in set(keys):
        entries = [index[form] for form in _first_token_forms(key) if form in index]
        if entries:
            entries_of[key] = entries
    found, after = [], 0  # after: the first position a name may begin at (names do not overlap)
    for position, key in enumerate(keys):
        if position < after or key not in entries_of:
            continue
        best = None
        for by_count in entries_of[key]:
            for count, by_rest in by_count:
                if best is not None and count <= best[0]:
                    break
                if position + count > len(keys):
                    continue
                candidates = by_rest.get(tuple(keys[position + 1:position + count]))
                if not candidates or not _joined(text, tokens, position, count):
                    continue
                span = (tokens.starts[position], tokens.ends[position + count - 1])
                for kind, name in candidates:
                    if kind == "bracketed" and not _bracketed(text, *span):
                        continue
                    if kind == "placed" and not _after_place_word(text, tokens, position, adjectives):
                        continue
                    best = (count, span, name)
                    break
        if best is not None:
            count, (s, e), name = best
            found.append((offset + s, offset + e, name))
            after = position + count
    return found


def _names_of(table: AliasTable, entity_id: str) -> ScanIndex:
    """A scan index of every name of one entity (trusted or not)."""
    by_entity = table.derived.get("names_by_entity")
    if by_entity is None:
        by_entity = {}
        for key, claims in table.aliases.items():
            for claim in claims:
                by_entity.setdefault(claim.entity_id, []).append(key)
        table.derived["names_by_entity"] = by_entity
    return _scan_index(("trusted", key) for key in by_entity.get(entity_id, ()))


def credit_span(text: str, agency: str | None, agency_source: str, body_start: int, body_end: int,
                table: AliasTable) -> Span | None:
    """Where the text credits the article's agency (the metadata's ``agency``), as an ORG span.

    The press's credit is part of what the article names (the annotation rules count datelines and credit
    lines), wherever it stands: in the dateline (the body's first line: the first mention there), in a
    credit line or a closing marker (the last mention in the text, furniture included), in the lead (the
    first in the body). None when the agency came from elsewhere (HTML metadata, the registry's default).
    """
    entity_id = table.agencies.get(agency or "")
    if entity_id is None or agency_source not in ("dateline", "credit", "lead"):
        return None
    if agency_source == "dateline":
        line_end = text.find("\n", body_start)
        region = (body_start, body_end if line_end < 0 else min(line_end, body_end))
    elif agency_source == "lead":
        region = (body_start, body_end)
    else:
        region = (0, len(text))
    found = _scan(text[region[0]:region[1]], _names_of(table, entity_id), region[0])
    if not found:
        return None
    start, end, _ = found[-1] if agency_source == "credit" else found[0]
    return Span(start, end, table.entities[entity_id].type, "metadata")


# ------------------------------------------------------------------ drop rules


def _word_forms(word: str) -> set[str]:
    """A word as written, without a glued conjunction or preposition, and without the article too."""
    forms = set(_first_token_forms(word))
    return forms | {f[len(_ARTICLE):] for f in forms if f.startswith(_ARTICLE) and len(f) > len(_ARTICLE) + 1}


def not_an_entity(surface: str, table: AliasTable) -> str | None:
    """Why a model span is not an entity by the annotation rules (``nisba``, ``currency``, ``common noun``).

    A name the knowledge base trusts is never dropped; one it holds but does not look for may be a common
    word here: ``العُمانية`` credits the Oman News Agency in ``مسقط ـ العُمانية:``, and is "Omani" in
    ``العاصمة العُمانية`` (the credit itself comes from the metadata)."""
    key = entity_key(surface)
    claims = table.aliases.get(key, ())
    if not key or any(c.trusted for c in claims):
        return None
    words = key.split(" ")
    first = _word_forms(words[0])
    adjectives = table.adjectives
    if len(words) == 1 and first & table.not_names.get("common", frozenset()):
        return "common noun"  # المدينة is Medina's name too, but "the city" far more often
    if any(c.type == "LOC" for c in claims):
        return None  # a place's name (مالي) is no nisba
    if len(words) == 1 and first & adjectives.keys():
        return "nisba"
    if first & table.not_names.get("currency", frozenset()) and all(_word_forms(w) & adjectives.keys()
                                                                       for w in words[1:]):
        return "currency"
    return None


# ------------------------------------------------------------------ merge


def _known(surface: str, label: str, table: AliasTable) -> bool:
    return label in ENTITY_TYPES and resolve(surface, label, table).method in _KNOWN_METHODS


def _overlaps(a: Span, b: Span) -> bool:
    return a.start < b.end and b.start < a.end


def _leftovers(text: str, span: Span, inner: list[Span], table: AliasTable) -> list[Span]:
    """The pieces of a model span outside the known names found in it, trimmed, with the model's label."""
    pieces, at = [], span.start
    for known in sorted(inner) + [Span(span.end, span.end, span.label)]:
        piece = text[at:known.start]
        stripped = piece.strip(" \t\n-‐‑‒–—،,:؛")
        if sum(ch.isalpha() for ch in stripped) >= 2:
            start = at + piece.index(stripped)
            leftover = Span(start, start + len(stripped), span.label)
            if not_an_entity(text[leftover.start:leftover.end], table) is None:
                pieces.append(leftover)
        at = max(at, known.end)
    return pieces


def merged_spans(text: str, model: Iterable[Span], table: AliasTable, *, body: str | None = None,
                 body_start: int = 0, gazetteer: bool = True) -> list[Span]:
    """The model's spans (minus what the drop rules take out) and, with ``gazetteer``, the known names it
    missed in ``body`` (``text[body_start:...]`` with furniture blanked; the whole text if None), merged by
    the rule in the module docstring; sorted by start. Offsets index ``text``."""
    kept = [s for s in model if not_an_entity(text[s.start:s.end], table) is None]
    if not gazetteer:
        return sorted(kept)
    scanned = text if body is None else body
    found, entity_of = [], {}
    for s, e, key in gazetteer_spans(scanned, table, offset=0 if body is None else body_start):
        resolution = resolve(text[s:e], "LOC", table)  # the entity's own type (LOC is only the hint)
        span = Span(s, e, resolution.type, "gazetteer")
        found.append(span)
        entity_of[span] = resolution.entity_id
    for m in kept:
        resolution = resolve(text[m.start:m.end], m.label, table) if m.label in ENTITY_TYPES else None
        entity_of[m] = resolution.entity_id if resolution and resolution.method in _KNOWN_METHODS else None

    def inside(g: Span, m: Span) -> bool:
        return m.start <= g.start and g.end <= m.end

    def same_type_inside(m: Span) -> list[Span]:
        return [g for g in found if inside(g, m) and g.label == m.label]

    def gives_way(m: Span, g: Span) -> bool:
        """Whether model span ``m`` yields to the known name ``g`` that overlaps it."""
        if entity_of[m] is not None:  # known: only to a longer name of another entity that covers it
            return inside(m, g) and (g.end - g.start) > (m.end - m.start) and entity_of[g] != entity_of[m]
        if inside(g, m) and g.label == m.label:  # one known name inside: the model's span stays, linked by it
            return len(same_type_inside(m)) > 1
        # An organisation named after a person or a place (جامعة نزارباييف) stays what the model saw, but a
        # place that ends it after "in" (جامعة دوفين بباريس, ... في باريس) is where it is, not its name.
        return not (m.label in ("ORG", "MISC") and inside(g, m)) or _located_at_end(text, m, g)

    accepted = [g for g in found if all(gives_way(m, g) for m in kept if _overlaps(m, g))]
    result = list(accepted)
    for m in kept:
        inner = [g for g in accepted if _overlaps(m, g)]
        if not inner:
            result.append(m)
        elif entity_of[m] is None and all(g.label != m.label for g in inner):
            # "بيلاروسيا ألكسندر لوكاشينكو" (PER): the place is split off, the rest stays the model's person
            # (the known name itself where the rest is exactly one)
            known_at = {(g.start, g.end): g for g in found}
            result += [known_at.get((p.start, p.end), p) for p in _leftovers(text, m, inner, table)]
    return sorted(_hinted(text, span, found, entity_of) for span in result)


def _located_at_end(text: str, span: Span, place: Span) -> bool:
    """Whether ``place`` ends ``span`` as "in <place>": glued ب (بباريس) or a separate في before it."""
    if place.label != "LOC" or place.end != span.end or place.start == span.start:
        return False
    before = text[span.start:place.start].split()
    return text[place.start] == "ب" or (bool(before) and entity_key(before[-1]) in ("في", "بمدينة"))


def _hinted(text: str, span: Span, found: list[Span], entity_of: dict) -> Span:
    """A span the knowledge base does not know, with the one known name of its type inside it as its hint:
    ``حميد كرزاي`` is linked by ``كرزاي``, ``الرئيس بوتين`` by ``بوتين``; never a name after ``بن``: in
    ``سعود بن نايف بن عبد العزيز`` the known ``نايف بن عبد العزيز`` is the father."""
    if span.source != "model" or entity_of.get(span) is not None:
        return span
    inner = [g for g in found if span.start <= g.start and g.end <= span.end and g.label == span.label
             and not _PATRONYMIC.search(text[span.start:g.start])]
    return replace(span, hint=text[inner[0].start:inner[0].end]) if len(inner) == 1 else span


# Words of football reporting; a story with several of them and a national team (منتخب) is about teams.
_SPORT_WORDS = frozenset(entity_key(w) for w in (
    "مباراة", "المباراة", "مباريات", "هدف", "أهداف", "الشوط", "المرمى", "لاعب", "اللاعب", "لاعبين", "اللاعبين",
    "المدرب", "كأس", "بطولة", "البطولة", "الدوري", "قرعة", "القرعة", "المجموعة", "تأهل", "التأهل", "المونديال",
    "ركلة", "الملعب", "النهائي", "ربع", "ثمن", "الفريق", "فريق"))
_TEAM_WORDS = frozenset(entity_key(w) for w in ("منتخب", "المنتخب", "منتخبات", "المنتخبات", "منتخبي"))
MIN_SPORT_WORDS = 4


def is_team_sport_story(text: str) -> bool:
    """Whether a story reports on national teams: a national team named and at least :data:`MIN_SPORT_WORDS`
    distinct words of football reporting (then ``المغرب`` and ``مصر`` are teams, not countries)."""
    words = set()
    for key in set(_tokens(text).keys):
        words.update(_first_token_forms(key))
    return bool(words & _TEAM_WORDS) and len(words & _SPORT_WORDS) >= MIN_SPORT_WORDS


def dateline_spans(text: str, dateline_city: str | None, body_start: int, table: AliasTable) -> list[Span]:
    """The dateline's places (``بكين/أستانا``) where the body's first line names them, as LOC spans."""
    if not dateline_city:
        return []
    line_end = text.find("\n", body_start)
    line = text[body_start:len(text) if line_end < 0 else line_end]
    spans = []
    for city in dateline_city.split("/"):
        at = line.find(city.strip()) if city.strip() else -1
        if at >= 0:
            start = body_start + at
            spans.append(Span(start, start + len(city.strip()), "LOC", "metadata"))
    return spans


def metadata_spans(text: str, meta, table: AliasTable) -> list[Span]:
    """What the metadata rules found the article names: the dateline's places and the credited agency."""
    credit = credit_span(text, meta.agency, meta.agency_source, meta.body_start, meta.body_end, table)
    return dateline_spans(text, meta.dateline_city, meta.body_start, table) + ([credit] if credit else [])


def dateline_places(text: str, dateline_city: str | None, body_start: int, spans: Iterable[Span]) -> set[Span]:
    """The place spans of the dateline: in the body's first line, naming one of its cities (``بكين/أستانا``)."""
    if not dateline_city:
        return set()
    line_end = text.find("\n", body_start)
    line_end = len(text) if line_end < 0 else line_end
    cities = {entity_key(city) for city in dateline_city.split("/")}
    return {s for s in spans if s.label == "LOC" and body_start <= s.start and s.end <= line_end
            and (entity_key(text[s.start:s.end]) in cities
                 or any(form in cities for form in _first_token_forms(entity_key(text[s.start:s.end]))))}


def mention_rows(article_id: str, text: str, spans: Iterable[Span], sentence_starts: list[int],
                 dateline: set[Span] = frozenset(), sport: bool = False) -> list[dict[str, Any]]:
    """The mention rows of one article's final spans, numbered in text order; a ``dateline`` place carries
    ``dateline=True``, a span its ``hint``, every row whether the story is about national teams (``sport``):
    for linking, not stored."""
    rows = []
    for index, span in enumerate(sorted(spans)):
        surface = text[span.start:span.end]
        rows.append({
            "article_id": article_id,
            "mention_index": index,
            "sentence_index": max(bisect_right(sentence_starts, span.start) - 1, 0),
            "start_char": span.start,
            "end_char": span.end,
            "surface": surface,
            "label": span.label,
            "norm_key": normalize_key(surface),
            "source": span.source,
            "dateline": span in dateline,
            "hint": span.hint,
            "sport": sport,
        })
    return rows
