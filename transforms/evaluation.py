"""Precision and recall of canonical entity sets, per article and per type.

An article's entity set is what an analyst asks about ("which entities does
this article mention"), so the unit is (article, entity), not a character
span: finding Xi once or ten times in an article counts once.
"""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass
from typing import Iterable, Mapping

from transforms.entities import AliasTable, entity_key

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


# ---------------------------------------------------------------- article metadata

METADATA_FIELDS = ("published_date", "agency", "dateline_city", "title")


def _comparable(value: object) -> str | None:
    """A field as compared with its gold: whitespace collapsed, no spaces around a slash (``بكين / أستانا``)."""
    if value is None:
        return None
    text = " ".join(str(value).split())
    return text.replace(" /", "/").replace("/ ", "/") or None


@dataclass(frozen=True)
class FieldCheck:
    article: str
    field: str
    gold: str | None
    predicted: str | None

    @property
    def ok(self) -> bool:
        return _comparable(self.gold) == _comparable(self.predicted)


def metadata_checks(article: str, gold: Mapping[str, object], predicted: Mapping[str, object]) -> list[FieldCheck]:
    """One check per metadata field of one article; dates compare as ISO strings."""
    return [FieldCheck(article, name, _comparable(gold.get(name)), _comparable(predicted.get(name)))
            for name in METADATA_FIELDS]


@dataclass(frozen=True)
class FieldScore:
    field: str
    total: int
    correct: int
    gold_null: int  # articles whose gold has no value for the field
    null_kept: int  # ... and nothing was predicted

    @property
    def accuracy(self) -> float:
        return self.correct / self.total if self.total else 0.0

    @property
    def null_rate(self) -> float:
        """Of the articles where the field has no gold value, the share where nothing was invented."""
        return self.null_kept / self.gold_null if self.gold_null else 1.0

    def as_dict(self) -> dict:
        return {"field": self.field, "total": self.total, "correct": self.correct,
                "accuracy": round(self.accuracy, 4), "gold_null": self.gold_null,
                "null_kept": self.null_kept, "null_rate": round(self.null_rate, 4)}


def score_metadata(checks: Iterable[FieldCheck]) -> list[FieldScore]:
    counts: dict[str, list[int]] = {name: [0, 0, 0, 0] for name in METADATA_FIELDS}
    for check in checks:
        row = counts.setdefault(check.field, [0, 0, 0, 0])
        row[0] += 1
        row[1] += check.ok
        if check.gold is None:
            row[2] += 1
            row[3] += check.predicted is None
    return [FieldScore(name, *row) for name, row in counts.items()]


@dataclass(frozen=True)
class FurnitureCheck:
    """Lines (0-based, over ``text.split("\\n")``) on the wrong side of the body's edge."""

    article: str
    in_body: tuple[int, ...]  # furniture kept in the body
    left_out: tuple[int, ...]  # story lines left out of it

    @property
    def ok(self) -> bool:
        return not self.in_body


def body_line_numbers(text: str, body_start: int, body_end: int, masked: Iterable[tuple[int, int]] = ()) -> set[int]:
    """The non-blank lines with text in the body span (a line the body starts inside counts) and not masked."""
    masked = tuple(masked)
    numbers, start = set(), 0
    for number, line in enumerate(text.split("\n")):
        stripped = line.strip()
        if stripped:
            first = start + line.index(stripped[0])
            last = first + len(stripped)
            inside = first < body_end and last > body_start
            if inside and not any(s <= first and last <= e for s, e in masked):
                numbers.add(number)
        start += len(line) + 1
    return numbers


def furniture_check(article: str, text: str, gold_furniture: Iterable[int], body_lines: set[int]) -> FurnitureCheck:
    furniture = set(gold_furniture)
    story = {n for n, line in enumerate(text.split("\n")) if line.strip()} - furniture
    return FurnitureCheck(article, tuple(sorted(furniture & body_lines)), tuple(sorted(story - body_lines)))


# ---------------------------------------------------------------- canonical entities of a gold corpus

GOLD_TYPES = ("PER", "LOC", "ORG")
_PARENTHESES = re.compile(r"[()]")


def gold_entity_id(name_en: str, type_: str, table: AliasTable) -> str | None:
    """The knowledge base's entity a gold English name means: a Latin-script alias of an entity, exactly
    (after the key's normalization; ``Ministry of Foreign Affairs (Qatar)`` with or without its brackets),
    of the gold's type if several entities share the name. None when the knowledge base does not know it."""
    for key in dict.fromkeys([entity_key(name_en), entity_key(_PARENTHESES.sub(" ", name_en))]):
        claims = table.aliases.get(" ".join(key.split()))
        if claims:
            same_type = [c for c in claims if c.type == type_]
            return (same_type or list(claims))[0].entity_id
    return None


def gold_entity_pairs(article: str, entities: Iterable[Mapping[str, str]], table: AliasTable) -> dict[Pair, str]:
    """{(article, entity id): type} of a gold text; an entity the knowledge base does not know keeps its name
    (``?Jens Stoltenberg``), so it counts as a miss, never as a match."""
    pairs = {}
    for entity in entities:
        known = gold_entity_id(entity["name_en"], entity["type"], table)
        pairs[(article, known or "?" + entity["name_en"])] = entity["type"]
    return pairs


_PROCLITICS = tuple(sorted({c + p for c in ("", "و", "ف") for p in ("", "ب", "ل", "ك")} - {""}, key=len,
                           reverse=True))


def proclitic_pairs(keys_by_entity: Mapping[str, Iterable[str]],
                    names: Iterable[str] = ()) -> list[tuple[str, str, str, str]]:
    """Pairs of distinct entities whose names differ only by a glued proclitic: (entity, key, entity, key),
    e.g. one entity for ``وبغداد`` and another for ``بغداد``. A longer key that is itself one of ``names``
    (the knowledge base's: ``بكين`` is Beijing, not ب + كين) makes no pair."""
    names = set(names)
    owner = {}
    for entity_id, keys in keys_by_entity.items():
        for key in keys:
            owner.setdefault(key, entity_id)
    pairs = set()
    for key, entity_id in owner.items():
        if key in names:
            continue
        for prefix in _PROCLITICS:
            if key.startswith(prefix):
                rest = key[len(prefix):]
                bare = [rest] + (["ال" + rest[1:]] if prefix.endswith("ل") and rest.startswith("ل") else [])
                for candidate in bare:
                    other = owner.get(candidate)
                    if other is not None and other != entity_id:
                        pairs.add((entity_id, key, other, candidate))
    return sorted(pairs)


# ---------------------------------------------------------------- NER spans (ANERcorp)


def span_scores(gold: Iterable[tuple[int, int, str]], predicted: Iterable[tuple[int, int, str]]) -> list[Score]:
    """Exact-span precision and recall per type and overall (CoNLL style): a span counts when its start, end
    and type all match."""
    gold, predicted = set(gold), set(predicted)
    types = sorted({t for *_, t in gold | predicted})
    scores = [Score(t, sum(1 for g in gold if g[2] == t), sum(1 for p in predicted if p[2] == t),
                    sum(1 for p in predicted & gold if p[2] == t)) for t in types]
    return scores + [Score("ALL", len(gold), len(predicted), len(gold & predicted))]


def bio_spans(tags: Iterable[str]) -> list[tuple[int, int, str]]:
    """(first token, last token + 1, type) of the entities of a BIO tag sequence (``I-`` without a ``B-``
    opens an entity, as conlleval reads it)."""
    spans, start, current = [], None, None
    for position, tag in enumerate(list(tags) + ["O"]):
        prefix, _, type_ = tag.partition("-")
        if current is not None and (prefix != "I" or type_ != current):
            spans.append((start, position, current))
            current = None
        if prefix == "B" or (prefix == "I" and current is None):
            start, current = position, type_
    return spans


# ------------------------------------------------------------------ amounts


@dataclass(frozen=True)
class AmountCheck:
    """One gold or predicted amount and what became of it: ``matched`` when the other side has one over the same
    characters with the same value and unit."""

    article: str
    start: int
    end: int
    text: str
    value: float
    unit: str
    currency: str | None
    matched: bool
    other: str | None = None  # what the other side had over these characters, when it disagreed
    currency_right: bool = False  # matched, and the currency code agrees (None with None)
    span_exact: bool = False  # matched, over exactly the same characters


def amount_checks(article: str, gold: Iterable[Mapping], predicted: Iterable[Mapping]) -> tuple[list[AmountCheck],
                                                                                                 list[AmountCheck]]:
    """(gold checks, predicted checks) of one article. A prediction matches the gold amount it overlaps when the
    value (to a relative 1e-9) and the unit agree; each gold amount matches at most one prediction."""
    gold, predicted = list(gold), list(predicted)
    taken: set[int] = set()
    predicted_checks = []
    for p in predicted:
        overlapping = [k for k, g in enumerate(gold) if g["start"] < p["end"] and p["start"] < g["end"]]
        hit = next((k for k in overlapping if k not in taken and amounts_agree(gold[k], p)), None)
        twin = gold[hit] if hit is not None else None
        if hit is not None:
            taken.add(hit)
        other = None if hit is not None or not overlapping else \
            f"{gold[overlapping[0]]['text']} = {gold[overlapping[0]]['value']:g} {gold[overlapping[0]]['unit']}"
        predicted_checks.append(AmountCheck(
            article, p["start"], p["end"], p["text"], p["value"], p["unit"], p.get("currency"), twin is not None,
            other, currency_right=twin is not None and twin.get("currency") == p.get("currency"),
            span_exact=twin is not None and (twin["start"], twin["end"]) == (p["start"], p["end"])))
    gold_checks = []
    for k, g in enumerate(gold):
        overlapping = [p for p in predicted if g["start"] < p["end"] and p["start"] < g["end"]]
        other = None if k in taken or not overlapping else \
            f"{overlapping[0]['text']} = {overlapping[0]['value']:g} {overlapping[0]['unit']}"
        gold_checks.append(AmountCheck(article, g["start"], g["end"], g["text"], g["value"], g["unit"],
                                       g.get("currency"), k in taken, other))
    return gold_checks, predicted_checks


def amounts_agree(gold: Mapping, predicted: Mapping) -> bool:
    """Same unit, and the same value to a relative 1e-9."""
    return gold["unit"] == predicted["unit"] and abs(gold["value"] - predicted["value"]) <= 1e-9 * max(
        1.0, abs(gold["value"]))


@dataclass(frozen=True)
class QuoteCheck:
    """One gold or predicted quote and what became of it: ``matched`` when the other side has one over mostly the
    same characters (the overlap at least half of the shorter), ``speaker_right`` when, besides, both name the
    same speaker: overlapping speaker spans, the same linked entity, or the same words."""

    article: str
    start: int
    end: int
    text: str
    speaker: str
    kind: str
    matched: bool
    speaker_right: bool = False
    span_exact: bool = False
    other: str | None = None  # the other side's speaker and span start, when it disagreed


def _overlap(a: Mapping, b: Mapping) -> int:
    return max(0, min(a["end"], b["end"]) - max(a["start"], b["start"]))


def spans_match(a: Mapping, b: Mapping) -> bool:
    """Most of the same characters: the overlap is at least half of the shorter span."""
    shorter = min(a["end"] - a["start"], b["end"] - b["start"])
    return shorter > 0 and _overlap(a, b) * 2 >= shorter


def same_speaker(gold: Mapping, predicted: Mapping, entity_at: Mapping[tuple[int, int], str]) -> bool:
    """``entity_at``: the linked entity of each of the article's mentions, by (start, end)."""
    g, p = (gold["speaker_start"], gold["speaker_end"]), (predicted["speaker_start"], predicted["speaker_end"])
    if g[0] < p[1] and p[0] < g[1]:
        return True
    entity = predicted.get("speaker_entity_id")
    if entity and any(e == entity and s < g[1] and g[0] < t for (s, t), e in entity_at.items()):
        return True
    # one person named in full and by one of their names (حيات / سميح جوهر حيات, ذكي / ذكي القاضي)
    g_words, p_words = set(entity_key(gold["speaker_text"]).split()), set(entity_key(predicted["speaker_text"]).split())
    return bool(g_words and p_words) and (g_words <= p_words or p_words <= g_words)


def quote_checks(article: str, gold: Iterable[Mapping], predicted: Iterable[Mapping],
                 entity_at: Mapping[tuple[int, int], str]) -> tuple[list[QuoteCheck], list[QuoteCheck]]:
    """(gold checks, predicted checks) of one article; each gold quote matches at most one prediction, the one
    that overlaps it most."""
    gold, predicted = list(gold), list(predicted)
    pairs = sorted(((_overlap(g, p), k, j) for k, g in enumerate(gold) for j, p in enumerate(predicted)
                    if spans_match(g, p)), reverse=True)
    twin_of_gold: dict[int, int] = {}
    twin_of_predicted: dict[int, int] = {}
    for _, k, j in pairs:
        if k not in twin_of_gold and j not in twin_of_predicted:
            twin_of_gold[k], twin_of_predicted[j] = j, k
    gold_checks = []
    for k, g in enumerate(gold):
        j = twin_of_gold.get(k)
        right = j is not None and same_speaker(g, predicted[j], entity_at)
        gold_checks.append(QuoteCheck(
            article, g["start"], g["end"], g["text"], g["speaker_text"], g["kind"], j is not None, right,
            j is not None and (g["start"], g["end"]) == (predicted[j]["start"], predicted[j]["end"]),
            None if j is None or right else f"{predicted[j]['speaker_text']} @{predicted[j]['start']}"))
    predicted_checks = []
    for j, p in enumerate(predicted):
        k = twin_of_predicted.get(j)
        right = k is not None and same_speaker(gold[k], p, entity_at)
        predicted_checks.append(QuoteCheck(
            article, p["start"], p["end"], p["text"], p["speaker_text"], p["kind"], k is not None, right,
            k is not None and (gold[k]["start"], gold[k]["end"]) == (p["start"], p["end"]),
            None if k is None or right else f"{gold[k]['speaker_text']} @{gold[k]['start']}"))
    return gold_checks, predicted_checks
