"""Audit frames: staged rows plus the derived columns the suites check.

Cross-table facts are computed here, in DuckDB over the staged Parquet and the
published tables, because that is fast (a million rows in well under a
second) and exact; Great Expectations then checks them as plain columns.
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from typing import Mapping, Sequence

import pandas as pd

from transforms.script import ARABIC_LETTERS, MOJIBAKE_LETTERS
from warehouse.store import Staging, Warehouse

# Every Arabic letter proper (transforms/script.py): diacritics and digits do not count.
_ARABIC_LETTERS = "".join(chr(c) for first, last in ARABIC_LETTERS for c in range(first, last + 1))

ARTICLES_SQL = """
WITH a AS (SELECT * FROM read_parquet($articles, union_by_name = true)),
     s AS (SELECT article_id, count(*) AS n FROM read_parquet($sentences) GROUP BY ALL),
     m AS (SELECT article_id, count(*) AS n FROM read_parquet($mentions) GROUP BY ALL),
     -- translate() deletes a set of letters a few times faster than a regular expression class does
     letters AS (
        SELECT article_id,
               length(regexp_replace(text, '[^\\p{{L}}]', '', 'g')) AS n_letters,
               length(text) - length(translate(text, '{arabic_letters}', '')) AS n_arabic,
               length(text) - length(translate(text, '{mojibake_letters}', '')) AS n_mojibake
        FROM a)
SELECT a.*,
       coalesce(letters.n_arabic / nullif(letters.n_letters, 0), 0.0) AS arabic_ratio,
       coalesce(letters.n_mojibake / nullif(letters.n_arabic, 0), 0.0) AS mojibake_ratio,
       a.article_id IN (SELECT article_id FROM articles) AS already_published,
       coalesce(m.n, 0) = a.n_mentions AS mentions_consistent,
       coalesce(s.n, 0) = a.n_sentences AS sentences_consistent,
       date_diff('day', current_date, a.published_date) AS published_date_days_ahead,
       year(a.published_date) AS published_date_year,
       -- the span of the text, save furniture lines blanked inside it (same length, so offsets hold)
       coalesce(length(a.body) = a.body_end - a.body_start AND list_bool_and(list_transform(
           list_zip(string_split(a.body, chr(10)),
                    string_split(substr(a.text, a.body_start + 1, a.body_end - a.body_start), chr(10))),
           lambda p: struct_extract(p, 1) = struct_extract(p, 2) OR trim(struct_extract(p, 1)) = '')), false)
           AS body_is_slice,
       (a.published_date IS NULL) = (a.date_source = 'none') AS date_has_source,
       a.duplicate_of IS NULL
           OR a.duplicate_of IN (SELECT article_id FROM articles)
           OR a.duplicate_of IN (SELECT article_id FROM a WHERE duplicate_of IS NULL) AS duplicate_of_exists
FROM a
LEFT JOIN letters USING (article_id)
LEFT JOIN s USING (article_id)
LEFT JOIN m USING (article_id)
"""

SENTENCES_SQL = """
WITH a AS (SELECT article_id, text_chars FROM read_parquet($articles))
SELECT s.*,
       a.article_id IS NOT NULL AS has_article,
       coalesce(s.start_char >= 0 AND s.start_char < s.end_char AND s.end_char <= a.text_chars, false)
           AS within_text
FROM read_parquet($sentences) s
LEFT JOIN a USING (article_id)
"""

MENTIONS_SQL = """
WITH a AS (SELECT article_id, text, text_chars FROM read_parquet($articles)),
     s AS (SELECT article_id, sentence_index FROM read_parquet($sentences))
SELECT m.*,
       a.article_id IS NOT NULL AS has_article,
       s.article_id IS NOT NULL AS has_sentence,
       coalesce(m.start_char >= 0 AND m.start_char < m.end_char AND m.end_char <= a.text_chars, false)
           AS within_text,
       -- DuckDB's substr is 1-based and counts characters; our offsets are 0-based code points.
       coalesce(substr(a.text, m.start_char + 1, m.end_char - m.start_char) = m.surface, false)
           AS surface_matches
FROM read_parquet($mentions) m
LEFT JOIN a USING (article_id)
LEFT JOIN s USING (article_id, sentence_index)
"""

AMOUNTS_SQL = """
WITH a AS (SELECT article_id, text, text_chars FROM read_parquet($articles)),
     s AS (SELECT article_id, sentence_index FROM read_parquet($sentences))
SELECT x.*,
       a.article_id IS NOT NULL AS has_article,
       x.sentence_index IS NULL OR s.article_id IS NOT NULL AS has_sentence,
       coalesce(x.start_char >= 0 AND x.start_char < x.end_char AND x.end_char <= a.text_chars, false)
           AS within_text,
       coalesce(substr(a.text, x.start_char + 1, x.end_char - x.start_char) = x.text, false) AS text_matches,
       isfinite(x.value) AND x.value > 0 AND (x.upper IS NULL OR (isfinite(x.upper) AND x.upper > x.value))
           AS value_plausible
FROM read_parquet($amounts) x
LEFT JOIN a USING (article_id)
LEFT JOIN s USING (article_id, sentence_index)
"""

QUOTES_SQL = """
WITH a AS (SELECT article_id, text, text_chars FROM read_parquet($articles)),
     s AS (SELECT article_id, sentence_index FROM read_parquet($sentences)),
     m AS (SELECT article_id, mention_index, entity_id FROM read_parquet($mentions))
SELECT q.*,
       a.article_id IS NOT NULL AS has_article,
       q.sentence_index IS NULL OR s.article_id IS NOT NULL AS has_sentence,
       coalesce(q.start_char >= 0 AND q.start_char < q.end_char AND q.end_char <= a.text_chars, false)
           AS within_text,
       coalesce(substr(a.text, q.start_char + 1, q.end_char - q.start_char) = q.text
                AND substr(a.text, q.verb_start + 1, q.verb_end - q.verb_start) = q.verb
                AND substr(a.text, q.speaker_start + 1, q.speaker_end - q.speaker_start) = q.speaker_text, false)
           AS text_matches,
       -- a speaker is a mention of the same article, with that mention's entity; only a title never named (or
       -- its continuation) has none, and then no entity
       CASE WHEN q.speaker_mention_index IS NULL THEN q.speaker_via <> 'name' AND q.speaker_entity_id IS NULL
            ELSE m.article_id IS NOT NULL AND m.entity_id IS NOT DISTINCT FROM q.speaker_entity_id END
           AS speaker_is_mention
FROM read_parquet($quotes) q
LEFT JOIN a USING (article_id)
LEFT JOIN s USING (article_id, sentence_index)
LEFT JOIN m ON m.article_id = q.article_id AND m.mention_index = q.speaker_mention_index
"""

# One row per staged membership, and one per staged story that has none (article_id NULL), with the story's
# totals checked against every member it has: the staged ones and the published ones of articles not staged.
STORIES_SQL = """
WITH st AS (SELECT * FROM read_parquet($stories)),
     m AS (SELECT * FROM read_parquet($article_stories)),
     staged_a AS (SELECT article_id FROM read_parquet($articles)),
     members AS (
        SELECT story_id, count(*) AS n FROM (
            SELECT article_id, story_id FROM m
            UNION ALL
            SELECT article_id, story_id FROM article_stories WHERE article_id NOT IN (SELECT article_id FROM m))
        GROUP BY story_id)
SELECT coalesce(m.story_id, st.story_id) AS story_id, m.article_id, m.similarity,
       m.article_id IS NULL OR m.article_id IN (SELECT article_id FROM staged_a)
           OR m.article_id IN (SELECT article_id FROM articles) AS has_article,
       m.story_id IS NULL OR m.story_id IN (SELECT story_id FROM st)
           OR m.story_id IN (SELECT story_id FROM stories) AS has_story,
       st.story_id IS NULL OR coalesce(st.n_articles = members.n AND st.n_sources BETWEEN 1 AND st.n_articles
                                       AND (st.first_seen IS NULL OR st.first_seen <= st.last_seen), false)
           AS story_consistent
FROM m FULL OUTER JOIN st ON m.story_id = st.story_id
LEFT JOIN members ON members.story_id = coalesce(m.story_id, st.story_id)
"""

ENTITIES_SQL = """
WITH staged AS (SELECT entity_id, count(*) AS n FROM read_parquet($mentions)
                WHERE entity_id IS NOT NULL GROUP BY ALL),
     published AS (SELECT entity_id, count(*) AS n FROM mentions
                   WHERE entity_id IN (SELECT entity_id FROM staged) GROUP BY ALL)
SELECT e.*,
       e.mention_count = coalesce(s.n, 0) + coalesce(p.n, 0) AS mention_count_consistent,
       e.first_seen IS NULL OR e.first_seen <= e.last_seen AS seen_in_order
FROM read_parquet($entities) e
LEFT JOIN staged s USING (entity_id)
LEFT JOIN published p USING (entity_id)
"""

ARTICLE_ENTITIES_SQL = """
WITH a AS (SELECT article_id, n_mentions FROM read_parquet($articles)),
     per_article AS (SELECT article_id, sum(mention_count) AS n FROM read_parquet($article_entities) GROUP BY ALL),
     linked AS (SELECT article_id, entity_id, count(*) AS n FROM read_parquet($mentions)
                WHERE entity_id IS NOT NULL GROUP BY ALL),
     e AS (SELECT entity_id FROM read_parquet($entities))
SELECT ae.*,
       a.article_id IS NOT NULL AS has_article,
       ae.entity_id IN (SELECT entity_id FROM e) AS has_entity,
       coalesce(per_article.n = a.n_mentions, false) AS counts_match_article,
       coalesce(linked.n = ae.mention_count, false) AS counts_match_mentions
FROM read_parquet($article_entities) ae
LEFT JOIN a USING (article_id)
LEFT JOIN per_article USING (article_id)
LEFT JOIN linked USING (article_id, entity_id)
"""


def audit_frames(
    published: Warehouse, staging: Staging, columns: Mapping[str, Sequence[str]] | None = None
) -> dict[str, pd.DataFrame]:
    """One pandas frame per staged table, with the derived audit columns.

    ``published`` is the warehouse (its ``articles`` table is what "already
    published" and "existing article" mean). ``columns`` keeps only the
    columns a table's suite checks: article text the rules never read is then
    neither computed into nor copied out to pandas (DuckDB prunes it from the
    query). The frames are built at once, one connection each: a batch's
    staged tables are a row group or two, which DuckDB reads on one thread.
    """
    files = {t: staging.paths(t) for t in ("articles", "sentences", "mentions")}
    for table, paths in files.items():
        if not paths:
            raise ValueError(f"no staged {table} under {staging.root}")
    articles_sql = ARTICLES_SQL.format(arabic_letters=_ARABIC_LETTERS, mojibake_letters=MOJIBAKE_LETTERS)
    queries = {
        "articles": (articles_sql, files),
        "sentences": (SENTENCES_SQL, {k: files[k] for k in ("articles", "sentences")}),
        "mentions": (MENTIONS_SQL, files),
    }
    amounts = staging.paths("amounts")
    if amounts:  # staged by every run since amounts were added; a batch staged before then has none
        queries["amounts"] = (AMOUNTS_SQL, {k: files[k] for k in ("articles", "sentences")} | {"amounts": amounts})
    quotes = staging.paths("quotes")
    if quotes:  # likewise since quotes were added
        queries["quotes"] = (QUOTES_SQL, files | {"quotes": quotes})
    stories = {t: staging.paths(t) for t in ("stories", "article_stories")}
    if stories["stories"] and stories["article_stories"]:  # likewise since stories were added
        queries["stories"] = (STORIES_SQL, {"articles": files["articles"]} | stories)
    # Entity tables are checked whenever a batch stages them (every flow run does).
    linked = {t: staging.paths(t) for t in ("entities", "article_entities")}
    if linked["entities"]:
        queries["entities"] = (ENTITIES_SQL, {"mentions": files["mentions"], "entities": linked["entities"]})
    if linked["entities"] and linked["article_entities"]:
        queries["article_entities"] = (ARTICLE_ENTITIES_SQL, {k: files[k] for k in ("articles", "mentions")} | linked)

    def frame(table: str) -> pd.DataFrame:
        sql, parameters = queries[table]
        if columns is not None and table in columns:
            sql = f"SELECT {', '.join(columns[table])} FROM ({sql})"
        with published.connection() as con:
            return con.execute(sql, parameters).df()

    # Held open, and its schema checked here, before the threads each ask for a connection.
    with published.held_open(), published.connection():
        with ThreadPoolExecutor(min(len(queries), os.cpu_count() or 1)) as pool:
            return dict(zip(queries, pool.map(frame, queries)))
