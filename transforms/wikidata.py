"""Wikidata entities as knowledge-base records: from the JSON dump's entities or a SPARQL result's rows.

Pure: one parsed entity (a dict) or one result row in, one :class:`Imported` (or None) out; the streaming
of files is ``flows/kb_import.py``'s. An entity is kept when it has an Arabic label or alias and a type:
its ``instance of`` (P31) values looked up in ``seeds/wikidata_types.csv`` (Q5 human → PER, Q6256 country
→ LOC, Q43229 organization → ORG, ...), or, in a SPARQL result, an explicit ``type`` column.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Mapping

from transforms.entities import ENTITY_TYPES

_QID = re.compile(r"(?:^|/)(Q[1-9][0-9]*)$")
_SEPARATORS = re.compile(r"\s*\|\s*")


@dataclass(frozen=True)
class Imported:
    qid: str
    type: str
    name_ar: str
    name_en: str | None
    aliases_ar: tuple[str, ...]
    aliases_latin: tuple[str, ...]


def qid_of(value: str | None) -> str | None:
    """``Q42`` from ``Q42`` or ``http://www.wikidata.org/entity/Q42``."""
    match = _QID.search((value or "").strip())
    return match.group(1) if match else None


def type_of(instance_of: list[str], types: Mapping[str, str]) -> str | None:
    """The entity type of the first ``instance of`` value the table knows (PER before LOC before ORG)."""
    found = {types[q] for q in instance_of if q in types}
    for entity_type in ("PER", "LOC", "ORG"):
        if entity_type in found:
            return entity_type
    return None


def _value(node: Any) -> str | None:
    return node.get("value") if isinstance(node, dict) else None


def _unique(names) -> tuple[str, ...]:
    return tuple(dict.fromkeys(" ".join(n.split()) for n in names if n and n.strip()))


def from_dump_entity(entity: Mapping[str, Any], types: Mapping[str, str]) -> Imported | None:
    """One entity of the JSON dump (``{"id": "Q42", "labels": {...}, "aliases": {...}, "claims": {...}}``)."""
    qid = qid_of(entity.get("id"))
    if entity.get("type", "item") != "item" or qid is None:
        return None
    labels, aliases = entity.get("labels") or {}, entity.get("aliases") or {}
    arabic = _unique([_value(labels.get("ar"))] + [_value(a) for a in aliases.get("ar") or []])
    if not arabic:
        return None
    instance_of = []
    for statement in (entity.get("claims") or {}).get("P31") or []:
        value = ((statement.get("mainsnak") or {}).get("datavalue") or {}).get("value") or {}
        if isinstance(value, dict) and value.get("id"):
            instance_of.append(value["id"])
    entity_type = type_of(instance_of, types)
    if entity_type is None:
        return None
    english = _value(labels.get("en"))
    latin = _unique([english] + [_value(a) for a in aliases.get("en") or []])
    return Imported(qid, entity_type, arabic[0], english, arabic[1:], latin)


def from_result_row(row: Mapping[str, str | None], types: Mapping[str, str]) -> Imported | None:
    """One row of the documented SPARQL query: item, type or instance_of, label_ar, label_en, aliases_ar,
    aliases_en (aliases ``|``-separated; the query's GROUP_CONCAT separator)."""
    qid = qid_of(row.get("item"))
    if qid is None:
        return None
    arabic = _unique([row.get("label_ar")] + _SEPARATORS.split(row.get("aliases_ar") or ""))
    if not arabic:
        return None
    entity_type = (row.get("type") or "").strip().upper() or None
    if entity_type not in ENTITY_TYPES:
        instance_of = [q for q in map(qid_of, _SEPARATORS.split(row.get("instance_of") or "")) if q]
        entity_type = type_of(instance_of, types)
    if entity_type is None:
        return None
    english = (row.get("label_en") or "").strip() or None
    latin = _unique([english] + _SEPARATORS.split(row.get("aliases_en") or ""))
    return Imported(qid, entity_type, arabic[0], english, arabic[1:], latin)
