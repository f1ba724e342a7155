"""Entity resolution: NER mentions → stable entity ids, through a reference alias table.

The Arabic press spells the same name many ways (كازاخستان / قازاقستان / Kazakhstan,
شي جين بينغ / شي جين بينج / Xi Jinping) and glues proclitics to it (وكازاخستان,
بالصين, وTokayev). Counting mentions per entity only works if all of these land on
one id, and if names the table does not know still get an id that is the same on
every run and machine. This module does that, in four steps per mention:

1. **alias** - the normalized key is a known alias (``seeds/entity_aliases.csv``);
2. **clitic** - a safe proclitic (و ف ب ل ك ال and combinations) is stripped, but
   only when what remains is a known alias, or when the span itself shows the
   clitic (an Arabic letter glued to a Latin name, or a clitic written with
   tatweel such as ``لـ``). A known full key is never stripped: بكين is Beijing;
3. **fuzzy** - a close spelling of a known alias of a compatible type and the same
   script; merged only above :data:`AUTO_MERGE`, and every such merge carries
   its score. Between :data:`REVIEW` and :data:`AUTO_MERGE` nothing is merged:
   the mention gets its own entity and a :class:`ReviewItem` for a human;
4. **new** - otherwise a local entity id derived from the key and the NER label.

Everything here is pure: rows in, data out; no file or network access.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from dataclasses import dataclass, field
from datetime import date
from typing import Iterable, Mapping

from rapidfuzz import fuzz, process

from transforms.normalize import drop_invisibles, normalize_key, strip_tashkeel
from transforms.script import ARABIC_LETTER

ENTITY_TYPES = ("PER", "LOC", "ORG", "MISC")

COLUMNS = (
    "entity_id",
    "type",
    "name_ar",
    "name_en",
    "wikidata_qid",
    "qid_source",
    "aliases",
    "valid_from",
    "valid_to",
    "note",
)
# Where a QID comes from (a URL that shows it, or "unverified ..."): documentation for the curator,
# not needed to link, so rows built in code may leave it out.
OPTIONAL_COLUMNS = ("qid_source",)
ALIAS_SEPARATOR = "|"

# Fuzzy thresholds on rapidfuzz.fuzz.ratio (0-100) between normalized keys.
# One inserted/dropped letter in a 7+ letter key scores >= 92.3 (كازخستان ~ كازاخستان
# 94.1, Tokaev ~ Tokayev 92.3); one substituted letter needs 13+ letters to reach 92,
# because a different letter in a short name is as likely another person as a variant.
AUTO_MERGE = 92.0
# 85-92: plausible variant, not safe (شي جين بينج ~ شي جين بينغ 90.9 if it were not in
# the table, Li Qiang ~ Li Keqiang 88.9, which are two people): reviewed, never merged.
REVIEW = 85.0
# Keys shorter than this (letters only) are never fuzzy-matched: "لي" vs "شي" is one
# letter apart and two different men; short names must be in the table verbatim.
MIN_FUZZY_LETTERS = 5

# The NER model tags countries and cities as ORG about as often as LOC, and
# initiatives as ORG or MISC; persons are never confused with places in practice.
# Fuzzy candidates are restricted to these types; exact alias hits are not.
COMPATIBLE_TYPES: dict[str, tuple[str, ...]] = {
    "PER": ("PER",),
    "LOC": ("LOC", "ORG"),
    "ORG": ("ORG", "LOC", "MISC"),
    "MISC": ("MISC", "ORG"),
}

_ENTITY_ID = re.compile(r"^[a-z0-9][a-z0-9_]*$")  # no ':' so it never looks like a local id
_QID = re.compile(r"^Q[1-9][0-9]*$")

_TATWEEL = "\u0640"
_QUOTES_AND_PUNCT = (
    "\"'`«»“”„‟‘’‚‛‹›ʼ"  # quotes
    "()[]{}<>﴾﴿"  # brackets
    "-‐‑‒–—―" + _TATWEEL +  # dashes and tatweel
    ".,،;؛:!?؟/\\*•·…"  # punctuation
)
_EDGES = re.compile(f"^[\\s{re.escape(_QUOTES_AND_PUNCT)}]+|[\\s{re.escape(_QUOTES_AND_PUNCT)}]+$")
_APOSTROPHES = re.compile("['`‘’ʼ]")
# Persian-keyboard and loan letters that Arabic writers use for the same sound:
# keheh and Farsi yeh (text pasted from Persian sources), veh for v, peh for p.
_LETTER_VARIANTS = str.maketrans({"ک": "ك", "ی": "ي", "ڤ": "ف", "پ": "ب"})
_INNER_HYPHEN = re.compile(r"(?<=\w)[-‐‑‒–—]+(?=\w)")
_SPACES = re.compile(r"\s+")

_LATIN_LETTER = re.compile("[a-z]")

# Proclitics: an optional conjunction, an optional preposition, an optional article.
_CONJUNCTIONS = ("", "و", "ف")
_PREPOSITIONS = ("", "ب", "ل", "ك")
_ARTICLE = "ال"
_MIN_REMAINDER = 2  # never strip down to a single letter
# A clitic glued to a Latin name: "وTokayev", "بالـSCO" after normalization "بالsco".
_CLITIC_BEFORE_LATIN = re.compile("^([وف]?[بلك]?(?:ال)?)(?=[a-z0-9])")
# A clitic written with tatweel ("لـكازاخستان", "بـ Astana"): visibly a separate morpheme.
_CLITIC_WITH_TATWEEL = re.compile(f"^\\s*([وف]?[بلك]?(?:ال)?){_TATWEEL}+\\s*")
# A first token that is nothing but clitic letters ("و Tokayev", "لـ كازاخستان").
_LONE_CLITIC_TOKEN = re.compile("^[وف]?[بلك]?$")


# --------------------------------------------------------------------------- model


def _within(valid_from: date | None, valid_to: date | None, day: date) -> bool:
    """``valid_from <= day < valid_to``; an empty bound is open."""
    return (valid_from is None or valid_from <= day) and (valid_to is None or day < valid_to)


@dataclass(frozen=True)
class Entity:
    entity_id: str
    type: str
    name_ar: str
    name_en: str | None
    wikidata_qid: str | None


@dataclass(frozen=True)
class AliasClaim:
    """One alias as claimed by one CSV row; dated claims hold only for their period."""

    entity_id: str
    type: str
    valid_from: date | None
    valid_to: date | None  # exclusive: the first day the name no longer applies
    row: int

    def covers(self, day: date) -> bool:
        return _within(self.valid_from, self.valid_to, day)


@dataclass(frozen=True)
class NamePeriod:
    """A time-bound name of an entity (a dated CSV row), used by :func:`name_on`."""

    valid_from: date | None
    valid_to: date | None
    name_ar: str
    name_en: str | None

    def covers(self, day: date) -> bool:
        return _within(self.valid_from, self.valid_to, day)


@dataclass(frozen=True, eq=False)
class AliasTable:
    """The validated alias table with the indexes :func:`resolve` needs.

    ``aliases`` maps an :func:`entity_key` to every claim on it, in file order.
    ``fuzzy_keys`` holds, per (script, NER label), the keys of entities of a
    compatible type with a parallel tuple of their entity ids, ready for
    ``rapidfuzz.process.extractOne``. ``cache`` memoizes :func:`resolve`.
    Compared and hashed by identity: two loads of the same CSV are two tables.
    """

    entities: dict[str, Entity]
    aliases: dict[str, tuple[AliasClaim, ...]]
    periods: dict[str, tuple[NamePeriod, ...]]
    fuzzy_keys: dict[tuple[str, str], tuple[tuple[str, ...], tuple[str, ...]]]
    cache: dict[tuple[str, str, date | None], "Resolution"] = field(default_factory=dict, repr=False)


@dataclass(frozen=True)
class ReviewItem:
    """A near match that was deliberately not merged; a human decides."""

    surface: str
    key: str
    label: str
    candidate_id: str
    candidate_name: str
    score: float
    reason: str


@dataclass(frozen=True)
class Resolution:
    entity_id: str
    type: str  # the table's type when matched, else the NER label
    key: str  # the key it was resolved by (after any clitic stripping)
    method: str  # "alias" | "clitic" | "fuzzy" | "new"
    score: float  # 100 for alias/clitic/new, the rapidfuzz score for fuzzy
    review: ReviewItem | None = None


# --------------------------------------------------------------------------- keys


def entity_key(surface: str) -> str:
    """The matching key of a name: what two spellings must share to be one alias.

    :func:`normalize_key` (NFKC, no tashkeel/tatweel/invisibles, one alef, one
    yeh, ASCII digits, case-folded) plus what NER spans and CSV cells add:
    surrounding quotes, brackets and punctuation go (``((شينخوا))``, ``«SCO»``),
    apostrophes go (``Xi'an`` = ``Xian``, ``People’s`` = ``Peoples``), a hyphen or
    dash between two letters becomes a space (``Kassym-Jomart`` = ``kassym jomart``,
    ``نور-سلطان`` = ``نور سلطان``), Persian-keyboard and loan letters fold to
    their Arabic counterparts (ک ی ڤ پ → ك ي ف ب: توكاييڤ = توكاييف), and
    whitespace runs collapse.
    """
    text = normalize_key(surface).translate(_LETTER_VARIANTS)
    text = _APOSTROPHES.sub("", text)
    text = _INNER_HYPHEN.sub(" ", text)
    previous = None
    while previous != text:  # edges may nest: «(SCO)».
        previous = text
        text = _EDGES.sub("", text)
    return _SPACES.sub(" ", text).strip()


def local_entity_id(key: str, type_: str) -> str:
    """A stable id for a name the table does not know.

    ``"<type lower-case>:" + sha1(type + U+001F + key)[:12]`` over UTF-8, e.g.
    ``per:1a2b3c4d5e6f``. It depends only on the key and the type, so it is the same
    on every run and machine, and it does not change when the table grows (a name
    later added to the table gets its table id instead; the local id simply stops
    being produced). The type is part of it because the same string tagged PER
    and LOC is two different unknowns. 48 bits: a collision among a million
    unknown names has probability ~2e-3 per type; CSV ids never contain ':'.
    """
    if type_ not in ENTITY_TYPES:
        raise ValueError(f"unknown entity type {type_!r}; expected one of {ENTITY_TYPES}")
    digest = hashlib.sha1((type_ + "\x1f" + key).encode("utf-8")).hexdigest()
    return f"{type_.lower()}:{digest[:12]}"


def script_of(key: str) -> str:
    """'ar', 'latin' or 'mixed': fuzzy scores across scripts mean nothing."""
    arabic = bool(ARABIC_LETTER.search(key))
    latin = bool(_LATIN_LETTER.search(key))
    if arabic and not latin:
        return "ar"
    if latin and not arabic:
        return "latin"
    return "mixed"


def _letters(key: str) -> int:
    return sum(1 for ch in key if ch.isalpha())


# --------------------------------------------------------------------------- table


def _parse_date(value: str, column: str, where: str) -> date | None:
    value = (value or "").strip()
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise ValueError(f"{where}: {column} {value!r} is not an ISO date (YYYY-MM-DD)") from None


def _where(line: int, row: Mapping[str, str]) -> str:
    entity_id = (row.get("entity_id") or "").strip()
    return f"row {line} ({entity_id or 'no entity_id'})"


def _overlap(a: AliasClaim, b: AliasClaim) -> bool:
    """Whether two validity periods share a day (open ends are unbounded)."""
    a_start, b_start = a.valid_from or date.min, b.valid_from or date.min
    a_end, b_end = a.valid_to or date.max, b.valid_to or date.max
    return a_start < b_end and b_start < a_end


def _same_claim(a: AliasClaim, b: AliasClaim) -> bool:
    """The same entity naming the same key for the same period (a repeated alias)."""
    return (a.entity_id, a.valid_from, a.valid_to) == (b.entity_id, b.valid_from, b.valid_to)


def _row_aliases(row: Mapping[str, str]) -> list[str]:
    """The row's aliases plus its own names: a name is always an alias of itself."""
    names = [row.get("name_ar") or "", row.get("name_en") or ""]
    names += (row.get("aliases") or "").split(ALIAS_SEPARATOR)
    return [n.strip() for n in names if n and n.strip()]


def alias_table(rows: Iterable[Mapping[str, str]]) -> AliasTable:
    """Validate the rows of ``entity_aliases.csv`` and build the lookup indexes.

    Rows as from ``csv.DictReader``; the error names the CSV line (the header is
    line 1). An entity has exactly one undated *base* row (its names and QID);
    further rows with the same id and type and ``valid_from``/``valid_to`` add
    time-bound names (``valid_to`` exclusive). Raises ``ValueError`` for a
    missing column, an unknown type, a malformed id, QID or date, a reversed
    period, two base rows that disagree, a dated row whose type or QID disagrees
    with the base row, an entity with no base row, and an alias claimed by two
    entities of the same type for overlapping periods (undated = always).
    """
    base: dict[str, tuple[Entity, int]] = {}
    dated: dict[str, list[tuple[NamePeriod, str, str | None, int]]] = {}
    claims: dict[str, list[AliasClaim]] = {}

    for line, row in enumerate(rows, start=2):
        where = _where(line, row)
        missing = [c for c in COLUMNS if c not in row and c not in OPTIONAL_COLUMNS]
        if missing:
            raise ValueError(f"{where}: missing column(s) {', '.join(missing)}")
        entity_id = (row["entity_id"] or "").strip()
        type_ = (row["type"] or "").strip()
        name_ar = (row["name_ar"] or "").strip()
        name_en = (row["name_en"] or "").strip() or None
        qid = (row["wikidata_qid"] or "").strip() or None
        if not _ENTITY_ID.match(entity_id):
            raise ValueError(f"{where}: entity_id {entity_id!r} must match {_ENTITY_ID.pattern}")
        if type_ not in ENTITY_TYPES:
            raise ValueError(f"{where}: unknown type {type_!r}; expected one of {ENTITY_TYPES}")
        if not name_ar:
            raise ValueError(f"{where}: name_ar is empty")
        if qid is not None and not _QID.match(qid):
            raise ValueError(f"{where}: wikidata_qid {qid!r} is not a Wikidata item id (Q123)")
        valid_from = _parse_date(row["valid_from"], "valid_from", where)
        valid_to = _parse_date(row["valid_to"], "valid_to", where)
        if valid_from and valid_to and valid_from >= valid_to:
            raise ValueError(f"{where}: valid_from {valid_from} is not before valid_to {valid_to}")

        if valid_from is None and valid_to is None:
            entity = Entity(entity_id, type_, name_ar, name_en, qid)
            if entity_id in base and base[entity_id][0] != entity:
                raise ValueError(
                    f"{where}: entity {entity_id} already defined differently on row {base[entity_id][1]}"
                )
            base.setdefault(entity_id, (entity, line))
        else:
            dated.setdefault(entity_id, []).append(
                (NamePeriod(valid_from, valid_to, name_ar, name_en), type_, qid, line)
            )

        for alias in _row_aliases(row):
            key = entity_key(alias)
            if not key:
                raise ValueError(f"{where}: alias {alias!r} is empty once normalized")
            claim = AliasClaim(entity_id, type_, valid_from, valid_to, line)
            existing = claims.setdefault(key, [])
            for other in existing:
                if other.entity_id != entity_id and other.type == type_ and _overlap(other, claim):
                    raise ValueError(
                        f"{where}: alias {alias!r} (key {key!r}) is already claimed by "
                        f"{other.entity_id} ({other.type}) on row {other.row}; give one of "
                        "them validity dates or remove the alias"
                    )
            if not any(_same_claim(c, claim) for c in existing):
                existing.append(claim)

    for entity_id, periods in dated.items():
        if entity_id not in base:
            line = periods[0][3]
            raise ValueError(f"row {line} ({entity_id}): dated row without an undated base row")
        entity = base[entity_id][0]
        for _, type_, qid, line in periods:
            if type_ != entity.type:
                raise ValueError(f"row {line} ({entity_id}): type {type_} differs from base row {entity.type}")
            if qid is not None and qid != entity.wikidata_qid:
                raise ValueError(f"row {line} ({entity_id}): wikidata_qid {qid} differs from base row")

    entities = {entity_id: entity for entity_id, (entity, _) in base.items()}
    return AliasTable(
        entities=entities,
        aliases={key: tuple(found) for key, found in claims.items()},
        periods={eid: tuple(p for p, *_ in found) for eid, found in dated.items()},
        fuzzy_keys=_fuzzy_index(claims),
    )


def _fuzzy_index(
    claims: Mapping[str, list[AliasClaim]],
) -> dict[tuple[str, str], tuple[tuple[str, ...], tuple[str, ...]]]:
    """Per (script, NER label): the alias keys fuzzy search may return, and their entities.

    A key claimed by several entities of compatible types is left out: a fuzzy
    hit on it could not say which entity was meant.
    """
    index: dict[tuple[str, str], tuple[tuple[str, ...], tuple[str, ...]]] = {}
    for label, compatible in COMPATIBLE_TYPES.items():
        by_script: dict[str, tuple[list[str], list[str]]] = {}
        for key, found in claims.items():
            script = script_of(key)
            if script == "mixed" or _letters(key) < MIN_FUZZY_LETTERS:
                continue
            ids = {c.entity_id for c in found if c.type in compatible}
            if len(ids) != 1:
                continue
            keys, entity_ids = by_script.setdefault(script, ([], []))
            keys.append(key)
            entity_ids.append(ids.pop())
        for script, (keys, entity_ids) in by_script.items():
            index[(script, label)] = (tuple(keys), tuple(entity_ids))
    return index


# --------------------------------------------------------------------------- names


def name_on(table: AliasTable, entity_id: str, day: date | None) -> str:
    """The Arabic name of an entity as it was on ``day``.

    Astana was نور سلطان from 2019 to 2022: a time-bound row covering the day
    wins, otherwise (or without a day) the base row's ``name_ar``. Resolution
    does not depend on it: نور سلطان in a 2024 text still means the same city.
    ``KeyError`` for an id not in the table (local ids have no reference name).
    """
    entity = table.entities[entity_id]
    if day is not None:
        for period in table.periods.get(entity_id, ()):
            if period.covers(day):
                return period.name_ar
    return entity.name_ar


# --------------------------------------------------------------------------- resolve


def _pick(claims: tuple[AliasClaim, ...], label: str, day: date | None) -> str:
    """The entity a known key means for this NER label (and day, if known).

    The label's own type first, then the compatible types in order, then any:
    the NER label is only a hint, so الصين tagged ORG is still China. Within one
    type, several entities can share a name only for disjoint periods; the one
    whose period covers ``day`` wins, else the most recent, else the first in
    the file.
    """
    for type_ in (label, *COMPATIBLE_TYPES[label], *ENTITY_TYPES):
        group = [claim for claim in claims if claim.type == type_]
        if group:
            best = max(
                group,
                key=lambda c: (
                    day is not None and c.covers(day),
                    c.valid_from or date.min,
                ),
            )
            return best.entity_id
    raise AssertionError("an alias key always has a claim")


def _remainders(token: str) -> list[str]:
    """What a first token could be without its proclitics, least stripped first.

    و/ف + ب/ل/ك + ال in that order, each optional; ل + ال is written لل with the
    alef dropped (للصين = ل + الصين), so that case restores the article.
    """
    found: list[str] = []
    for conj in _CONJUNCTIONS:
        for prep in _PREPOSITIONS:
            prefix = conj + prep
            if not prefix or not token.startswith(prefix):
                continue
            rest = token[len(prefix):]
            options = [rest]
            if rest.startswith(_ARTICLE):
                options.append(rest[len(_ARTICLE):])
            if prep == "ل" and rest.startswith("ل"):  # لل = ل + (ا)ل
                options.append(_ARTICLE + rest[1:])
            found += [o for o in options if _letters(o) >= _MIN_REMAINDER]
    if token.startswith(_ARTICLE) and _letters(token) - 2 >= _MIN_REMAINDER:
        found.append(token[len(_ARTICLE):])
    unique = list(dict.fromkeys(found))
    return sorted(unique, key=len, reverse=True)


def _known_without_clitic(key: str, table: AliasTable) -> str | None:
    """The key with proclitics stripped from its first word, if that is a known alias."""
    first, _, rest = key.partition(" ")
    for remainder in _remainders(first):
        candidate = f"{remainder} {rest}" if rest else remainder
        if candidate in table.aliases:
            return candidate
    return None


def _demonstrable_clitic(surface: str, key: str) -> str | None:
    """The key without a proclitic the span itself shows, or None.

    Shown means: Arabic clitic letters glued to a Latin name (``وTokayev``), a
    clitic written with tatweel (``لـكازاخستان``, ``بـ Astana``), or a first
    token made only of clitic letters (``و Tokayev``). In those cases the
    clitic is certainly not part of the name, known or not.
    """
    glued = _CLITIC_BEFORE_LATIN.match(key)
    if glued and glued.group(1):
        return key[glued.end():]
    raw = strip_tashkeel(drop_invisibles(unicodedata.normalize("NFKC", surface)))
    raw = _EDGES.sub("", raw)
    tatweel = _CLITIC_WITH_TATWEEL.match(raw)
    if tatweel and tatweel.group(1):
        stripped = entity_key(raw[tatweel.end():])
        # a decorative tatweel inside a short name (لـي) is not a clitic
        return stripped if _letters(stripped) >= _MIN_REMAINDER else None
    first, _, rest = key.partition(" ")
    if rest and _LONE_CLITIC_TOKEN.match(first):
        return rest
    return None


def _fuzzy(key: str, surface: str, label: str, table: AliasTable) -> Resolution | None:
    """A near spelling of a known alias: merged above AUTO_MERGE, reviewed above REVIEW.

    Whole keys only (``fuzz.ratio``), same script, compatible types, at least
    MIN_FUZZY_LETTERS letters. Multi-word names are not matched token by token:
    a shared surname (تشانغ, لي, وانغ) would merge different people, so partial
    names must be listed in the table as aliases. A key that merely extends or
    truncates a known alias (كازاخستانية, نزارباييفا) is a derived word or another
    person more often than a spelling, so it is reviewed, never merged.
    """
    script = script_of(key)
    if script == "mixed" or _letters(key) < MIN_FUZZY_LETTERS:
        return None
    keys, entity_ids = table.fuzzy_keys.get((script, label), ((), ()))
    if not keys:
        return None
    best = process.extractOne(key, keys, scorer=fuzz.ratio, score_cutoff=REVIEW)
    if best is None:
        return None
    candidate_key, score, position = best
    entity = table.entities[entity_ids[position]]
    score = round(float(score), 1)
    affix = key.startswith(candidate_key) or candidate_key.startswith(key)
    if score >= AUTO_MERGE and not affix:
        return Resolution(entity.entity_id, entity.type, key, "fuzzy", score)
    reason = (
        f"{key!r} extends or truncates known alias {candidate_key!r}"
        if affix
        else f"fuzzy {score} to {candidate_key!r} is below auto-merge {AUTO_MERGE}"
    )
    review = ReviewItem(surface, key, label, entity.entity_id, entity.name_ar, score, reason)
    return Resolution(local_entity_id(key, label), label, key, "new", 100.0, review)


def _resolve(surface: str, label: str, table: AliasTable, day: date | None) -> Resolution:
    key = entity_key(surface)
    if not key:
        raise ValueError(f"mention {surface!r} has no name in it once normalized")

    if key in table.aliases:  # a known full key is never stripped: بكين is Beijing
        entity_id = _pick(table.aliases[key], label, day)
        return Resolution(entity_id, table.entities[entity_id].type, key, "alias", 100.0)

    shown = _demonstrable_clitic(surface, key)
    stripped = shown if shown else _known_without_clitic(key, table)
    if stripped is not None and stripped in table.aliases:
        entity_id = _pick(table.aliases[stripped], label, day)
        return Resolution(entity_id, table.entities[entity_id].type, stripped, "clitic", 100.0)
    if shown:
        key = shown  # unknown, but the clitic is certainly not part of the name

    near = _fuzzy(key, surface, label, table)
    if near is not None:
        return near
    return Resolution(local_entity_id(key, label), label, key, "new", 100.0)


def resolve(surface: str, label: str, table: AliasTable, *, day: date | None = None) -> Resolution:
    """The entity an NER mention refers to (see the module docstring for the rules).

    ``label`` is the NER type (PER, LOC, ORG, MISC); a ``ValueError`` for
    anything else, or for a span with no name in it. ``day`` (the article's
    date) matters only for a name the table gives to two entities of one type
    in different periods; a time-bound name of one entity (نور سلطان) resolves
    at any date. Results are memoized on the table per (surface, label, day): a
    corpus repeats the same few hundred spellings, so 10,000 mentions cost a
    few hundred real resolutions.
    """
    if label not in ENTITY_TYPES:
        raise ValueError(f"unknown NER label {label!r}; expected one of {ENTITY_TYPES}")
    cached = table.cache.get((surface, label, day))
    if cached is None:
        cached = table.cache[(surface, label, day)] = _resolve(surface, label, table, day)
    return cached
