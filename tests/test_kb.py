"""The knowledge base: places from GeoNames and CLDR, sources merged into one table, the real files loaded.

Pure parts run on small, hand-made package data; the artifact and the loader on the installed packages and
the project's seeds (a few seconds, no model).
"""

from __future__ import annotations

import csv

import pytest

from core.settings import get_settings
from tests.conftest import ROOT
from transforms.entities import COLUMNS, Entity, resolve
from transforms.kb import (AGENCY_RANK, Record, agency_records, body_records, currency_words, knowledge_base,
                           nisba_forms, place_records)
from transforms.places import PlaceData, all_places, arabic_place_name


# --------------------------------------------------------------------------- names from GeoNames and CLDR


@pytest.mark.parametrize("name, kept", [
    ("بكين", "بكين"),
    ("تاشكند", "تاشكند"),  # Arabic letters only: kept, whoever wrote it
    ("پکن", None),  # Persian peh
    ("مسکو", None),  # Persian keheh: folded it would be another word, so dropped
    ("کیف", None),  # Persian Kyiv; folded, كيف is "how"
    ("اسکالڈس", None),  # Urdu ddal
    ("ئاستانا", None),  # Uyghur/Kurdish word-initial hamza seat
    ("نۇرسۇلتان", None),  # Uyghur u
    ("ميانمار (بورما)", "ميانمار"),  # CLDR's gloss in brackets
    ("  أستانا  ", "أستانا"),
    ("ب", None),  # one letter is no name
])
def test_only_arabic_spellings_of_places_are_kept(name, kept):
    assert arabic_place_name(name) == kept


def _city(geonameid, name, country, population, arabic=(), zone="", alternates=()):
    return {"geonameid": geonameid, "name": name, "countrycode": country, "population": population,
            "timezone": zone, "latitude": 1.0, "longitude": 2.0, "alternatenames": [*arabic, *alternates]}


DATA = PlaceData(
    countries={"KZ": {"geonameid": 1522867, "name": "Kazakhstan", "population": 18_000_000, "capital": "Astana"},
               "JO": {"geonameid": 248816, "name": "Jordan", "population": 10_000_000, "capital": "Amman"},
               "OM": {"geonameid": 286963, "name": "Oman", "population": 4_800_000, "capital": "Muscat"}},
    continents={"AS": {"geonameId": 6255147, "name": "Asia", "population": 4_000_000_000,
                       "alternateNames": [{"lang": "ar", "name": "آسيا"}, {"lang": "ur", "name": "ایشیا"}]}},
    cities={"1": _city(1526273, "Astana", "KZ", 1_000_000, ["أستانا", "آستانه", "ئاستانا"], "Asia/Almaty",
                       ["Nur-Sultan"]),
            "2": _city(1526384, "Almaty", "KZ", 2_000_000, ["ألماتي"], "Asia/Almaty"),
            "3": _city(250441, "Amman", "JO", 1_300_000, ["عمان", "امان"], "Asia/Amman"),
            "4": _city(9, "Smallville", "KZ", 20_000)},
    territories_ar={"KZ": "كازاخستان", "JO": "الأردن", "OM": "عُمان", "142": "آسيا", "143": "وسط آسيا",
                    "001": "العالم", "EU": "الاتحاد الأوروبي"},
    territories_en={"KZ": "Kazakhstan", "JO": "Jordan", "OM": "Oman", "142": "Asia", "143": "Central Asia",
                    "001": "World", "EU": "European Union"},
    exemplars_ar={"Asia/Almaty": "ألماتي", "Asia/Amman": "عمّان"},
    exemplars_en={},
)


def test_places_from_package_data():
    places = {p.entity_id: p for p in all_places(DATA)}
    kazakhstan = places["geo_1522867"]
    assert (kazakhstan.kind, kazakhstan.name_ar, kazakhstan.country_code) == ("country", "كازاخستان", "KZ")
    assert places["geo_6255147"].kind == "continent" and places["geo_6255147"].names_ar == ("آسيا",)
    assert places["cldr_143"].name_en == "Central Asia"  # a CLDR region without a GeoNames id
    assert "cldr_001" not in places and not any(p.name_en == "European Union" for p in places.values())
    astana, almaty = places["geo_1526273"], places["geo_1526384"]
    assert astana.capital and not almaty.capital  # GeoNames calls the capital "Astana"; the country list agrees
    assert "ئاستانا" not in astana.names_ar and "آستانه" in astana.names_ar
    # CLDR names the exemplar city of Asia/Almaty: only those names are looked for in running text
    assert almaty.trusted_ar == ("ألماتي",) and astana.trusted_ar == ()
    assert places["geo_250441"].names_ar[0] == "عمّان"  # CLDR's spelling first
    assert places["geo_9"].names_ar == ()  # kept without an Arabic name, for seeds/places.csv to give one


# --------------------------------------------------------------------------- merging the sources


def _curated(entity_id, type_, name_ar, name_en, aliases="", qid=""):
    return {"entity_id": entity_id, "type": type_, "name_ar": name_ar, "name_en": name_en, "wikidata_qid": qid,
            "qid_source": "test" if qid else "", "aliases": aliases, "valid_from": "", "valid_to": "", "note": ""}


COUNTRIES = [{"iso2": "KZ", "name_en": "Kazakhstan", "names_ar": "كازاخستان|قازاقستان|جمهورية كازاخستان",
              "nisba_ar": "كازاخستاني|كازاخي", "capital_ar": "أستانا|أستانة|نور سلطان"},
             {"iso2": "JO", "name_en": "Jordan", "names_ar": "الأردن", "nisba_ar": "أردني", "capital_ar": "عمان"},
             {"iso2": "OM", "name_en": "Oman", "names_ar": "عمان|سلطنة عمان", "nisba_ar": "عماني",
              "capital_ar": "مسقط"}]


@pytest.fixture(scope="module")
def small_kb():
    records = place_records(all_places(DATA), COUNTRIES, [{"name_ar": "ستانا", "name_en": "Astana"}])
    records += agency_records([{"agency": "Kazinform", "name_en": "Kazinform", "kind": "wire", "country": "KZ",
                                "names_ar": "كازينفورم|وكالة كازينفورم", "abbreviations_ar": "", "names_latin": "Kazinform"}])
    records += body_records([{"body": "foreign_ministry", "name_en": "Ministry of Foreign Affairs ({country})",
                              "names_ar": "وزارة الخارجية", "short_ar": "الخارجية", "gender": "f"}], COUNTRIES)
    records += [Record(Entity("wd_q1", "PER", "فلان الفلاني", "Someone", "Q200881", source="wikidata"),
                       ("فلان الفلاني", "Someone"), frozenset(), 3.0)]
    curated = [_curated("kassym_jomart_tokayev", "PER", "قاسم جومارت توكاييف", "Kassym-Jomart Tokayev",
                        "توكاييف|Tokayev", "Q200881"),
               _curated("kazakhstan", "LOC", "كازاخستان", "Kazakhstan", "Kazakhstan|Qazaqstan"),
               _curated("kazinform", "ORG", "كازينفورم", "Kazinform", "Kazinform"),
               _curated("kz_mfa", "ORG", "وزارة الخارجية الكازاخستانية", "Ministry of Foreign Affairs of Kazakhstan")]
    return knowledge_base(curated, sorted(records, key=lambda r: r.rank))


def test_a_place_known_to_the_curated_table_is_merged_into_it(small_kb):
    kazakhstan = small_kb.entities["kazakhstan"]
    assert (kazakhstan.geonames_id, kazakhstan.country_code, kazakhstan.kind) == (1522867, "KZ", "country")
    assert "geo_1522867" not in small_kb.entities
    for name in ("قازاقستان", "جمهورية كازاخستان", "وكازاخستان"):  # the press's names of countries.csv
        assert resolve(name, "LOC", small_kb).entity_id == "kazakhstan"
    assert resolve("ستانا", "LOC", small_kb).entity_id == "geo_1526273"  # seeds/places.csv adds a name
    assert resolve("أستانة", "LOC", small_kb).entity_id == "geo_1526273"  # countries.csv's capital spellings
    assert small_kb.entities["geo_1526273"].capital


def test_merges_by_qid_and_by_name(small_kb):
    assert "wd_q1" not in small_kb.entities  # the import's QID is Tokayev's: one entity
    assert resolve("فلان الفلاني", "PER", small_kb).entity_id == "kassym_jomart_tokayev"
    assert "agency_kazinform" not in small_kb.entities  # the registry's agency is the curated one
    assert small_kb.agencies["Kazinform"] == "kazinform"
    assert small_kb.entities["kazinform"].country_code == "KZ"
    # a country's body merges into the curated body of the same name
    assert small_kb.bodies[("foreign_ministry", "KZ")] == "kz_mfa"
    assert resolve("وزارة الخارجية الأردنية", "ORG", small_kb).entity_id == "body_foreign_ministry_jo"
    assert small_kb.entities["body_foreign_ministry_jo"].name_en == "Ministry of Foreign Affairs (Jordan)"


def test_a_name_two_places_share_is_decided_by_the_article(small_kb):
    assert resolve("عمان", "LOC", small_kb).entity_id == "geo_286963"  # Oman, the country, by default
    assert resolve("عمان", "LOC", small_kb, context=frozenset({"JO"})).entity_id == "geo_250441"  # Amman
    assert resolve("عمان", "LOC", small_kb).ambiguous


def test_nisba_adjectives_of_every_form():
    forms = set(nisba_forms(["صيني"]))
    assert {"صيني", "صينية", "صينيون", "صينيين", "صينيات", "صينيان"} <= forms


def test_currency_words_leave_out_what_is_also_something_else():
    words = currency_words(["دولار أمريكي", "يوان صيني", "ين ياباني", "ذهب", "ليون سيراليوني"])
    assert words == {"دولار", "يوان"}


# --------------------------------------------------------------------------- the real knowledge base


@pytest.fixture(scope="module")
def kb():
    from flows.intake import load_knowledge_base

    return load_knowledge_base(get_settings())


def _rows(path):
    with path.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def test_every_country_of_the_press_is_known_by_its_names(kb):
    for row in _rows(ROOT / "seeds" / "countries.csv"):
        for name in row["names_ar"].split("|")[:1]:
            resolved = resolve(name, "LOC", kb)
            entity = kb.entities[resolved.entity_id]
            assert resolved.method == "alias" and entity.type == "LOC", (row["iso2"], name)


@pytest.mark.parametrize("surface, label, name_en, geonames_id", [
    ("كازاخستان", "LOC", "Kazakhstan", 1522867),
    ("وبغداد", "LOC", "Baghdad", 98182),
    ("جمهورية التشيك", "LOC", "Czech Republic", 3077311),
    ("غرب آسيا", "LOC", "Western Asia", None),
    ("الصين", "ORG", "China", 1814991),
    ("طشقند", "LOC", "Tashkent", 1512569),
])
def test_places_link_to_geonames(kb, surface, label, name_en, geonames_id):
    entity = kb.entities[resolve(surface, label, kb).entity_id]
    assert (entity.name_en, entity.geonames_id) == (name_en, geonames_id)


def test_the_curated_table_is_valid_and_every_qid_has_a_source():
    rows = _rows(ROOT / "seeds" / "entity_aliases.csv")
    assert tuple(rows[0].keys()) == COLUMNS
    assert len(rows) > 2000
    assert all(r["qid_source"].strip() for r in rows if r["wikidata_qid"].strip())


def test_agencies_are_organisations_with_their_wikipedia_titles(kb):
    for row in _rows(ROOT / "seeds" / "agencies.csv"):
        entity = kb.entities[kb.agencies[row["agency"]]]
        assert entity.type == "ORG" and entity.name_en, row["agency"]
    assert kb.entities[kb.agencies["SPA"]].name_en == "Saudi Press Agency"
    assert resolve("واس", "ORG", kb).entity_id == kb.agencies["SPA"]


def test_the_places_artifact_is_built_once_and_rebuilt_for_other_versions(tmp_path, monkeypatch):
    from flows import kb_places

    path = tmp_path / "places.parquet"
    summary = kb_places.build_places(path)
    assert kb_places.is_current(path)
    assert summary.counts["country"] > 240 and summary.counts["city"] > 20_000
    places = kb_places.read_places(path)
    assert any(p.name_en == "Kazakhstan" and p.kind == "country" for p in places)
    modified = path.stat().st_mtime_ns
    kb_places.read_places(path)
    assert path.stat().st_mtime_ns == modified  # current: not built again
    monkeypatch.setattr(kb_places, "BUILDER_VERSION", "test")
    assert not kb_places.is_current(path)
    kb_places.read_places(path)
    assert kb_places.is_current(path) and path.stat().st_mtime_ns != modified
