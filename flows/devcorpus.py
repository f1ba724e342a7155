"""A development corpus on disk: real page texts with their gold, scored against the current rules.

Layout (seeds/dev/README.md): ``articles/<id>.txt`` and ``gold/<id>.json``.
Each text goes through the same intake as a ``.txt`` file in an inbox, so the
figures are what a run would publish.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Iterable

from transforms.articles import build_article
from transforms.evaluation import (FieldCheck, FurnitureCheck, body_line_numbers, furniture_check,
                                   metadata_checks)
from transforms.formats import parse_text
from transforms.metadata import AgencyRule


@dataclass(frozen=True)
class GoldText:
    id: str
    text: str
    raw: bytes
    gold: dict


@dataclass(frozen=True)
class CorpusResult:
    fields: list[FieldCheck]
    furniture: list[FurnitureCheck]


class CorpusError(ValueError):
    pass


def load_corpus(folder: Path) -> list[GoldText]:
    gold_dir, text_dir = folder / "gold", folder / "articles"
    if not gold_dir.is_dir():
        raise CorpusError(f"{folder}: no gold/ folder (expected gold/<id>.json beside articles/<id>.txt)")
    cases = []
    for path in sorted(gold_dir.glob("*.json")):
        gold = json.loads(path.read_text(encoding="utf-8"))
        text_path = text_dir / f"{path.stem}.txt"
        if not text_path.is_file():
            raise CorpusError(f"{path}: no text {text_path}")
        raw = text_path.read_bytes()
        cases.append(GoldText(path.stem, raw.decode("utf-8"), raw, gold))
    return cases


def score_corpus(cases: Iterable[GoldText], rules: Iterable[AgencyRule], not_after: date,
                 places: frozenset[str] = frozenset()) -> CorpusResult:
    """Each text as a run would read it: a text file with the page's address (as a crawler knows it)."""
    rules = tuple(rules)
    fields, furniture = [], []
    for case in cases:
        item = dataclasses.replace(parse_text(case.raw, f"{case.id}.txt"), url=case.gold.get("url"))
        article = build_article(item, rules, not_after=not_after, places=places)
        meta = article.meta
        predicted = {
            "published_date": meta.published_date.isoformat() if meta.published_date else None,
            "agency": meta.agency,
            "dateline_city": meta.dateline_city,
            "title": meta.title,
        }
        fields += metadata_checks(case.id, case.gold, predicted)
        body = body_line_numbers(article.text, meta.body_start, meta.body_end, meta.masked)
        furniture.append(furniture_check(case.id, article.text, case.gold.get("furniture_lines", ()), body))
    return CorpusResult(fields, furniture)


# ------------------------------------------------------------------ canonical entities


@dataclass
class EntityReport:
    """Canonical entities of a gold corpus as a run would link them, against the corpus's entity gold."""

    corpus: str
    articles: int
    scores: list  # transforms.evaluation.Score per type and ALL (linked entities by English name)
    strict: list  # the same, every predicted entity counted (those the knowledge base does not know as misses)
    missed: list[tuple[str, str, str]]  # (article, type, gold name or entity)
    spurious: list[tuple[str, str, str]]  # (article, type, entity name)
    mentions: int
    linked: int  # mentions linked to a knowledge-base entity
    by_source: dict[str, int]
    proclitic_pairs: list[tuple[str, str, str, str]]
    places_gold: int  # countries and capitals in the gold
    places_linked: int
    places_missed: list[tuple[str, str]]


def _annotated(cases: list[GoldText], settings, not_after: date):
    from flows import intake
    from flows.annotate import documents_for

    rules = intake.load_agency_rules(settings.agencies)
    places = intake.load_places(settings)
    articles = []
    for case in cases:
        item = dataclasses.replace(parse_text(case.raw, f"{case.id}.txt"), url=case.gold.get("url"))
        articles.append(build_article(item, rules, not_after=not_after, places=places))
    annotated, rejected, _ = documents_for(articles, settings)
    if rejected:
        raise CorpusError(f"NER failed on {len(rejected)} text(s): {rejected[0].detail}")
    return articles, annotated


def score_entities(folder: Path, cases: list[GoldText], settings, not_after: date) -> EntityReport:
    """Every text through intake, NER (the cache, else the model), the gazetteer pass and linking, as one batch."""
    from flows import intake
    from flows.annotate import rows_of
    from transforms.evaluation import GOLD_TYPES, gold_entity_pairs, misses, proclitic_pairs, score
    from transforms.kb_mentions import SOURCES

    table = intake.load_knowledge_base(settings)
    articles, annotated = _annotated(cases, settings, not_after)
    case_of = {article.article_id: case.id for article, case in zip(articles, cases)}
    staged = rows_of(annotated, settings, lambda article, *counts: {"article_id": article.article_id})
    predicted, strict, keys = {}, {}, {}
    for mention in staged.linked.mentions:
        article = case_of[mention["article_id"]]
        entity = table.entities.get(mention["entity_id"])
        keys.setdefault(mention["entity_id"], set()).add(mention["entity_key"])
        entity_type = entity.type if entity else mention["label"]
        if entity_type not in GOLD_TYPES:
            continue
        strict[(article, mention["entity_id"])] = entity_type
        if entity is not None and entity.name_en:
            predicted[(article, mention["entity_id"])] = entity_type
    gold = {}
    for case in cases:
        gold |= gold_entity_pairs(case.id, case.gold.get("entities") or [], table)

    def name(entity_id: str) -> str:
        entity = table.entities.get(entity_id)
        if entity is not None:
            return entity.name_en or entity.name_ar
        surfaces = [m["surface"] for m in staged.linked.mentions if m["entity_id"] == entity_id]
        return entity_id.lstrip("?") if entity_id.startswith("?") else f"{surfaces[0] if surfaces else ''} ({entity_id})"

    missed, spurious = misses(gold, predicted)
    places = {pair: t for pair, t in gold.items()
              if (e := table.entities.get(pair[1])) is not None and (e.kind == "country" or e.capital)}
    mentions = staged.linked.mentions
    return EntityReport(
        corpus=str(folder), articles=len(cases), scores=score(gold, predicted), strict=score(gold, strict),
        missed=[(a, gold[(a, e)], name(e)) for a, e in missed],
        spurious=[(a, predicted[(a, e)], name(e)) for a, e in spurious],
        mentions=len(mentions), linked=sum(1 for m in mentions if m["entity_id"] in table.entities),
        by_source={s: sum(1 for m in mentions if m.get("source") == s) for s in SOURCES},
        proclitic_pairs=proclitic_pairs(keys, table.aliases.keys()),
        places_gold=len(places), places_linked=sum(1 for pair in places if pair in predicted),
        places_missed=sorted((a, name(e)) for a, e in places if (a, e) not in predicted),
    )


def has_entity_gold(cases: Iterable[GoldText]) -> bool:
    return any(case.gold.get("entities") for case in cases)


# ------------------------------------------------------------------ NER on a gold-tokenized corpus


@dataclass
class NerReport:
    """Exact-span NER scores on a BIO corpus: the model alone, with the drop rules, with the gazetteer pass."""

    path: str
    sentences: int
    tokens: int
    runs: dict[str, list]  # run name → transforms.evaluation.Score per type and ALL


def read_bio(path: Path) -> list[list[tuple[str, str]]]:
    """Sentences of (token, tag) from a CoNLL-style file: one ``token<TAB>tag`` per line, blank lines between
    sentences (``B-PERS``/``I-PERS`` read as PER)."""
    sentences, current = [], []
    for line in path.read_text(encoding="utf-8").splitlines():
        parts = line.split()
        if len(parts) < 2:
            if current:
                sentences.append(current)
                current = []
            continue
        tag = parts[-1].replace("PERS", "PER")
        current.append((parts[0], tag))
    if current:
        sentences.append(current)
    return sentences


def score_ner(path: Path, settings) -> NerReport:
    """The model over the corpus's own tokens; spans compared by character offsets in the joined text."""
    from flows import intake, nlp
    from transforms.evaluation import bio_spans, span_scores
    from transforms.kb_mentions import Span, merged_spans

    sentences = read_bio(path)
    text_parts, token_spans, gold, at = [], [], set(), 0
    for sentence in sentences:
        spans = []
        for token, _ in sentence:
            spans.append((at, at + len(token)))
            text_parts.append(token)
            at += len(token) + 1
        for first, last, type_ in bio_spans([tag for _, tag in sentence]):
            gold.add((spans[first][0], spans[last - 1][1], type_))
        token_spans.append(spans)
    text = " ".join(text_parts)
    info = nlp.ensure_model(settings)
    doc = nlp.annotate_tokens(nlp.get_pipeline(info, settings), text, token_spans)
    model = [Span(e.start_char, e.end_char, e.type) for e in doc.ents]
    table = intake.load_knowledge_base(settings)
    dropped = merged_spans(text, model, table, gazetteer=False)
    as_tuples = lambda spans: {(s.start, s.end, s.label) for s in spans}  # noqa: E731
    # The gazetteer pass alone, every model span kept: the comparison the pass is judged by. The drop rules
    # follow the annotation rules of akhbar's entities (no nisba, no currency), not ANERcorp's, which tags
    # nationalities and currencies MISC; they are shown on their own.
    with_pass = merged_spans(text, model, _without_drop_rules(table), gazetteer=True)
    merged = merged_spans(text, model, table, gazetteer=True)
    return NerReport(str(path), len(sentences), sum(len(s) for s in sentences), {
        "model": span_scores(gold, as_tuples(model)),
        "model + gazetteer pass": span_scores(gold, as_tuples(with_pass)),
        "model + drop rules": span_scores(gold, as_tuples(dropped)),
        "model + drop rules + gazetteer pass (akhbar's mentions)": span_scores(gold, as_tuples(merged)),
    })


def _without_drop_rules(table):
    """The same knowledge base with no words that are never names (so no model span is dropped)."""
    import dataclasses as _dc

    return _dc.replace(table, adjectives={}, not_names={}, cache={}, derived=table.derived)


# ------------------------------------------------------------------ amounts

AMOUNTS_GOLD = "amounts.jsonl"


@dataclass(frozen=True)
class AmountReport:
    corpus: str
    articles: int
    gold: list  # transforms.evaluation.AmountCheck, one per gold amount
    predicted: list  # one per predicted amount
    currencies_right: int  # among matched amounts, the currency code agrees (None with None)
    spans_exact: int  # among matched amounts, the same characters


def has_amount_gold(folder: Path) -> bool:
    return (folder / "gold" / AMOUNTS_GOLD).is_file()


def score_amounts(folder: Path, not_after: date, places: frozenset[str] = frozenset(),
                  rules: Iterable[AgencyRule] = ()) -> AmountReport:
    """Amounts read from each text of ``folder/articles/`` as a run reads them (the article's text), against
    ``folder/gold/amounts.jsonl`` (offsets into that text; the files with no record are scored too)."""
    from flows.intake import load_currency_names
    from transforms.amounts import amount_rows
    from transforms.evaluation import amount_checks

    records: dict[str, list[dict]] = {}
    for line in (folder / "gold" / AMOUNTS_GOLD).read_text(encoding="utf-8").splitlines():
        if line.strip():
            record = json.loads(line)
            records.setdefault(record["file"], []).append(record)
    names = load_currency_names()
    rules = tuple(rules)
    gold_checks, predicted_checks, currencies, spans = [], [], 0, 0
    texts = sorted((folder / "articles").glob("*.txt"))
    for path in texts:
        article = build_article(parse_text(path.read_bytes(), path.name), rules, not_after=not_after, places=places)
        gold = records.get(path.name, [])
        for record in gold:
            if article.text[record["start"]:record["end"]] != record["text"]:
                raise CorpusError(f"{folder}/gold/{AMOUNTS_GOLD}: {path.name} {record['start']}–{record['end']} is "
                                  f"not {record['text']!r} in the article's text")
        predicted = [{"start": r["start_char"], "end": r["end_char"], **r} for r in
                     amount_rows(path.name, article.text, [], names)]
        g, p = amount_checks(path.name, gold, predicted)
        gold_checks += g
        predicted_checks += p
        currencies += sum(c.currency_right for c in p)
        spans += sum(c.span_exact for c in p)
    missing = set(records) - {p.name for p in texts}
    if missing:
        raise CorpusError(f"{folder}/gold/{AMOUNTS_GOLD} names texts that are not there: {sorted(missing)}")
    return AmountReport(str(folder), len(texts), gold_checks, predicted_checks, currencies, spans)


# ------------------------------------------------------------------ quotes

QUOTES_GOLD = "quotes.jsonl"
QUOTES_NOT_COVERED = "quotes_not_covered.txt"


@dataclass(frozen=True)
class QuoteReport:
    corpus: str
    articles: int  # texts scored: the corpus's texts save those the gold does not cover
    gold: list  # transforms.evaluation.QuoteCheck, one per gold quote
    predicted: list  # one per predicted quote


def has_quote_gold(folder: Path) -> bool:
    return (folder / "gold" / QUOTES_GOLD).is_file()


def _not_covered(folder: Path) -> set[str]:
    path = folder / "gold" / QUOTES_NOT_COVERED
    if not path.is_file():
        return set()
    return {line.split("#", 1)[0].strip() for line in path.read_text(encoding="utf-8").splitlines()} - {""}


def score_quotes(folder: Path, cases: list[GoldText], settings, not_after: date) -> QuoteReport:
    """Quotes as a run reads them (intake, NER, the gazetteer pass, linking: the whole corpus one batch), against
    ``gold/quotes.jsonl`` (offsets into each text; every covered text is scored, those with no record too)."""
    from flows.annotate import rows_of
    from transforms.evaluation import quote_checks

    records: dict[str, list[dict]] = {}
    for line in (folder / "gold" / QUOTES_GOLD).read_text(encoding="utf-8").splitlines():
        if line.strip():
            record = json.loads(line)
            records.setdefault(record["file"], []).append(
                record | {"start": record["quote_start"], "end": record["quote_end"], "text": record["quote_text"]})
    skipped = _not_covered(folder)
    cases = [case for case in cases if f"{case.id}.txt" not in skipped]
    missing = set(records) - {f"{case.id}.txt" for case in cases}
    if missing:
        raise CorpusError(f"{folder}/gold/{QUOTES_GOLD} names texts that are not there or not covered: "
                          f"{sorted(missing)}")
    articles, annotated = _annotated(cases, settings, not_after)
    staged = rows_of(annotated, settings, lambda article, *counts: {"article_id": article.article_id})
    gold_checks, predicted_checks = [], []
    for case, article in zip(cases, articles):
        name = f"{case.id}.txt"
        gold = records.get(name, [])
        for record in gold:
            if article.text[record["start"]:record["end"]] != record["text"]:
                raise CorpusError(f"{folder}/gold/{QUOTES_GOLD}: {name} {record['start']}–{record['end']} is not "
                                  f"{record['text']!r} in the article's text")
        predicted = [q | {"start": q["start_char"], "end": q["end_char"]} for q in staged.quotes
                     if q["article_id"] == article.article_id]
        entity_at = {(m["start_char"], m["end_char"]): m["entity_id"] for m in staged.linked.mentions
                     if m["article_id"] == article.article_id}
        g, p = quote_checks(case.id, gold, predicted, entity_at)
        gold_checks += g
        predicted_checks += p
    return QuoteReport(str(folder), len(cases), gold_checks, predicted_checks)


# ------------------------------------------------------------------ stories

STORIES_GOLD = "stories.jsonl"


@dataclass(frozen=True)
class StoryReport:
    corpus: str
    articles: int
    gold_stories: int
    predicted_stories: int
    purity: float
    completeness: float
    pair_precision: float
    pair_recall: float
    impure: list  # (predicted story, [(file, gold story)]) for every predicted story that mixes happenings
    split: list  # (gold story, [(file, predicted story)]) for every happening split over several stories


def has_story_gold(folder: Path) -> bool:
    return (folder / "gold" / STORIES_GOLD).is_file()


def score_stories(folder: Path, settings, not_after: date) -> StoryReport:
    """Every text through intake (the gold's date given as the item's own, as a feed gives it), NER, linking
    and the story rule, as one batch taken in by day, against the hand grouping in ``gold/stories.jsonl``."""
    from urllib.parse import urlsplit

    from flows import intake
    from flows.annotate import documents_for, rows_of
    from transforms.stories import StoryArticle, assign, entity_counts, pair_scores, purity, terms

    records = [json.loads(line) for line in (folder / "gold" / STORIES_GOLD).read_text(encoding="utf-8").splitlines()
               if line.strip()]
    rules, places = intake.load_agency_rules(settings.agencies), intake.load_places(settings)
    articles = []
    for record in records:
        path = folder / "articles" / record["file"]
        if not path.is_file():
            raise CorpusError(f"{folder}/gold/{STORIES_GOLD}: no text {path}")
        day = date.fromisoformat(record["published_date"]) if record.get("published_date") else None
        item = dataclasses.replace(parse_text(path.read_bytes(), path.name), url=record.get("url"), published=day)
        articles.append(build_article(item, rules, not_after=not_after, places=places))
    annotated, rejected, _ = documents_for(articles, settings)
    if rejected:
        raise CorpusError(f"NER failed on {len(rejected)} text(s): {rejected[0].detail}")
    staged = rows_of(annotated, settings, lambda article, *counts: {"article_id": article.article_id})
    mentions: dict[str, list[dict]] = {}
    for mention in staged.linked.mentions:
        mentions.setdefault(mention["article_id"], []).append(mention)
    story_articles = [
        StoryArticle(a.article_id, a.meta.published_date, urlsplit(r.get("url") or "").hostname or r["file"],
                     a.meta.title, terms(a.meta.title, a.body), entity_counts(mentions.get(a.article_id, [])))
        for a, r in zip(articles, records)]
    memberships, _ = assign(story_articles, [])
    predicted = {m.article_id: m.story_id for m in memberships}
    gold = {a.article_id: r["story"] for a, r in zip(articles, records)}
    file_of = {a.article_id: r["file"] for a, r in zip(articles, records)}
    p, c = purity(predicted, gold)
    pp, pr = pair_scores(predicted, gold)
    by_predicted: dict[str, list[str]] = {}
    by_gold: dict[str, list[str]] = {}
    for article_id in gold:
        by_predicted.setdefault(predicted[article_id], []).append(article_id)
        by_gold.setdefault(gold[article_id], []).append(article_id)
    impure = [(story, [(file_of[a], gold[a]) for a in members]) for story, members in by_predicted.items()
              if len({gold[a] for a in members}) > 1]
    split = [(story, [(file_of[a], predicted[a]) for a in members]) for story, members in by_gold.items()
             if len({predicted[a] for a in members}) > 1]
    return StoryReport(str(folder), len(records), len(by_gold), len(by_predicted), p, c, pp, pr, impure, split)
