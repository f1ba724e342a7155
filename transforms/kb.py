"""The knowledge base: every source of entities merged into one :class:`~transforms.entities.AliasTable`.

Sources, best first (a key several entities claim goes to the best, unless the article's context says
otherwise; see :func:`transforms.entities.resolve`):

1. **curated** - ``seeds/entity_aliases.csv``: the people, organisations and places of the field, with
   the spellings the press uses, checked by a person (validated strictly: a conflict is an error);
2. **agencies** - ``seeds/agencies.csv``, the registry the metadata rules credit articles with: each wire
   and outlet is an organisation (one fact, written once);
   **bodies** - every country's foreign ministry, parliament, cabinet, national team... (``seeds/bodies.csv``);
3. **countries and regions** - GeoNames' countries and CLDR's regions (``transforms/places.py``), with
   the press's own names and Wikipedia titles of ``seeds/countries.csv`` and the names of
   ``seeds/places.csv``;
4. **wikidata** - entities a user imported (``akhbar kb import``);
5. **cities** - GeoNames' cities of 15,000 people or more, capitals first, then by population.

An entity of a later source that is already known (same QID, same GeoNames id, or the same English name as
an entity of the same type) is merged into it: its names become aliases of the known entity, which keeps its
id and gains the place's GeoNames id, country and coordinates. Pure: rows and records in, a table out.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, replace
from functools import lru_cache
from typing import Iterable, Mapping

from transforms.entities import (ALIAS_SEPARATOR, CURATED_RANK, FUZZY_MAX_RANK, AliasClaim, AliasTable, Entity,
                                 alias_table, entity_key, script_of, table_of, trusted_alias)
from transforms.metadata import without_agency_word
from transforms.places import Place, arabic_place_name
from transforms.translit import arabic_skeleton

SOURCES = ("curated", "agencies", "bodies", "geonames", "cldr", "wikidata", "places")

AGENCY_RANK = 1.0
BODY_RANK = 1.5
COUNTRY_RANK = 2.0
REGION_RANK = 2.5
IMPORT_RANK = 3.0
CAPITAL_RANK = 3.5
# Cities: 4.0 for the biggest, towards 5.0 for the smallest (a city of 10 million ranks 4.3, of 1 million 4.4).
CITY_RANK = 5.0

_SLUG = re.compile(r"[^a-z0-9]+")
_ARTICLE_PREFIX = "ال"
# Tens of thousands of names, many given by two sources: each normalized once.
_key = lru_cache(maxsize=1 << 17)(entity_key)


@dataclass(frozen=True)
class Record:
    """One entity of a source, with every name it is known by."""

    entity: Entity
    names: tuple[str, ...]  # every alias, any script
    trusted: frozenset[str]  # the names a pass over running text may look for
    rank: float
    adjectives: tuple[str, ...] = ()  # a country's nisba adjectives, every form (صيني, صينية, صينيون, ...)
    merge_by_names: bool = False  # also one with a known entity of its type that has any of its names
    registry_agency: str | None = None  # the agencies registry's name for it (the metadata's ``agency``)
    body: tuple[str, str] | None = None  # (body, ISO country code) of a country's generic body


def slug(text: str) -> str:
    return _SLUG.sub("_", text.casefold()).strip("_") or "x"


def _listed(value: str | None) -> list[str]:
    return [part.strip() for part in (value or "").split(ALIAS_SEPARATOR) if part.strip()]


# ------------------------------------------------------------------ sources → records


def agency_records(rows: Iterable[Mapping[str, str]]) -> list[Record]:
    """Each row of the agencies registry as an organisation.

    Its Arabic and Latin names are aliases; a single Arabic word among them (وطنية, العمانية, معا: also
    common words) and the Arabic abbreviations (واس, قنا, أ ش أ) link what the model tags, and are looked
    for in running text only inside brackets (``(واس)``), where the press credits them.
    """
    records = []
    for row in rows:
        agency = (row.get("agency") or "").strip()
        if not agency:
            continue
        name_en = (row.get("name_en") or "").strip() or agency
        names_ar = _listed(row.get("names_ar"))
        names_ar += [n for n in map(without_agency_word, names_ar) if n not in names_ar]  # أنباء البحرين
        latin = _listed(row.get("names_latin"))
        names = tuple(dict.fromkeys(names_ar + _listed(row.get("abbreviations_ar")) + latin + [agency, name_en]))
        trusted = frozenset(n for n in names_ar if " " in _key(n)) | frozenset(
            n for n in latin + [name_en] if trusted_alias(n, _key(n)))
        entity = Entity(f"agency_{slug(agency)}", "ORG", names_ar[0] if names_ar else agency, name_en, None,
                        source="agencies", country_code=(row.get("country") or "").strip() or None)
        records.append(Record(entity, names, trusted, AGENCY_RANK, registry_agency=agency))
    return records


# A nisba adjective's other forms: feminine, masculine and feminine plurals, dual.
NISBA_ENDINGS = ("", "ة", "ون", "ين", "ات", "ان")


def nisba_forms(adjectives: Iterable[str]) -> tuple[str, ...]:
    """Every form of masculine singular nisba adjectives (``صيني`` → ``صينية``, ``صينيون``, ``صينيين``...)."""
    return tuple(dict.fromkeys(a + ending for a in adjectives for ending in NISBA_ENDINGS))


def place_records(places: Iterable[Place], countries: Iterable[Mapping[str, str]] = (),
                  extra_names: Iterable[Mapping[str, str]] = ()) -> list[Record]:
    """Places as records, most important first; ``countries`` rows (iso2, name_en, other_names_en, names_ar,
    nisba_ar, capital_ar) give a country its Wikipedia title, its other English names, the press's names and
    its nisba adjectives, and its capital the press's names, ``extra_names`` rows (name_ar, name_en) add names to the place
    with that English name (a country, region or capital before other cities; a place of its own if none)."""
    by_code = {(row.get("iso2") or "").strip().upper(): row for row in countries}
    records: list[Record] = []
    latin_index: dict[str, int] = {}
    for place in places:
        names_ar, trusted_ar = list(place.names_ar), list(place.trusted_ar)
        name_en, latin = place.name_en, list(place.names_latin)
        country = by_code.get(place.country_code or "") if place.kind == "country" else None
        if country is not None:
            press = [n for n in map(arabic_place_name, _listed(country.get("names_ar"))) if n]
            names_ar = list(dict.fromkeys(press + names_ar))
            trusted_ar = list(dict.fromkeys(press + trusted_ar))
            name_en = (country.get("name_en") or "").strip() or name_en
            latin = list(dict.fromkeys([name_en] + latin + _listed(country.get("other_names_en"))))
        source = "cldr" if place.entity_id.startswith("cldr_") else "geonames"
        entity = Entity(place.entity_id, "LOC", names_ar[0] if names_ar else "", name_en, None, source=source,
                        geonames_id=place.geonames_id, country_code=place.country_code, kind=place.kind,
                        population=place.population, capital=place.capital, latitude=place.latitude,
                        longitude=place.longitude)
        rank = _place_rank(place)
        # Latin names of small towns (Mobile, Reading, Split) are English words too: only bigger places'.
        trusted_latin = latin if rank <= FUZZY_MAX_RANK else []
        adjectives = nisba_forms(_listed(country.get("nisba_ar"))) if country is not None else ()
        records.append(Record(entity, tuple(dict.fromkeys(names_ar + latin)),
                              frozenset(trusted_ar) | frozenset(trusted_latin), rank, adjectives))
        for name in latin:
            latin_index.setdefault(_key(name), len(records) - 1)
    capital_at = {r.entity.country_code: i for i, r in enumerate(records) if r.entity.capital}
    for code, country in by_code.items():  # the press's names of each capital, looked for in running text
        at = capital_at.get(code)
        names = [n for n in map(arabic_place_name, _listed(country.get("capital_ar"))) if n]
        # Spellings of one city only (أستانا, أستانة); a second capital (كيب تاون beside بريتوريا) is another city.
        names = [n for n in names if arabic_skeleton(n) == arabic_skeleton(names[0])]
        if at is not None and names:
            record = records[at]
            records[at] = replace(record, names=tuple(dict.fromkeys(record.names + tuple(names))),
                                  trusted=record.trusted | set(names))
    for row in extra_names:
        name_ar, name_en = (row.get("name_ar") or "").strip(), (row.get("name_en") or "").strip()
        if not name_ar or not name_en:
            continue
        at = latin_index.get(_key(name_en))
        if at is None:
            entity = Entity(f"place_{slug(name_en)}", "LOC", name_ar, name_en, None, source="places")
            records.append(Record(entity, (name_ar, name_en), frozenset({name_ar, name_en}), COUNTRY_RANK))
            latin_index[_key(name_en)] = len(records) - 1
            continue
        record = records[at]
        entity = record.entity if record.entity.name_ar else replace(record.entity, name_ar=name_ar)
        records[at] = replace(record, entity=entity, names=tuple(dict.fromkeys(record.names + (name_ar,))),
                              trusted=record.trusted | {name_ar})
    # A place with no Arabic name at all would only ever be linked by its Latin name: left out.
    return sorted((r for r in records if r.entity.name_ar), key=lambda r: r.rank)


def _place_rank(place: Place) -> float:
    if place.kind == "country":
        return COUNTRY_RANK
    if place.kind in ("continent", "region"):
        return REGION_RANK
    if place.capital:
        return CAPITAL_RANK
    return CITY_RANK - math.log10(max(place.population, 10)) / 10


# Generic nouns the model sometimes tags alone (الحكومة, "the government"): a body or place of no name.
COMMON_NOUNS = frozenset({"حكومة", "وزارة", "رئاسة", "برلمان", "جيش", "شرطة", "مجلس", "شركة", "منظمة", "دولة",
                          "عاصمة", "مدينة", "بلاد", "مملكة", "إمارة", "جمهورية", "سلطنة", "ولاية", "محافظة",
                          "منطقة", "إقليم", "قارة"})

# Words that open the CLDR name of a currency in use and are other things too: gold, a title, names.
_NOT_ONLY_CURRENCIES = frozenset({"ذهب", "سيدي", "ليو", "ليون", "مارك", "بير", "تالا", "بولا", "فاتو", "كينا",
                                  "سول", "قرطبة"})


def currency_words(currency_names: Iterable[str]) -> frozenset[str]:
    """The nouns that name currencies (دولار, يوان, تينغ, روبل...): the first word of each currency name."""
    words = {name.split()[0] for name in currency_names if name.split()}
    return frozenset(w for w in words if len(w) >= 3 and w not in _NOT_ONLY_CURRENCIES)


def body_records(bodies: Iterable[Mapping[str, str]], countries: Iterable[Mapping[str, str]]) -> list[Record]:
    """Each country's generic bodies (``seeds/bodies.csv``): its foreign ministry, parliament, cabinet, national
    football team...

    The press names them with the country's nisba (``وزارة الخارجية القطرية``, ``مجلس النواب الليبي``,
    ``المنتخب المغربي``), with its name after a construct form (``وزارة خارجية قطر``, ``منتخب المغرب``) or, in a
    story about the country, bare (``وزارة الخارجية``: :func:`transforms.linking.link_mentions` reads it as the
    article's country's). Every (body, country) is an organisation, merged into the curated one when the
    curated table names it the same way.
    """
    records = []
    countries = list(countries)
    for body in bodies:
        masculine = (body.get("gender") or "m").strip() == "m"
        full, short, construct = (_listed(body.get(k)) for k in ("names_ar", "short_ar", "construct_ar"))
        for country in countries:
            iso, country_en = (country.get("iso2") or "").strip().upper(), (country.get("name_en") or "").strip()
            adjectives, names = _listed(country.get("nisba_ar")), _listed(country.get("names_ar"))
            if not iso or not country_en or not (adjectives or names):
                continue
            forms = [_ARTICLE_PREFIX + a + ("" if masculine else "ة") for a in adjectives]
            trusted = [f"{name} {form}" for name in full for form in forms]
            trusted += [f"{head} {name}" for head in construct for name in names]
            other = [f"{name} {form}" for name in short for form in forms]
            if not trusted:
                continue
            english = [template.format(country=country_en)
                       for template in [body["name_en"], *_listed(body.get("other_names_en"))]]
            entity = Entity(f"body_{body['body']}_{iso.lower()}", "ORG", trusted[0], english[0], None,
                            source="bodies", country_code=iso)
            looked_for = (body.get("found_in_text") or "true").strip().lower() != "false"
            records.append(Record(entity, tuple(dict.fromkeys(trusted + other + english)),
                                  frozenset(trusted + english) if looked_for else frozenset(english), BODY_RANK,
                                  merge_by_names=True, body=(body["body"], iso)))
    return records


def generic_names(bodies: Iterable[Mapping[str, str]]) -> dict[str, str]:
    """A body's bare names (``وزارة الخارجية``, ``الخارجية``) → the body: whose it is, the article says."""
    return {_key(name): body["body"] for body in bodies
            for name in _listed(body.get("bare_ar")) + _listed(body.get("short_ar"))}


# ------------------------------------------------------------------ merge


def knowledge_base(curated_rows: Iterable[Mapping[str, str]], records: Iterable[Record] = (),
                   not_names: Mapping[str, Iterable[str]] | None = None,
                   generic: Mapping[str, str] | None = None, ambiguous: Iterable[str] = ()) -> AliasTable:
    """The curated table (strictly validated) extended with ``records``, each merged into a known entity when
    it is one (same QID, same GeoNames id, or the same English name as a known entity of its type).
    ``not_names`` are named sets of words that are never names (``currency``, ``common``), for the drop rules;
    ``generic`` the bare names of the countries' bodies (:func:`generic_names`); ``ambiguous`` names that are
    common words too (``seeds/ambiguous_names.csv``: كيف, مسقط), never looked for in running text alone."""
    base = alias_table(curated_rows)
    entities = dict(base.entities)
    claims: dict[str, list[AliasClaim]] = {key: list(found) for key, found in base.aliases.items()}
    by_qid = {e.wikidata_qid: e.entity_id for e in entities.values() if e.wikidata_qid}
    by_geonames: dict[int, str] = {}
    by_latin: dict[tuple[str, str], str] = {}  # (type, English key) → the entity, from curated Latin aliases
    for key, found in claims.items():
        if script_of(key) == "latin":
            for claim in found:
                by_latin.setdefault((claim.type, key), claim.entity_id)
    absorbed: set[str] = set()  # known entities that already took a record in (one place per entity)
    adjectives: dict[str, str] = {}
    agencies: dict[str, str] = {}
    bodies: dict[tuple[str, str], str] = {}

    for record in records:
        entity = record.entity
        target = _known(record, by_qid, by_geonames, by_latin, absorbed, entities, claims)
        if target is None:
            if entity.entity_id in entities:
                continue  # an id taken twice (a source listing one entity twice): the first stands
            entities[entity.entity_id] = entity
            target = entity.entity_id
        else:
            entities[target] = _enriched(entities[target], entity)
            absorbed.add(target)
        if entity.wikidata_qid:
            by_qid.setdefault(entity.wikidata_qid, target)
        if entity.geonames_id is not None:
            by_geonames.setdefault(entity.geonames_id, target)
        for adjective in record.adjectives:
            adjectives.setdefault(_key(adjective), target)
        if record.registry_agency:
            agencies.setdefault(record.registry_agency, target)
        if record.body:
            bodies.setdefault(record.body, target)
        entity_type = entities[target].type
        for name in record.names:
            key = _key(name)
            if not key:
                continue
            found = claims.setdefault(key, [])
            trusted = name in record.trusted
            mine = [i for i, c in enumerate(found) if c.entity_id == target]
            if mine:  # already the entity's name: a source that trusts it makes it trusted (بكين, a capital)
                if trusted and not found[mine[0]].trusted:
                    found[mine[0]] = replace(found[mine[0]], trusted=True)
                continue
            found.append(AliasClaim(target, entity_type, None, None, 0, record.rank, trusted))
            if script_of(key) == "latin":
                by_latin.setdefault((entity_type, key), target)
    ambiguous_keys = {k for k in map(_key, ambiguous) if k in claims}
    for key in ambiguous_keys:
        claims[key] = [replace(c, trusted=False) for c in claims[key]]
    # A body's short name with a nisba (الخارجية الروسية) is also how the press writes "Russian foreign ..."
    # (السياسة الخارجية الروسية): it links what the model tags, it is not looked for.
    short = {name for name in map(_key, generic or {}) if " " not in name}
    for key in [k for k in claims if k.split(" ", 1)[0] in short]:
        claims[key] = [replace(c, trusted=False) for c in claims[key]]
    table = table_of(entities, claims, base.periods)
    table.adjectives.update(adjectives)
    table.agencies.update(agencies)
    table.bodies.update(bodies)
    table.generic.update({_key(name): body for name, body in (generic or {}).items()})
    table.ambiguous.update(ambiguous_keys)
    table.not_names.update({name: frozenset(filter(None, map(_key, words))) for name, words in (not_names or {}).items()})
    return table


def _known(record: Record, by_qid, by_geonames, by_latin, absorbed, entities, claims) -> str | None:
    entity = record.entity
    if entity.wikidata_qid and entity.wikidata_qid in by_qid:
        return by_qid[entity.wikidata_qid]
    if entity.geonames_id is not None and entity.geonames_id in by_geonames:
        return by_geonames[entity.geonames_id]
    for name in ([entity.name_en] if entity.name_en else []) + list(record.names):
        key = _key(name)
        if script_of(key) != "latin":
            continue
        known = by_latin.get((entity.type, key))
        if known is not None and known not in absorbed and entities[known].source in ("curated", "agencies"):
            return known
    if record.merge_by_names:
        for name in record.names:
            for claim in claims.get(_key(name), ()):
                if claim.type == entity.type and claim.rank == CURATED_RANK and claim.entity_id not in absorbed:
                    return claim.entity_id
    return None


def _enriched(known: Entity, other: Entity) -> Entity:
    """The known entity, with what the other source knows and it does not (its name and id stay)."""
    return replace(
        known,
        name_en=known.name_en or other.name_en,
        wikidata_qid=known.wikidata_qid or other.wikidata_qid,
        geonames_id=known.geonames_id if known.geonames_id is not None else other.geonames_id,
        country_code=known.country_code or other.country_code,
        kind=known.kind or other.kind,
        population=known.population or other.population,
        capital=known.capital or other.capital,
        latitude=known.latitude if known.latitude is not None else other.latitude,
        longitude=known.longitude if known.longitude is not None else other.longitude,
    )
