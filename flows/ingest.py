"""The ingest flow: sources → metadata and duplicates → Stanza NER → staged Parquet → quality gate → DuckDB.

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

import errno
import hashlib
import os
import socket
import uuid
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import akhbar.prefect_env  # noqa: F401  (Prefect defaults, before prefect is imported)
from prefect import flow, get_run_logger, task
from prefect.task_runners import ThreadPoolTaskRunner
from prefect.cache_policies import NO_CACHE
from prefect.runtime import flow_run

from akhbar import faults
from akhbar.settings import Settings, get_settings
from akhbar.stopwatch import Stopwatch
from flows import intake, nlp
from flows.alerts import Alert, send_alert
from flows.intake import Collected, Rejected, SourceSpec
from flows.ner_cache import NerCache
from flows.progress import Progress
from transforms import dedup
from transforms.articles import Article, ArticleRejected, build_article
from transforms.linking import link_mentions
from transforms.ner import OffsetMismatch, document_rows
from warehouse import store
from warehouse.lock import WriterLock
from warehouse.quarantine import QuarantineItem, QuarantineStore, item_id_for
from warehouse.tables import to_arrow

# Staging part numbers: NER chunks count up from 0; these stay clear of them.
NEAR_COPIES_PART = 90_000
COPIES_PART = 90_001


@dataclass
class Selection:
    """What a batch holds once published stories and repeats are set aside."""

    to_annotate: list[Article] = field(default_factory=list)
    near_copies: list[tuple[Article, dedup.NearMatch]] = field(default_factory=list)
    exact_copies: list[tuple[Article, str]] = field(default_factory=list)  # (copy, first copy's id)
    fingerprints: dict[str, bytes] = field(default_factory=dict)  # first copies' MinHash signatures
    n_skipped: int = 0


@dataclass
class ChunkResult:
    n_articles: int = 0
    n_sentences: int = 0
    n_mentions: int = 0
    rejected: list[Rejected] = field(default_factory=list)
    article_ids: list[str] = field(default_factory=list)
    ner_cached: int = 0
    worker: str = ""  # host:pid of the process that ran the chunk
    pipelines_in_worker: int = 0  # Stanza pipelines that process has built so far
    workers: dict[str, int] = field(default_factory=dict)  # in totals: worker → pipelines it built


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
    n_duplicates: int
    model: str | None
    model_version: str | None
    model_loaded: bool
    warehouse: str
    rejected: list[Rejected]
    gate_failures: list[dict] = field(default_factory=list)
    data_docs: str | None = None
    resolved_items: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)  # sources that could not be read at all
    ner_cached: int = 0  # articles whose NER output came from the cache
    ner_workers: dict[str, int] = field(default_factory=dict)  # host:pid → Stanza pipelines it built
    timings: dict[str, float] = field(default_factory=dict)  # seconds per stage
    gate_seconds: dict[str, float] = field(default_factory=dict)  # the gate stage's parts (expectations.gate)
    n_unchanged: int = 0  # inbox files skipped unread (settled earlier, same size and mtime)
    newly_quarantined: list[Rejected] = field(default_factory=list)  # rejected, and not in quarantine before

    @property
    def n_still_quarantined(self) -> int:
        return len(self.rejected) - len(self.newly_quarantined)

    def line(self) -> str:
        text = (
            f"run {self.run_id}: {self.n_seen} seen, {self.n_new} new, "
            f"{self.n_skipped} skipped, {self.n_failed} failed"
        )
        if self.n_new:
            text += f"; {self.n_sentences} sentences, {self.n_mentions} mentions"
        if self.n_duplicates:
            text += f"; {self.n_duplicates} duplicates"
        if self.n_unchanged:
            text += f"; {self.n_unchanged} unchanged files not read again"
        if self.rejected:
            text += f"; {len(self.rejected)} quarantined"
            if self.n_still_quarantined:
                text += f" ({self.n_still_quarantined} already were)"
        if self.problems:
            text += f"; {len(self.problems)} source(s) unreadable"
        if self.status != "succeeded":
            text += f" [{self.status}]"
        return text

    def run_row(self, started_at: datetime, inbox: str) -> dict:
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
            "n_duplicates": self.n_duplicates,
            "model": self.model,
            "model_version": self.model_version,
            "status": self.status,
            "inbox": inbox,
            "message": "; ".join([f["expectation"] for f in self.gate_failures] + self.problems) or None,
        }


class GateFailed(RuntimeError):
    """The batch failed the quality gate: nothing was published. Carries the run summary."""

    def __init__(self, summary: RunSummary):
        super().__init__(summary.line())
        self.summary = summary


HOPELESS_ERRNOS = {errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EACCES}


def worth_retrying(task, task_run, state) -> bool:
    """A full disk or a read-only folder does not heal in seconds: fail at once, alert, let the next run recover."""
    error = state.data
    return not (isinstance(error, OSError) and error.errno in HOPELESS_ERRNOS)


def _now() -> datetime:
    return datetime.now(timezone.utc)


def new_run_id(started_at: datetime) -> str:
    return f"{started_at:%Y%m%dT%H%M%SZ}-{uuid.uuid4().hex[:8]}"


def sources_for(settings: Settings) -> tuple[list[SourceSpec], str]:
    """The sources a run reads, and how to describe them in the run record."""
    if settings.inbox is not None:
        if not settings.inbox.is_dir():
            raise FileNotFoundError(f"inbox folder not found: {settings.inbox} (set --inbox or AKHBAR_INBOX)")
        return [intake.folder_source(settings.inbox)], str(settings.inbox)
    return intake.load_sources(settings.sources), str(settings.sources)


@task(cache_policy=NO_CACHE)
def collect_items(settings: Settings, specs: list[SourceSpec]) -> Collected:
    """Every item of every source: files read, feeds fetched, formats parsed."""
    settled = store.settled_files(settings.warehouse) if settings.skip_unchanged else {}
    return intake.collect(specs, settings.max_item_bytes, settings.fetch_timeout, settled)


def _file_of(label: str, files: dict) -> str:
    """The file an item label names: the file itself, or ``<file>#L3`` / ``<file>#<link>`` (names may hold '#')."""
    if label in files:
        return label
    at = label.find("#")
    while at != -1:
        if label[:at] in files:
            return label[:at]
        at = label.find("#", at + 1)
    return label


def settled_file_rows(collected: Collected, rejected: list[Rejected], run_id: str) -> list[dict]:
    """Files read this run none of whose items was rejected: all published, known or recorded as copies."""
    files = collected.stamps
    unsettled = {_file_of(r.source_path, files) for r in rejected}
    items = Counter(_file_of(item.source_path, files) for item, _ in collected.items)
    return [{"source_path": path, "size": size, "mtime_ns": mtime_ns, "n_items": items[path], "run_id": run_id}
            for path, (size, mtime_ns) in files.items() if path not in unsettled]


def quarantined_items(settings: Settings, item_ids: list[str]) -> Collected:
    """Quarantined items read back from their stored bytes, as the format they came in."""
    quarantine = QuarantineStore(settings.quarantine_dir)
    collected = Collected()
    for item_id in item_ids:
        meta = quarantine.meta(item_id)
        spec = SourceSpec(meta.get("source_id") or "quarantine", "folder", str(quarantine.folder(item_id)))
        items, errors = intake.reparse_quarantined(quarantine.original(item_id), meta["source_path"], meta.get("format"))
        collected.n_files += 1
        collected.items += [(item, spec) for item in items]
        collected.rejected += [Rejected(e.source_path, e.reason, e.detail, raw=e.raw, format=meta.get("format"))
                               for e in errors]
    return collected


@task(cache_policy=NO_CACHE)
def build_articles(collected: Collected, settings: Settings, not_after: date) -> tuple[list[Article], list[Rejected]]:
    """Content ids, metadata and bodies; an item that cannot be an article is rejected alone."""
    rules = intake.load_agency_rules(settings.agencies)
    articles, rejected = [], []
    for item, spec in collected.items:
        try:
            articles.append(build_article(item, rules, spec.agency, spec.source_id, not_after))
        except ArticleRejected as err:
            rejected.append(Rejected(item.source_path, err.reason, err.detail, raw=item.raw,
                                     format=item.format, source_id=spec.source_id))
    return articles, rejected


@task(cache_policy=NO_CACHE, retries=3, retry_delay_seconds=[1, 3, 10], retry_condition_fn=worth_retrying)
def select_new(articles: list[Article], settings: Settings) -> Selection:
    """Set aside published stories and repeats: exact copies by content id, near copies by MinHash.

    The first copy wins: the published one, else the first in source order.
    Copies are recorded, never NER-processed.
    """
    known = store.known_articles(settings.warehouse, [a.article_id for a in articles])
    recorded = store.known_copies(settings.warehouse, [(a.source_path, a.article_id) for a in articles])
    selection, first_path = Selection(), dict(known)
    candidates: list[Article] = []
    for article in articles:
        first = first_path.get(article.article_id)
        if first is None:
            first_path[article.article_id] = article.source_path
            candidates.append(article)
            continue
        selection.n_skipped += 1
        if first != article.source_path and (article.source_path, article.article_id) not in recorded:
            recorded.add((article.source_path, article.article_id))
            selection.exact_copies.append((article, article.article_id))
    if not candidates:
        return selection
    index = dedup.NearDuplicateIndex(settings.near_duplicate_threshold)
    for article_id, blob in store.fingerprints(settings.warehouse):
        index.add(article_id, dedup.from_bytes(blob))
    for article in candidates:
        signature = dedup.signature(article.body)
        match = index.match(signature)
        if match:
            selection.near_copies.append((article, match))
        else:
            index.add(article.article_id, signature)
            selection.fingerprints[article.article_id] = dedup.to_bytes(signature)
            selection.to_annotate.append(article)
    return selection


def _annotate_isolating_failures(pipeline, articles: list[Article]):
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
            failed.append(
                Rejected(article.source_path, "ner_failed", f"{type(err).__name__}: {err}", raw=article.raw,
                         format=article.format, source_id=article.source_id)
            )
    return done, failed


def article_row(
    article: Article, run_id: str, ingested_at: datetime, n_sentences: int = 0, n_tokens: int = 0,
    n_mentions: int = 0, near: dedup.NearMatch | None = None,
) -> dict:
    meta = article.meta
    return {
        "article_id": article.article_id,
        "source_path": article.source_path,
        "text": article.text,
        "text_norm": article.text_norm,
        "text_chars": len(article.text),
        "text_norm_chars": len(article.text_norm),
        "n_sentences": n_sentences,
        "n_tokens": n_tokens,
        "n_mentions": n_mentions,
        "raw_sha256": article.raw_sha256,
        "run_id": run_id,
        "ingested_at": ingested_at,
        "source_id": article.source_id,
        "format": article.format,
        "encoding": article.encoding,
        "url": article.url,
        "title": meta.title,
        "title_source": meta.title_source,
        "dateline_city": meta.dateline_city,
        "published_date": meta.published_date,
        "date_source": meta.date_source,
        "agency": meta.agency,
        "agency_source": meta.agency_source,
        "body": article.body,
        "body_start": meta.body_start,
        "body_end": meta.body_end,
        "duplicate_of": near.duplicate_of if near else None,
        "duplicate_similarity": near.similarity if near else None,
    }


@task(cache_policy=NO_CACHE)
def annotate_chunk(
    part: int, articles: list[Article], settings: Settings, run_id: str, ingested_at: datetime
) -> ChunkResult:
    """NER over one chunk of articles; writes its rows to staging, returns counts."""
    info = nlp.ensure_model(settings)
    aliases = intake.load_alias_table(settings.entity_aliases)
    cache = NerCache(settings.ner_cache_dir, info.name, info.version)
    docs = {a.article_id: cache.get(a.body) for a in articles}
    misses = [a for a in articles if docs[a.article_id] is None]
    rejected: list[Rejected] = []
    if misses:  # the model is loaded only for text it has never seen
        annotated, rejected = _annotate_isolating_failures(nlp.get_pipeline(info, settings), misses)
        for article, doc in annotated:
            cache.put(article.body, doc)
            docs[article.article_id] = doc
    annotated = [(a, docs[a.article_id]) for a in articles if docs[a.article_id] is not None]
    result = ChunkResult(rejected=rejected, ner_cached=len(articles) - len(misses))
    article_rows, sentence_rows, mention_rows = [], [], []
    for article, doc in annotated:
        try:
            rows = document_rows(doc, article.article_id, article.text, offset=article.meta.body_start)
        except OffsetMismatch as err:
            result.rejected.append(Rejected(article.source_path, "offset_mismatch", str(err), raw=article.raw,
                                            format=article.format, source_id=article.source_id))
            continue
        article_rows.append(article_row(article, run_id, ingested_at, len(rows.sentences), rows.n_tokens,
                                        len(rows.mentions)))
        sentence_rows += rows.sentences
        mention_rows += rows.mentions
    linked = link_mentions(mention_rows, aliases)
    staging = store.Staging(settings.staging_dir, run_id)
    faults.at("ner")
    staging.write("articles", part, to_arrow("articles", article_rows))
    staging.write("sentences", part, to_arrow("sentences", sentence_rows))
    staging.write("mentions", part, to_arrow("mentions", linked.mentions))
    staging.write("article_entities", part, to_arrow("article_entities", linked.article_entities))
    staging.write("entity_review", part, to_arrow("entity_review", linked.review))
    result.n_articles = len(article_rows)
    result.article_ids = [row["article_id"] for row in article_rows]
    result.n_sentences = len(sentence_rows)
    result.n_mentions = len(mention_rows)
    result.worker = f"{socket.gethostname()}:{os.getpid()}"
    result.pipelines_in_worker = nlp.pipelines_built
    return result


def set_aside_orphans(selection: Selection, kept_ids: set[str]) -> list[tuple[Article, dedup.NearMatch]]:
    """Remove near copies whose first copy was rejected in this run; they are quarantined with it."""
    orphans = [(a, m) for a, m in selection.near_copies
               if m.duplicate_of in selection.fingerprints and m.duplicate_of not in kept_ids]
    selection.near_copies = [pair for pair in selection.near_copies if pair not in orphans]
    return orphans


def first_copy_rejected(article: Article, match: dedup.NearMatch) -> Rejected:
    return Rejected(article.source_path, "first_copy_rejected",
                    f"near copy ({match.similarity:.2f}) of {match.duplicate_of}, which was quarantined "
                    "in this run; retry them together", raw=article.raw, format=article.format,
                    source_id=article.source_id)


@task(cache_policy=NO_CACHE)
def stage_copies(settings: Settings, run_id: str, selection: Selection, ingested_at: datetime,
                 kept_ids: set[str]) -> None:
    """Near copies as article rows (no NER), every copy in ``duplicates``, kept first copies' fingerprints."""
    staging = store.Staging(settings.staging_dir, run_id)
    near_rows = [article_row(a, run_id, ingested_at, near=match) for a, match in selection.near_copies]
    copy_rows = [
        {"source_path": a.source_path, "article_id": a.article_id, "duplicate_of": m.duplicate_of,
         "kind": "near", "similarity": m.similarity, "run_id": run_id, "seen_at": ingested_at}
        for a, m in selection.near_copies
    ] + [
        {"source_path": a.source_path, "article_id": a.article_id, "duplicate_of": first,
         "kind": "exact", "similarity": 1.0, "run_id": run_id, "seen_at": ingested_at}
        for a, first in selection.exact_copies
    ]
    staging.write("articles", NEAR_COPIES_PART, to_arrow("articles", near_rows))
    staging.write("duplicates", COPIES_PART, to_arrow("duplicates", copy_rows))
    staging.write("fingerprints", 0, to_arrow("fingerprints", [
        {"article_id": i, "minhash": blob} for i, blob in selection.fingerprints.items() if i in kept_ids]))
    # Every table the gate reads exists even when nothing was NER-processed.
    staging.write("sentences", COPIES_PART, to_arrow("sentences", []))
    staging.write("mentions", COPIES_PART, to_arrow("mentions", []))


@task(cache_policy=NO_CACHE)
def stage_entity_totals(settings: Settings, run_id: str) -> None:
    """The running totals of every entity the staged mentions name, staged beside them."""
    from warehouse.entities import stage_entities

    stage_entities(store.Staging(settings.staging_dir, run_id), settings.warehouse,
                   intake.load_alias_table(settings.entity_aliases), run_id)


@task(cache_policy=NO_CACHE)
def validate_staging(settings: Settings, run_id: str, expected: dict, labels: tuple[str, ...]):
    """The Great Expectations checkpoints over everything staged; its verdict decides what is published."""
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
                                run_id, now, item.validation, item.format, item.source_id)
        rows.append(record.row(quarantine.put(record, raw)))
        ids.append(item_id)
    store.Staging(settings.staging_dir, run_id).write("quarantine", 0, to_arrow("quarantine", rows))
    return ids


@task(cache_policy=NO_CACHE, retries=3, retry_delay_seconds=[1, 3, 10], retry_condition_fn=worth_retrying)
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
    elif summary.newly_quarantined:
        # An item that sits in quarantine run after run (a bad file left in the inbox) is alerted once.
        new = summary.newly_quarantined
        alert = Alert("warning", f"{len(new)} item(s) quarantined", summary.run_id,
                      [f"• {r.source_path}: {r.reason}" for r in new[:20]], counts)
    else:
        return
    webhook = settings.alert_webhook.get_secret_value() if settings.alert_webhook else None
    send_alert(webhook, alert)


def _add_seconds(total: dict[str, float], more: dict[str, float]) -> None:
    for part, seconds in more.items():
        total[part] = total.get(part, 0.0) + seconds


def _expected_rows(totals: ChunkResult) -> dict[str, int]:
    return {"articles": totals.n_articles, "sentences": totals.n_sentences, "mentions": totals.n_mentions}


def clean_dead_staging(settings: Settings, logger) -> None:
    """Staging left by a run that died: never published twice; its articles come again from the sources.

    Called under the writer lock, so no live run owns any of these folders.
    A dead run either committed (its rows are published and this copy is
    redundant) or did not (nothing of it is published, and the next pass over
    the sources takes its articles in again, from the NER cache).
    """
    if not settings.staging_dir.is_dir():
        return
    for leftover in sorted(p for p in settings.staging_dir.iterdir() if p.is_dir()):
        logger.warning("removing staging left by a run that did not finish: %s", leftover.name)
        store.Staging(settings.staging_dir, leftover.name).discard()


@flow(name="akhbar-ingest", task_runner=ThreadPoolTaskRunner(max_workers=1))
def ingest(
    inbox: str | None = None, warehouse: str | None = None, retry_items: list[str] | None = None
) -> RunSummary:
    """Take in every new article from the sources (or retry quarantined items) and publish it."""
    logger = get_run_logger()
    settings = get_settings(inbox=inbox, warehouse=warehouse)
    lock = WriterLock(settings.warehouse_dir / f"{settings.warehouse.name}.lock", settings.lock_wait_seconds)
    with lock:
        clean_dead_staging(settings, logger)
        started_at = _now()
        run_id = new_run_id(started_at)
        try:
            return _ingest(settings, run_id, started_at, retry_items, logger)
        except GateFailed:
            raise
        except Exception as error:
            run_errored(settings, run_id, started_at, error, logger)
            raise


def run_errored(settings: Settings, run_id: str, started_at: datetime, error: Exception, logger) -> None:
    """A run that raised (a full disk, a read-only folder, a bug): clean up, record it, tell someone.

    Its staging goes; what it had not published stays unpublished, and the
    next run takes those articles in again from the sources (NER from the cache).
    """
    store.Staging(settings.staging_dir, run_id).discard()
    published = False
    try:
        published = store.published_run(settings.warehouse, run_id)
        if not published:
            store.record_run(settings.warehouse, {
                "run_id": run_id, "flow_run_id": str(flow_run.id) if flow_run.id else None,
                "started_at": started_at, "finished_at": _now(), "n_seen": 0, "n_new": 0, "n_skipped": 0,
                "n_failed": 0, "n_sentences": 0, "n_mentions": 0, "n_duplicates": 0, "model": None,
                "model_version": None, "status": "error", "inbox": str(settings.inbox or "sources registry"),
                "message": f"{type(error).__name__}: {error}"[:500],
            })
    except Exception as unrecorded:  # the same full disk may refuse this too; the alert still goes
        logger.error("could not record the failed run in the warehouse: %s", unrecorded)
    outcome = "its batch was published before the error" if published else "nothing published"
    logger.error("run %s failed, %s: %s: %s", run_id, outcome, type(error).__name__, error)
    webhook = settings.alert_webhook.get_secret_value() if settings.alert_webhook else None
    send_alert(webhook, Alert("error", f"run failed ({type(error).__name__}); {outcome}", run_id,
                              [f"• {error}"], {"warehouse": str(settings.warehouse)}))


def _ingest(settings: Settings, run_id: str, started_at: datetime, retry_items: list[str] | None,
            logger) -> RunSummary:
    builds_before = nlp.pipelines_built
    clock = Stopwatch()

    if retry_items:
        collected, described = quarantined_items(settings, retry_items), "quarantine retry"
    else:
        specs, described = sources_for(settings)
        collected = collect_items(settings, specs)
    for problem in collected.problems:
        logger.warning("source unreadable: %s", problem)
    faults.at("intake")
    articles, rejected = build_articles(collected, settings, started_at.date() + timedelta(days=1))
    rejected = collected.rejected + rejected
    clock.lap("intake")
    selection = select_new(articles, settings)
    clock.lap("select")
    new = selection.to_annotate
    logger.info("%d items: %d new, %d already published or repeated, %d near copies, %d rejected; "
                "%d unchanged files skipped unread",
                len(collected.items) + len(collected.rejected), len(new), selection.n_skipped,
                len(selection.near_copies), len(rejected), collected.n_unchanged)

    # Even a run with nothing new records the model it would use (read from files, not loaded).
    model = nlp.ensure_model(settings) if new else nlp.inspect_model(nlp.resources_dir(settings), settings.segmenter)
    totals = ChunkResult()
    if new:
        logger.info("model %s (%s) from %s", model.name, model.version, model.resources_dir)
        progress = Progress(len(new), logger)
        chunks = list(_chunks(new, settings.ner_batch_articles))
        if settings.task_runner == "dask":  # submitted all at once, for the workers to share
            futures = [annotate_chunk.submit(part, chunk, settings, run_id, started_at) for part, chunk in chunks]
            results = (future.result() for future in futures)
        else:
            # Called, not submitted: chunks run one after another on the flow's own thread. Stanza ran
            # about 10% slower on a worker thread than on the main thread here (measured, 2 CPUs).
            results = (annotate_chunk(part, chunk, settings, run_id, started_at) for part, chunk in chunks)
        try:
            for (_, chunk), result in zip(chunks, results):
                totals.workers[result.worker] = max(totals.workers.get(result.worker, 0), result.pipelines_in_worker)
                totals.n_articles += result.n_articles
                totals.n_sentences += result.n_sentences
                totals.n_mentions += result.n_mentions
                totals.article_ids += result.article_ids
                totals.ner_cached += result.ner_cached
                rejected += result.rejected
                progress.advance(len(chunk))
        finally:
            progress.close()
    clock.lap("ner")
    rejected += [first_copy_rejected(a, m) for a, m in set_aside_orphans(selection, set(totals.article_ids))]
    if selection.near_copies or selection.exact_copies or totals.article_ids:
        stage_copies(settings, run_id, selection, started_at, set(totals.article_ids))
        totals.n_articles += len(selection.near_copies)
    clock.lap("copies")

    status, gate_failures, validated, gate_parts = "succeeded", [], None, {}
    if totals.n_articles:
        by_id = {a.article_id: a for a in new + [a for a, _ in selection.near_copies]}
        labels = model.labels if model else ("PER", "LOC", "ORG", "MISC")
        faults.at("staged")
        stage_entity_totals(settings, run_id)
        clock.lap("entities")
        gate = validated = validate_staging(settings, run_id, _expected_rows(totals), labels)
        _add_seconds(gate_parts, gate.seconds)
        clock.lap("gate")
        if gate.article_failures:
            for article_id, reason in gate.article_failures.items():
                article = by_id[article_id]
                failed = [f.as_dict() for f in gate.failures if article_id in f.article_ids]
                rejected.append(Rejected(article.source_path, reason, "; ".join(f["rule"] for f in failed),
                                         raw=article.raw, validation={"run_id": run_id, "failed": failed},
                                         format=article.format, source_id=article.source_id))
            orphans = set_aside_orphans(selection, set(totals.article_ids) - set(gate.article_failures))
            rejected += [first_copy_rejected(a, m) for a, m in orphans]
            dropped = set(gate.article_failures) | {a.article_id for a, _ in orphans}
            store.drop_articles(store.Staging(settings.staging_dir, run_id), dropped)
            totals = _recount(settings, run_id, totals)
            gate = None
            if totals.n_articles:
                stage_entity_totals(settings, run_id)  # the totals again, without the dropped articles' mentions
                clock.lap("entities")
                gate = validated = validate_staging(settings, run_id, _expected_rows(totals), labels)
                _add_seconds(gate_parts, gate.seconds)
            clock.lap("gate")
        if gate is not None and not gate.success:
            status, gate_failures = "gate_failed", gate.failure_dicts()
            staging = store.Staging(settings.staging_dir, run_id)
            held = settings.quarantine_dir / "batches" / run_id
            staged_ids = _staged_article_ids(staging)
            store.hold_back(staging, held)
            detail = "; ".join(f["expectation"] for f in gate_failures)
            rejected += [
                Rejected(by_id[i].source_path, "batch_failed_gate", detail, raw=by_id[i].raw, level="batch",
                         validation={"failed": gate_failures, "held_back": str(held)},
                         format=by_id[i].format, source_id=by_id[i].source_id)
                for i in staged_ids
            ]
            totals = ChunkResult()

    clock.lap("held back")
    n_near = _staged_near_copies(settings, run_id) if status == "succeeded" else 0
    already_open = store.open_quarantine_ids(settings.warehouse) if rejected else set()
    quarantined = quarantine_items(settings, run_id, rejected) if rejected else []
    summary = RunSummary(
        run_id=run_id,
        flow_run_id=str(flow_run.id) if flow_run.id else None,
        status=status,
        n_seen=len(collected.items) + len(collected.rejected) + collected.n_unchanged_items,
        n_new=totals.n_articles - n_near,
        n_skipped=selection.n_skipped + collected.n_unchanged_items,
        n_unchanged=collected.n_unchanged,
        n_failed=len(rejected),
        n_sentences=totals.n_sentences,
        n_mentions=totals.n_mentions,
        n_duplicates=len(selection.exact_copies) + n_near if status == "succeeded" else 0,
        model=model.name if model else None,
        model_version=model.version if model else None,
        model_loaded=nlp.pipelines_built > builds_before,
        warehouse=str(settings.warehouse),
        rejected=rejected,
        newly_quarantined=[r for r, i in zip(rejected, quarantined) if i not in already_open],
        gate_failures=gate_failures,
        problems=collected.problems,
        ner_cached=totals.ner_cached,
        ner_workers=totals.workers,
    )
    if status == "succeeded" and not retry_items:
        settled = settled_file_rows(collected, rejected, run_id)
        if settled:
            store.Staging(settings.staging_dir, run_id).write("inbox_files", 0, to_arrow("inbox_files", settled))
    if retry_items and status == "succeeded":
        summary.resolved_items = sorted(set(retry_items) - set(quarantined))
        _stage_resolutions(settings, run_id, summary.resolved_items)
    publish_batch(settings, run_id, summary.run_row(started_at, described))
    clock.lap("publish")
    if validated is not None:  # its pages were being written while the batch was published
        index = validated.data_docs_index
        summary.data_docs = str(index) if index else None
        clock.lap("data docs")
    summary.timings, summary.gate_seconds = clock.laps, gate_parts
    for item in rejected:
        logger.warning("quarantined %s: %s (%s)", item.source_path, item.reason, item.detail)
    _alert(settings, summary)
    logger.info(summary.line())
    if status == "gate_failed":
        raise GateFailed(summary)
    return summary


def _staged_near_copies(settings: Settings, run_id: str) -> int:
    import pyarrow.parquet as pq

    staging = store.Staging(settings.staging_dir, run_id)
    columns = [pq.read_table(part, columns=["duplicate_of"])["duplicate_of"] for part in staging.files("articles")]
    return sum(len(c) - c.null_count for c in columns)


def _staged_article_ids(staging: store.Staging) -> list[str]:
    import pyarrow.parquet as pq

    return [i for part in staging.files("articles") for i in pq.read_table(part, columns=["article_id"])["article_id"].to_pylist()]


def _recount(settings: Settings, run_id: str, totals: ChunkResult) -> ChunkResult:
    import dataclasses

    import pyarrow.parquet as pq

    staging = store.Staging(settings.staging_dir, run_id)
    rows = {t: sum(pq.read_metadata(p).num_rows for p in staging.files(t)) for t in ("articles", "sentences", "mentions")}
    return dataclasses.replace(totals, n_articles=rows["articles"], n_sentences=rows["sentences"],
                               n_mentions=rows["mentions"])


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
