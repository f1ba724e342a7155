"""The ingest flow: inbox → Stanza NER → staged Parquet → quality gate → DuckDB.

Write–audit–publish: a run writes its rows to staging, Great Expectations
validates the staging area, and only a passing batch is published, in one
DuckDB transaction. Articles that fail on their own are quarantined and the
rest goes on; a batch that breaks an invariant is held back whole, the flow
run ends Failed and an alert goes out.

Tasks that take whole batches of text opt out of Prefect's input-hash
caching, which would hash every article for nothing: what must not be
recomputed is decided by the content ids checked against the warehouse.
"""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

import akhbar.prefect_env  # noqa: F401  (Prefect defaults, before prefect is imported)
from prefect import flow, get_run_logger, task
from prefect.cache_policies import NO_CACHE
from prefect.runtime import flow_run

from akhbar.settings import Settings, get_settings
from flows import nlp
from flows.alerts import Alert, send_alert
from transforms.articles import Article, ArticleRejected, parse_article
from transforms.ner import OffsetMismatch, document_rows
from warehouse import store
from warehouse.quarantine import QuarantineItem, QuarantineStore, item_id_for
from warehouse.tables import to_arrow


@dataclass
class Rejected:
    """An item held back from publication, on its way to the quarantine."""

    source_path: str
    reason: str
    detail: str
    raw: bytes | None = field(default=None, repr=False)
    level: str = "article"
    validation: dict = field(default_factory=dict)


@dataclass(frozen=True)
class Source:
    """Where to read an item's bytes, and the source path to record for it."""

    read_path: Path
    source_path: str


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
    gate_failures: list[dict] = field(default_factory=list)
    data_docs: str | None = None
    resolved_items: list[str] = field(default_factory=list)

    def line(self) -> str:
        text = (
            f"run {self.run_id}: {self.n_seen} seen, {self.n_new} new, "
            f"{self.n_skipped} skipped, {self.n_failed} failed"
        )
        if self.n_new:
            text += f"; {self.n_sentences} sentences, {self.n_mentions} mentions"
        if self.rejected:
            text += f"; {len(self.rejected)} quarantined"
        if self.status != "succeeded":
            text += f" [{self.status}]"
        return text

    def run_row(self, started_at: datetime, inbox: Path) -> dict:
        return {
            "run_id": self.run_id,
            "flow_run_id": self.flow_run_id,
            "started_at": started_at,
            "finished_at": _now(),
            "n_seen": self.n_seen,
            "n_new": self.n_new,
            "n_skipped": self.n_skipped,
            "n_failed": self.n_failed,
            "n_sentences": self.n_sentences,
            "n_mentions": self.n_mentions,
            "model": self.model,
            "model_version": self.model_version,
            "status": self.status,
            "inbox": str(inbox),
            "message": "; ".join(f["expectation"] for f in self.gate_failures) or None,
        }


class GateFailed(RuntimeError):
    """The batch failed the quality gate: nothing was published. Carries the run summary."""

    def __init__(self, summary: RunSummary):
        super().__init__(summary.line())
        self.summary = summary


def _now() -> datetime:
    return datetime.now(timezone.utc)


def new_run_id(started_at: datetime) -> str:
    return f"{started_at:%Y%m%dT%H%M%SZ}-{uuid.uuid4().hex[:8]}"


@task(cache_policy=NO_CACHE)
def list_inbox(inbox: Path) -> list[Source]:
    """Regular, visible files under the inbox, in a stable order."""
    if not inbox.is_dir():
        raise FileNotFoundError(f"inbox folder not found: {inbox} (set --inbox or AKHBAR_INBOX)")
    return [
        Source(p, str(p))
        for p in sorted(inbox.rglob("*"))
        if p.is_file() and not any(part.startswith(".") for part in p.relative_to(inbox).parts)
    ]


def quarantined_sources(settings: Settings, item_ids: list[str]) -> list[Source]:
    quarantine = QuarantineStore(settings.quarantine_dir)
    return [
        Source(quarantine.folder(i) / "original", quarantine.meta(i)["source_path"]) for i in item_ids
    ]


@task(cache_policy=NO_CACHE)
def read_articles(sources: list[Source]) -> tuple[list[Article], list[Rejected]]:
    articles, rejected = [], []
    for source in sources:
        try:
            raw = source.read_path.read_bytes()
        except OSError as err:
            rejected.append(Rejected(source.source_path, "unreadable", f"{type(err).__name__}: {err.strerror or err}"))
            continue
        try:
            articles.append(parse_article(raw, source.source_path))
        except ArticleRejected as err:
            rejected.append(Rejected(source.source_path, err.reason, err.detail, raw=raw))
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
        pass
    done, failed = [], []
    for article in articles:
        try:
            done.append((article, nlp.annotate(pipeline, [article.text])[0]))
        except Exception as err:  # a model error on one text must not sink the batch
            failed.append(
                Rejected(article.source_path, "ner_failed", f"{type(err).__name__}: {err}", raw=article.raw)
            )
    return done, failed


def article_row(article: Article, rows, run_id: str, ingested_at: datetime) -> dict:
    return {
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
            result.rejected.append(Rejected(article.source_path, "offset_mismatch", str(err), raw=article.raw))
            continue
        article_rows.append(article_row(article, rows, run_id, ingested_at))
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


@task(cache_policy=NO_CACHE)
def validate_staging(settings: Settings, run_id: str, expected: dict, labels: tuple[str, ...]):
    """The Great Expectations checkpoint over this run's staging area."""
    from expectations.gate import run_gate

    return run_gate(
        staging_dir=settings.staging_dir / run_id,
        run_id=run_id,
        published_db=settings.warehouse,
        context_dir=settings.gx_dir,
        data_docs_dir=settings.data_docs_dir,
        expected=expected,
        labels=labels,
    )


@task(cache_policy=NO_CACHE)
def quarantine_items(settings: Settings, run_id: str, rejected: list[Rejected]) -> list[str]:
    """Keep each rejected item's original bytes and reason; stage its quarantine row."""
    quarantine = QuarantineStore(settings.quarantine_dir)
    now = _now()
    rows, ids = [], []
    for item in rejected:
        raw = item.raw if item.raw is not None else b""
        item_id = item_id_for(raw) if item.raw is not None else hashlib.sha256(
            item.source_path.encode()).hexdigest()[:32]
        record = QuarantineItem(item_id, item.source_path, item.reason, item.detail, item.level,
                                run_id, now, item.validation)
        rows.append(record.row(quarantine.put(record, raw)))
        ids.append(item_id)
    store.Staging(settings.staging_dir, run_id).write("quarantine", 0, to_arrow("quarantine", rows))
    return ids


@task(cache_policy=NO_CACHE, retries=3, retry_delay_seconds=[1, 3, 10])
def publish_batch(settings: Settings, run_id: str, run_row: dict) -> None:
    store.publish(settings.warehouse, store.Staging(settings.staging_dir, run_id), run_row, settings.lake_dir)


def _chunks(items: list, size: int):
    for start in range(0, len(items), size):
        yield start // size, items[start : start + size]


def _describe_failures(failures: list[dict]) -> list[str]:
    return [
        f"• {f['suite']}: {f['expectation']}"
        + (f" on {f['column']}" if f.get("column") else "")
        + (f" ({f['unexpected_count']} unexpected)" if f.get("unexpected_count") else "")
        for f in failures
    ]


def _alert(settings: Settings, summary: RunSummary) -> None:
    counts = {"seen": summary.n_seen, "new": summary.n_new, "skipped": summary.n_skipped,
              "quarantined": len(summary.rejected), "data_docs": summary.data_docs or "-"}
    if summary.status == "gate_failed":
        alert = Alert("error", "quality gate failed; batch held back, nothing published", summary.run_id,
                      _describe_failures(summary.gate_failures), counts)
    elif summary.rejected:
        alert = Alert("warning", f"{len(summary.rejected)} item(s) quarantined", summary.run_id,
                      [f"• {r.source_path}: {r.reason}" for r in summary.rejected[:20]], counts)
    else:
        return
    webhook = settings.alert_webhook.get_secret_value() if settings.alert_webhook else None
    send_alert(webhook, alert)


@flow(name="akhbar-ingest")
def ingest(
    inbox: str | None = None, warehouse: str | None = None, retry_items: list[str] | None = None
) -> RunSummary:
    """Take in every new article from the inbox (or retry quarantined items) and publish it."""
    logger = get_run_logger()
    settings = get_settings(inbox=inbox, warehouse=warehouse)
    started_at = _now()
    run_id = new_run_id(started_at)
    builds_before = nlp.pipelines_built

    sources = quarantined_sources(settings, retry_items) if retry_items else list_inbox(settings.inbox)
    articles, rejected = read_articles(sources)
    new = select_new(articles, settings.warehouse)
    n_skipped = len(articles) - len(new)
    logger.info("%d items: %d new, %d already published or repeated, %d unreadable",
                len(sources), len(new), n_skipped, len(rejected))

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
            rejected += result.rejected
            logger.info("NER %d/%d articles", min((part + 1) * settings.ner_batch_articles, len(new)), len(new))

    status, gate_failures, data_docs = "succeeded", [], None
    if totals.n_articles:
        by_id = {a.article_id: a for a in new}
        labels = model.labels if model else ("PER", "LOC", "ORG", "MISC")
        expected = {"articles": totals.n_articles, "sentences": totals.n_sentences, "mentions": totals.n_mentions}
        gate = validate_staging(settings, run_id, expected, labels)
        if gate.article_failures:
            for article_id, reason in gate.article_failures.items():
                article = by_id[article_id]
                failed = [f.as_dict() for f in gate.failures if article_id in f.article_ids]
                rejected.append(Rejected(article.source_path, reason, "; ".join(f["rule"] for f in failed),
                                         raw=article.raw, validation={"run_id": run_id, "failed": failed}))
            store.drop_articles(store.Staging(settings.staging_dir, run_id), set(gate.article_failures))
            totals = _recount(settings, run_id, totals)
            expected = {"articles": totals.n_articles, "sentences": totals.n_sentences, "mentions": totals.n_mentions}
            gate = validate_staging(settings, run_id, expected, labels) if totals.n_articles else None
        data_docs = str(gate.data_docs_index) if gate and gate.data_docs_index else None
        if gate is not None and not gate.success:
            status, gate_failures = "gate_failed", gate.failure_dicts()
            staging = store.Staging(settings.staging_dir, run_id)
            held = settings.quarantine_dir / "batches" / run_id
            staged_ids = _staged_article_ids(staging)
            store.hold_back(staging, held)
            detail = "; ".join(f["expectation"] for f in gate_failures)
            rejected += [
                Rejected(by_id[i].source_path, "batch_failed_gate", detail, raw=by_id[i].raw, level="batch",
                         validation={"failed": gate_failures, "held_back": str(held)})
                for i in staged_ids
            ]
            totals = ChunkResult()

    quarantined = quarantine_items(settings, run_id, rejected) if rejected else []
    summary = RunSummary(
        run_id=run_id,
        flow_run_id=str(flow_run.id) if flow_run.id else None,
        status=status,
        n_seen=len(sources),
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
        gate_failures=gate_failures,
        data_docs=data_docs,
    )
    if retry_items and status == "succeeded":
        summary.resolved_items = sorted(set(retry_items) - set(quarantined))
        _stage_resolutions(settings, run_id, summary.resolved_items)
    publish_batch(settings, run_id, summary.run_row(started_at, settings.inbox))
    for item in rejected:
        logger.warning("quarantined %s: %s (%s)", item.source_path, item.reason, item.detail)
    _alert(settings, summary)
    logger.info(summary.line())
    if status == "gate_failed":
        raise GateFailed(summary)
    return summary


def _staged_article_ids(staging: store.Staging) -> list[str]:
    import pyarrow.parquet as pq

    return [i for part in staging.files("articles") for i in pq.read_table(part, columns=["article_id"])["article_id"].to_pylist()]


def _recount(settings: Settings, run_id: str, totals: ChunkResult) -> ChunkResult:
    import pyarrow.parquet as pq

    staging = store.Staging(settings.staging_dir, run_id)
    rows = {t: sum(pq.read_metadata(p).num_rows for p in staging.files(t)) for t in ("articles", "sentences", "mentions")}
    return ChunkResult(rows["articles"], rows["sentences"], rows["mentions"], totals.rejected)


def _stage_resolutions(settings: Settings, run_id: str, item_ids: list[str]) -> None:
    quarantine = QuarantineStore(settings.quarantine_dir)
    now = _now()
    rows = []
    for item_id in item_ids:
        meta = quarantine.meta(item_id)
        rows.append({"item_id": item_id, "source_path": meta["source_path"], "reason": meta["reason"],
                     "run_id": run_id, "quarantined_at": now, "detail": "resolved by retry",
                     "level": meta["level"], "stored_path": str(quarantine.folder(item_id)),
                     "status": "resolved"})
    store.Staging(settings.staging_dir, run_id).write("quarantine", 1, to_arrow("quarantine", rows))
