"""Entity resolution: a mention → a stable entity id, through the knowledge base (``transforms/kb.py``).

The Arabic press spells the same name many ways (كازاخستان / قازاقستان / Kazakhstan,
شي جين بينغ / شي جين بينج / Xi Jinping) and glues proclitics to it (وكازاخستان,
بالصين, وTokayev). Counting mentions per entity only works if all of these land on
one id, and if names the knowledge base does not know still get an id that is the
same on every run and machine. This module does that, in these steps per mention:

1. **alias** - the normalized key is a known name; when several entities claim it,
   the NER label, the article's day and country and the sources' ranks decide
   (:func:`_pick`); **spacing** - it is one once spaces are dropped (بان كيمون);
2. **clitic** - a safe proclitic (و ف ب ل ك and combinations, لل) is stripped, but
   only when what remains is a known name, or when the span itself shows the
   clitic (an Arabic letter glued to a Latin name, or a clitic written with
   tatweel such as ``لـ``). A known full key is never stripped: بكين is Beijing;
3. **fuzzy** - a close spelling of a known name of a compatible type and the same
   script; merged only above :data:`AUTO_MERGE`, and every such merge carries
   its score. Between :data:`REVIEW` and :data:`AUTO_MERGE` nothing is merged:
   the mention gets its own entity and a :class:`ReviewItem` for a human;
   **translit** - the same consonant skeleton as one known name (Tokayev, توكاييف);
4. **new** - otherwise a local entity id derived from the key and the NER label,
   stripped of a proclitic where the corpus shows the bare name (``seen``).

``transforms/linking.py`` adds what needs the whole article (context, partial, translit among unknowns).
Everything here is pure: rows in, data out; no file or network access.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from dataclasses import dataclass, field, fields
from datetime import date
from functools import lru_cache
from typing import Iterable, Mapping

from rapidfuzz import fuzz, process

from transforms import translit
from transforms.normalize import drop_invisibles, normalize_key, strip_tashkeel
from transforms.script import ARABIC_LETTER

ENTITY_TYPES = ("PER", "LOC", "ORG", "MISC")
# How a mention found its entity: a known alias, the same once spaces are dropped, once a proclitic is
# stripped, by transliteration from Latin script, by a close spelling, by the article's country (a bare
# ``وزارة الخارجية``), by the one known name inside a longer span (``الرئيس بوتين``); or a new local entity.
LINK_METHODS = ("alias", "spacing", "clitic", "translit", "fuzzy", "context", "partial", "new")

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

# Claim ranks (lower wins among claims of one type on one key; transforms/kb.py ranks the other sources).
CURATED_RANK = 0.0
# Fuzzy matching considers only claims ranked at most this: everything but cities of under a million people.
FUZZY_MAX_RANK = 4.4
# A mention tagged with an incompatible type links only to claims ranked at most this (not to cities).
CROSS_TYPE_MAX_RANK = 3.0
# A curated name is looked for in running text only from this many letters (single words and short
# phrases alike: شي آن, Xi'an, folds to the letters of "شي إن", "Xi said that").
MIN_TRUSTED_LETTERS = 5

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
_INNER_HYPHEN = re.compile(r"(?<=\w)\s*[-‐‑‒–—]+\s*(?=\w)")  # بان كي - مون, Kassym-Jomart
_SPACES = re.compile(r"\s+")

_LATIN_LETTER = re.compile("[a-z]")
_LATIN_WITH_MARKS = re.compile("[\u00c0-\u024f\u1e00-\u1eff]")

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


def _pickled_as_arguments(cls):
    """A frozen slotted dataclass pickled as the arguments of its constructor. Dataclasses' own pickling looks
    the fields up again for every object: reading a cached knowledge base (about 74,000 of these) took about
    twice as long."""
    names = tuple(f.name for f in fields(cls))
    cls.__reduce__ = lambda self: (cls, tuple(getattr(self, name) for name in names))
    return cls


@_pickled_as_arguments
@dataclass(frozen=True, slots=True)  # tens of thousands in a knowledge base
class Entity:
    entity_id: str
    type: str
    name_ar: str
    name_en: str | None
    wikidata_qid: str | None
    source: str = "curated"  # where the entity comes from: one of transforms.kb.SOURCES
    geonames_id: int | None = None
    country_code: str | None = None  # ISO 3166-1 alpha-2: a country's own, a city's country
    kind: str | None = None  # places: continent | region | country | city
    population: int = 0
    capital: bool = False
    latitude: float | None = None
    longitude: float | None = None


@_pickled_as_arguments
@dataclass(frozen=True, slots=True)
class AliasClaim:
    """One alias as claimed by one entity; dated claims hold only for their period.

    ``rank`` orders the claims of one type on one key when nothing else decides (lower wins: the curated
    table, then the agencies, then countries and regions, imports, capitals, cities by population);
    ``trusted`` says the name may be looked for in running text, not only used to link what the model tagged.
    """

    entity_id: str
    type: str
    valid_from: date | None
    valid_to: date | None  # exclusive: the first day the name no longer applies
    row: int
    rank: float = 0.0
    trusted: bool = True

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
    """The validated knowledge base with the indexes :func:`resolve` needs.

    ``aliases`` maps an :func:`entity_key` to every claim on it, best first.
    ``compact`` maps a key without its spaces (:func:`compact_key`) to the keys
    that have it, so that ``بان كيمون`` finds ``بان كي مون``.
    ``fuzzy_keys`` holds, per (script, NER label), the keys of entities of a
    compatible type with a parallel tuple of their entity ids, ready for
    ``rapidfuzz.process.extractOne``. ``cache`` memoizes :func:`resolve` and its
    nearest-alias search (bounded, :data:`MAX_CACHED_RESOLUTIONS`);
    ``derived`` holds indexes other modules build from the table once
    (the gazetteer pass's name index, the transliteration index).
    Compared and hashed by identity: two loads of the same CSV are two tables.
    """

    entities: dict[str, Entity]
    aliases: dict[str, tuple[AliasClaim, ...]]
    periods: dict[str, tuple[NamePeriod, ...]]
    fuzzy_keys: dict[tuple[str, str], tuple[tuple[str, ...], tuple[str, ...]]]
    compact: dict[str, tuple[str, ...]] = field(default_factory=dict)
    # Words that are not names (transforms/kb_mentions.py's drop rules): nisba adjectives → their country,
    # and named sets of other words ("currency", "common").
    adjectives: dict[str, str] = field(default_factory=dict)
    not_names: dict[str, frozenset[str]] = field(default_factory=dict)
    # The agencies registry's names → their entities (the article's credited agency is one of these);
    # the countries' generic bodies: (body, ISO code) → entity, and their bare names → the body.
    agencies: dict[str, str] = field(default_factory=dict)
    bodies: dict[tuple[str, str], str] = field(default_factory=dict)
    generic: dict[str, str] = field(default_factory=dict)
    ambiguous: set[str] = field(default_factory=set)  # names that are common words too (seeds/ambiguous_names.csv)
    cache: dict[tuple, object] = field(default_factory=dict, repr=False)
    derived: dict[str, object] = field(default_factory=dict, repr=False)


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
    method: str  # one of LINK_METHODS
    score: float  # 100 for alias/spacing/clitic/translit/new, the rapidfuzz score for fuzzy
    review: ReviewItem | None = None
    ambiguous: bool = False  # the key names several entities: the article's context may decide


# --------------------------------------------------------------------------- keys


@lru_cache(maxsize=1 << 16)  # an article's names come back many times, and the same names article after article
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
    if _LATIN_WITH_MARKS.search(text):  # Erdoğan = Erdogan, Arīsh = Arish
        text = "".join(ch for ch in unicodedata.normalize("NFD", text) if not unicodedata.combining(ch))
        text = unicodedata.normalize("NFC", text)
    text = _APOSTROPHES.sub("", text)
    text = _INNER_HYPHEN.sub(" ", text)
    previous = None
    while previous != text:  # edges may nest: «(SCO)».
        previous = text
        text = _EDGES.sub("", text)
    return _SPACES.sub(" ", text).strip()


def compact_key(key: str) -> str:
    """A key without its spaces: ``بان كي مون`` and ``بان كيمون``, ``عبد الله`` and ``عبدالله`` are one name.

    Arabic spacing inside names is unstable (compound names, Chinese and Korean syllables, ``أبو ظبي``);
    two different names that differ only by their spaces are not known to occur.
    """
    return key.replace(" ", "")


def local_entity_id(key: str, type_: str) -> str:
    """A stable id for a name the table does not know.

    ``"<type lower-case>:" + sha1(type + U+001F + compact key)[:12]`` over UTF-8, e.g.
    ``per:1a2b3c4d5e6f``, where the compact key is the key without its spaces
    (:func:`compact_key`), so spacing variants of an unknown name are one entity.
    It depends only on the key and the type, so it is the same
    on every run and machine, and it does not change when the table grows (a name
    later added to the table gets its table id instead; the local id simply stops
    being produced). The type is part of it because the same string tagged PER
    and LOC is two different unknowns. 48 bits: a collision among a million
    unknown names has probability ~2e-3 per type; CSV ids never contain ':'.
    """
    if type_ not in ENTITY_TYPES:
        raise ValueError(f"unknown entity type {type_!r}; expected one of {ENTITY_TYPES}")
    digest = hashlib.sha1((type_ + "\x1f" + compact_key(key)).encode("utf-8")).hexdigest()
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
            claim = AliasClaim(entity_id, type_, valid_from, valid_to, line, CURATED_RANK, trusted_alias(alias, key))
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
    periods = {eid: tuple(p for p, *_ in found) for eid, found in dated.items()}
    return table_of(entities, claims, periods)


def table_of(entities: dict[str, Entity], claims: Mapping[str, Iterable[AliasClaim]],
             periods: dict[str, tuple[NamePeriod, ...]]) -> AliasTable:
    """The table and its indexes, from validated entities and claims (each key's claims best first)."""
    aliases = {key: tuple(sorted(found, key=lambda c: c.rank)) for key, found in claims.items()}
    compact: dict[str, list[str]] = {}
    for key in aliases:
        if " " in key:
            compact.setdefault(compact_key(key), []).append(key)
    return AliasTable(
        entities=entities,
        aliases=aliases,
        periods=periods,
        fuzzy_keys=_fuzzy_index(aliases),
        compact={joined: tuple(keys) for joined, keys in compact.items()},
    )


def trusted_alias(alias: str, key: str) -> bool:
    """Whether a curated alias may be looked for in running text, not only used to link the model's spans.

    A name of several words, a Latin-script name (rare in Arabic text, so seldom anything else), or a single
    Arabic word of at least :data:`MIN_TRUSTED_LETTERS` letters: a shorter one (شي, the bare surname of Xi
    Jinping, is also "thing") is left to the model, and so is a short phrase (شي آن).
    """
    if script_of(key) == "latin":
        return _letters(key) >= 2 and any(ch.isupper() for ch in alias)
    return _letters(key) >= MIN_TRUSTED_LETTERS


def _fuzzy_index(
    claims: Mapping[str, Iterable[AliasClaim]],
) -> dict[tuple[str, str], tuple[tuple[str, ...], tuple[str, ...]]]:
    """Per (script, NER label): the alias keys fuzzy search may return, and their entities.

    A key claimed by several entities of compatible types is left out: a fuzzy
    hit on it could not say which entity was meant. So are the names of small
    places (rank above :data:`FUZZY_MAX_RANK`): among ten thousand towns, a
    near spelling of one is more often another word than that town.
    """
    lists: dict[tuple[str, str], tuple[list[str], list[str]]] = {}
    for key, found in claims.items():
        ranked = [c for c in found if c.rank <= FUZZY_MAX_RANK]
        if not ranked or _letters(key) < MIN_FUZZY_LETTERS:
            continue
        script = script_of(key)
        if script == "mixed":
            continue
        for label, compatible in COMPATIBLE_TYPES.items():
            ids = {c.entity_id for c in ranked if c.type in compatible}
            if len(ids) == 1:
                keys, entity_ids = lists.setdefault((script, label), ([], []))
                keys.append(key)
                entity_ids.append(ids.pop())
    index = {where: (tuple(keys), tuple(ids)) for where, (keys, ids) in lists.items()}
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


def _pick(table: AliasTable, claims: tuple[AliasClaim, ...], label: str, day: date | None,
          context: frozenset[str] = frozenset(), dateline: bool = False) -> str | None:
    """The entity a known key means for this NER label (and day and article, if known).

    The label's own type first, then the compatible types in order, then any:
    the NER label is only a hint, so الصين tagged ORG is still China. Within one
    type: the claim whose period covers ``day``; then the curated table's
    (several of its entities share a name only for disjoint periods: the most
    recent wins); then, in a dateline, a city (الجزائر opening a story is
    Algiers); then a place in one of the article's countries (``context``:
    عمان in a story that names Jordan is Amman, else Oman); then the best rank
    (a country before a region, a capital, a city; a bigger city first).
    """
    def order(claim: AliasClaim):
        entity = table.entities[claim.entity_id]
        return (
            not (day is not None and claim.covers(day)),
            claim.rank != CURATED_RANK,
            not (dateline and entity.kind == "city"),
            not (entity.kind == "city" and entity.country_code in context)
            and not (entity.kind == "country" and entity.country_code in context),
            claim.rank,
            -(claim.valid_from or date.min).toordinal(),
        )

    for type_ in (label, *COMPATIBLE_TYPES[label]):
        group = [claim for claim in claims if claim.type == type_]
        if group:
            return min(group, key=order).entity_id
    # Another type only for the sources an error of the model's label is plausible for: ليو tagged PER is
    # not the town of Léo, but الصين tagged PER is still China.
    group = [claim for claim in claims if claim.rank <= CROSS_TYPE_MAX_RANK]
    return min(group, key=lambda c: (ENTITY_TYPES.index(c.type), *order(c))).entity_id if group else None


def _ambiguous(claims: tuple[AliasClaim, ...]) -> bool:
    """Whether the key names several entities (then the article's context can decide)."""
    return len({claim.entity_id for claim in claims}) > 1


def _remainders(token: str) -> list[str]:
    """What a first token could be without its proclitics, least stripped first.

    و/ف + ب/ل/ك in that order, each optional; ل + ال is written لل with the
    alef dropped (للصين = ل + الصين), so that case restores the article. The
    article itself stays: a name that takes it lists it (الصين), and one that
    does not is another word with it (القطر is not قطر, البحري not بحري).
    """
    found: list[str] = []
    for conj in _CONJUNCTIONS:
        for prep in _PREPOSITIONS:
            prefix = conj + prep
            if not prefix or not token.startswith(prefix):
                continue
            rest = token[len(prefix):]
            options = [rest]
            if prep == "ل" and rest.startswith("ل"):  # لل = ل + (ا)ل
                options.append(_ARTICLE + rest[1:])
            found += [o for o in options if _letters(o) >= _MIN_REMAINDER]
    unique = list(dict.fromkeys(found))
    return sorted(unique, key=len, reverse=True)


def _known_without_clitic(key: str, table: AliasTable) -> str | None:
    """The key with proclitics stripped from its first word, if that is a known alias (spacing aside)."""
    first, _, rest = key.partition(" ")
    for remainder in _remainders(first):
        candidate = f"{remainder} {rest}" if rest else remainder
        known = _known_key(candidate, table)
        if known is not None:
            return known
    return None


def _known_key(key: str, table: AliasTable) -> str | None:
    """The table's key for ``key``: itself, or the key it equals once spaces are dropped (:func:`compact_key`).

    Only the names of entities ranked at most :data:`FUZZY_MAX_RANK` count: a town of 30,000 people is
    linked by its exact name only (``له``, Leh, is not what ``الله`` is once its article goes).
    """
    def ranked(candidate: str) -> bool:
        return any(c.rank <= FUZZY_MAX_RANK for c in table.aliases.get(candidate, ()))

    if ranked(key):
        return key
    joined = compact_key(key)
    if ranked(joined):
        return joined
    spaced = [k for k in table.compact.get(joined, ()) if ranked(k)]
    return spaced[0] if len(spaced) == 1 else None


def _without_proclitic(key: str, seen: frozenset[str] | set[str]) -> str | None:
    """The key without the conjunction or preposition glued to it, when the corpus shows the bare name.

    ``وطاجيكستان`` and ``طاجيكستان`` are one name only if ``طاجيكستان`` occurs on its own somewhere: the
    letters و ف ب ل ك also begin names (وهران, فرنسا, بكين, لبنان, كوبا).
    """
    first, _, rest = key.partition(" ")
    for remainder in _remainders(first):
        candidate = f"{remainder} {rest}" if rest else remainder
        if candidate in seen:
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
    best = _nearest_alias(key, label, table)
    if best is None:
        return None
    candidate_key, score, entity_id = best
    entity = table.entities[entity_id]
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


def _nearest_alias(key: str, label: str, table: AliasTable) -> tuple[str, float, str] | None:
    """(alias key, score, entity id) of the closest fuzzy-ranked alias at or above REVIEW, or None; memoized per
    table: the search is over every alias of the script and type, and resolve's own memo misses the same key
    met on another day or beside other countries."""
    return _memoized(table, ("nearest alias", key, label), lambda: _search_nearest_alias(key, label, table))


def _search_nearest_alias(key: str, label: str, table: AliasTable) -> tuple[str, float, str] | None:
    script = script_of(key)
    keys, entity_ids = table.fuzzy_keys.get((script, label), ((), ()))
    if script == "mixed" or _letters(key) < MIN_FUZZY_LETTERS or not keys:
        return None
    best = process.extractOne(key, keys, scorer=fuzz.ratio, score_cutoff=REVIEW)
    return None if best is None else (best[0], round(float(best[1]), 1), entity_ids[best[2]])


_NOT_FOUND = object()


def _memoized(table: AliasTable, memo: tuple, compute):
    """``compute()``, memoized on the table under ``memo`` (None answers too)."""
    cached = table.cache.get(memo, _NOT_FOUND)
    if cached is _NOT_FOUND:
        if len(table.cache) >= MAX_CACHED_RESOLUTIONS:
            table.cache.clear()
        cached = table.cache[memo] = compute()
    return cached


def _translit(key: str, label: str, table: AliasTable) -> Resolution | None:
    """A transliterated name spelled another way: one entity of a compatible type with the same consonant
    skeleton. A Latin-script name against the table's Arabic names (``Tokayev``, ``توكاييف``); an Arabic one
    against the others, from :data:`translit.MIN_ARABIC_CLASSES` sound classes (``هورغوس``, ``خورغوس``: Arabic
    writes a foreign h as خ or ه, a g as غ, ج or ق)."""
    script = script_of(key)
    if script == "latin":
        if translit.latin_letters(key) < translit.MIN_LATIN_LETTERS:
            return None
        skeletons = {s for s in translit.latin_skeletons(key) if translit.plausible(s)}
    elif script == "ar" and label in ("PER", "LOC"):  # foreign names of people and places, not bodies
        skeleton = translit.arabic_skeleton(key)
        if len(skeleton) < translit.MIN_ARABIC_CLASSES:
            return None
        skeletons = {skeleton}
    else:
        return None
    index = skeleton_index(table)
    found = {entity_id for skeleton in skeletons
             for entity_id in index.get(skeleton, ()) if table.entities[entity_id].type in COMPATIBLE_TYPES[label]
             and (script == "latin" or table.entities[entity_id].type == label)}
    if len(found) != 1:
        return None
    entity = table.entities[found.pop()]
    return Resolution(entity.entity_id, entity.type, key, "translit", 100.0)


def skeleton_index(table: AliasTable) -> dict[str, tuple[str, ...]]:
    """Consonant skeleton → the entities with an Arabic alias of that skeleton (fuzzy-ranked claims only); built
    once per table."""
    index = table.derived.get("skeletons")
    if index is None:
        index = table.derived["skeletons"] = _skeleton_index(table)
    return index


def _skeleton_index(table: AliasTable) -> dict[str, tuple[str, ...]]:
    index: dict[str, set[str]] = {}
    for key, claims in table.aliases.items():
        if script_of(key) != "ar":
            continue
        skeleton = translit.arabic_skeleton(key)
        if translit.plausible(skeleton):
            index.setdefault(skeleton, set()).update(c.entity_id for c in claims if c.rank <= FUZZY_MAX_RANK)
    return {skeleton: tuple(sorted(ids)) for skeleton, ids in index.items() if ids}


def _resolve(surface: str, label: str, table: AliasTable, day: date | None, context: frozenset[str],
             dateline: bool) -> Resolution:
    key = entity_key(surface)
    if not key:
        raise ValueError(f"mention {surface!r} has no name in it once normalized")

    # A known full key is never stripped (بكين is Beijing); then spacing variants; then proclitics.
    shown = _demonstrable_clitic(surface, key)
    for method, candidate in (("alias", key if key in table.aliases else None),
                              ("spacing", _known_key(key, table)),
                              ("clitic", _known_key(shown, table) if shown else _known_without_clitic(key, table))):
        if candidate is None:
            continue
        claims = table.aliases[candidate]
        entity_id = _pick(table, claims, label, day, context, dateline)
        if entity_id is not None:
            return Resolution(entity_id, table.entities[entity_id].type, candidate, method, 100.0,
                              ambiguous=_ambiguous(claims))
    if shown:
        key = shown  # unknown, but the clitic is certainly not part of the name

    # A close spelling in the same script first (merged or sent to review), then the same name in Arabic.
    found = _fuzzy(key, surface, label, table) or _translit(key, label, table)
    return found or Resolution(local_entity_id(key, label), label, key, "new", 100.0)


def generic_body(surface: str, table: AliasTable) -> str | None:
    """The body a bare generic name means (``وزارة الخارجية``, ``لمجلس النواب`` → the foreign ministry, the
    lower house), whoever's it is; None for any other name."""
    key = entity_key(surface)
    if key in table.generic:
        return table.generic[key]
    first, _, rest = key.partition(" ")
    for remainder in _remainders(first):
        candidate = f"{remainder} {rest}" if rest else remainder
        if candidate in table.generic:
            return table.generic[candidate]
    return None


# A long-lived process (akhbar serve) links mentions run after run: the memo is bounded.
MAX_CACHED_RESOLUTIONS = 500_000


def resolve(surface: str, label: str, table: AliasTable, *, day: date | None = None,
            context: frozenset[str] = frozenset(), seen: frozenset[str] | set[str] = frozenset(),
            dateline: bool = False) -> Resolution:
    """The entity an NER mention refers to (see the module docstring for the rules).

    ``label`` is the NER type (PER, LOC, ORG, MISC); a ``ValueError`` for
    anything else, or for a span with no name in it. ``day`` (the article's
    date) matters only for a name the table gives to two entities of one type
    in different periods; a time-bound name of one entity (نور سلطان) resolves
    at any date. ``context`` (the ISO codes of the countries the article names)
    decides between places that share a name; ``dateline`` says the mention
    opens the story as its dateline (a city, then). ``seen`` holds the keys of the
    names the corpus shows: an unknown name whose bare form (without و ف ب ل ك)
    is among them is that name. Results are memoized on the table per
    (surface, label, day, context, dateline): a corpus repeats the same few hundred
    spellings, so 10,000 mentions cost a few hundred real resolutions.
    """
    if label not in ENTITY_TYPES:
        raise ValueError(f"unknown NER label {label!r}; expected one of {ENTITY_TYPES}")
    cached = _memoized(table, (surface, label, day, context, dateline),
                       lambda: _resolve(surface, label, table, day, context, dateline))
    if cached.method == "new" and seen:
        bare = _without_proclitic(cached.key, seen)
        if bare is not None:
            return Resolution(local_entity_id(bare, label), label, bare, "clitic", 100.0, cached.review)
    return cached
