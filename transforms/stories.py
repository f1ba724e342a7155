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


def _unit_rows(documents: Sequence[Mapping[str, float]]):
    """One row per document: its tf-idf weights ``(1 + log count) · idf``, the row scaled to length 1 (a document
    with no weight keeps a row of zeros), as a sparse matrix, so that one product gives every cosine."""
    import numpy as np
    from scipy import sparse  # loaded with datasketch (transforms/dedup.py) in every run that gets this far

    idf = _idf(documents)
    column = {key: n for n, key in enumerate(idf)}
    indptr, indices, weights = [0], [], []
    for document in documents:
        row = {column[k]: (1 + math.log(v)) * idf[k] for k, v in document.items() if v > 0}
        norm = math.sqrt(sum(w * w for w in row.values()))
        if norm:
            indices += row.keys()
            weights += (w / norm for w in row.values())
        indptr.append(len(indices))
    return sparse.csr_matrix((np.array(weights, dtype=np.float64), np.array(indices, dtype=np.int64),
                              np.array(indptr, dtype=np.int64)), shape=(len(documents), len(column)))


class Similarity:
    """Similarity of pool articles, with the pool's own rarity weights: one article against the whole pool at once."""

    def __init__(self, articles: Sequence[StoryArticle], rule: StoryRule):
        self.rule = rule
        self.position = {a.article_id: n for n, a in enumerate(articles)}
        # Each as rows (one article's weights) and as columns (one weight across the pool).
        self._terms = _unit_rows([a.terms for a in articles])
        self._entities = _unit_rows([a.entities for a in articles])
        self._terms_across, self._entities_across = self._terms.T.tocsr(), self._entities.T.tocsr()

    def to_pool(self, article: StoryArticle):
        """The article's similarity to every pool article, in pool order (a numpy array)."""
        n, w = self.position[article.article_id], self.rule.entity_weight
        entities = (self._entities[n] @ self._entities_across).toarray()[0]
        terms_ = (self._terms[n] @ self._terms_across).toarray()[0]
        return w * entities + (1 - w) * terms_

    def __call__(self, a: StoryArticle, b: StoryArticle) -> float:
        return float(self.to_pool(a)[self.position[b.article_id]])


def story_id_of(article_id: str) -> str:
    """A story is named after the article that opened it."""
    return f"s_{article_id[:24]}"


class _Pool:
    """The articles compared, as arrays in the similarity's pool order: each one's day, and its story so far."""

    def __init__(self, articles: Sequence[StoryArticle], rule: StoryRule):
        import numpy as np

        self.rule = rule
        self.day = np.array([a.day.toordinal() if a.day else 0 for a in articles], dtype=np.int64)
        self.undated = np.array([a.day is None for a in articles])
        self.not_own_day = np.array([a.day is None or not a.dated for a in articles])
        self.original = np.array([a.duplicate_of is None for a in articles])  # near copies are not compared
        self.story = np.full(len(articles), -1, dtype=np.int64)  # its story's number; -1 while in none

    def mean_per_story(self, article: StoryArticle, similarity, n_stories: int):
        """Per story number, the mean of the article's similarity plus the date's part over the story's members
        within the window of its day (average link); -inf for a story with no such member."""
        import numpy as np

        rule = self.rule
        near = (self.story >= 0) & self.original
        if article.day is not None:
            near &= self.undated | (np.abs(self.day - article.day.toordinal()) <= rule.window_days)
        # The date's part: a bonus for one published day, a margin off when either day is not one's own
        # (an archive taken in today has one ingest day for every article: no evidence of one happening).
        if article.day is None or not article.dated:
            dates = np.full(len(self.day), -rule.undated_margin)
        else:
            same = self.day == article.day.toordinal()
            dates = np.where(self.not_own_day, -rule.undated_margin, np.where(same, rule.same_day_bonus, 0.0))
        values = similarity.to_pool(article) + dates
        counts = np.bincount(self.story[near], minlength=n_stories)
        sums = np.bincount(self.story[near], weights=values[near], minlength=n_stories)
        return np.divide(sums, counts, out=np.full(n_stories, -np.inf), where=counts > 0)


def assign(new: Sequence[StoryArticle], published: Sequence[tuple[StoryArticle, str]],
           rule: StoryRule = StoryRule()) -> tuple[list[Membership], list[Story]]:
    """The story of each new article, and every story they opened or joined (with all its members, the
    published ones included). ``published``: articles already in stories, with their story ids."""
    pool_articles = [a for a, _ in published] + list(new)
    similarity = Similarity(pool_articles, rule)
    pool = _Pool(pool_articles, rule)
    stories: dict[str, Story] = {}
    ids: list[str] = []  # the stories in the order they appear: a story's number is its place here
    number: dict[str, int] = {}
    story_of: dict[str, str] = {}

    def join(article: StoryArticle, story_id: str) -> None:
        if story_id not in stories:
            number[story_id] = len(ids)
            ids.append(story_id)
            stories[story_id] = Story(story_id)
        stories[story_id].members.append(article)
        story_of[article.article_id] = story_id
        pool.story[similarity.position[article.article_id]] = number[story_id]

    for article, story_id in published:
        join(article, story_id)
    memberships: list[Membership] = []
    touched: set[str] = set()
    for article in sorted(new, key=lambda a: (a.day or date.min, a.duplicate_of is not None, a.article_id)):
        if article.duplicate_of in story_of:
            chosen, score = story_of[article.duplicate_of], 1.0
        else:
            chosen, score = None, rule.threshold
            if ids:
                means = pool.mean_per_story(article, similarity, len(ids))
                best = float(means.max())
                if best >= rule.threshold:
                    # Ties go to the story that appeared last.
                    chosen, score = ids[int(len(means) - 1 - means[::-1].argmax())], best
            if chosen is None:
                chosen, score = story_id_of(article.article_id), 1.0
        join(article, chosen)
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
