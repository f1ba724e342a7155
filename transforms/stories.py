"""One story across outlets: articles about the same happening, grouped as they arrive.

Near copies (``transforms/dedup.py``) are the same text; a story is the same event told by different outlets
in different words. Two articles are compared on what they name and what they say:

- **entities**: the canonical entities of each (``mentions.entity_id``; the credited agency left out, it names
  the wire, not the event), weighted by how rare they are among the articles compared, so that a shared
  ``China`` counts for less than a shared ``Xi'an``;
- **words**: the content words of headline and body (folded, stop words from stopwords-iso left out), weighted
  the same way (tf-idf cosine).

The similarity is the weighted mean of the two, plus :attr:`StoryRule.same_day_bonus` for two articles published
the same day, less :attr:`StoryRule.undated_margin` when either has no day of its own (none, or only the day it
was taken in): the date is the third signal; the place enters as an entity, the dateline's city among them.

An article joins the story whose members within :attr:`StoryRule.window_days` of its day are the most similar to
it on average (average link, so that one member cannot chain two events together), if that mean reaches
:attr:`StoryRule.threshold`; otherwise it opens a story of its own. A near copy joins its original's story.
Articles are taken in day order, as runs take them in, so one rule groups a batch and extends the stories already
published; the rarity weights come from the articles compared (the batch and the published members of stories
within the window). The thresholds were chosen on ``seeds/stories`` (its README says how the happenings were
grouped by hand); ``akhbar evaluate`` prints the purity and completeness they give there. Pure: no I/O.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from dataclasses import dataclass, field
from datetime import date
from functools import lru_cache
from typing import Iterable, Mapping, Sequence

from transforms.normalize import fold_text


@dataclass(frozen=True)
class StoryRule:
    window_days: int = 3  # members compared with an article are at most this many days from it
    threshold: float = 0.25  # the least mean similarity to a story's members to join it
    entity_weight: float = 0.2  # the share of entities in the similarity (the rest: words)
    same_day_bonus: float = 0.1  # added when both articles are of the same day, both days their published ones
    undated_margin: float = 0.05  # taken off when either day is unknown or only the day it was taken in


@dataclass(frozen=True)
class StoryArticle:
    article_id: str
    day: date | None  # None: unknown, compared with every story
    source: str  # the outlet: n_sources counts these
    title: str | None
    terms: Mapping[str, float]  # content word → count (:func:`terms`)
    entities: Mapping[str, float]  # canonical entity → mentions
    duplicate_of: str | None = None
    dated: bool = True  # the day is the article's own (published), not the day it was taken in


@dataclass
class Story:
    story_id: str
    members: list[StoryArticle] = field(default_factory=list)


def story_row(story_id: str, members: Iterable[tuple[str, date | None, str, str | None]]) -> dict:
    """The ``stories`` row of a story from all its members, each (article_id, day, source, title): its title is
    the earliest member's headline."""
    members = sorted(members, key=lambda m: (m[1] or date.max, m[0]))
    days = [m[1] for m in members if m[1] is not None]
    return {"story_id": story_id, "first_seen": min(days, default=None), "last_seen": max(days, default=None),
            "n_articles": len(members), "n_sources": len({m[2] for m in members}),
            "title": next((m[3] for m in members if m[3]), None)}


@dataclass(frozen=True)
class Membership:
    article_id: str
    story_id: str
    similarity: float  # the mean similarity to the story's members when it joined; 1.0 for the first


_WORD = re.compile(r"[^\W\d_]{2,}|\d{2,}")


@lru_cache(maxsize=1)
def _stop_words() -> frozenset[str]:
    import stopwordsiso  # MIT; the stopwords-iso collection

    return frozenset(fold_text(word) for word in stopwordsiso.stopwords("ar"))


def terms(title: str | None, body: str) -> Counter[str]:
    """The content words of a headline and body, folded, stop words left out; the headline's count twice.
    Words are kept whole: cutting clitics off (a light stemmer) grouped worse on ``seeds/stories``."""
    stop = _stop_words()
    counts: Counter[str] = Counter()
    for text, weight in ((title or "", 2), (body, 1)):
        for word in _WORD.findall(fold_text(text).lower()):
            if word not in stop:
                counts[word] += weight
    return counts


def entity_counts(mentions: Iterable[Mapping]) -> Counter[str]:
    """Mentions per canonical entity (``mentions`` rows: entity_id, label, source), the credited agency left out:
    the credit line names the wire, not the happening."""
    return Counter(m["entity_id"] for m in mentions
                   if m["entity_id"] and not (m.get("source") == "metadata" and m["label"] == "ORG"))


def _idf(documents: Iterable[Mapping[str, float]]) -> dict[str, float]:
    df: Counter[str] = Counter()
    n = 0
    for document in documents:
        n += 1
        df.update(document.keys())
    return {key: math.log((n + 1) / (count + 0.5)) for key, count in df.items()}


def _vector(counts: Mapping[str, float], idf: Mapping[str, float]) -> dict[str, float]:
    weighted = {k: (1 + math.log(v)) * idf.get(k, 0.0) for k, v in counts.items() if v > 0}
    norm = math.sqrt(sum(w * w for w in weighted.values()))
    return {k: w / norm for k, w in weighted.items()} if norm else {}


def _cosine(a: Mapping[str, float], b: Mapping[str, float]) -> float:
    if len(a) > len(b):
        a, b = b, a
    return sum(w * b.get(k, 0.0) for k, w in a.items())


class Similarity:
    """Pairwise similarity of a pool of articles, with the pool's own rarity weights."""

    def __init__(self, articles: Sequence[StoryArticle], rule: StoryRule):
        self.rule = rule
        term_idf = _idf(a.terms for a in articles)
        entity_idf = _idf(a.entities for a in articles)
        self.terms = {a.article_id: _vector(a.terms, term_idf) for a in articles}
        self.entities = {a.article_id: _vector(a.entities, entity_idf) for a in articles}
        self._cache: dict[tuple[str, str], float] = {}

    def __call__(self, a: StoryArticle, b: StoryArticle) -> float:
        key = (a.article_id, b.article_id) if a.article_id < b.article_id else (b.article_id, a.article_id)
        if key not in self._cache:
            w = self.rule.entity_weight
            self._cache[key] = (w * _cosine(self.entities[a.article_id], self.entities[b.article_id])
                                + (1 - w) * _cosine(self.terms[a.article_id], self.terms[b.article_id]))
        return self._cache[key]


def _near(a: date | None, b: date | None, days: int) -> bool:
    return a is None or b is None or abs((a - b).days) <= days


def _same_day(a: StoryArticle, b: StoryArticle, rule: StoryRule) -> float:
    """The date's part of the similarity: a bonus for one published day, a margin taken off when a day is not
    known (an archive taken in today has one ingest day for every article: no evidence of one happening)."""
    if a.day is None or b.day is None or not (a.dated and b.dated):
        return -rule.undated_margin
    return rule.same_day_bonus if a.day == b.day else 0.0


def story_id_of(article_id: str) -> str:
    """A story is named after the article that opened it."""
    return f"s_{article_id[:24]}"


def assign(new: Sequence[StoryArticle], published: Sequence[tuple[StoryArticle, str]],
           rule: StoryRule = StoryRule()) -> tuple[list[Membership], list[Story]]:
    """The story of each new article, and every story they opened or joined (with all its members, the
    published ones included). ``published``: articles already in stories, with their story ids."""
    stories: dict[str, Story] = {}
    story_of: dict[str, str] = {}
    for article, story_id in published:
        stories.setdefault(story_id, Story(story_id)).members.append(article)
        story_of[article.article_id] = story_id
    similarity = Similarity([a for a, _ in published] + list(new), rule)
    memberships: list[Membership] = []
    touched: set[str] = set()
    for article in sorted(new, key=lambda a: (a.day or date.min, a.duplicate_of is not None, a.article_id)):
        if article.duplicate_of in story_of:
            chosen, score = story_of[article.duplicate_of], 1.0
        else:
            chosen, score = None, rule.threshold
            for story in stories.values():
                near = [m for m in story.members if m.duplicate_of is None and _near(article.day, m.day,
                                                                                      rule.window_days)]
                if not near:
                    continue
                mean = sum(similarity(article, m) + _same_day(article, m, rule) for m in near) / len(near)
                if mean >= score:
                    chosen, score = story.story_id, mean
            if chosen is None:
                chosen, score = story_id_of(article.article_id), 1.0
                stories[chosen] = Story(chosen)
        stories[chosen].members.append(article)
        story_of[article.article_id] = chosen
        touched.add(chosen)
        memberships.append(Membership(article.article_id, chosen, round(min(score, 1.0), 6)))
    return memberships, [stories[s] for s in sorted(touched)]


def purity(predicted: Mapping[str, str], gold: Mapping[str, str]) -> tuple[float, float]:
    """(purity, completeness) of a grouping against the gold one, both article → group: purity is the share of
    articles in the gold group most common in their predicted group; completeness (inverse purity) the share in
    the predicted group most common in their gold group."""
    def best_share(groups: Mapping[str, str], other: Mapping[str, str]) -> float:
        by_group: dict[str, Counter] = {}
        for article, group in groups.items():
            by_group.setdefault(group, Counter())[other[article]] += 1
        return sum(max(c.values()) for c in by_group.values()) / max(1, len(groups))

    return best_share(predicted, gold), best_share(gold, predicted)


def pair_scores(predicted: Mapping[str, str], gold: Mapping[str, str]) -> tuple[float, float]:
    """(precision, recall) over pairs of articles put in one story."""
    articles = sorted(gold)
    same_p = same_g = both = 0
    for i, a in enumerate(articles):
        for b in articles[i + 1:]:
            p, g = predicted[a] == predicted[b], gold[a] == gold[b]
            same_p += p
            same_g += g
            both += p and g
    return (both / same_p if same_p else 1.0), (both / same_g if same_g else 1.0)
