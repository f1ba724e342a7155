"""A run on a warehouse that has published for years, against the same run on a new one.

What a run reads of the warehouse must grow with its batch, not with what is
published: the near copies' signatures (``transforms/dedup.py``), the stories
near the batch's days (``warehouse/stories.py``), the entities it touches.
The bench's synthetic warehouse of 100,000 articles (3 million mentions) is
given what a real one has and it lacks: every article's signature and band
keys, the mentions' name keys, and the knowledge base's ids on its most
mentioned entities (so that a new batch touches entities with many
published mentions, as China's and Kazakhstan's are). Then 65 new articles
of its last two days (a day's news, as a scheduled run takes it) go to it,
and to a new warehouse, each after one earlier run of 3 articles; both in
the bench's process, the model and Great Expectations loaded.
"""

from __future__ import annotations

import shutil
from datetime import timedelta
from pathlib import Path

import pyarrow as pa

from bench.near_copies import publish_signatures, random_signatures
from warehouse.replica import refresh_replica
from warehouse.store import Warehouse


def long_lived_warehouse(synthetic: Path, target: Path, entity_ids: list[str]) -> None:
    """``synthetic`` (bench/__main__.py's warehouse) copied to ``target`` with signatures, band keys, name keys,
    and ``entity_ids`` (real ones, most mentioned first) in place of its most mentioned synthetic entities."""
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(synthetic, target)
    with Warehouse(target).connection() as con:
        con.register("renamed", pa.table({"old": [f"e{i}" for i in range(len(entity_ids))], "new": entity_ids}))
        for table, column in (("mentions", "entity_id"), ("article_entities", "entity_id"),
                              ("entities", "entity_id"), ("quotes", "speaker_entity_id")):
            con.execute(f"UPDATE {table} SET {column} = renamed.new FROM renamed WHERE {table}.{column} = renamed.old")
        con.execute("UPDATE mentions SET entity_key = 'name of ' || entity_id")
        publish_signatures(con, random_signatures(i for (i,) in con.execute("SELECT article_id FROM articles").fetchall()))
        con.execute("CHECKPOINT")
    refresh_replica(target)


def most_mentioned(warehouse: Path, n: int = 50) -> list[str]:
    with Warehouse(warehouse).connection() as con:
        return [i for (i,) in con.execute("SELECT entity_id FROM mentions WHERE entity_id IS NOT NULL "
                                          "GROUP BY ALL ORDER BY count(*) DESC, entity_id LIMIT ?", [n]).fetchall()]


def last_days(warehouse: Path) -> tuple:
    with Warehouse(warehouse).connection() as con:
        (last,) = con.execute("SELECT max(published_date) FROM articles").fetchone()
    return last - timedelta(days=1), last


def published(warehouse: Path) -> int:
    with Warehouse(warehouse).connection() as con:
        return con.execute("SELECT count(*) FROM articles").fetchone()[0]


def figures(synthetic: Path, real_run: Path, work: Path, articles: int, timed_ingest
            ) -> list[tuple[str, str, str, bool | None]]:
    """``timed_ingest(inbox, warehouse) -> (seconds, summary)``: bench/__main__.py's."""
    from bench.corpus import SAMPLES, write_corpus

    days = last_days(synthetic)
    corpus, earlier = work / "corpus", work / "earlier"
    write_corpus(corpus, articles, SAMPLES, seed=31, with_samples=False, days=days)
    write_corpus(earlier, 3, SAMPLES, seed=99, with_samples=False)
    old = work / "long-lived" / "akhbar.duckdb"
    long_lived_warehouse(synthetic, old, most_mentioned(real_run))
    new = work / "new" / "akhbar.duckdb"
    for warehouse in (new, old):  # a warehouse that has had a run (the replica's spare is made by the second)
        timed_ingest(earlier, warehouse)
    runs = {}
    for name, warehouse in (("new", new), ("long-lived", old)):
        seconds, summary = timed_ingest(corpus, warehouse)
        if summary.n_new != articles:
            raise RuntimeError(f"{summary.n_new} of {articles} articles published on the {name} warehouse")
        runs[name] = (seconds, summary)
    (new_seconds, new_run), (old_seconds, old_run) = runs["new"], runs["long-lived"]
    beyond = {name: seconds - summary.timings.get("ner", 0.0) for name, (seconds, summary) in runs.items()}
    size = f"{published(synthetic):,} published articles"
    return [
        (f"{articles} new articles of one warehouse's last two days: wall / its NER stage, on a new warehouse / "
         f"on {size}", f"{new_seconds:.2f} s / {new_run.timings.get('ner', 0):.2f} s; "
         f"{old_seconds:.2f} s / {old_run.timings.get('ner', 0):.2f} s", "", None),
        (f"the same run on {size}: wall beyond its NER stage (on a new warehouse)",
         f"{beyond['long-lived']:.2f} s ({beyond['new']:.2f} s)", "≤ 1.5 s (wall ≤ its NER + 1.5 s)",
         beyond["long-lived"] <= 1.5),
        (f"stage seconds on {size}",
         ", ".join(f"{k} {v:.2f}" for k, v in old_run.timings.items()), "", None),
    ]
