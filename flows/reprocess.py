"""The reprocess flow: published articles' metadata derived again with the current rules, and republished.

Each article records the version of the metadata rules that made its fields
(``articles.metadata_rules``; NULL is version 1). ``akhbar reprocess`` takes
the articles made by an older version (``--all``: every article), derives
their metadata again from the stored text, through the same function an
ingest calls, and replaces their rows in one atomic publish:

1. **Read** the articles as stored (``warehouse.store.Warehouse.stored_articles``).
2. **Re-derive** (``transforms.reprocessing``): title, dateline, date, agency,
   body span, each with its source; an article the rules can no longer make
   (no body left) keeps its published rows, and is reported.
3. **Stage** every re-derived article with all its rows. Where the body span
   moved, its sentences, mentions and entity links are made again from the
   NER cache (the model is loaded only for a body never annotated); where it
   did not, its published rows are staged again as they are. Entity totals
   are counted again for every entity the batch touches, since a changed day
   moves first and last seen.
4. **Gate**: the same Great Expectations gate and publish policy as ingest,
   against the warehouse without the articles being replaced.
5. **Publish** in one transaction: the articles' published rows are replaced
   (``Warehouse.publish(..., replace_articles=True)``), the replica swapped
   and the staged Parquet filed in the lake, as ingest does. A failed gate
   publishes nothing but the run record, keeps the batch for inspection, and
   sends an error alert.

Idempotent: once every article is made by the current rules, a second run
reads one count and ends.

**Relink** (``akhbar relink``, flow ``akhbar-relink``) runs the same steps with
every published first copy and no metadata derived again: each article's
mentions, links, article × entity counts and review rows are made again from
the NER cache and the *current* knowledge base (the gazetteer pass included),
entity totals counted again, gated and published in one transaction, so that
a user who adds aliases sees the whole history corrected.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

import core.prefect_env  # noqa: F401  (Prefect defaults, before prefect is imported)
from prefect import flow, get_run_logger, task
from prefect.artifacts import create_markdown_artifact
from prefect.cache_policies import NO_CACHE
from prefect.task_runners import ThreadPoolTaskRunner
from prefect.utilities.annotations import quote

from core.settings import Settings, get_settings
from core.stopwatch import Stopwatch
from expectations.policy import GateOutcome, gate_batch, staged_counts
from flows import intake, nlp
from flows.alerts import Alert, send_alert
from flows.annotate import documents_for, rows_of
from flows.ingest import Run, run_errored
from flows.progress import Progress
from flows.resources import Resources
from flows.summary import GateFailed
from flows.tasks import (ReplacingGate, describe_failures, now, publish_batch, settle_leftovers, webhook_of,
                         worth_retrying)
from transforms import dedup
from transforms.amounts import amount_rows
from transforms.dedup import NearMatch
from transforms.entities import ENTITY_TYPES
from transforms.metadata import METADATA_RULES_VERSION
from transforms.quotes import article_quotes, quote_rows
from transforms.rejection import Rejection
from transforms.reprocessing import FIELDS, STORED_COLUMNS, Rederived, changed_fields, rederive, stored_article
from transforms.selection import Selection
from warehouse.rows import article_row, fingerprint_band_rows, fingerprint_rows, message_of, run_row
from warehouse.store import Staging

__all__ = ["ReprocessSummary", "relink", "reprocess"]

DESCRIBED = "reprocess"  # the runs.inbox of a reprocess run
DESCRIBED_RELINK = "relink"
CHILD_TABLES = ("sentences", "mentions", "article_entities", "entity_review")
# Staging part numbers: NER chunks count up from 0; these stay clear of them.
UNCHANGED_PART = 80_000
NEAR_COPIES_PART = 80_001


@dataclass
class ReprocessSummary:
    run_id: str
    flow_run_id: str | None
    status: str  # succeeded | gate_failed | nothing_to_do
    rules_version: int
    all_articles: bool
    warehouse: str
    n_selected: int = 0  # articles made by older rules (or every article, with --all)
    n_rederived: int = 0  # published with the current rules
    changed: dict[str, int] = field(default_factory=lambda: {name: 0 for name in FIELDS})
    n_body_changed: int = 0  # bodies whose sentences and mentions were made again
    ner_cached: int = 0  # of those, NER output from the cache
    ner_model: int = 0  # of those, bodies never annotated: the model ran
    n_sentences: int = 0
    n_mentions: int = 0
    kept: list[tuple[str, str]] = field(default_factory=list)  # (source_path, why): left as published
    gate_failures: list[dict] = field(default_factory=list)
    data_docs: str | None = None
    model: str | None = None
    model_version: str | None = None
    timings: dict[str, float] = field(default_factory=dict)
    relink: bool = False
    mentions_before: int = 0  # relink: the published mentions of the relinked articles
    links_changed: int = 0  # relink: spans kept whose entity changed
    entities_before: int = 0  # relink: distinct entities those articles named before, and after
    entities_after: int = 0

    @property
    def described(self) -> str:
        return DESCRIBED_RELINK if self.relink else DESCRIBED

    def line(self) -> str:
        if self.relink:
            return self._relink_line()
        older = "articles (--all)" if self.all_articles else "articles made by older rules"
        text = f"reprocess {self.run_id}: {self.n_selected} {older} (metadata rules now v{self.rules_version})"
        if self.status == "nothing_to_do":
            return text + "; nothing to do"
        if self.status == "gate_failed":
            return text + "; quality gate failed, nothing published [gate_failed]"
        changed = ", ".join(f"{name} {n}" for name, n in self.changed.items())
        text += (f"; {self.n_rederived} re-derived; fields changed: {changed}; "
                 f"NER for {self.n_body_changed} moved bodies: {self.ner_cached} from the cache, "
                 f"{self.ner_model} needed the model")
        if self.kept:
            text += f"; {len(self.kept)} kept as published"
        return text

    def _relink_line(self) -> str:
        text = f"relink {self.run_id}: {self.n_selected} articles against the current knowledge base"
        if self.status == "nothing_to_do":
            return text + "; nothing published yet"
        if self.status == "gate_failed":
            return text + "; quality gate failed, nothing published [gate_failed]"
        return (f"{text}; {self.n_rederived} relinked; mentions {self.mentions_before} → {self.n_mentions}, "
                f"{self.links_changed} kept spans linked to another entity; entities named "
                f"{self.entities_before} → {self.entities_after}; NER {self.ner_cached} from the cache, "
                f"{self.ner_model} needed the model" + (f"; {len(self.kept)} kept as published" if self.kept else ""))

    def run_row(self, started_at, finished_at) -> dict:
        return run_row(
            self.run_id, self.flow_run_id, started_at, finished_at, self.status, self.described,
            message=message_of([self.line()] + [f["expectation"] for f in self.gate_failures])[:2000],
            model=self.model, model_version=self.model_version,
            n_seen=self.n_selected, n_new=0, n_skipped=len(self.kept), n_failed=0,
            n_sentences=self.n_sentences, n_mentions=self.n_mentions, n_duplicates=0,
        )

    def markdown(self) -> str:
        lines = [f"# akhbar {self.described} `{self.run_id}`: {self.status}", "", self.line(), ""]
        if self.gate_failures:
            lines += ["## Quality gate: batch held back", "", "| table | expectation | column | unexpected |",
                      "|---|---|---|---|"]
            lines += [f"| {f['suite']} | {f['expectation']} | {f.get('column') or ''} | {f.get('unexpected_count', '')} |"
                      for f in self.gate_failures]
        if self.kept:
            lines += ["", "## Kept as published", "", "| article | why |", "|---|---|"]
            lines += [f"| `{path}` | {why} |" for path, why in self.kept[:50]]
        return "\n".join(lines)


# ------------------------------------------------------------------ steps


@task(cache_policy=NO_CACHE, retries=3, retry_delay_seconds=[1, 3, 10], retry_condition_fn=worth_retrying)
def read_published(resources: Resources, all_articles: bool) -> list[dict]:
    """The published articles to reprocess, as stored."""
    return resources.warehouse.stored_articles(STORED_COLUMNS, None if all_articles else METADATA_RULES_VERSION)


def registry_agencies(settings: Settings, logger) -> dict[str, str | None]:
    """source_id → the agency the sources registry records for it (stands in for what old rows did not keep)."""
    try:
        return {spec.source_id: spec.agency for spec in intake.load_sources(settings.sources)}
    except intake.RegistryError as error:
        logger.warning("sources registry unreadable, old articles get no registry agency: %s", error)
        return {}


@task(cache_policy=NO_CACHE)
def rederive_articles(rows: list[dict], settings: Settings, registry: dict[str, str | None]
                      ) -> tuple[list[Rederived], list[tuple[str, str]]]:
    """Each stored article through the current rules; one that cannot be made any more is kept as published."""
    rules = intake.load_agency_rules(settings.agencies)
    places = intake.load_places(settings)  # as build_articles loads them
    done, kept = [], []
    for row in rows:
        try:
            article = rederive(row, rules, registry, places)
        except Rejection as rejection:
            kept.append((row["source_path"], f"{rejection.reason}: {rejection.detail}"))
            continue
        except Exception as error:  # a bug met on one text is that article's alone
            kept.append((row["source_path"], f"internal_error: {type(error).__name__}: {error}"))
            continue
        done.append(Rederived(row, article, tuple(changed_fields(row, article))))
    return done, kept


@dataclass
class Staged:
    first_copies: list[Rederived] = field(default_factory=list)  # staged with their NER rows
    near_copies: list[Rederived] = field(default_factory=list)
    ner_cached: int = 0
    ner_model: int = 0
    kept: list[tuple[str, str]] = field(default_factory=list)


def _row_for(item: Rederived, run_counts: tuple[int, int, int] | None = None) -> dict:
    """The article's new row; it keeps the run that took it in and when (its day falls back to that)."""
    row = item.row
    if item.near_copy:
        return article_row(item.article, row["run_id"], row["ingested_at"],
                           near=NearMatch(row["duplicate_of"], row["duplicate_similarity"]))
    n_sentences, n_tokens, n_mentions = run_counts or (row["n_sentences"], row["n_tokens"], row["n_mentions"])
    return article_row(item.article, row["run_id"], row["ingested_at"], n_sentences, n_tokens, n_mentions)


@task(cache_policy=NO_CACHE)
def stage_new_bodies(part: int, chunk: list[Rederived], settings: Settings, staging: Staging,
                     seen: frozenset[str] = frozenset()) -> Staged:
    """Articles whose body moved: NER from the cache (or the model, for a body never annotated), rows made again."""
    items = {item.article.article_id: item for item in chunk}
    annotated, rejected, n_cached = documents_for([item.article for item in chunk], settings)
    staged_rows = rows_of(annotated, settings, lambda article, n_sentences, n_tokens, n_mentions: _row_for(
        items[article.article_id], (n_sentences, n_tokens, n_mentions)), seen)
    staged_rows.write(staging, part)
    ids = {row["article_id"] for row in staged_rows.articles}
    signatures = {i: dedup.to_bytes(dedup.signature(items[i].article.body)) for i in ids}
    staging.write_rows("fingerprints", part, fingerprint_rows(signatures, ids))
    staging.write_rows("fingerprint_bands", part,
                       fingerprint_band_rows(signatures, dedup.band_layout(settings.near_duplicate_threshold)))
    return Staged(first_copies=[items[i] for i in items if i in ids], ner_cached=n_cached,
                  ner_model=len(chunk) - n_cached,
                  kept=[(r.source_path, f"{r.reason}: {r.detail}") for r in rejected + staged_rows.rejected])


@task(cache_policy=NO_CACHE, retries=3, retry_delay_seconds=[1, 3, 10], retry_condition_fn=worth_retrying)
def stage_unchanged_bodies(resources: Resources, staging: Staging, items: list[Rederived]) -> Staged:
    """Articles whose body did not move: the new article row, and their published rows staged again as they are."""
    first = [item for item in items if not item.near_copy]
    near = [item for item in items if item.near_copy]
    staging.write_rows("articles", UNCHANGED_PART, [_row_for(item) for item in first])
    staging.write_rows("articles", NEAR_COPIES_PART, [_row_for(item) for item in near])
    published = resources.warehouse.article_rows(CHILD_TABLES, [item.article.article_id for item in first])
    for table in CHILD_TABLES:  # written even when empty: every table the gate reads exists
        staging.write(table, UNCHANGED_PART, published[table])
    # Amounts are read from the text alone, so they are read again with the current rules.
    starts: dict[str, list[int]] = {}
    for row in published["sentences"].sort_by([("article_id", "ascending"), ("sentence_index", "ascending")]) \
            .select(["article_id", "start_char"]).to_pylist():
        starts.setdefault(row["article_id"], []).append(row["start_char"])
    currencies = intake.load_currency_names()
    staging.write_rows("amounts", UNCHANGED_PART, [
        row for item in first
        for row in amount_rows(item.article.article_id, item.article.text, starts.get(item.article.article_id, []),
                               currencies)])
    # So are quotes, from the text and the published mentions (their speakers keep their linked entities).
    mentions: dict[str, list[dict]] = {}
    for row in published["mentions"].to_pylist():
        mentions.setdefault(row["article_id"], []).append(row)
    staging.write_rows("quotes", UNCHANGED_PART, [
        row for item in first
        for row in quote_rows(item.article.article_id, article_quotes(
            item.article.text, item.article.body, item.article.meta.body_start,
            mentions.get(item.article.article_id, [])), starts.get(item.article.article_id, []))])
    return Staged(first_copies=first, near_copies=near)


def stage(rederived: list[Rederived], settings: Settings, resources: Resources, staging: Staging, logger,
          seen: frozenset[str] = frozenset()) -> Staged:
    """Every re-derived article with all its rows, in the run's staging."""
    moved = [item for item in rederived if item.body_changed and not item.near_copy]
    moved_ids = {item.article.article_id for item in moved}
    staged = stage_unchanged_bodies(resources, staging,
                                    quote([item for item in rederived if item.article.article_id not in moved_ids]))
    if not moved:
        return staged
    progress = Progress(len(moved), logger)
    size = settings.ner_batch_articles
    try:
        for start in range(0, len(moved), size):
            chunk = moved[start:start + size]
            result = stage_new_bodies(start // size, quote(chunk), settings, staging, quote(seen))
            staged.first_copies += result.first_copies
            staged.ner_cached += result.ner_cached
            staged.ner_model += result.ner_model
            staged.kept += result.kept
            progress.advance(len(chunk))
    finally:
        progress.close()
    return staged


# ------------------------------------------------------------------- flow


@flow(name="akhbar-reprocess", task_runner=ThreadPoolTaskRunner(max_workers=1))
def reprocess(warehouse: str | None = None, all_articles: bool = False) -> ReprocessSummary:
    """Derive the metadata of published articles again with the current rules, and republish them atomically."""
    return _replacing_run(warehouse, all_articles, relink=False)


@flow(name="akhbar-relink", task_runner=ThreadPoolTaskRunner(max_workers=1))
def relink(warehouse: str | None = None) -> ReprocessSummary:
    """Link every published mention again with the current knowledge base, and republish atomically."""
    return _replacing_run(warehouse, True, relink=True)


def _replacing_run(warehouse: str | None, all_articles: bool, relink: bool) -> ReprocessSummary:
    """A run that replaces published articles, under the writer lock; an error is recorded and alerted."""
    logger = get_run_logger()
    settings = get_settings(warehouse=warehouse)
    resources = Resources.from_settings(settings)
    with resources.writer_lock(), resources.warehouse.held_open():
        settle_leftovers(resources, logger)
        run = Run.start()
        try:
            return _reprocess(settings, resources, run, all_articles, logger, relink=relink)
        except GateFailed:
            raise
        except Exception as error:
            run_errored(settings, resources, run, error, logger,
                        described=DESCRIBED_RELINK if relink else DESCRIBED)
            raise


def _published_links(resources: Resources, article_ids: list[str]) -> dict[tuple[str, int, int], str]:
    mentions = resources.warehouse.article_rows(("mentions",), article_ids)["mentions"].to_pydict()
    return {(a, s, e): i for a, s, e, i in zip(mentions["article_id"], mentions["start_char"], mentions["end_char"],
                                               mentions["entity_id"])}


def _count_relinked(summary: ReprocessSummary, before: dict, staging: Staging) -> None:
    after = dict(zip(zip(staging.column("mentions", "article_id"), staging.column("mentions", "start_char"),
                         staging.column("mentions", "end_char")), staging.column("mentions", "entity_id")))
    summary.mentions_before = len(before)
    summary.links_changed = sum(1 for span, entity in after.items() if span in before and before[span] != entity)
    summary.entities_before = len(set(before.values()))
    summary.entities_after = len(set(after.values()))


def _reprocess(settings: Settings, resources: Resources, run: Run, all_articles: bool, logger,
               relink: bool = False) -> ReprocessSummary:
    clock = Stopwatch()
    summary = ReprocessSummary(run.run_id, run.flow_run_id, "succeeded", METADATA_RULES_VERSION, all_articles,
                               str(settings.warehouse), relink=relink)
    rows = read_published(resources, all_articles)
    if relink:  # near copies have no mentions of their own
        rows = [row for row in rows if row.get("duplicate_of") is None]
    summary.n_selected = len(rows)
    clock.lap("read")
    if not rows:
        summary.status = "nothing_to_do"
        logger.info(summary.line())
        return summary

    if relink:
        registry = registry_agencies(settings, logger)
        rederived = [Rederived(row, stored_article(row, registry), (), relink=True) for row in rows]
        before = _published_links(resources, [row["article_id"] for row in rows])
    else:
        rederived, summary.kept = rederive_articles(quote(rows), settings, registry_agencies(settings, logger))
    clock.lap("rederive")
    staging = resources.staging.for_run(run.run_id)
    needs_ner = any(item.body_changed and not item.near_copy for item in rederived)
    model = nlp.ensure_model(settings) if needs_ner else nlp.inspect_model(nlp.resources_dir(settings),
                                                                           settings.segmenter)
    summary.model, summary.model_version = (model.name, model.version) if model else (None, None)
    staged = stage(rederived, settings, resources, staging, logger, resources.warehouse.name_keys())
    summary.kept += staged.kept
    summary.n_body_changed = staged.ner_cached + staged.ner_model
    summary.ner_cached, summary.ner_model = staged.ner_cached, staged.ner_model
    clock.lap("stage")

    outcome = GateOutcome(published=staged_counts(staging))
    if outcome.published["articles"]:
        selection = Selection(to_annotate=[item.article for item in staged.first_copies],
                              near_copies=[(item.article, NearMatch(item.row["duplicate_of"],
                                                                    item.row["duplicate_similarity"]))
                                           for item in staged.near_copies])
        gate = ReplacingGate(settings, resources, model.labels if model else ENTITY_TYPES)
        outcome = gate_batch(staging, gate, selection, {a.article_id for a in selection.to_annotate},
                             dict(outcome.published), resources.held_back_dir(run.run_id), clock)
    summary.status = outcome.status
    summary.gate_failures = outcome.failures
    if outcome.status == "succeeded":
        summary.kept += [(r.source_path, f"failed the gate: {r.reason}") for r in outcome.rejected]
        published = set(staging.column("articles", "article_id"))
        done = [item for item in rederived if item.article.article_id in published]
        summary.n_rederived = len(done)
        counts = Counter(name for item in done for name in item.changed)
        summary.changed = {name: counts.get(name, 0) for name in FIELDS}
        summary.n_sentences, summary.n_mentions = outcome.published["sentences"], outcome.published["mentions"]
        if relink:
            _count_relinked(summary, before, staging)
    clock.lap("gate")

    publish_batch(resources, staging, summary.run_row(run.started_at, now()), replace_articles=True)
    clock.lap("publish")
    if outcome.last_result is not None:
        index = outcome.last_result.data_docs_index
        summary.data_docs = str(index) if index else None
    summary.timings = clock.laps
    for path, why in summary.kept:
        logger.warning("kept as published: %s (%s)", path, why)
    _alert(settings, summary)
    try:
        create_markdown_artifact(summary.markdown(), key=f"akhbar-{summary.described}-summary",
                                 description=f"akhbar {summary.described} {summary.run_id}: {summary.status}")
    except Exception as error:  # noqa: BLE001
        logger.warning("could not publish the %s summary artifact: %s: %s", summary.described, type(error).__name__,
                       error)
    logger.info(summary.line())
    if summary.status == "gate_failed":
        raise GateFailed(summary)
    return summary


def _alert(settings: Settings, summary: ReprocessSummary) -> None:
    counts = {"articles": summary.n_selected, "kept": len(summary.kept), "data_docs": summary.data_docs or "-",
              "warehouse": summary.warehouse}
    if summary.status == "gate_failed":
        message = Alert("error", f"quality gate failed; {summary.described} batch held back, nothing published",
                        summary.run_id, describe_failures(summary.gate_failures), counts)
    elif summary.kept:
        message = Alert("warning", f"{summary.described} kept {len(summary.kept)} article(s) as published",
                        summary.run_id,
                        [f"• {path}: {why}" for path, why in summary.kept[:20]], counts)
    else:
        return
    send_alert(webhook_of(settings), message)
