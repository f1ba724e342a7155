"""The NER stage: one chunk of articles through Stanza (or the NER cache), its rows staged.

A chunk is the unit that can run elsewhere: in an NER worker process of this
one (``flows/ner_workers.py``) or on a Dask worker (``flows/tasks.py`` makes it
a Prefect task). Wherever it runs, that process builds its Stanza pipeline once
and writes the chunk's own staged Parquet. Nothing here imports Prefect, so a
worker process does not pay for it.
"""

from __future__ import annotations

import os
import socket
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from typing import Callable, Iterable

from core import faults
from core.collector import young_garbage_only
from core.settings import Settings
from flows import intake, nlp
from flows.ner_cache import NerCache
from transforms.amounts import amount_rows
from transforms.articles import Article
from transforms.entities import AliasTable, Entity
from transforms.kb_mentions import (Span, dateline_places, is_team_sport_story, mention_rows, merged_spans,
                                    metadata_spans)
from transforms.linking import link_mentions
from transforms.ner import DocumentRows, OffsetMismatch, document_rows
from transforms.quotes import article_quotes, quote_rows
from transforms.rejection import Rejection
from warehouse.rows import article_row
from warehouse.store import Staging


@dataclass
class ChunkResult:
    n_articles: int = 0
    n_sentences: int = 0
    n_mentions: int = 0
    rejected: list[Rejection] = field(default_factory=list)
    article_ids: list[str] = field(default_factory=list)
    ner_cached: int = 0
    worker: str = ""  # host:pid of the process that ran the chunk
    pipelines_in_worker: int = 0  # Stanza pipelines that process has built so far
    new_pipelines: int = 0  # of those, built for this chunk (an NER worker's count its model's load)
    devices: tuple[str, ...] = ()  # where that process's pipelines run
    # The knowledge base's entries of the entities the chunk's mentions link to: the run's entity totals take
    # their names and facts from these, and the run's own process need not read the knowledge base.
    entities: dict[str, Entity] = field(default_factory=dict)


@dataclass
class NerTotals:
    """The chunks of one run, added up."""

    n_articles: int = 0
    n_sentences: int = 0
    n_mentions: int = 0
    rejected: list[Rejection] = field(default_factory=list)
    article_ids: set[str] = field(default_factory=set)
    ner_cached: int = 0
    workers: dict[str, int] = field(default_factory=dict)  # worker → Stanza pipelines it built
    new_pipelines: int = 0  # Stanza pipelines built for these chunks
    devices: set[str] = field(default_factory=set)  # where the model ran (cpu, cuda)
    entities: dict[str, Entity] = field(default_factory=dict)  # as in ChunkResult

    def add(self, result: ChunkResult) -> None:
        self.workers[result.worker] = max(self.workers.get(result.worker, 0), result.pipelines_in_worker)
        self.devices.update(result.devices)
        self.n_articles += result.n_articles
        self.n_sentences += result.n_sentences
        self.n_mentions += result.n_mentions
        self.article_ids.update(result.article_ids)
        self.ner_cached += result.ner_cached
        self.new_pipelines += result.new_pipelines
        self.rejected += result.rejected
        self.entities.update(result.entities)

    @property
    def expected_rows(self) -> dict[str, int]:
        return {"articles": self.n_articles, "sentences": self.n_sentences, "mentions": self.n_mentions}


def annotate_isolating_failures(pipeline, articles: list[Article]):
    """Bulk NER; if the batch fails, retry one by one so a bad article fails alone."""
    try:
        return list(zip(articles, nlp.annotate(pipeline, [a.body for a in articles]))), []
    except Exception:
        pass
    done, failed = [], []
    for article in articles:
        try:
            done.append((article, nlp.annotate(pipeline, [article.body])[0]))
        except Exception as err:  # a model error on one text must not sink the batch
            failed.append(Rejection.of_article(article, "ner_failed", f"{type(err).__name__}: {err}"))
    return done, failed


def documents_for(articles: list[Article], settings: Settings) -> tuple[list[tuple[Article, object]], list[Rejection], int]:
    """Each article's NER document, from the cache or the model; returns (annotated, rejected, n_cached)."""
    info = nlp.ensure_model(settings)
    cache = NerCache(settings.ner_cache_dir, info.name, info.version)
    docs = {a.article_id: cache.get(a.body) for a in articles}
    misses = [a for a in articles if docs[a.article_id] is None]
    rejected: list[Rejection] = []
    if misses:  # the model is loaded only for text it has never seen
        annotated, rejected = annotate_isolating_failures(nlp.get_pipeline(info, settings), misses)
        for article, doc in annotated:
            cache.put(article.body, doc)
            docs[article.article_id] = doc
    annotated = [(a, docs[a.article_id]) for a in articles if docs[a.article_id] is not None]
    return annotated, rejected, len(articles) - len(misses)


def needs_the_model(articles: list[Article], settings: Settings) -> bool:
    """Whether some article's body is not in the NER cache: only then is a model loaded, here or in workers."""
    info = nlp.ensure_model(settings)
    cache = NerCache(settings.ner_cache_dir, info.name, info.version)
    return not all(cache.holds(a.body) for a in articles)


@dataclass
class StagedRows:
    """What one chunk's NER documents make: article, sentence and linked mention rows, and what failed."""

    articles: list[dict] = field(default_factory=list)
    sentences: list[dict] = field(default_factory=list)
    linked: object = None  # transforms.linking's result: mentions, article_entities, review
    amounts: list[dict] = field(default_factory=list)
    quotes: list[dict] = field(default_factory=list)
    n_mentions: int = 0
    rejected: list[Rejection] = field(default_factory=list)
    entities: dict[str, Entity] = field(default_factory=dict)  # the linked ones the knowledge base knows

    def write(self, staging: Staging, part: int) -> None:
        staging.write_rows("articles", part, self.articles)
        staging.write_rows("sentences", part, self.sentences)
        staging.write_rows("mentions", part, self.linked.mentions)
        staging.write_rows("amounts", part, self.amounts)
        staging.write_rows("quotes", part, self.quotes)
        staging.write_rows("article_entities", part, self.linked.article_entities)
        staging.write_rows("entity_review", part, self.linked.review)


def article_mentions(article: Article, rows: DocumentRows, table: AliasTable, gazetteer: bool) -> list[dict]:
    """The article's final mentions: the model's spans, the knowledge base's (``transforms/kb_mentions.py``),
    the dateline's places and the credited agency."""
    meta = article.meta
    model = [Span(m["start_char"], m["end_char"], m["label"]) for m in rows.mentions]
    spans = merged_spans(article.text, model, table, body=article.body, body_start=meta.body_start,
                         gazetteer=gazetteer)
    for found in metadata_spans(article.text, meta, table):  # the dateline's places, the credited agency
        if not any(s.start < found.end and found.start < s.end for s in spans):
            spans.append(found)
    mentions = mention_rows(article.article_id, article.text, spans, [s["start_char"] for s in rows.sentences],
                            dateline_places(article.text, meta.dateline_city, meta.body_start, spans),
                            is_team_sport_story(article.body))
    for mention in mentions:  # a name two entities held in turn is the one of the article's day
        mention["day"] = meta.published_date
    return mentions


def with_speaker_entities(quotes: list[dict], mentions: Iterable[dict]) -> list[dict]:
    """Quote rows with their speaker mention's linked entity (quotes are read before linking, article by article,
    so that a fault in one is that article's alone)."""
    entity_of = {(m["article_id"], m["mention_index"]): m["entity_id"] for m in mentions}
    for quote in quotes:
        if quote["speaker_mention_index"] is not None:
            quote["speaker_entity_id"] = entity_of.get((quote["article_id"], quote["speaker_mention_index"]))
    return quotes


def rows_of(annotated: list[tuple[Article, object]], settings: Settings,
            article_row_of: Callable[[Article, int, int, int], dict], seen: Iterable[str] = ()) -> StagedRows:
    """Rows of NER-processed articles; ``article_row_of(article, n_sentences, n_tokens, n_mentions)`` shapes each
    article's row. An article whose document does not fit its text is rejected alone. ``seen``: the keys of
    names already published (see ``transforms/linking.py``)."""
    staged = StagedRows()
    mention_rows_, counted = [], []
    table = intake.load_knowledge_base(settings)
    currencies = intake.load_currency_names()
    for article, doc in annotated:
        try:
            rows = document_rows(doc, article.article_id, article.text, offset=article.meta.body_start)
            mentions = article_mentions(article, rows, table, settings.gazetteer_pass)
            sentence_starts = [s["start_char"] for s in rows.sentences]
            amounts = amount_rows(article.article_id, article.text, sentence_starts, currencies)
            quotes = quote_rows(article.article_id, article_quotes(article.text, article.body,
                                                                   article.meta.body_start, mentions), sentence_starts)
        except OffsetMismatch as err:
            staged.rejected.append(Rejection.of_article(article, "offset_mismatch", str(err)))
            continue
        except Exception as err:  # a bug met on one document is that article's alone
            staged.rejected.append(Rejection.internal_error(err, source_path=article.source_path, raw=article.raw,
                                                            format=article.format, source_id=article.source_id))
            continue
        counted.append((article, len(rows.sentences), rows.n_tokens))
        staged.sentences += rows.sentences
        staged.amounts += amounts
        staged.quotes += quotes
        mention_rows_ += mentions
    staged.linked = link_mentions(mention_rows_, table, seen)
    staged.quotes = with_speaker_entities(staged.quotes, staged.linked.mentions)
    per_article = Counter(m["article_id"] for m in staged.linked.mentions)
    staged.articles = [article_row_of(article, n_sentences, n_tokens, per_article[article.article_id])
                       for article, n_sentences, n_tokens in counted]
    staged.n_mentions = len(staged.linked.mentions)
    staged.entities = {m["entity_id"]: table.entities[m["entity_id"]] for m in staged.linked.mentions
                       if m["entity_id"] in table.entities}
    return staged


def rehearse(settings: Settings, article: Article) -> None:
    """One article through NER and its rows in memory, nothing written: what they load or compile on first use
    (the model, the knowledge base, patterns) is then loaded before a run needs it."""
    pipeline = nlp.get_pipeline(nlp.ensure_model(settings), settings)
    rows_of(list(zip([article], nlp.annotate(pipeline, [article.body]))), settings, lambda *row: {})


def stage_chunk(part: int, articles: list[Article], settings: Settings, staging: Staging,
                ingested_at: datetime, seen: frozenset[str] = frozenset()) -> ChunkResult:
    """NER over one chunk of articles; writes its rows to staging, returns counts. ``seen``: the name keys
    already published (``transforms/linking.py``)."""
    built_before = nlp.pipelines_built
    annotated, rejected, n_cached = documents_for(articles, settings)
    result = ChunkResult(rejected=rejected, ner_cached=n_cached)
    with young_garbage_only():  # rows are many small objects too, and hold no cycles worth a full collection
        staged = rows_of(annotated, settings, lambda article, n_sentences, n_tokens, n_mentions: article_row(
            article, staging.run_id, ingested_at, n_sentences, n_tokens, n_mentions), seen)
    result.rejected += staged.rejected
    faults.at("ner")
    staged.write(staging, part)
    result.n_articles = len(staged.articles)
    result.article_ids = [row["article_id"] for row in staged.articles]
    result.n_sentences = len(staged.sentences)
    result.n_mentions = staged.n_mentions
    result.entities = staged.entities
    result.worker = f"{socket.gethostname()}:{os.getpid()}"
    result.pipelines_in_worker = nlp.pipelines_built
    result.new_pipelines = nlp.pipelines_built - built_before
    result.devices = nlp.devices_used()
    return result
