"""Analyst views over the published tables, created (or replaced) with the schema.

The day of a mention is its article's ``published_date``, or the day the
article was taken in when the text gives no trustworthy date; the timelines
say which in ``day_source`` (``published_date`` or ``ingested``), so that
undated articles can be left out. Columns are only ever added, at the end.
"""

from __future__ import annotations

ARTICLE_DAY = "coalesce(a.published_date, CAST(a.ingested_at AS DATE))"
ARTICLE_MONTH = f"CAST(date_trunc('month', {ARTICLE_DAY}) AS DATE)"
ARTICLE_DAY_SOURCE = "CASE WHEN a.published_date IS NULL THEN 'ingested' ELSE 'published_date' END"
# The outlet an article counts for: its URL's host, else the agency it credits, else the source it came in by.
ARTICLE_OUTLET = ("coalesce(nullif(regexp_extract(a.url, '^[A-Za-z]+://(?:www\\.)?([^/:?#]+)', 1), ''), a.agency, "
                  "a.source_id, 'unknown')")

VIEWS: dict[str, str] = {
    # entity × day × where the day came from, with its month for rolling up
    "entity_timeline": f"""
        SELECT e.entity_id, e.type, e.name_ar, e.name_en, e.wikidata_qid,
               {ARTICLE_DAY} AS day,
               {ARTICLE_MONTH} AS month,
               sum(ae.mention_count) AS mentions,
               count(*) AS articles,
               {ARTICLE_DAY_SOURCE} AS day_source
        FROM article_entities ae
        JOIN articles a USING (article_id)
        JOIN entities e USING (entity_id)
        GROUP BY ALL
    """,
    # entity × month × where the days came from
    "entity_timeline_monthly": """
        SELECT entity_id, type, name_ar, name_en, wikidata_qid, month,
               sum(mentions) AS mentions, sum(articles) AS articles, day_source
        FROM entity_timeline
        GROUP BY ALL
    """,
    # Ordered pairs (both directions), so "with X" is one filter on entity_a:
    # scope 'article' counts articles that mention both, 'sentence' counts sentences.
    "entity_cooccurrence": """
        WITH in_articles AS (
            SELECT x.entity_id AS entity_a, y.entity_id AS entity_b, 'article' AS scope,
                   count(*) AS count
            FROM article_entities x
            JOIN article_entities y ON x.article_id = y.article_id AND x.entity_id <> y.entity_id
            GROUP BY ALL
        ),
        sentence_entities AS (
            SELECT DISTINCT article_id, sentence_index, entity_id FROM mentions WHERE entity_id IS NOT NULL
        ),
        in_sentences AS (
            SELECT x.entity_id AS entity_a, y.entity_id AS entity_b, 'sentence' AS scope,
                   count(*) AS count
            FROM sentence_entities x
            JOIN sentence_entities y
              ON x.article_id = y.article_id AND x.sentence_index = y.sentence_index
             AND x.entity_id <> y.entity_id
            GROUP BY ALL
        )
        SELECT p.entity_a, a.name_ar AS name_a, a.name_en AS name_en_a, a.type AS type_a,
               p.entity_b, b.name_ar AS name_b, b.name_en AS name_en_b, b.type AS type_b,
               p.scope, p.count
        FROM (SELECT * FROM in_articles UNION ALL SELECT * FROM in_sentences) p
        JOIN entities a ON a.entity_id = p.entity_a
        JOIN entities b ON b.entity_id = p.entity_b
    """,
    # Each amount × each entity named in its sentence (in the whole article when the amount stands in the headline,
    # before the first sentence): the one place that says which entities an amount is named beside.
    "amount_entities": """
        SELECT DISTINCT x.article_id, x.amount_index, n.entity_id
        FROM amounts x
        JOIN mentions n ON n.article_id = x.article_id AND n.entity_id IS NOT NULL
                       AND (x.sentence_index IS NULL OR n.sentence_index = x.sentence_index)
    """,
    # Each amount with its article's day, title and credited agency, and its entities (amount_entities). The list
    # is a subquery, not a grouping of every amount's columns: "the largest sums" then sorts amounts, not groups.
    "amounts_in_context": f"""
        SELECT x.article_id, x.amount_index, x.text, x.value, x.unit, x.currency, x.scale, x.qualifier, x.upper,
               x.sentence_index, x.start_char, x.end_char,
               {ARTICLE_DAY} AS day, {ARTICLE_MONTH} AS month,
               {ARTICLE_DAY_SOURCE} AS day_source, a.title, a.agency, a.source_id,
               (SELECT list(ae.entity_id ORDER BY ae.entity_id) FROM amount_entities ae
                WHERE ae.article_id = x.article_id AND ae.amount_index = x.amount_index) AS entities
        FROM amounts x
        JOIN articles a USING (article_id)
    """,
    # entity × month × unit and currency: the amounts named in the same sentence as the entity (a join, not an
    # unnest of amounts_in_context, so that a filter on the entity reaches the mentions first)
    "amounts_by_entity_month": f"""
        SELECT e.entity_id, e.type, e.name_ar, e.name_en, {ARTICLE_MONTH} AS month,
               x.unit, x.currency, count(*) AS amounts, count(DISTINCT x.article_id) AS articles,
               sum(x.value) AS total_value, max(x.value) AS largest_value, {ARTICLE_DAY_SOURCE} AS day_source
        FROM amount_entities ae
        JOIN amounts x USING (article_id, amount_index)
        JOIN articles a USING (article_id)
        JOIN entities e ON e.entity_id = ae.entity_id
        GROUP BY ALL
    """,
    # Each quote with its speaker (their canonical entity when the speaker is a mention), its article's day, title,
    # outlet and agency, and the entities named inside the quoted words: "what did X say, about whom".
    "quotes_in_context": f"""
        SELECT q.article_id, q.quote_index, q.kind, q.text, q.verb, q.start_char, q.end_char,
               q.speaker_text, q.speaker_via, q.speaker_entity_id,
               s.name_ar AS speaker_name_ar, s.name_en AS speaker_name_en, s.type AS speaker_type,
               {ARTICLE_DAY} AS day, {ARTICLE_MONTH} AS month,
               {ARTICLE_DAY_SOURCE} AS day_source, a.title, a.agency, a.source_id,
               list(DISTINCT m.entity_id ORDER BY m.entity_id)
                   FILTER (WHERE m.entity_id IS NOT NULL AND m.entity_id IS DISTINCT FROM q.speaker_entity_id)
                   AS about
        FROM quotes q
        JOIN articles a USING (article_id)
        LEFT JOIN entities s ON s.entity_id = q.speaker_entity_id
        LEFT JOIN mentions m ON m.article_id = q.article_id
                            AND m.start_char >= q.start_char AND m.end_char <= q.end_char
        GROUP BY ALL
    """,
    # entity spoken about × quote: who said what about an entity, one row per quote and entity named in its words
    # (a join, not an unnest of quotes_in_context, so that a filter on the entity reaches the mentions first)
    "quotes_about_entity": f"""
        SELECT DISTINCT e.entity_id, e.type, e.name_ar, e.name_en,
               q.speaker_entity_id, s.name_ar AS speaker_name_ar, s.name_en AS speaker_name_en, q.speaker_text,
               q.speaker_via, q.kind, q.text, q.verb, {ARTICLE_DAY} AS day,
               {ARTICLE_MONTH} AS month, {ARTICLE_DAY_SOURCE} AS day_source,
               a.title, a.agency, a.source_id, q.article_id, q.quote_index
        FROM quotes q
        JOIN mentions m ON m.article_id = q.article_id AND m.start_char >= q.start_char AND m.end_char <= q.end_char
                       AND m.entity_id IS DISTINCT FROM q.speaker_entity_id
        JOIN entities e ON e.entity_id = m.entity_id
        JOIN articles a ON a.article_id = q.article_id
        LEFT JOIN entities s ON s.entity_id = q.speaker_entity_id
    """,
    # Each story with the outlets that covered it, the agencies they credited, and the entities its articles
    # name most: "which outlets covered this visit".
    "stories_with_outlets": f"""
        WITH members AS (
            SELECT s.story_id, a.article_id, a.title, a.agency, {ARTICLE_OUTLET} AS outlet
            FROM article_stories s JOIN articles a USING (article_id)
        ),
        named AS (
            SELECT m.story_id, ae.entity_id, sum(ae.mention_count) AS mentions
            FROM members m JOIN article_entities ae USING (article_id)
            GROUP BY ALL
        ),
        top_named AS (  -- ties go by entity id: the same five names every time the query runs
            SELECT story_id, max_by(e.name_ar, (n.mentions, e.entity_id), 5) AS entities
            FROM named n JOIN entities e USING (entity_id)
            GROUP BY story_id
        )
        SELECT st.story_id, st.title, st.first_seen, st.last_seen, st.n_articles, st.n_sources,
               list(DISTINCT m.outlet ORDER BY m.outlet) AS outlets,
               list(DISTINCT m.agency ORDER BY m.agency) FILTER (WHERE m.agency IS NOT NULL) AS agencies,
               any_value(t.entities) AS entities
        FROM stories st
        JOIN members m USING (story_id)
        LEFT JOIN top_named t USING (story_id)
        GROUP BY st.story_id, st.title, st.first_seen, st.last_seen, st.n_articles, st.n_sources
    """,
    # Items in quarantine now: the latest event of each item is still open.
    "open_quarantine": """
        SELECT item_id, source_path, reason, detail, level, run_id, quarantined_at, stored_path
        FROM (
            SELECT *, row_number() OVER (PARTITION BY item_id ORDER BY quarantined_at DESC) AS latest
            FROM quarantine
        )
        WHERE latest = 1 AND status = 'open'
    """,
    "top_entities": """
        SELECT rank() OVER (ORDER BY mention_count DESC, article_count DESC) AS rank,
               entity_id, type, name_ar, name_en, wikidata_qid, mention_count, article_count,
               first_seen, last_seen, in_alias_table
        FROM entities
        ORDER BY rank, entity_id
    """,
}


def create_views_sql() -> dict[str, str]:
    """Each view's CREATE statement, by name, in an order where a view comes after the views it reads."""
    return {name: f"CREATE OR REPLACE VIEW {name} AS {sql.strip()}" for name, sql in VIEWS.items()}
