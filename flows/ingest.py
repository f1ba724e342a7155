"""The ingest flow: sources → articles → new ones → Stanza NER → staged Parquet → quality gate → DuckDB.

Write–audit–publish: a run writes its rows to staging, Great Expectations
validates the staging area, and only a passing batch is published, in one
DuckDB transaction (the policy is ``expectations.policy``). Articles that
fail on their own are quarantined and the rest goes on; a batch that breaks
an invariant is held back whole, the flow run ends Failed and an alert goes out.

The flow reads as the design; each step is a task or a small function in
``flows.tasks``, and the resources it writes through are built once, here.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

import core.prefect_env  # noqa: F401  (Prefect defaults, before prefect is imported)
from prefect import flow, get_run_logger
from prefect.artifacts import create_markdown_artifact
from prefect.runtime import flow_run
from prefect.task_runners import ThreadPoolTaskRunner
from prefect.utilities.annotations import quote

from core import faults
from core.settings import Settings, get_settings
from core.stopwatch import Stopwatch
from expectations import gate_helper
from expectations.policy import GateOutcome, gate_batch
from flows import nlp
from flows.alerts import Alert, send_alert
from flows.annotate import NerTotals
from flows.intake import Collected
from flows.resources import Resources
from flows.summary import GateFailed, RunSummary
from flows.tasks import (StagingGate, alert, annotate, build_articles, collect_items, now, publish_batch,
                         quarantine_items, quarantined_items, select_new, settle_leftovers, settled_file_rows,
                         sources_for, stage_copies, stage_resolutions, stage_web_state, webhook_of)
from transforms.entities import ENTITY_TYPES
from transforms.selection import Selection
from warehouse.rows import run_row
from warehouse.store import Staging

__all__ = ["GateFailed", "RunSummary", "ingest"]


@dataclass(frozen=True)
class Run:
    run_id: str
    started_at: datetime
    flow_run_id: str | None

    @classmethod
    def start(cls) -> "Run":
        started_at = now()
        return cls(f"{started_at:%Y%m%dT%H%M%SZ}-{uuid.uuid4().hex[:8]}", started_at,
                   str(flow_run.id) if flow_run.id else None)


@flow(name="akhbar-ingest", task_runner=ThreadPoolTaskRunner(max_workers=1))
def ingest(
    inbox: str | None = None, warehouse: str | None = None, retry_items: list[str] | None = None
) -> RunSummary:
    """Take in every new article from the sources (or retry quarantined items) and publish it."""
    logger = get_run_logger()
    settings = get_settings(inbox=inbox, warehouse=warehouse)
    resources = Resources.from_settings(settings)
    with resources.writer_lock(), resources.warehouse.held_open():
        settle_leftovers(resources, logger)
        run = Run.start()
        try:
            return _ingest(settings, resources, run, retry_items, logger)
        except GateFailed:
            raise
        except Exception as error:
            run_errored(settings, resources, run, error, logger)
            raise


def _ingest(settings: Settings, resources: Resources, run: Run, retry_items: list[str] | None,
            logger) -> RunSummary:
    clock = Stopwatch()
    staging = resources.staging.for_run(run.run_id)

    if retry_items:
        collected, described = quarantined_items(settings, resources, retry_items), "quarantine retry"
    else:
        specs, described = sources_for(settings)
        collected = collect_items(settings, resources, specs)
    for problem in collected.problems:
        logger.warning("source unreadable: %s", problem)
    faults.at("intake")
    articles, rejected = build_articles(quote(collected), settings, run.started_at.date() + timedelta(days=1))
    rejected = collected.rejected + rejected
    clock.lap("intake")

    selection = select_new(quote(articles), resources, settings.near_duplicate_threshold)
    clock.lap("select")
    _log_selection(logger, collected, selection, rejected)

    new = selection.to_annotate
    if new and gate_helper.start_for(settings):
        logger.info("Great Expectations loads in a helper process for this run's gate")
    # Even a run with nothing new records the model it would use (read from files, not loaded).
    model = nlp.ensure_model(settings) if new else nlp.inspect_model(nlp.resources_dir(settings), settings.segmenter)
    if new:
        logger.info("model %s (%s) from %s", model.name, model.version, model.resources_dir)
    totals = annotate(new, settings, staging, run.started_at, logger,
                      resources.warehouse.name_keys() if new else frozenset())
    rejected += totals.rejected
    clock.lap("ner")
    rejected += stage_copies(staging, quote(selection), run.started_at, quote(totals))
    clock.lap("copies")

    outcome = GateOutcome(published=totals.expected_rows)
    if totals.n_articles:
        faults.at("staged")
        gate = StagingGate(settings, resources, model.labels if model else ENTITY_TYPES,
                           known_entities=totals.entities)
        outcome = gate_batch(staging, gate, selection, totals.article_ids, totals.expected_rows,
                             resources.held_back_dir(run.run_id), clock)
        rejected += outcome.rejected
    clock.lap("held back")

    summary = _summarize(settings, resources, run, staging, collected, selection, totals, outcome, rejected, model,
                         totals.new_pipelines > 0)
    _stage_bookkeeping(settings, resources, staging, collected, summary, retry_items)
    publish_batch(resources, staging, summary.run_row(run.started_at, now(), described))
    clock.lap("publish")
    if outcome.last_result is not None:  # its pages were being written while the batch was published
        index = outcome.last_result.data_docs_index
        summary.data_docs = str(index) if index else None
        clock.lap("data docs")
    summary.timings, summary.gate_seconds = clock.laps, outcome.seconds
    for item in rejected:
        logger.warning("quarantined %s: %s (%s)", item.source_path, item.reason, item.detail)
    alert(settings, summary)
    publish_artifact(summary, logger)
    logger.info(summary.line())
    if summary.status == "gate_failed":
        raise GateFailed(summary)
    return summary


def publish_artifact(summary: RunSummary, logger) -> None:
    """The run's summary on its flow run page in the Prefect UI; a failure here is a warning, never the run's."""
    try:
        create_markdown_artifact(summary.markdown(), key="akhbar-run-summary",
                                 description=f"akhbar run {summary.run_id}: {summary.status}")
    except Exception as error:  # noqa: BLE001
        logger.warning("could not publish the run summary artifact: %s: %s", type(error).__name__, error)


def _log_selection(logger, collected: Collected, selection: Selection, rejected: list) -> None:
    logger.info("%d items: %d new, %d already published or repeated, %d near copies, %d rejected; "
                "%d unchanged files skipped unread",
                len(collected.items) + len(collected.rejected), len(selection.to_annotate), selection.n_skipped,
                len(selection.near_copies), len(rejected), collected.n_unchanged)


def _summarize(settings: Settings, resources: Resources, run: Run, staging: Staging, collected: Collected,
               selection: Selection, totals: NerTotals, outcome: GateOutcome, rejected: list, model,
               model_loaded: bool) -> RunSummary:
    """The run's counts, once the gate has decided; quarantines what was rejected."""
    succeeded = outcome.status == "succeeded"
    n_near = sum(i is not None for i in staging.column("articles", "duplicate_of")) if succeeded else 0
    already_open = resources.warehouse.open_quarantine_ids() if rejected else set()
    quarantined = quarantine_items(resources, staging, quote(rejected)) if rejected else []
    return RunSummary(
        run_id=run.run_id, flow_run_id=run.flow_run_id, status=outcome.status,
        n_seen=len(collected.items) + len(collected.rejected) + collected.n_unchanged_items,
        n_new=outcome.published["articles"] - n_near,
        n_skipped=selection.n_skipped + collected.n_unchanged_items,
        n_unchanged=collected.n_unchanged,
        n_failed=len(rejected),
        n_sentences=outcome.published["sentences"],
        n_mentions=outcome.published["mentions"],
        n_duplicates=len(selection.exact_copies) + n_near if succeeded else 0,
        model=model.name if model else None,
        model_version=model.version if model else None,
        model_loaded=model_loaded,
        warehouse=str(settings.warehouse),
        rejected=rejected,
        newly_quarantined=[r for r, i in zip(rejected, quarantined) if i not in already_open],
        gate_failures=outcome.failures,
        problems=collected.problems,
        ner_cached=totals.ner_cached if succeeded else 0,
        ner_workers=totals.workers if succeeded else {},
        device=",".join(sorted(totals.devices)) or None,
    )


def _stage_bookkeeping(settings: Settings, resources: Resources, staging: Staging, collected: Collected,
                       summary: RunSummary, retry_items: list[str] | None) -> None:
    """Published with the batch: the inbox files now settled, or the quarantine items a retry resolved; the
    web sources' state and figures (``flows/web.py``), the sources' health whatever the gate said."""
    if collected.web is not None:
        stage_web_state(settings, resources, staging, collected.web, summary)
    if summary.status != "succeeded":
        return
    if retry_items:
        quarantined = {r.item_id for r in summary.rejected}
        summary.resolved_items = sorted(set(retry_items) - quarantined)
        stage_resolutions(resources, staging, summary.resolved_items)
        return
    settled = settled_file_rows(collected, summary.rejected, staging.run_id)
    if settled:
        staging.write_rows("inbox_files", 0, settled)


def run_errored(settings: Settings, resources: Resources, run: Run, error: Exception, logger,
                described: str | None = None) -> None:
    """A run that raised (a full disk, a read-only folder, a bug): clean up, record it, tell someone.

    Its staging goes; what it had not published stays unpublished, and the
    next run takes those articles in again from the sources (NER from the cache).
    """
    resources.staging.for_run(run.run_id).discard()
    published = False
    try:
        published = resources.warehouse.published_run(run.run_id)
        if not published:
            resources.warehouse.record_run(run_row(
                run.run_id, run.flow_run_id, run.started_at, now(), "error",
                described or str(settings.inbox or "sources registry"),
                message=f"{type(error).__name__}: {error}"[:500]))
    except Exception as unrecorded:  # the same full disk may refuse this too; the alert still goes
        logger.error("could not record the failed run in the warehouse: %s", unrecorded)
    outcome = "its batch was published before the error" if published else "nothing published"
    logger.error("run %s failed, %s: %s: %s", run.run_id, outcome, type(error).__name__, error)
    send_alert(webhook_of(settings), Alert("error", f"run failed ({type(error).__name__}); {outcome}", run.run_id,
                                           [f"• {error}"], {"warehouse": str(settings.warehouse)}))
