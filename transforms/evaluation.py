"""Precision and recall of canonical entity sets, per article and per type.

An article's entity set is what an analyst asks about ("which entities does
this article mention"), so the unit is (article, entity), not a character
span: finding Xi once or ten times in an article counts once.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from typing import Iterable, Mapping

Pair = tuple[str, str]  # (article, entity_id)


@dataclass(frozen=True)
class Score:
    type: str
    gold: int
    predicted: int
    correct: int

    @property
    def precision(self) -> float:
        return self.correct / self.predicted if self.predicted else 0.0

    @property
    def recall(self) -> float:
        return self.correct / self.gold if self.gold else 0.0

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0

    def as_dict(self) -> dict:
        return {"type": self.type, "gold": self.gold, "predicted": self.predicted, "correct": self.correct,
                "precision": round(self.precision, 4), "recall": round(self.recall, 4), "f1": round(self.f1, 4)}


def score(gold: Mapping[Pair, str], predicted: Mapping[Pair, str]) -> list[Score]:
    """Scores per type and overall ("ALL"); both maps give each (article, entity) its type.

    Only articles present in the gold set are scored: predictions for other
    articles are not errors, just unjudged.
    """
    articles = {article for article, _ in gold}
    predicted = {pair: t for pair, t in predicted.items() if pair[0] in articles}
    counts: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0])
    for pair, type_ in gold.items():
        counts[type_][0] += 1
        counts[type_][2] += pair in predicted
    for pair, type_ in predicted.items():
        counts[type_][1] += 1
    scores = [Score(t, *counts[t]) for t in sorted(counts)]
    total = Score("ALL", sum(s.gold for s in scores), sum(s.predicted for s in scores), sum(s.correct for s in scores))
    return scores + [total]


def misses(gold: Mapping[Pair, str], predicted: Mapping[Pair, str]) -> tuple[list[Pair], list[Pair]]:
    """(missed gold pairs, spurious predicted pairs) over the gold articles, sorted."""
    articles = {article for article, _ in gold}
    missed = sorted(p for p in gold if p not in predicted)
    spurious = sorted(p for p in predicted if p[0] in articles and p not in gold)
    return missed, spurious


def gold_pairs(rows: Iterable[Mapping[str, str]], id_for_name) -> dict[Pair, str]:
    """Gold rows (article, type, entity_id or name) → {(article, entity_id): type}.

    A row with a name instead of an id is an entity the alias table does not
    know; ``id_for_name(name, type)`` gives the id akhbar would give it.
    """
    pairs = {}
    for row in rows:
        entity_id = (row.get("entity_id") or "").strip() or id_for_name(row["name"].strip(), row["type"].strip())
        pairs[(row["article"].strip(), entity_id)] = row["type"].strip()
    return pairs
