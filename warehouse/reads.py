"""The queries the CLI and the report run on the published tables, each behind a function.

Every function opens the read replica with :func:`warehouse.query.open_read_only`
(read-only, no access outside the file) and returns plain rows: drawing and
printing them is the caller's business. Analysts' own SQL goes through
:func:`warehouse.query.run_query`.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from warehouse.query import QueryResult, open_read_only, readable_path, run_query

# --------------------------------------------------------------------------- report

TOP_SQL = """SELECT entity_id, name_ar, name_en, type, mention_count, article_count
             FROM top_entities LIMIT ?"""
TIMELINE_SQL = """SELECT entity_id, CAST(month AS VARCHAR) AS month, CAST(sum(mentions) AS BIGINT) AS mentions
                  FROM entity_timeline_monthly
                  WHERE entity_id IN (SELECT entity_id FROM top_entities LIMIT ?) GROUP BY ALL ORDER BY month, entity_id"""
EDGES_SQL = """SELECT entity_a, entity_b, count FROM entity_cooccurrence
               WHERE scope = 'article' AND entity_a < entity_b
                 AND entity_a IN (SELECT entity_id FROM top_entities LIMIT ?)
                 AND entity_b IN (SELECT entity_id FROM top_entities LIMIT ?)"""
SOURCES_SQL = """SELECT coalesce(agency, 'unknown') AS agency,
                        strftime(coalesce(published_date, CAST(ingested_at AS DATE)), '%Y-%m') AS month,
                        count(*) AS articles
                 FROM articles WHERE duplicate_of IS NULL GROUP BY ALL ORDER BY month, agency"""
RUNS_SQL = """SELECT run_id, started_at, n_seen, n_new, n_failed, status, message
              FROM runs ORDER BY started_at DESC LIMIT 8"""


# The largest sums of money, dollars first, with the names of the entities of their sentence.
AMOUNTS_SQL = """
SELECT text, value, unit, currency, day, title, agency, names
FROM (
    SELECT c.article_id, c.amount_index, c.text, c.value, c.unit, c.currency, c.day, c.title, c.agency,
           list(e.name_ar ORDER BY e.mention_count DESC) FILTER (WHERE e.entity_id IS NOT NULL) AS names
    FROM amounts_in_context c
    LEFT JOIN entities e ON list_contains(c.entities, e.entity_id)
    WHERE c.unit = 'currency' AND c.currency IS NOT NULL
    GROUP BY c.article_id, c.amount_index, c.text, c.value, c.unit, c.currency, c.day, c.title, c.agency
)
ORDER BY currency = 'USD' DESC, value DESC, article_id, amount_index
LIMIT ?
"""


# Who is quoted most: the speakers that are canonical entities, with how many quotes, articles and outlets.
SPEAKERS_SQL = """
SELECT speaker_entity_id, any_value(speaker_name_ar) AS name_ar, any_value(speaker_name_en) AS name_en,
       count(*) AS quotes, count(DISTINCT article_id) AS articles,
       count(DISTINCT coalesce(agency, source_id)) AS outlets
FROM quotes_in_context
WHERE speaker_entity_id IS NOT NULL AND speaker_name_ar IS NOT NULL
GROUP BY speaker_entity_id
ORDER BY quotes DESC, articles DESC, speaker_entity_id
LIMIT ?
"""

# The latest quotes: who, how (the verb as written), what, in which article, and whom the words name.
RECENT_QUOTES_SQL = """
SELECT day, speaker, verb, kind, text, title, agency, about
FROM (
    SELECT c.article_id, c.quote_index, c.day, coalesce(c.speaker_name_ar, c.speaker_text) AS speaker, c.verb,
           c.kind, c.text, c.title, c.agency,
           list(e.name_ar ORDER BY e.mention_count DESC) FILTER (WHERE e.entity_id IS NOT NULL) AS about
    FROM quotes_in_context c
    LEFT JOIN entities e ON list_contains(c.about, e.entity_id)
    GROUP BY ALL
)
ORDER BY day DESC NULLS LAST, article_id, quote_index
LIMIT ?
"""


# The biggest stories: most outlets, then most articles, with the outlets that covered them.
STORIES_SQL = """
SELECT title, first_seen, last_seen, n_articles, n_sources, outlets, entities
FROM stories_with_outlets
ORDER BY n_sources DESC, n_articles DESC, last_seen DESC NULLS LAST, story_id
LIMIT ?
"""


@dataclass
class ReportData:
    """What `akhbar report` draws, as rows in the column order of the queries above."""

    top: list[tuple]  # (entity_id, name_ar, name_en, type, mention_count, article_count)
    timeline: list[tuple]  # (entity_id, month, mentions)
    edges: list[tuple]  # (entity_a, entity_b, count)
    sources: list[tuple]  # (agency, month, articles)
    runs: list[tuple]  # (run_id, started_at, n_seen, n_new, n_failed, status, message)
    warehouse: Path  # the file read (the replica, when there is one)
    amounts: list[tuple] = ()  # (text, value, unit, currency, day, title, agency, entity names)
    speakers: list[tuple] = ()  # (speaker_entity_id, name_ar, name_en, quotes, articles, outlets)
    quotes: list[tuple] = ()  # (day, speaker, verb, kind, text, title, agency, names the words name)
    stories: list[tuple] = ()  # (title, first_seen, last_seen, n_articles, n_sources, outlets, entities)


def report_data(warehouse: Path, top_n: int = 15) -> ReportData:
    """The report's rows: the ``top_n`` entities, the timeline of at most six of them, their links, sources, runs."""
    with open_read_only(warehouse) as con:
        return ReportData(
            top=con.execute(TOP_SQL, [top_n]).fetchall(),
            timeline=con.execute(TIMELINE_SQL, [min(top_n, 6)]).fetchall(),
            edges=con.execute(EDGES_SQL, [top_n, top_n]).fetchall(),
            sources=con.execute(SOURCES_SQL).fetchall(),
            runs=con.execute(RUNS_SQL).fetchall(),
            warehouse=readable_path(warehouse),
            amounts=con.execute(AMOUNTS_SQL, [top_n]).fetchall(),
            speakers=con.execute(SPEAKERS_SQL, [top_n]).fetchall(),
            quotes=con.execute(RECENT_QUOTES_SQL, [top_n]).fetchall(),
            stories=con.execute(STORIES_SQL, [top_n]).fetchall(),
        )


# --------------------------------------------------------------------------- evaluate

PREDICTED_SQL = """
SELECT regexp_extract(a.source_path, '[^/\\\\]+$') AS article, ae.entity_id, e.type
FROM article_entities ae
JOIN articles a USING (article_id)
JOIN entities e USING (entity_id)
"""


def predicted_entities(warehouse: Path) -> list[tuple[str, str, str]]:
    """(article file name, entity_id, type) for each canonical entity of each article: what gold sets are scored on."""
    return run_query(warehouse, PREDICTED_SQL).rows


# --------------------------------------------------------------------------- sql prompt

TABLES_SQL = "SELECT table_name, table_type FROM information_schema.tables ORDER BY ALL"


def table_listing(warehouse: Path) -> QueryResult:
    """Every table and view with its type, as the interactive prompt's ``.tables`` shows them."""
    return run_query(warehouse, TABLES_SQL)
