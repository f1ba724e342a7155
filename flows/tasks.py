"""The ingest flow's steps: each a Prefect task (or a plain function) with one job.

Tasks that take whole batches of text opt out of Prefect's input-hash
caching, which would hash every article for nothing: what must not be
recomputed is decided by the content ids checked against the warehouse.
Flows hand those batches over ``quote``d: Prefect otherwise walks every
argument, article by article and field by field, looking for futures to wait
on (45 ms for 240 articles, each time a task is called with them); a batch
holds none.
Retries are declared on the tasks that touch the DuckDB file, except for
faults that do not heal in seconds (a full disk, a read-only folder).
"""

from __future__ import annotations

import errno
from collections import Counter
from concurrent.futures import Future
from datetime import date, datetime, timezone

from prefect import get_run_logger, task
from prefect.cache_policies import NO_CACHE
from prefect.utilities.annotations import quote

from core.helper_process import HelperGone
from core.settings import Settings
from expectations import gate_helper
from expectations.gate import GateResult
from flows import intake, ner_workers, web
from flows.alerts import Alert, send_alert
from flows.annotate import ChunkResult, NerTotals, needs_the_model, stage_chunk
from flows.intake import Collected, SourceSpec
from flows.progress import Progress
from flows.resources import Resources
from flows.summary import RunSummary
from transforms import dedup
from transforms.articles import Article, articles_from_items
from transforms.entities import Entity
from transforms.rejection import Rejection
from transforms.selection import Selection, orphan_rejections, set_aside_near_copies, set_aside_orphans, \
    set_aside_repeats
from warehouse.entities import stage_entities, stage_entities_replacing
from warehouse.rows import article_row, duplicate_row, fingerprint_band_rows, fingerprint_rows, inbox_file_row
from warehouse.store import Staging
from warehouse.stories import stage_stories, stage_stories_replacing

# Staging part numbers: NER chunks count up from 0; these stay clear of them.
NEAR_COPIES_PART = 90_000
COPIES_PART = 90_001
HOPELESS_ERRNOS = {errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EACCES}


def worth_retrying(task, task_run, state) -> bool:
    """A full disk or a read-only folder does not heal in seconds: fail at once, alert, let the next run recover."""
    error = state.data
    return not (isinstance(error, OSError) and error.errno in HOPELESS_ERRNOS)


def now() -> datetime:
    return datetime.now(timezone.utc)


# ------------------------------------------------------------------ intake


def settle_leftovers(resources: Resources, logger) -> None:
    """Staging left by a run that was killed (under the writer lock, no live run owns any)."""
    for leftover in resources.staging.leftovers():
        if resources.warehouse.published_run(leftover.run_id):  # killed after its commit: finish filing it
            logger.warning("filing in the lake the staging of a run killed after publishing: %s", leftover.run_id)
            leftover.file_in(resources.lake_dir)
        else:  # killed before: nothing of it is published, and its articles come again from the sources
            logger.warning("removing staging left by a run that did not finish: %s", leftover.run_id)
            leftover.discard()


def sources_for(settings: Settings) -> tuple[list[SourceSpec], str]:
    """The sources a run reads, and how to describe them in the run record."""
    return intake.sources_of(settings), str(settings.inbox if settings.inbox is not None else settings.sources)


@task(cache_policy=NO_CACHE)
def collect_items(settings: Settings, resources: Resources, specs: list[SourceSpec]) -> Collected:
    """Every item of every source: files read, formats parsed; feeds and sitemaps read and their new stories
    fetched (``flows/web.py``)."""
    settled = resources.warehouse.settled_files() if settings.skip_unchanged else {}
    collected = intake.collect(specs, settings.max_item_bytes, settled)
    if any(spec.kind in intake.WEB_KINDS for spec in specs):
        _add_web(collected, web.take_in(specs, settings, resources.warehouse))
    return collected


def _add_web(collected: Collected, taken: web.WebIntake) -> None:
    collected.web = taken
    collected.items += taken.items
    collected.rejected += taken.rejected
    collected.problems += taken.problems


def quarantined_items(settings: Settings, resources: Resources, item_ids: list[str]) -> Collected:
    """Quarantined items read back from their stored bytes, as the format they came in."""
    quarantine = resources.quarantine
    collected = Collected()
    unfetched = []
    for item_id in item_ids:
        meta = quarantine.meta(item_id)
        spec = SourceSpec(meta.get("source_id") or "quarantine", "folder", str(quarantine.folder(item_id)))
        if meta.get("format") == web.UNFETCHED:  # a story page that could not be had: asked for again
            unfetched.append((quarantine.original(item_id), spec))
            continue
        items, errors = intake.reparse_quarantined(quarantine.original(item_id), meta["source_path"], meta.get("format"))
        collected.n_files += 1
        collected.items += [(item, spec) for item in items]
        collected.rejected += [e.about(format=meta.get("format")) for e in errors]
    if unfetched:
        _add_web(collected, web.refetch(unfetched, settings, resources.warehouse))
    return collected


@task(cache_policy=NO_CACHE)
def build_articles(collected: Collected, settings: Settings, not_after: date) -> tuple[list[Article], list[Rejection]]:
    """Content ids, metadata and bodies; an item that cannot be an article is rejected alone."""
    rules = intake.load_agency_rules(settings.agencies)
    places = intake.load_places(settings)
    return articles_from_items(((item, spec.agency, spec.source_id) for item, spec in collected.items), rules,
                               not_after, places)


# --------------------------------------------------------------- selection


@task(cache_policy=NO_CACHE, retries=3, retry_delay_seconds=[1, 3, 10], retry_condition_fn=worth_retrying)
def select_new(articles: list[Article], resources: Resources, threshold: float) -> Selection:
    """Published stories and repeats set aside (``transforms.selection``), against what the warehouse holds."""
    warehouse = resources.warehouse
    known = warehouse.known_articles([a.article_id for a in articles])
    recorded = warehouse.known_copies([(a.source_path, a.article_id) for a in articles])
    selection, candidates = set_aside_repeats(articles, known, recorded)
    if not candidates:
        return selection
    signatures = {article.article_id: dedup.signature(article.body) for article in candidates}
    layout = dedup.band_layout(threshold)
    published = warehouse.fingerprints_near([dedup.to_bytes(s) for s in signatures.values()], layout)
    selection = set_aside_near_copies(selection, candidates, published.all, threshold, signatures)
    selection.band_layout, selection.unbanded = layout, dict(published.unbanded)
    return selection


# --------------------------------------------------------------------- NER


def annotate(new: list[Article], settings: Settings, staging: Staging, ingested_at: datetime, logger,
             seen: frozenset[str] = frozenset()) -> NerTotals:
    """Every new article through NER, chunk by chunk, with progress in the run's logs; ``seen``: the name keys
    already published (see ``transforms/linking.py``)."""
    totals = NerTotals()
    if not new:
        return totals
    progress = Progress(len(new), logger)
    chunks = [(start // settings.ner_batch_articles, new[start:start + settings.ner_batch_articles])
              for start in range(0, len(new), settings.ner_batch_articles)]
    # Only text the NER cache does not hold needs a model, here or in workers (checked only if there are to be any).
    workers = ner_workers.start_for(settings) if ner_workers.wanted(settings) and needs_the_model(new, settings) \
        else None
    staged: list[Future] = []  # the NER workers' chunks
    if settings.task_runner == "dask":  # submitted all at once, for the workers to share
        # Not quote()d: Dask's runner hands a quoted argument to the task as the wrapper, not its contents.
        futures = [annotate_chunk.submit(part, chunk, settings, staging, ingested_at, seen) for part, chunk in chunks]
        results = (future.result() for future in futures)
    elif workers is not None:  # handed to the NER worker processes all at once; each task waits for its own
        logger.info("NER in %d worker processes", workers.size)
        staged = [workers.submit(part, chunk, settings, staging, ingested_at, seen) for part, chunk in chunks]
        results = (annotate_chunk(part, quote(chunk), settings, staging, ingested_at, quote(seen), quote(future))
                   for (part, chunk), future in zip(chunks, staged))
    else:
        # Called, not submitted: chunks run one after another on the flow's own thread. Stanza ran
        # about 10% slower on a worker thread than on the main thread here (measured, 2 CPUs).
        results = (annotate_chunk(part, quote(chunk), settings, staging, ingested_at, quote(seen)) for part, chunk in chunks)
    try:
        for (_, chunk), result in zip(chunks, results):
            totals.add(result)
            progress.advance(len(chunk))
    finally:
        progress.close()
        for future in staged:  # after a failed chunk, the workers' chunks not yet begun are not begun
            future.cancel()
    return totals


@task(cache_policy=NO_CACHE)
def annotate_chunk(part: int, articles: list[Article], settings: Settings, staging: Staging, ingested_at: datetime,
                   seen: frozenset[str] = frozenset(), staged: Future | None = None) -> ChunkResult:
    """NER over one chunk of articles, its rows staged (``flows/annotate.py``); ``staged``: the same, handed to an
    NER worker process, whose result this task waits for (tagged here if no worker can)."""
    if staged is not None:
        try:
            return staged.result()
        except HelperGone as gone:
            get_run_logger().warning("NER workers cannot tag (%s): NER runs in this process from now on", gone)
            ner_workers.give_up()
    return stage_chunk(part, articles, settings, staging, ingested_at, seen)


# ---------------------------------------------------------------- staging


@task(cache_policy=NO_CACHE)
def stage_copies(staging: Staging, selection: Selection, ingested_at: datetime, totals: NerTotals) -> list[Rejection]:
    """Near copies as article rows (no NER), every copy in ``duplicates``, kept first copies' fingerprints.

    Near copies of a first copy that NER rejected go to quarantine with it (returned).
    """
    orphans = orphan_rejections(set_aside_orphans(selection, totals.article_ids))
    if not (selection.near_copies or selection.exact_copies or totals.article_ids):
        return orphans
    run_id = staging.run_id
    staging.write_rows("articles", NEAR_COPIES_PART,
                       [article_row(a, run_id, ingested_at, near=match) for a, match in selection.near_copies])
    staging.write_rows("duplicates", COPIES_PART, [
        duplicate_row(a, m.duplicate_of, "near", m.similarity, run_id, ingested_at) for a, m in selection.near_copies
    ] + [duplicate_row(a, first, "exact", 1.0, run_id, ingested_at) for a, first in selection.exact_copies])
    kept_ids = set(totals.article_ids)
    staging.write_rows("fingerprints", 0, fingerprint_rows(selection.fingerprints, kept_ids))
    if selection.band_layout:  # the kept first copies' band keys, and those of published ones that had none
        kept = {i: blob for i, blob in selection.fingerprints.items() if i in kept_ids}
        staging.write_rows("fingerprint_bands", 0,
                           fingerprint_band_rows(selection.unbanded | kept, selection.band_layout))
    # Every table the gate reads exists even when nothing was NER-processed.
    staging.write_rows("sentences", COPIES_PART, [])
    staging.write_rows("mentions", COPIES_PART, [])
    staging.write_rows("amounts", COPIES_PART, [])
    staging.write_rows("quotes", COPIES_PART, [])
    totals.n_articles += len(selection.near_copies)
    return orphans


@task(cache_policy=NO_CACHE)
def stage_entity_totals(resources: Resources, staging: Staging, known_entities: dict[str, Entity]) -> None:
    """The running totals of every entity the staged mentions name, staged beside them; ``known_entities``: the
    knowledge base's entries of those it knows, as the NER chunks found them (``flows/annotate.ChunkResult``)."""
    stage_entities(staging, resources.warehouse, known_entities, staging.run_id)


@task(cache_policy=NO_CACHE)
def stage_replacing_entity_totals(settings: Settings, resources: Resources, staging: Staging) -> None:
    """Whole totals of every entity a replacing batch touches (its new mentions and the replaced ones)."""
    stage_entities_replacing(staging, resources.warehouse, intake.load_knowledge_base(settings),
                             staging.run_id)


@task(cache_policy=NO_CACHE)
def stage_story_groups(resources: Resources, staging: Staging) -> None:
    """The story of every staged article (``transforms/stories.py``), with the stories' new totals."""
    stage_stories(staging, resources.warehouse)


@task(cache_policy=NO_CACHE)
def stage_replacing_story_groups(resources: Resources, staging: Staging) -> None:
    """The published stories of the articles a replacing batch stages, kept as they are."""
    stage_stories_replacing(staging, resources.warehouse)


@task(cache_policy=NO_CACHE)
def validate_staging(settings: Settings, resources: Resources, staging: Staging, expected: dict,
                     labels: tuple[str, ...], replacing: bool = False) -> GateResult:
    """The Great Expectations checkpoints over everything staged; its verdict decides what is published.

    ``replacing``: the staged articles replace published ones, so they are
    checked against the warehouse without those articles' published rows.
    """
    published = resources.warehouse
    if replacing:
        published = published.without(staging.column("articles", "article_id"))
    return gate_helper.run_gate(staging=staging, published=published, context_dir=settings.gx_dir,
                                data_docs_dir=settings.data_docs_dir, expected=expected, labels=labels)


class StagingGate:
    """The quality gate as the publish policy (``expectations.policy``) asks for it, as Prefect tasks."""

    def __init__(self, settings: Settings, resources: Resources, labels: tuple[str, ...], *,
                 known_entities: dict[str, Entity]):
        self.settings, self.resources, self.labels = settings, resources, labels
        self.known_entities = known_entities  # the NER chunks' (NerTotals.entities)

    def stage_totals(self, staging: Staging) -> None:
        stage_entity_totals(self.resources, staging, quote(self.known_entities))
        stage_story_groups(self.resources, staging)

    def validate(self, staging: Staging, expected: dict[str, int]) -> GateResult:
        return validate_staging(self.settings, self.resources, staging, expected, self.labels)


class ReplacingGate(StagingGate):
    """The same gate for a batch that replaces published articles (``akhbar reprocess``), whose totals count the
    replaced articles' entities too: it reads the knowledge base whole."""

    def __init__(self, settings: Settings, resources: Resources, labels: tuple[str, ...]):
        super().__init__(settings, resources, labels, known_entities={})

    def stage_totals(self, staging: Staging) -> None:
        stage_replacing_entity_totals(self.settings, self.resources, staging)
        stage_replacing_story_groups(self.resources, staging)

    def validate(self, staging: Staging, expected: dict[str, int]) -> GateResult:
        return validate_staging(self.settings, self.resources, staging, expected, self.labels, replacing=True)


@task(cache_policy=NO_CACHE)
def quarantine_items(resources: Resources, staging: Staging, rejected: list[Rejection]) -> list[str]:
    """Keep each rejected item's original bytes and reason; stage its quarantine row."""
    at = now()
    staging.write_rows("quarantine", 0, [resources.quarantine.put(item, staging.run_id, at) for item in rejected])
    return [item.item_id for item in rejected]


def stage_resolutions(resources: Resources, staging: Staging, item_ids: list[str]) -> None:
    at = now()
    staging.write_rows("quarantine", 1, [resources.quarantine.resolved_row(i, staging.run_id, at) for i in item_ids])


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


def settled_file_rows(collected: Collected, rejected: list[Rejection], run_id: str) -> list[dict]:
    """Files read this run none of whose items was rejected: all published, known or recorded as copies."""
    files = collected.stamps
    unsettled = {_file_of(r.source_path, files) for r in rejected}
    items = Counter(_file_of(item.source_path, files) for item, _ in collected.items)
    return [inbox_file_row(path, size, mtime_ns, items[path], run_id)
            for path, (size, mtime_ns) in files.items() if path not in unsettled]


def stage_web_state(settings: Settings, resources: Resources, staging: Staging, taken: web.WebIntake,
                    summary: RunSummary) -> None:
    """The web sources' health and this run's figures per source, whatever the gate said; what became of each
    story address, and its page in the archive, only with a batch that is published (a held-back batch's
    stories are new again at the next run)."""
    at, published = now(), summary.status == "succeeded"
    sources, runs = web.source_rows(taken, staging.run_id, at, published)
    staging.write_rows("web_sources", 0, sources)
    staging.write_rows("source_runs", 0, runs)
    summary.web = web.figures(taken)
    summary.silent_sources = [row["source_id"] for row in web.newly_silent(sources, settings.silent_runs_alert)]
    if published:
        staging.write_rows("web_entries", 0, web.entry_rows(taken, summary.rejected, staging.run_id, at))
        rejected = {r.source_path for r in summary.rejected}
        for item, _ in taken.items:
            if item.format == "html" and item.source_path not in rejected:
                resources.pages.put(item.raw)


@task(cache_policy=NO_CACHE, retries=3, retry_delay_seconds=[1, 3, 10], retry_condition_fn=worth_retrying)
def publish_batch(resources: Resources, staging: Staging, run_row: dict, replace_articles: bool = False) -> None:
    resources.warehouse.publish(staging, run_row, resources.lake_dir, replace_articles=replace_articles)


# ------------------------------------------------------------------ alerts


def describe_failures(failures: list[dict]) -> list[str]:
    return [
        f"• {f['suite']}: {f['expectation']}"
        + (f" on {f['column']}" if f.get("column") else "")
        + (f" ({f['unexpected_count']} unexpected)" if f.get("unexpected_count") else "")
        for f in failures
    ]


def alert(settings: Settings, summary: RunSummary) -> None:
    """Tell someone when the gate held a batch back, an item newly went to quarantine, or a web source that
    used to deliver has delivered nothing for ``AKHBAR_SILENT_RUNS_ALERT`` runs (a gap in the data)."""
    if summary.silent_sources:
        send_alert(webhook_of(settings), Alert(
            "warning", f"{len(summary.silent_sources)} web source(s) silent for {settings.silent_runs_alert} runs",
            summary.run_id, [f"• {source_id}" for source_id in summary.silent_sources]
            + [f"• {problem}" for problem in summary.problems[:10]], {"new": summary.n_new}))
    counts = {"seen": summary.n_seen, "new": summary.n_new, "skipped": summary.n_skipped,
              "quarantined": len(summary.rejected), "data_docs": summary.data_docs or "-"}
    if summary.status == "gate_failed":
        message = Alert("error", "quality gate failed; batch held back, nothing published", summary.run_id,
                        describe_failures(summary.gate_failures), counts)
    elif summary.newly_quarantined:
        # An item that sits in quarantine run after run (a bad file left in the inbox) is alerted once.
        new = summary.newly_quarantined
        message = Alert("warning", f"{len(new)} item(s) quarantined", summary.run_id,
                        [f"• {r.source_path}: {r.reason}" for r in new[:20]], counts)
    else:
        return
    send_alert(webhook_of(settings), message)


def webhook_of(settings: Settings) -> str | None:
    return settings.alert_webhook.get_secret_value() if settings.alert_webhook else None
