"""Intake I/O: the sources registry, reading folders and files (web sources: ``flows/web.py``).

Everything here touches the filesystem or the network and hands bytes to the
pure parsers in ``transforms.formats``. Paths and links found *inside* items
(a feed's links, a JSON ``url``) are kept as text and never opened as files.
"""

from __future__ import annotations

import csv
import dataclasses
import os
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from core.settings import PROJECT_ROOT
from transforms.entities import alias_table
from transforms.formats import FORMATS, RawItem, format_for, parse_items
from transforms.metadata import AgencyRule, agency_rules, gazetteer
from transforms.script import ARABIC_LETTER
from transforms.rejection import Rejection

SOURCE_KINDS = ("folder", "file", "feed", "sitemap")
WEB_KINDS = ("feed", "sitemap")


class RegistryError(ValueError):
    """The sources or agencies CSV is unusable; the message names the file and row."""


@dataclass(frozen=True)
class SourceSpec:
    """One row of ``seeds/sources.csv``."""

    source_id: str
    kind: str  # folder | file | feed | sitemap
    location: str  # a folder or file (relative to the registry's folder), or an http(s) URL
    agency: str | None = None  # the agency to record when the text names none
    language: str = "ar"
    enabled: bool = True


@dataclass
class Collected:
    """What one pass over the sources found."""

    items: list[tuple[RawItem, SourceSpec]] = field(default_factory=list)
    rejected: list[Rejection] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)  # sources that could not be read at all
    n_files: int = 0
    n_unchanged: int = 0  # files skipped unread: settled in an earlier run, same size and mtime
    n_unchanged_items: int = 0  # the items those files held
    stamps: dict[str, tuple[int, int]] = field(default_factory=dict)  # file read → (size, mtime_ns) of those bytes
    web: Any = None  # flows.web.WebIntake: what the web sources announced and what became of it


def _truthy(value: str | None) -> bool:
    return (value or "true").strip().lower() not in ("false", "0", "no", "off")


def load_sources(path: Path) -> list[SourceSpec]:
    """The enabled sources of a registry CSV; relative locations are relative to the CSV's folder."""
    try:
        with path.open(newline="", encoding="utf-8-sig") as handle:
            rows = list(csv.DictReader(handle))
    except OSError as err:
        raise RegistryError(f"cannot read the sources registry {path}: {err.strerror or err}") from None
    specs, seen = [], set()
    for number, row in enumerate(rows, start=2):
        source_id, kind, location = ((row.get(k) or "").strip() for k in ("source_id", "kind", "location"))
        if not source_id or kind not in SOURCE_KINDS or not location:
            raise RegistryError(f"{path}:{number}: need source_id, kind in {SOURCE_KINDS} and location")
        if source_id in seen:
            raise RegistryError(f"{path}:{number}: source_id {source_id!r} appears twice")
        seen.add(source_id)
        if kind not in WEB_KINDS:
            location = str((path.parent / location).resolve())
        elif urlsplit(location).scheme not in ("http", "https") or not urlsplit(location).hostname:
            raise RegistryError(f"{path}:{number}: a {kind} location must be an http(s) URL, got {location!r}")
        spec = SourceSpec(source_id, kind, location, (row.get("agency") or "").strip() or None,
                          (row.get("language") or "ar").strip() or "ar", _truthy(row.get("enabled")))
        if spec.enabled:
            specs.append(spec)
    return specs


def load_agency_rules(path: Path) -> tuple[AgencyRule, ...]:
    try:
        with path.open(newline="", encoding="utf-8-sig") as handle:
            return agency_rules(csv.DictReader(handle))
    except OSError as err:
        raise RegistryError(f"cannot read the agencies table {path}: {err.strerror or err}") from None
    except ValueError as err:
        raise RegistryError(f"{path}: {err}") from None


_gazetteers: dict[tuple, frozenset[str]] = {}


@lru_cache(maxsize=1)
def load_currency_names():
    """The currency words amounts are read with (``transforms/amounts.py``): CLDR's Arabic names of the
    currencies in use, through babel, and the press's spellings; once per process."""
    from flows import kb_places
    from transforms.amounts import currency_names

    return currency_names(kb_places.currencies_in_use())


def load_places(settings) -> frozenset[str]:
    """The dateline gazetteer: every Arabic name of a place the knowledge base holds (GeoNames and CLDR through
    the places artifact, the press's country and capital names of ``seeds/countries.csv``, ``seeds/places.csv``,
    the LOC entities of the curated table), folded as datelines are matched. Read once per process, and again
    whenever one of those files changes."""
    from flows import kb_places

    files = (settings.places_kb, settings.countries, settings.places, settings.entity_aliases)
    try:
        if not kb_places.is_current(settings.places_kb):
            kb_places.build_places(settings.places_kb)
        stamp = _stamp(files)
        if stamp not in _gazetteers:
            _gazetteers.clear()
            _gazetteers[stamp] = gazetteer(kb_places.arabic_names(settings.places_kb),
                                           _csv_place_names(settings))
        return _gazetteers[stamp]
    except OSError as err:
        raise RegistryError(f"cannot read the places tables: {err.strerror or err}") from None


def _csv_place_names(settings) -> list[str]:
    names = [row["name_ar"] for row in _rows(settings.places) if row.get("name_ar")]
    for row in _rows(settings.countries):
        names += (row.get("names_ar") or "").split("|") + (row.get("capital_ar") or "").split("|")
    for row in _rows(settings.entity_aliases):
        if row.get("type") == "LOC":
            names += [row["name_ar"], *(row.get("aliases") or "").split("|")]
    return [n for n in names if n and ARABIC_LETTER.search(n)]


_alias_tables: dict[tuple[str, int], object] = {}


def load_alias_table(path: Path):
    """The entity alias table, parsed once per process and again whenever the file changes."""
    try:
        stamp = (str(path.resolve()), path.stat().st_mtime_ns)
        if stamp not in _alias_tables:
            with path.open(newline="", encoding="utf-8-sig") as handle:
                _alias_tables.clear()
                _alias_tables[stamp] = alias_table(csv.DictReader(handle))
        return _alias_tables[stamp]
    except OSError as err:
        raise RegistryError(f"cannot read the entity aliases {path}: {err.strerror or err}") from None
    except ValueError as err:
        raise RegistryError(f"{path}: {err}") from None


_knowledge_bases: dict[tuple, object] = {}
# Names that are common words too, never looked for alone in running text (reviewed by hand; the candidates
# were the knowledge base's names found more often untagged than tagged in ANERcorp's training part and AQMAR).
AMBIGUOUS_NAMES = PROJECT_ROOT / "seeds" / "ambiguous_names.csv"


def _rows(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8-sig") as handle:
        return list(csv.DictReader(handle))


def _stamp(paths) -> tuple:
    return tuple((str(p), p.stat().st_mtime_ns) if p.exists() else (str(p), None) for p in paths)


def sample_article(settings):
    """The first sample article (``seeds/articles``), built as a run builds it: for rehearsals
    (``flows/warm.py``, ``flows/ner_workers.py``); None if the samples are not there."""
    from transforms.articles import build_article
    from transforms.formats import parse_text

    sample = min((PROJECT_ROOT / "seeds" / "articles").glob("*.txt"), default=None)
    if sample is None:
        return None
    return build_article(parse_text(sample.read_bytes(), str(sample)), load_agency_rules(settings.agencies),
                         places=load_places(settings))


def load_knowledge_base(settings):
    """The knowledge base every mention is linked against (``transforms/kb.py``): the curated table, the
    agencies registry, the places (GeoNames and CLDR, built into ``AKHBAR_PLACES_KB`` on first use, with
    ``seeds/countries.csv`` and ``seeds/places.csv``) and what ``akhbar kb import`` added.

    Built once per process, and again whenever one of its files changes; a new process reads the table
    built last from ``AKHBAR_CACHE_DIR/kb/`` (``flows/kb_cache.py``) when its files and code are the same.
    """
    from flows import kb_cache, kb_import, kb_places
    from transforms.kb_mentions import build_indexes
    from transforms.kb import (COMMON_NOUNS, agency_records, body_records, currency_words, generic_names,
                               knowledge_base, place_records)

    imports = kb_import.imports_path(settings.imports_dir)
    files = (settings.entity_aliases, settings.agencies, settings.countries, settings.bodies, settings.places,
             settings.places_kb, imports, AMBIGUOUS_NAMES)
    try:
        if not kb_places.is_current(settings.places_kb):
            kb_places.build_places(settings.places_kb)
        stamp = _stamp(files)
        # A missing file by its place alone: warehouses without imports of their own share one table here too.
        key = tuple(entry if entry[1] is not None else None for entry in stamp)
        if key not in _knowledge_bases:
            built = kb_cache.read_table(settings.kb_cache_dir, stamp)
            if built is not None:
                _knowledge_bases.clear()
                _knowledge_bases[key] = built
                return built
            countries, bodies = _rows(settings.countries), _rows(settings.bodies)
            records = agency_records(_rows(settings.agencies)) + body_records(bodies, countries)
            records += place_records(kb_places.read_places(settings.places_kb), countries, _rows(settings.places))
            records += kb_import.read_records(imports)
            not_names = {"currency": currency_words(kb_places.currency_names()), "common": COMMON_NOUNS}
            ambiguous = [row["name"] for row in _rows(AMBIGUOUS_NAMES)]
            table = knowledge_base(_rows(settings.entity_aliases), sorted(records, key=lambda r: r.rank), not_names,
                                   generic_names(bodies), ambiguous)
            build_indexes(table)
            kb_cache.write_table(settings.kb_cache_dir, stamp, table)
            _knowledge_bases.clear()
            _knowledge_bases[key] = table
        return _knowledge_bases[key]
    except OSError as err:
        raise RegistryError(f"cannot read the knowledge base: {err.strerror or err}: {err.filename or ''}") from None
    except ValueError as err:
        raise RegistryError(f"the knowledge base: {err}") from None


def sources_of(settings) -> list[SourceSpec]:
    """The sources a run with these settings reads: its ``--inbox`` folder, or the sources registry."""
    if settings.inbox is not None:
        if not settings.inbox.is_dir():
            raise FileNotFoundError(f"inbox folder not found: {settings.inbox} (set --inbox or AKHBAR_INBOX)")
        return [folder_source(settings.inbox)]
    return load_sources(settings.sources)


def folder_source(folder: Path) -> SourceSpec:
    """An ad-hoc folder (``--inbox``), read like a registry folder source."""
    return SourceSpec("inbox", "folder", str(folder.resolve()))


def _files_in(folder: Path) -> list[Path]:
    """Visible files under the folder, in a stable order; links that lead nowhere too, to be reported.

    Symlinks are checked when read: a dangling or looping one is rejected
    (``broken_symlink``) instead of being skipped without a word.
    """
    return [
        path
        for path in sorted(folder.rglob("*"))
        if (path.is_file() or (path.is_symlink() and not path.exists()))
        and not any(part.startswith(".") for part in path.relative_to(folder).parts)
    ]


def _read_file(path: Path, root: Path, max_bytes: int) -> tuple[bytes, tuple[int, int]]:
    """The bytes of one inbox file and the (size, mtime_ns) it had while they were read.

    Refuses what a scheduled job must not read.
    """
    if path.is_symlink():
        try:
            target = path.resolve(strict=True)
        except (OSError, RuntimeError) as err:  # dangling, or a loop
            raise Rejection("broken_symlink", f"the link leads to no file ({type(err).__name__})") from None
        if not target.is_relative_to(root.resolve()):
            raise Rejection("outside_inbox", f"symlink to {target} leaves the inbox")
    try:
        size = path.stat().st_size
        if size > max_bytes:
            raise Rejection("too_large", f"{size} bytes > limit {max_bytes} (AKHBAR_MAX_ITEM_BYTES)")
        with path.open("rb") as handle:
            before = os.fstat(handle.fileno())
            raw = handle.read(max_bytes + 1)
            after = os.fstat(handle.fileno())
    except OSError as err:
        raise Rejection("unreadable", f"{type(err).__name__}: {err.strerror or err}") from None
    if len(raw) > max_bytes:
        raise Rejection("too_large", f"grew past the limit {max_bytes} while being read")
    # A producer still writing the file: what was read may be half an article. The file stays in the
    # inbox, so its finished version comes in at the next run.
    if (before.st_size, before.st_mtime_ns) != (after.st_size, after.st_mtime_ns) or len(raw) != after.st_size:
        raise Rejection("changed_while_read",
                              f"{before.st_size} bytes when opened, {after.st_size} after reading {len(raw)}")
    return raw, (after.st_size, after.st_mtime_ns)


def printable(label: str) -> str:
    """A path label as text that can be stored: bytes that are not UTF-8 shown as ``\\xff``."""
    return label.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")


def _take(collected: Collected, spec: SourceSpec, parsed: tuple[list[RawItem], list[Rejection]], fmt: str) -> None:
    items, errors = parsed
    collected.items += [(item, spec) for item in items]
    collected.rejected += [e.about(format=fmt, source_id=spec.source_id) for e in errors]


def _collect_file(collected: Collected, spec: SourceSpec, path: Path, root: Path, max_bytes: int,
                  settled: dict[tuple[str, int, int], int]) -> None:
    label = str(path)
    if settled:
        try:
            stat = path.stat()
        except OSError:
            stat = None  # reading it will say what is wrong
        if stat is not None and (label, stat.st_size, stat.st_mtime_ns) in settled:
            collected.n_unchanged += 1
            collected.n_unchanged_items += settled[label, stat.st_size, stat.st_mtime_ns]
            return
    collected.n_files += 1
    fmt = format_for(path.name)
    try:
        raw, stamp = _read_file(path, root, max_bytes)
    except Rejection as err:  # nothing was read: the quarantine keeps its label only
        collected.rejected.append(err.about(source_path=printable(label), format=fmt, source_id=spec.source_id))
        return
    if printable(label) != label:
        # A name that is not UTF-8 (bytes kept by the OS as lone surrogates) cannot be stored or shown;
        # the file is kept in quarantine under a printable label until it is renamed.
        collected.rejected.append(Rejection("bad_file_name", f"the file name is not valid UTF-8: {printable(label)}",
                                            source_path=printable(label), raw=raw, format=fmt,
                                            source_id=spec.source_id))
        return
    collected.stamps[label] = stamp
    if fmt is None:
        collected.rejected.append(Rejection("unsupported_format",
                                            f"no reader for {path.suffix or 'files without a suffix'}; "
                                            f"known: {', '.join(FORMATS)}", source_path=label, raw=raw,
                                            source_id=spec.source_id))
        return
    _take(collected, spec, parse_items(raw, label, fmt), fmt)


def collect(specs: list[SourceSpec], max_bytes: int,
            settled: dict[tuple[str, int, int], int] | None = None) -> Collected:
    """Every item of every file and folder source, in registry order then file order (web sources are
    read by ``flows/web.py``).

    Files in ``settled`` (path, size, mtime_ns) are skipped unread: their items are all published.
    """
    settled = settled or {}
    collected = Collected()
    for spec in specs:
        if spec.kind in WEB_KINDS:
            continue
        location = Path(spec.location)
        if spec.kind == "file":
            if not location.is_file():
                collected.problems.append(f"{spec.source_id}: file not found: {location}")
                continue
            _collect_file(collected, spec, location, location.parent, max_bytes, settled)
            continue
        if not location.is_dir():
            collected.problems.append(f"{spec.source_id}: folder not found: {location}")
            continue
        for path in _files_in(location):
            _collect_file(collected, spec, path, location, max_bytes, settled)
    return collected


def any_unseen_file(specs: list[SourceSpec], settled: set[tuple[str, int, int]], quarantined: set[str]) -> bool:
    """Whether a file of these sources (the web's aside) is neither settled (path, size, mtime_ns, as
    :func:`collect` skips it) nor quarantined, whole or an item of it (``file.jsonl#L3``): from the files'
    names and times alone, before anything is read, a guess that a run will find new text in them."""
    quarantined = quarantined | {label.rpartition("#")[0] for label in quarantined if "#" in label}
    for spec in specs:
        if spec.kind in WEB_KINDS:
            continue
        location = Path(spec.location)
        for path in [location] if spec.kind == "file" else _files_in(location) if location.is_dir() else []:
            label = str(path)
            try:
                stat = path.stat()
            except OSError:
                continue
            if (label, stat.st_size, stat.st_mtime_ns) not in settled and printable(label) not in quarantined:
                return True
    return False


def reparse_quarantined(raw: bytes, source_path: str, fmt: str | None) -> tuple[list[RawItem], list[Rejection]]:
    """Parse a quarantined item's stored bytes again, as the format it came in.

    A JSON Lines line and a feed entry are stored as one JSON object, which
    reads back as a one-line JSON Lines file; the item keeps its label.
    """
    if fmt in ("jsonl", "feed"):
        items, errors = parse_items(raw, source_path, "jsonl")
        items = [dataclasses.replace(i, source_path=source_path, format=fmt) for i in items]
        errors = [dataclasses.replace(e, source_path=source_path) for e in errors]
        return items, errors
    return parse_items(raw, source_path, fmt or format_for(source_path) or "text")

