"""From NER mention rows to entity links, article × entity counts and a review list.

Pure: the alias table comes in, rows come out. Each mention keeps how it was
linked (``link_method``: alias, clitic, fuzzy or new, with ``link_score``),
so that a questionable merge can always be traced and undone.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from transforms.entities import AliasTable, resolve


@dataclass
class Linked:
    mentions: list[dict[str, Any]] = field(default_factory=list)
    article_entities: list[dict[str, Any]] = field(default_factory=list)
    review: list[dict[str, Any]] = field(default_factory=list)


def link_mentions(mentions: list[dict[str, Any]], table: AliasTable) -> Linked:
    """Add entity columns to mention rows; count entities per article; collect uncertain merges."""
    linked = Linked()
    per_article: dict[tuple[str, str], dict[str, Any]] = {}
    for row in mentions:
        resolution = resolve(row["surface"], row["label"], table)
        linked.mentions.append(row | {
            "entity_id": resolution.entity_id,
            "entity_key": resolution.key,
            "link_method": resolution.method,
            "link_score": float(resolution.score),
        })
        key = (row["article_id"], resolution.entity_id)
        if key not in per_article:
            per_article[key] = {"article_id": key[0], "entity_id": key[1], "mention_count": 0,
                                "first_char": row["start_char"]}
        per_article[key]["mention_count"] += 1
        per_article[key]["first_char"] = min(per_article[key]["first_char"], row["start_char"])
        if resolution.review is not None:
            review = resolution.review
            linked.review.append({
                "article_id": row["article_id"], "mention_index": row["mention_index"],
                "surface": row["surface"], "entity_key": resolution.key, "label": row["label"],
                "entity_id": resolution.entity_id, "candidate_id": review.candidate_id,
                "candidate_name": review.candidate_name, "score": float(review.score), "reason": review.reason,
            })
    linked.article_entities = list(per_article.values())
    return linked
