"""``akhbar kb import FILE``: Wikidata entities added to the knowledge base, streamed, idempotent.

Formats, told apart by their content (``.gz`` and ``.bz2`` are read compressed):

- the **JSON dump** (``latest-all.json``): one entity per line inside ``[`` and ``]``, or plain JSON Lines;
- the **SPARQL result** of the query in the README, as the query service's **CSV** or **JSON**.

The file is read as a stream, in batches of :data:`BATCH` entities written to Parquet parts, so memory does
not grow with the file; the parts are then merged with what earlier imports kept (one row per QID, the
latest import winning) by DuckDB in memory-bounded SQL, and the result replaces
``<AKHBAR_KB_DIR>/wikidata.parquet`` atomically. Importing the same file twice changes nothing.
"""

from __future__ import annotations

import bz2
import csv
import gzip
import io
import json
import os
import shutil
import tempfile
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Iterator, TextIO

import pyarrow as pa
import pyarrow.parquet as pq

from core.settings import PROJECT_ROOT
from transforms.entities import Entity, entity_key, script_of, trusted_alias
from transforms.kb import IMPORT_RANK, Record
from transforms.wikidata import Imported, from_dump_entity, from_result_row

TYPES_CSV = PROJECT_ROOT / "seeds" / "wikidata_types.csv"
BATCH = 50_000
MEMORY_LIMIT = "512MB"
SCHEMA = pa.schema([
    pa.field("qid", pa.string(), False),
    pa.field("type", pa.string(), False),
    pa.field("name_ar", pa.string(), False),
    pa.field("name_en", pa.string()),
    pa.field("aliases_ar", pa.list_(pa.string()), False),
    pa.field("aliases_latin", pa.list_(pa.string()), False),
])


class ImportError_(ValueError):
    """The file cannot be imported (unknown format, unreadable content); the message says why."""


@dataclass
class ImportSummary:
    path: Path
    format: str
    read: int = 0  # entities or rows read
    kept: int = 0  # with an Arabic name and a known type
    skipped: int = 0
    malformed: int = 0
    added: int = 0
    changed: int = 0
    unchanged: int = 0
    total: int = 0  # entities in the knowledge base's import file afterwards
    by_type: dict[str, int] = field(default_factory=dict)

    def line(self) -> str:
        types = ", ".join(f"{n} {t}" for t, n in sorted(self.by_type.items()))
        return (f"kb import ({self.format}): {self.read} read, {self.kept} kept ({types or 'none'}), "
                f"{self.skipped} without an Arabic name or a known type, {self.malformed} malformed; "
                f"{self.added} added, {self.changed} changed, {self.unchanged} unchanged; "
                f"{self.total} imported entities in {self.path}")


def imports_path(folder: Path) -> Path:
    return folder / "wikidata.parquet"


def instance_types() -> dict[str, str]:
    with TYPES_CSV.open(newline="", encoding="utf-8") as handle:
        return {row["qid"].strip(): row["type"].strip() for row in csv.DictReader(handle)}


# ------------------------------------------------------------------ reading


def _open_text(path: Path) -> TextIO:
    with path.open("rb") as probe:
        magic = probe.read(3)
    if magic[:2] == b"\x1f\x8b":
        return io.TextIOWrapper(gzip.open(path, "rb"), encoding="utf-8-sig")
    if magic == b"BZh":
        return io.TextIOWrapper(bz2.open(path, "rb"), encoding="utf-8-sig")
    return path.open(encoding="utf-8-sig", newline="")


def _first_character(stream: TextIO) -> tuple[str, str]:
    """The first non-blank character and everything read up to and including it."""
    seen = ""
    while True:
        char = stream.read(1)
        if not char:
            return "", seen
        seen += char
        if not char.isspace():
            return char, seen


def _dump_entities(first_line: str, stream: TextIO, summary: ImportSummary) -> Iterator[dict]:
    """One entity per line (``[`` and ``]`` lines and trailing commas ignored)."""
    for line in _chain(first_line, stream):
        text = line.strip().rstrip(",")
        if text in ("", "[", "]"):
            continue
        try:
            entity = json.loads(text)
        except json.JSONDecodeError:
            summary.malformed += 1
            continue
        if isinstance(entity, dict):
            yield entity
        else:
            summary.malformed += 1


def _chain(first: str, stream: TextIO) -> Iterator[str]:
    yield first
    yield from stream


def _json_array_items(stream: TextIO, buffer: str, key: str) -> Iterator[dict]:
    """The objects of the array under ``key`` (a SPARQL JSON result's ``bindings``), decoded one at a time."""
    decoder = json.JSONDecoder()
    marker = f'"{key}"'
    while marker not in buffer:
        chunk = stream.read(1 << 16)
        if not chunk:
            raise ImportError_(f"a JSON object without {marker}: not a SPARQL result")
        buffer = buffer[-len(marker):] + chunk if len(buffer) > 1 << 20 else buffer + chunk
    buffer = buffer[buffer.index(marker) + len(marker):]
    buffer = buffer[buffer.index("[") + 1:] if "[" in buffer else buffer + stream.read(1 << 16)
    while True:
        buffer = buffer.lstrip().lstrip(",").lstrip()
        while not buffer:
            chunk = stream.read(1 << 16)
            if not chunk:
                return
            buffer = chunk.lstrip().lstrip(",").lstrip()
        if buffer.startswith("]"):
            return
        while True:
            try:
                item, end = decoder.raw_decode(buffer)
                break
            except json.JSONDecodeError:
                chunk = stream.read(1 << 16)
                if not chunk:
                    raise ImportError_("the SPARQL JSON result ends inside a binding") from None
                buffer += chunk
        buffer = buffer[end:]
        yield item


def _is_object(line: str) -> bool:
    try:
        return isinstance(json.loads(line.strip().rstrip(",")), dict)
    except json.JSONDecodeError:
        return False


def _binding_row(binding: dict) -> dict[str, str | None]:
    return {name: (cell or {}).get("value") for name, cell in binding.items()}


def imported_entities(path: Path, summary: ImportSummary) -> Iterator[Imported]:
    types = instance_types()
    with _open_text(path) as stream:
        char, seen = _first_character(stream)
        if char == "":
            raise ImportError_(f"{path} is empty")
        if char in "[{":
            first_line = seen + stream.readline()
            if char == "{" and not _is_object(first_line):  # one object over many lines: a SPARQL result
                summary.format = "sparql-json"
                for binding in _json_array_items(stream, first_line, "bindings"):
                    summary.read += 1
                    yield from _kept(from_result_row(_binding_row(binding), types), summary)
                return
            summary.format = "wikidata-json-dump"
            for entity in _dump_entities(first_line, stream, summary):
                summary.read += 1
                yield from _kept(from_dump_entity(entity, types), summary)
            return
        summary.format = "sparql-csv"
        reader = csv.DictReader(_chain(seen + stream.readline(), stream))
        if not reader.fieldnames or "item" not in reader.fieldnames:
            raise ImportError_(f"{path}: neither a Wikidata JSON dump, a SPARQL JSON result nor a CSV with an "
                               "'item' column (see the README's query)")
        for row in reader:
            summary.read += 1
            yield from _kept(from_result_row(row, types), summary)


def _kept(found: Imported | None, summary: ImportSummary) -> Iterator[Imported]:
    if found is None:
        summary.skipped += 1
        return
    summary.kept += 1
    summary.by_type[found.type] = summary.by_type.get(found.type, 0) + 1
    yield found


# ------------------------------------------------------------------ writing


MERGE_SQL = """
COPY (
    SELECT qid, type, name_ar, name_en, aliases_ar, aliases_latin
    FROM (SELECT *, 0 AS generation FROM read_parquet($old) UNION ALL
          SELECT *, 1 AS generation FROM read_parquet($new))
    QUALIFY row_number() OVER (PARTITION BY qid ORDER BY generation DESC) = 1
    ORDER BY qid
) TO '{target}' (FORMAT parquet, COMPRESSION zstd)
"""

COUNT_SQL = """
WITH new AS (SELECT * FROM read_parquet($new) QUALIFY row_number() OVER (PARTITION BY qid) = 1),
     old AS (SELECT * FROM read_parquet($old))
SELECT count(*) FILTER (WHERE old.qid IS NULL),
       count(*) FILTER (WHERE old.qid IS NOT NULL AND (new.type, new.name_ar, new.name_en, new.aliases_ar,
                        new.aliases_latin) IS DISTINCT FROM (old.type, old.name_ar, old.name_en, old.aliases_ar,
                        old.aliases_latin)),
       count(*) FILTER (WHERE old.qid IS NOT NULL AND (new.type, new.name_ar, new.name_en, new.aliases_ar,
                        new.aliases_latin) IS NOT DISTINCT FROM (old.type, old.name_ar, old.name_en,
                        old.aliases_ar, old.aliases_latin))
FROM new LEFT JOIN old USING (qid)
"""


def import_file(path: Path, folder: Path) -> ImportSummary:
    """Stream ``path`` into the knowledge base's import file in ``folder``."""
    import duckdb

    if not path.is_file():
        raise ImportError_(f"no such file: {path}")
    summary = ImportSummary(imports_path(folder), "unknown")
    folder.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=".import-", dir=folder))
    try:
        parts, batch = [], []
        for found in imported_entities(path, summary):
            batch.append(asdict(found))
            if len(batch) >= BATCH:
                parts.append(_write_part(work, len(parts), batch))
                batch = []
        parts.append(_write_part(work, len(parts), batch))
        old = summary.path if summary.path.exists() else _write_part(work, len(parts), [], "empty")
        target = work / "merged.parquet"
        with duckdb.connect() as con:
            con.execute(f"SET memory_limit = '{MEMORY_LIMIT}'")
            con.execute(f"SET temp_directory = '{work}'")
            files = {"old": str(old), "new": [str(p) for p in parts]}
            summary.added, summary.changed, summary.unchanged = con.execute(COUNT_SQL, files).fetchone()
            if summary.added or summary.changed or not summary.path.exists():
                con.execute(MERGE_SQL.format(target=str(target).replace("'", "''")), files)
            else:  # nothing new: the file stays as it is
                target = summary.path
            summary.total = con.execute("SELECT count(*) FROM read_parquet($t)", {"t": str(target)}).fetchone()[0]
        if target != summary.path:
            os.replace(target, summary.path)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return summary


def _write_part(folder: Path, number: int, rows: list[dict], name: str = "part") -> Path:
    path = folder / f"{name}-{number:05d}.parquet"
    pq.write_table(pa.Table.from_pylist(rows, schema=SCHEMA), path)
    return path


# ------------------------------------------------------------------ the knowledge base reads


def read_records(path: Path) -> list[Record]:
    """The imported entities as knowledge-base records (none when nothing was imported)."""
    if not path.exists():
        return []
    records = []
    for row in pq.read_table(path).to_pylist():
        names = tuple(dict.fromkeys([row["name_ar"], *row["aliases_ar"], *([row["name_en"]] if row["name_en"] else []),
                                     *row["aliases_latin"]]))
        # Multi-word and Latin names may be looked for in running text; one Arabic word only links the model's.
        trusted = frozenset(n for n in names if trusted_alias(n, entity_key(n))
                            and (" " in entity_key(n) or script_of(entity_key(n)) == "latin"))
        entity = Entity(f"wd_{row['qid'].lower()}", row["type"], row["name_ar"], row["name_en"], row["qid"],
                        source="wikidata")
        records.append(Record(entity, names, trusted, IMPORT_RANK))
    return records
