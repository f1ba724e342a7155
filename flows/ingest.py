"""The ingest flow: inbox → Stanza NER → staged Parquet → DuckDB.

One flow per entry point; each task does one thing. Tasks that take whole
batches of text opt out of Prefect's input-hash caching, which would hash
every article for nothing: what must not be recomputed is decided by the
content ids checked against the warehouse.
"""

from __future__ import annotations

import uuid
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path

import akhbar.prefect_env  # noqa: F401  (Prefect defaults, before prefect is imported)
from prefect import flow, get_run_logger, task
from prefect.cache_policies import NO_CACHE
from prefect.runtime import flow_run

from akhbar.settings import Settings, get_settings
from flows import nlp
from transforms.articles import Article, ArticleRejected, parse_article
from transforms.ner import OffsetMismatch, document_rows
from warehouse import store
from warehouse.tables import to_arrow


@dataclass
class Rejected:
    source_path: str
    reason: str
    detail: str


@dataclass
class ChunkResult:
    n_articles: int = 0
    n_sentences: int = 0
    n_mentions: int = 0
    rejected: list[Rejected] = field(default_factory=list)


@dataclass
class RunSummary:
    run_id: str
    flow_run_id: str | None
    status: str
    n_seen: int
    n_new: int
    n_skipped: int
    n_failed: int
    n_sentences: int
    n_mentions: int
    model: str | None
    model_version: str | None
    model_loaded: bool
    warehouse: str
    rejected: list[Rejected]

    def line(self) -> str:
        text = (
            f"run {self.run_id}: {self.n_seen} seen, {self.n_new} new, "
            f"{self.n_skipped} skipped, {self.n_failed} failed"
        )
        if self.n_new:
            text += f"; {self.n_sentences} sentences, {self.n_mentions} mentions"
        return text


def _now() -> datetime:
    return datetime.now(timezone.utc)


def new_run_id(started_at: datetime) -> str:
    return f"{started_at:%Y%m%dT%H%M%SZ}-{uuid.uuid4().hex[:8]}"


@task(cache_policy=NO_CACHE)
def list_inbox(inbox: Path) -> list[Path]:
    """Regular, visible files under the inbox, in a stable order."""
    if not inbox.is_dir():
        raise FileNotFoundError(f"inbox folder not found: {inbox} (set --inbox or AKHBAR_INBOX)")
    return sorted(
        p
        for p in inbox.rglob("*")
        if p.is_file() and not any(part.startswith(".") for part in p.relative_to(inbox).parts)
    )


@task(cache_policy=NO_CACHE)
def read_articles(paths: list[Path]) -> tuple[list[Article], list[Rejected]]:
    articles, rejected = [], []
    for path in paths:
        try:
            articles.append(parse_article(path.read_bytes(), str(path)))
        except ArticleRejected as err:
            rejected.append(Rejected(str(path), err.reason, err.detail))
        except OSError as err:
            rejected.append(Rejected(str(path), "unreadable", str(err)))
    return articles, rejected


@task(cache_policy=NO_CACHE, retries=3, retry_delay_seconds=[1, 3, 10])
def select_new(articles: list[Article], warehouse: Path) -> list[Article]:
    """Drop articles already published and repeats within this batch (first copy wins)."""
    known = store.known_article_ids(warehouse, [a.article_id for a in articles])
    fresh: dict[str, Article] = {}
    for article in articles:
        if article.article_id not in known and article.article_id not in fresh:
            fresh[article.article_id] = article
    return list(fresh.values())


def _annotate_isolating_failures(pipeline, articles: list[Article]):
    """Bulk NER; if the batch fails, retry one by one so a bad article fails alone."""
    try:
        return list(zip(articles, nlp.annotate(pipeline, [a.text for a in articles]))), []
    except Exception:
        if len(articles) == 1:
            raise
    done, failed = [], []
    for article in articles:
        try:
            done.append((article, nlp.annotate(pipeline, [article.text])[0]))
        except Exception as err:  # a model error on one text must not sink the batch
            failed.append(Rejected(article.source_path, "ner_failed", f"{type(err).__name__}: {err}"))
    return done, failed


@task(cache_policy=NO_CACHE)
def annotate_chunk(
    part: int, articles: list[Article], settings: Settings, run_id: str, ingested_at: datetime
) -> ChunkResult:
    """NER over one chunk of articles; writes its rows to staging, returns counts."""
    info = nlp.ensure_model(settings)
    pipeline = nlp.get_pipeline(info, settings)
    annotated, rejected = _annotate_isolating_failures(pipeline, articles)
    result = ChunkResult(rejected=rejected)
    article_rows, sentence_rows, mention_rows = [], [], []
    for article, doc in annotated:
        try:
            rows = document_rows(doc, article.article_id, article.text)
        except OffsetMismatch as err:
            result.rejected.append(Rejected(article.source_path, "offset_mismatch", str(err)))
            continue
        article_rows.append(
            {
                "article_id": article.article_id,
                "source_path": article.source_path,
                "text": article.text,
                "text_norm": article.text_norm,
                "text_chars": len(article.text),
                "text_norm_chars": len(article.text_norm),
                "n_sentences": len(rows.sentences),
                "n_tokens": rows.n_tokens,
                "n_mentions": len(rows.mentions),
                "raw_sha256": article.raw_sha256,
                "run_id": run_id,
                "ingested_at": ingested_at,
            }
        )
        sentence_rows += rows.sentences
        mention_rows += rows.mentions
    staging = store.Staging(settings.staging_dir, run_id)
    staging.write("articles", part, to_arrow("articles", article_rows))
    staging.write("sentences", part, to_arrow("sentences", sentence_rows))
    staging.write("mentions", part, to_arrow("mentions", mention_rows))
    result.n_articles = len(article_rows)
    result.n_sentences = len(sentence_rows)
    result.n_mentions = len(mention_rows)
    return result


@task(cache_policy=NO_CACHE, retries=3, retry_delay_seconds=[1, 3, 10])
def publish_batch(settings: Settings, run_id: str, run_row: dict) -> None:
    store.publish(settings.warehouse, store.Staging(settings.staging_dir, run_id), run_row, settings.lake_dir)


@task(cache_policy=NO_CACHE, retries=3, retry_delay_seconds=[1, 3, 10])
def record_run(settings: Settings, run_row: dict) -> None:
    store.record_run(settings.warehouse, run_row)


def _chunks(items: list, size: int):
    for start in range(0, len(items), size):
        yield start // size, items[start : start + size]


@flow(name="akhbar-ingest", log_prints=True)
def ingest(inbox: str | None = None, warehouse: str | None = None) -> RunSummary:
    """Take in every new article from the inbox and publish its entities to the warehouse."""
    logger = get_run_logger()
    settings = get_settings(inbox=inbox, warehouse=warehouse)
    started_at = _now()
    run_id = new_run_id(started_at)
    builds_before = nlp.pipelines_built

    paths = list_inbox(settings.inbox)
    articles, rejected = read_articles(paths)
    new = select_new(articles, settings.warehouse)
    n_skipped = len(articles) - len(new)
    logger.info("%d files in %s: %d new, %d already published or repeated, %d unreadable",
                len(paths), settings.inbox, len(new), n_skipped, len(rejected))

    # Even a run with nothing new records the model it would use (read from files, not loaded).
    model = nlp.ensure_model(settings) if new else nlp.inspect_model(nlp.resources_dir(settings))
    totals = ChunkResult()
    if new:
        logger.info("model %s (%s) from %s", model.name, model.version, model.resources_dir)
        for part, chunk in _chunks(new, settings.ner_batch_articles):
            result = annotate_chunk(part, chunk, settings, run_id, started_at)
            totals.n_articles += result.n_articles
            totals.n_sentences += result.n_sentences
            totals.n_mentions += result.n_mentions
            totals.rejected += result.rejected
            logger.info("NER %d/%d articles", min((part + 1) * settings.ner_batch_articles, len(new)), len(new))
    rejected += totals.rejected
    for item in rejected:
        logger.warning("rejected %s: %s %s", item.source_path, item.reason, item.detail)

    summary = RunSummary(
        run_id=run_id,
        flow_run_id=str(flow_run.id) if flow_run.id else None,
        status="succeeded",
        n_seen=len(paths),
        n_new=totals.n_articles,
        n_skipped=n_skipped,
        n_failed=len(rejected),
        n_sentences=totals.n_sentences,
        n_mentions=totals.n_mentions,
        model=model.name if model else None,
        model_version=model.version if model else None,
        model_loaded=nlp.pipelines_built > builds_before,
        warehouse=str(settings.warehouse),
        rejected=rejected,
    )
    run_row = {
        k: v for k, v in asdict(summary).items()
        if k not in {"model_loaded", "warehouse", "rejected"}
    } | {"started_at": started_at, "finished_at": _now(), "inbox": str(settings.inbox), "message": None}
    if totals.n_articles:
        publish_batch(settings, run_id, run_row)
    else:
        record_run(settings, run_row)
    logger.info(summary.line())
    return summary
