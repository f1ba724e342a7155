"""Entity totals for a staged batch, merged with what is already published.

A run stages one ``entities`` row per entity its mentions touch, carrying the
new running totals (mentions, articles, first and last day seen); publishing
replaces the published rows of those entities in the same transaction as the
mentions that changed them, so totals and mentions never disagree. The day
of a mention is its article's ``published_date``, else the day it was taken in.

A batch that *replaces* published articles (``akhbar reprocess``) cannot add
to the running totals: the replaced rows' contribution must go, and a changed
day can move an entity's first or last day either way. Its totals are counted
again from every mention of each entity it touches (old or new), the
replaced articles' published rows left out (:func:`stage_entities_replacing`).
"""

from __future__ import annotations

from typing import Mapping

import duckdb
import pyarrow as pa

from transforms.entities import AliasTable, Entity
from warehouse.store import Staging, Warehouse
from warehouse.views import ARTICLE_DAY

# An entity's totals over the mentions ``m`` (entity_id, label, surface, article_id, day).
_TOTALS_OF_M = """
SELECT entity_id,
       mode(label) AS label,
       mode(surface ORDER BY surface) AS surface,
       count(*) AS n_mentions,
       count(DISTINCT article_id) AS n_articles,
       min(day) AS first_seen,
       max(day) AS last_seen
FROM m
GROUP BY entity_id
"""

BATCH_TOTALS_SQL = f"""
WITH a AS (
    SELECT article_id, {ARTICLE_DAY} AS day
    FROM read_parquet($articles) a
),
m AS (
    SELECT m.entity_id, m.label, m.surface, m.article_id, a.day
    FROM read_parquet($mentions) m JOIN a USING (article_id)
    WHERE m.entity_id IS NOT NULL
)
""" + _TOTALS_OF_M

PUBLISHED_SQL = """
SELECT entity_id, name_ar, mention_count, article_count, first_seen, last_seen
FROM entities WHERE entity_id IN (SELECT entity_id FROM batch)
"""


REPLACING_TOTALS_SQL = f"""
WITH staged_a AS (
    SELECT article_id, {ARTICLE_DAY} AS day
    FROM read_parquet($articles) a
),
staged_m AS (
    SELECT m.entity_id, m.label, m.surface, m.article_id, a.day
    FROM read_parquet($mentions) m JOIN staged_a a USING (article_id)
    WHERE m.entity_id IS NOT NULL
),
touched AS (
    SELECT entity_id FROM staged_m
    UNION
    SELECT entity_id FROM mentions
    WHERE entity_id IS NOT NULL AND article_id IN (SELECT article_id FROM staged_a)
),
kept_m AS (
    SELECT m.entity_id, m.label, m.surface, m.article_id,
           {ARTICLE_DAY} AS day
    FROM mentions m JOIN articles a USING (article_id)
    WHERE m.entity_id IN (SELECT entity_id FROM touched)
      AND m.article_id NOT IN (SELECT article_id FROM staged_a)
),
m AS (SELECT * FROM staged_m UNION ALL SELECT * FROM kept_m)
""" + _TOTALS_OF_M

NAMES_SQL = "SELECT entity_id, name_ar FROM entities WHERE entity_id IN (SELECT entity_id FROM batch)"


def _batch_totals(staging: Staging) -> list[dict]:
    files = {t: staging.paths(t) for t in ("articles", "mentions")}
    if not files["articles"] or not files["mentions"]:
        return []
    with duckdb.connect() as con:
        cursor = con.execute(BATCH_TOTALS_SQL, files)
        names = [d[0] for d in cursor.description]
        return [dict(zip(names, row)) for row in cursor.fetchall()]


def _published(warehouse: Warehouse, entity_ids: list[str]) -> dict[str, dict]:
    if not warehouse.path.exists() or not entity_ids:
        return {}
    with warehouse.connection() as con:
        con.register("batch", pa.table({"entity_id": entity_ids}))
        cursor = con.execute(PUBLISHED_SQL)
        names = [d[0] for d in cursor.description]
        return {row[0]: dict(zip(names, row)) for row in cursor.fetchall()}


def _earliest(*days):
    days = [d for d in days if d is not None]
    return min(days) if days else None


def _latest(*days):
    days = [d for d in days if d is not None]
    return max(days) if days else None


def entity_rows(batch: list[dict], published: dict[str, dict], known_entities: Mapping[str, Entity],
                run_id: str) -> list[dict]:
    """New running totals per entity; names, QIDs and places' GeoNames facts from the knowledge base's entry
    (``known_entities``) when it knows the entity."""
    rows = []
    for totals in batch:
        entity_id = totals["entity_id"]
        before = published.get(entity_id, {})
        known = known_entities.get(entity_id)
        rows.append({
            "entity_id": entity_id,
            "type": known.type if known else totals["label"],
            "name_ar": known.name_ar if known else (before.get("name_ar") or totals["surface"]),
            "name_en": known.name_en if known else None,
            "wikidata_qid": known.wikidata_qid if known else None,
            "first_seen": _earliest(totals["first_seen"], before.get("first_seen")),
            "last_seen": _latest(totals["last_seen"], before.get("last_seen")),
            "mention_count": totals["n_mentions"] + (before.get("mention_count") or 0),
            "article_count": totals["n_articles"] + (before.get("article_count") or 0),
            "in_alias_table": known is not None,
            "run_id": run_id,
            "kb_source": known.source if known else None,
            "geonames_id": known.geonames_id if known else None,
            "country_code": known.country_code if known else None,
            "latitude": known.latitude if known else None,
            "longitude": known.longitude if known else None,
        })
    return rows


def stage_entities(staging: Staging, warehouse: Warehouse, known_entities: Mapping[str, Entity], run_id: str) -> int:
    """(Re)write the batch's ``entities`` part from what is staged now; returns its row count.
    ``known_entities``: the knowledge base's entries of the entities the staged mentions link to, at least."""
    batch = _batch_totals(staging)
    published = _published(warehouse, [b["entity_id"] for b in batch])
    rows = entity_rows(batch, published, known_entities, run_id)
    staging.write_rows("entities", 0, rows)
    return len(rows)


def stage_entities_replacing(staging: Staging, warehouse: Warehouse, table: AliasTable, run_id: str) -> int:
    """(Re)write the ``entities`` part of a batch that replaces published articles: whole totals, counted again.

    An entity that only the replaced rows named gets no row here; publishing drops it.
    """
    files = {t: staging.paths(t) for t in ("articles", "mentions")}
    batch: list[dict] = []
    names: dict[str, dict] = {}
    if files["articles"] and files["mentions"]:
        with warehouse.connection() as con:
            cursor = con.execute(REPLACING_TOTALS_SQL, files)
            columns = [d[0] for d in cursor.description]
            batch = [dict(zip(columns, row)) for row in cursor.fetchall()]
            con.register("batch", pa.table({"entity_id": pa.array([b["entity_id"] for b in batch], type=pa.string())}))
            names = {i: {"name_ar": n} for i, n in con.execute(NAMES_SQL).fetchall()}
    rows = entity_rows(batch, names, table.entities, run_id)  # names only: the totals are whole already
    staging.write_rows("entities", 0, rows)
    return len(rows)
