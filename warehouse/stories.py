"""Stories for a staged batch (``transforms/stories.py``), merged with the stories already published.

A run stages one ``article_stories`` row per staged article and one ``stories`` row per story its articles
opened or joined, with the story's whole totals (its published members counted too); publishing replaces the
published rows of those stories in the same transaction. The articles a new one is compared with are the
published members of stories within the rule's window of the batch's days. The day of an article is its
``published_date``, else the day it was taken in, as everywhere in the warehouse.

A batch that replaces published articles (``akhbar reprocess``) keeps their stories: their memberships are
staged again as they are, and an article published before stories were kept gets one
(:func:`stage_stories_replacing`).
"""

from __future__ import annotations


import duckdb
import pyarrow as pa

from transforms.stories import StoryArticle, StoryRule, assign, entity_counts, story_row, terms
from warehouse.store import Staging, Warehouse
from warehouse.views import ARTICLE_DAY, ARTICLE_OUTLET

_SOURCE = ARTICLE_OUTLET

# A story's title: its earliest member's headline, else the opening words of its lead.
_TITLE = "coalesce(a.title, nullif(trim(regexp_extract(a.body, '^\\s*([^\\n.،]{1,120})', 1)), ''))"

STAGED_SQL = f"""
SELECT a.article_id, {ARTICLE_DAY} AS day, a.published_date IS NOT NULL AS dated, {_SOURCE} AS source, a.title,
       a.body, a.duplicate_of, {_TITLE} AS story_title
FROM read_parquet($articles) a
"""

STAGED_MENTIONS_SQL = """
SELECT article_id, entity_id, label, source FROM read_parquet($mentions) WHERE entity_id IS NOT NULL
"""

# The published members within the window of one of the batch's days, not of the span from its first day to its
# last: one old article in a batch of today's news would otherwise bring in every article published between.
CANDIDATES_SQL = f"""
SELECT a.article_id, {ARTICLE_DAY} AS day, a.published_date IS NOT NULL AS dated, {_SOURCE} AS source, a.title,
       a.body, a.duplicate_of, s.story_id
FROM articles a JOIN article_stories s USING (article_id)
WHERE EXISTS (SELECT 1 FROM batch_days b WHERE {ARTICLE_DAY} BETWEEN b.day - $window AND b.day + $window)
"""

CANDIDATE_MENTIONS_SQL = """
SELECT article_id, entity_id, label, source FROM mentions
WHERE article_id IN (SELECT article_id FROM candidates) AND entity_id IS NOT NULL
"""

MEMBERS_SQL = f"""
SELECT s.story_id, a.article_id, {ARTICLE_DAY} AS day, {_SOURCE} AS source, {_TITLE} AS title
FROM article_stories s JOIN articles a USING (article_id)
WHERE s.story_id IN (SELECT story_id FROM touched)
"""


def _story_articles(rows: list[dict], mentions: list[dict]) -> dict[str, StoryArticle]:
    by_article: dict[str, list[dict]] = {}
    for mention in mentions:
        by_article.setdefault(mention["article_id"], []).append(mention)
    return {r["article_id"]: StoryArticle(r["article_id"], r["day"], r["source"], r["title"],
                                          terms(r["title"], r["body"] or ""),
                                          entity_counts(by_article.get(r["article_id"], [])), r["duplicate_of"],
                                          r["dated"])
            for r in rows}


def _dicts(cursor) -> list[dict]:
    names = [d[0] for d in cursor.description]
    return [dict(zip(names, row)) for row in cursor.fetchall()]


def published_within(con: duckdb.DuckDBPyConnection, days: list, window_days: int) -> list[dict]:
    """The published articles that are members of a story, within ``window_days`` of one of ``days``."""
    con.register("batch_days", pa.table({"day": pa.array(sorted(set(days)), type=pa.date32())}))
    return _dicts(con.execute(CANDIDATES_SQL, {"window": window_days}))


def stage_stories(staging: Staging, warehouse: Warehouse, rule: StoryRule = StoryRule()) -> int:
    """(Re)write the batch's ``article_stories`` and ``stories`` parts from what is staged now; returns the
    number of stories staged."""
    memberships, rows = _grouped(staging, warehouse, rule)
    staging.write_rows("article_stories", 0, memberships)
    staging.write_rows("stories", 0, rows)
    return len(rows)


def stage_stories_replacing(staging: Staging, warehouse: Warehouse, rule: StoryRule = StoryRule()) -> int:
    """The stories of a batch that replaces published articles: an article keeps its published story; one that
    has none (published before stories were kept) gets one, as a new article would. The rows of every story
    touched are staged again, their members' days and titles as the batch now has them. Returns the number of
    memberships staged."""
    ids = staging.column("articles", "article_id") if staging.paths("articles") else []
    kept: list[dict] = []
    if ids and warehouse.path.exists():
        with warehouse.connection() as con:
            con.register("replaced", pa.table({"article_id": pa.array(ids, type=pa.string())}))
            kept = _dicts(con.execute("SELECT article_id, story_id, similarity FROM article_stories "
                                      "WHERE article_id IN (SELECT article_id FROM replaced)"))
    without = set(ids) - {row["article_id"] for row in kept}
    memberships, rows = _grouped(staging, warehouse, rule, only=without) if without else ([], [])
    grouped = {row["story_id"] for row in rows}
    others = sorted({row["story_id"] for row in kept} - grouped)
    if others:
        with duckdb.connect() as memory:
            staged = {r["article_id"]: r for r in _dicts(memory.execute(STAGED_SQL,
                                                                         {"articles": staging.paths("articles")}))}
        members: dict[str, list[tuple]] = {}
        with warehouse.connection() as con:
            con.register("touched", pa.table({"story_id": pa.array(others, type=pa.string())}))
            for row in _dicts(con.execute(MEMBERS_SQL)):
                now = staged.get(row["article_id"])
                members.setdefault(row["story_id"], []).append(
                    (row["article_id"], now["day"], now["source"], now["story_title"]) if now else
                    (row["article_id"], row["day"], row["source"], row["title"]))
        rows += [story_row(story_id, members[story_id]) for story_id in others]
    staging.write_rows("article_stories", 0, kept + memberships)
    staging.write_rows("stories", 0, rows)
    return len(kept) + len(memberships)


def _grouped(staging: Staging, warehouse: Warehouse, rule: StoryRule,
             only: set[str] | None = None) -> tuple[list[dict], list[dict]]:
    """(article_stories rows, stories rows) of the staged articles (those in ``only``, if given), grouped with
    the published members of stories within the rule's window of their days."""
    files = {t: staging.paths(t) for t in ("articles", "mentions")}
    if not files["articles"]:
        return [], []
    with duckdb.connect() as memory:
        staged_rows = _dicts(memory.execute(STAGED_SQL, {"articles": files["articles"]}))
        staged_mentions = _dicts(memory.execute(STAGED_MENTIONS_SQL, {"mentions": files["mentions"]})) \
            if files["mentions"] else []
    if only is not None:
        staged_rows = [r for r in staged_rows if r["article_id"] in only]
    new = _story_articles(staged_rows, staged_mentions)
    titles = {r["article_id"]: r["story_title"] for r in staged_rows}
    days = [r["day"] for r in staged_rows if r["day"] is not None]
    members: dict[str, list[tuple]] = {}
    if not warehouse.path.exists() or not days:
        memberships, stories = assign(list(new.values()), [], rule)
    else:
        with warehouse.connection() as con:
            candidates = [r for r in published_within(con, days, rule.window_days) if r["article_id"] not in new]
            con.register("candidates", pa.table({"article_id": pa.array([r["article_id"] for r in candidates],
                                                                        type=pa.string())}))
            published = _story_articles(candidates, _dicts(con.execute(CANDIDATE_MENTIONS_SQL)))
            memberships, stories = assign(list(new.values()),
                                          [(published[r["article_id"]], r["story_id"]) for r in candidates], rule)
            con.register("touched", pa.table({"story_id": pa.array([s.story_id for s in stories],
                                                                  type=pa.string())}))
            for row in _dicts(con.execute(MEMBERS_SQL)):
                if row["article_id"] not in new:
                    members.setdefault(row["story_id"], []).append((row["article_id"], row["day"], row["source"],
                                                                     row["title"]))
    for membership in memberships:
        article = new[membership.article_id]
        members.setdefault(membership.story_id, []).append((article.article_id, article.day, article.source,
                                                            titles[article.article_id]))
    return ([{"article_id": m.article_id, "story_id": m.story_id, "similarity": m.similarity} for m in memberships],
            [story_row(story.story_id, members[story.story_id]) for story in stories])
