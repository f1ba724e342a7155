"""The quality gate: Great Expectations checkpoints over a run's staging area.

``run_gate`` builds the audit frames, runs each table's checkpoint, and
turns the results into a :class:`GateResult` the flow acts on: which articles
fail on their own (quarantine them, validate the rest again) and whether the
batch as a whole may be published.

The Data Docs pages of the run's results are written to the warehouse's
``data_docs/`` by a background thread, once for all suites (GX's
``UpdateDataDocsAction`` would rebuild the site once per suite). The verdict
does not depend on them, so they are rendered while the flow publishes or
quarantines; :meth:`GateResult.data_docs_index` waits for them.

The gate is paid at every run, so its fixed costs are kept down: suites,
validation definitions and checkpoints are stored in the GX context once per
version of the rules (what varies per run is an expectation parameter), a
table is first validated for a verdict only and again for its failing rows
only when it fails, and the Data Docs index lists the latest results only.

The schema check (every staged table has exactly the columns and types the
warehouse defines) runs first, in plain Arrow: a batch with a changed schema
is refused before anything else looks at it.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Sequence

import pyarrow.parquet as pq

from akhbar import faults
from warehouse import store
from warehouse.tables import TABLES

log = logging.getLogger(__name__)

SITE = "akhbar"
INDEXED_RESULTS = 50  # validation results listed on the Data Docs index: the last 10 runs' five tables
CHECKED_TABLES = ("articles", "sentences", "mentions", "entities", "article_entities")
INDEX_COLUMNS = {"articles": ["article_id"], "sentences": ["article_id"], "mentions": ["article_id"],
                 "entities": ["entity_id"], "article_entities": ["article_id"]}


@dataclass
class Failure:
    suite: str
    expectation: str
    column: str | None
    rule: str
    level: str  # "article" | "batch"
    reason: str | None
    unexpected_count: int
    sample: list[Any] = field(default_factory=list)
    article_ids: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "suite": self.suite,
            "expectation": self.expectation,
            "column": self.column,
            "rule": self.rule,
            "level": self.level,
            "unexpected_count": self.unexpected_count,
            "sample": [str(s)[:80] for s in self.sample[:5]],
        }


# One user of a Great Expectations context at a time: a gate, or the Data Docs build of the gate before it.
_gx_lock = threading.Lock()


class DataDocsBuild:
    """Data Docs pages being written in the background, from a gate's results.

    A failure here loses pages, never data: it is logged, and the gate's
    verdict stands.
    """

    def __init__(self, context, resource_identifiers: list, index: Path):
        self.index = index
        self.error: BaseException | None = None
        self._reported = False
        self._thread = threading.Thread(target=self._build, args=(context, resource_identifiers),
                                        name="akhbar-data-docs")
        self._thread.start()

    def _build(self, context, resource_identifiers: list) -> None:
        with _gx_lock:
            try:
                context.build_data_docs(site_names=[SITE], resource_identifiers=resource_identifiers,
                                        build_index=True)
            except Exception as error:  # noqa: BLE001 (reported by wait(); pages are not worth a run)
                self.error = error

    def wait(self) -> Path | None:
        """The site's index page once this build is over, or None if there is none."""
        self._thread.join()
        if self.error is not None and not self._reported:
            self._reported = True
            log.error("Data Docs were not updated: %s: %s", type(self.error).__name__, self.error)
        return self.index if self.index.exists() else None


@dataclass
class GateResult:
    success: bool
    failures: list[Failure]
    article_failures: dict[str, str]  # article_id -> reason, for article-level problems only
    data_docs: DataDocsBuild | None = None
    statistics: dict[str, dict[str, Any]] = field(default_factory=dict)

    @property
    def data_docs_index(self) -> Path | None:
        """The Data Docs index, waiting for this gate's pages to be written."""
        return self.data_docs.wait() if self.data_docs else None

    @property
    def batch_failures(self) -> list[Failure]:
        return [f for f in self.failures if f.level == "batch"]

    def failure_dicts(self) -> list[dict[str, Any]]:
        return [f.as_dict() for f in self.batch_failures or self.failures]


def schema_failures(staging_dir: Path) -> list[Failure]:
    """Each staged file must carry exactly the warehouse's columns and types."""
    failures = []
    for table in TABLES:
        expected = TABLES[table]
        for part in sorted((staging_dir / table).glob("part-*.parquet")):
            actual = pq.read_schema(part)
            missing = [f.name for f in expected if f.name not in actual.names]
            extra = [n for n in actual.names if n not in expected.names]
            wrong = [f.name for f in expected if f.name in actual.names and actual.field(f.name).type != f.type]
            if missing or extra or wrong:
                failures.append(Failure(
                    suite=table, expectation="schema_matches_warehouse", column=None,
                    rule=f"missing {missing}, unexpected {extra}, wrong type {wrong}",
                    level="batch", reason=None, unexpected_count=len(missing) + len(extra) + len(wrong),
                    sample=missing + extra + wrong,
                ))
                break
    return failures


def _context(context_dir: Path, data_docs_dir: Path):
    import great_expectations as gx
    from great_expectations.data_context.types.base import ProgressBarsConfig

    context = gx.get_context(mode="file", project_root_dir=str(context_dir))
    site_config = {
        "class_name": "SiteBuilder",
        "store_backend": {"class_name": "TupleFilesystemStoreBackend", "base_directory": str(data_docs_dir.resolve())},
        # GX reads every stored validation result to build the index page: without a limit the gate
        # would slow down with every run ever made.
        "site_index_builder": {"class_name": "DefaultSiteIndexBuilder",
                               "validation_results_limit": INDEXED_RESULTS},
    }
    sites = context.config.data_docs_sites or {}
    if SITE not in sites:
        context.add_data_docs_site(site_name=SITE, site_config=site_config)
    elif dict(sites[SITE].get("site_index_builder") or {}) != site_config["site_index_builder"]:
        context.update_data_docs_site(site_name=SITE, site_config=site_config)
    if context.variables.progress_bars is None:  # tqdm bars would flood the run's logs
        context.variables.progress_bars = ProgressBarsConfig(globally=False)
        context.variables.save()
    return context


def _batch_definition(context, table: str):
    """The staged frame of one table: registered on first use, then only looked up."""
    try:
        source = context.data_sources.get("akhbar_staging")
    except (KeyError, ValueError):
        source = context.data_sources.add_pandas("akhbar_staging")
    if table not in source.get_asset_names():
        source.add_dataframe_asset(table)
    asset = source.get_asset(table)
    try:
        return asset.get_batch_definition("staged")
    except KeyError:
        return asset.add_batch_definition_whole_dataframe("staged")


@dataclass(frozen=True)
class _TableCheckpoints:
    """Two checkpoints over one validation definition.

    ``verdict`` answers pass or fail only (GX's BOOLEAN_ONLY result format, half
    the cost of COMPLETE); ``rows``, run only when the verdict is a failure,
    names the failing rows, so that articles can be quarantined one by one.
    """

    verdict: Any
    rows: Any


def _register(context, table: str, suite) -> _TableCheckpoints:
    import great_expectations as gx

    suite = context.suites.add_or_update(suite)
    definition = context.validation_definitions.add_or_update(
        gx.ValidationDefinition(name=f"{table}_staged", data=_batch_definition(context, table), suite=suite)
    )
    formats = {
        f"akhbar_{table}": {"result_format": "BOOLEAN_ONLY"},
        f"akhbar_{table}_rows": {"result_format": "COMPLETE", "unexpected_index_column_names": INDEX_COLUMNS[table],
                                 "partial_unexpected_count": 10},
    }
    verdict, rows = (
        context.checkpoints.add_or_update(
            # Data Docs are built once for all suites, in run_gate, rather than by an action per checkpoint.
            gx.Checkpoint(name=name, validation_definitions=[definition], actions=[], result_format=result_format)
        )
        for name, result_format in formats.items()
    )
    return _TableCheckpoints(verdict, rows)


def _stored_checkpoints(context, table: str, digest: str) -> _TableCheckpoints | None:
    """The checkpoints already in the context for these very rules, if they are there."""
    try:
        stored = _TableCheckpoints(context.checkpoints.get(f"akhbar_{table}"),
                                   context.checkpoints.get(f"akhbar_{table}_rows"))
        digests = [c.validation_definitions[0].suite.meta.get("digest") for c in (stored.verdict, stored.rows)]
    except Exception:  # missing, or unreadable after a GX upgrade: register them again
        return None
    return stored if digests == [digest, digest] else None


@dataclass
class _Checkpoints:
    by_table: dict[str, _TableCheckpoints]
    registered: list[str]  # tables whose suites were (re)written this time, for their Data Docs pages


@dataclass(frozen=True)
class _Rules:
    """What a gate needs to know of the suites, without building them at every run."""

    digests: dict[str, str]  # table -> digest of its suite's rules
    columns: dict[str, list[str]]  # table -> the audit frame columns its suite reads


_rules_by_limits: dict[Any, _Rules] = {}


def _rules(limits) -> _Rules:
    from expectations.suites import all_suites, checked_columns

    if limits not in _rules_by_limits:
        suites = all_suites(limits)
        _rules_by_limits[limits] = _Rules(
            {table: suite.meta["digest"] for table, suite in suites.items()},
            {table: checked_columns(suite, INDEX_COLUMNS[table]) for table, suite in suites.items()},
        )
    return _rules_by_limits[limits]


def _checkpoints(context, limits) -> _Checkpoints:
    """Each table's checkpoints: read from the context, written only when the rules changed.

    Writing five suites, validation definitions and checkpoints cost about a
    third of the gate when it was done at every run.
    """
    from expectations.suites import all_suites

    by_table, registered, fresh = {}, [], None
    for table, digest in _rules(limits).digests.items():
        checkpoint = _stored_checkpoints(context, table, digest)
        if checkpoint is None:
            fresh = fresh or all_suites(limits)  # new objects: GX binds a suite to the context that stores it
            checkpoint = _register(context, table, fresh[table])
            registered.append(table)
        by_table[table] = checkpoint
    return _Checkpoints(by_table, registered)


def _failures_of(table: str, suite_result, frame) -> list[Failure]:
    failures = []
    for result in suite_result.results:
        if result.success:
            continue
        config = result.expectation_config
        meta = config.meta or {}
        details = result.result or {}
        indexed = details.get("unexpected_index_list") or []
        article_ids = sorted({row["article_id"] for row in indexed if isinstance(row, dict) and "article_id" in row})
        failures.append(Failure(
            suite=table,
            expectation=config.type,
            column=config.kwargs.get("column") or ",".join(config.kwargs.get("column_list", [])) or None,
            rule=meta.get("rule", ""),
            level=meta.get("level", "batch"),
            reason=meta.get("reason"),
            unexpected_count=int(details.get("unexpected_count") or details.get("observed_value") or 0),
            sample=list(details.get("partial_unexpected_list") or [])[:10],
            article_ids=article_ids,
        ))
    return failures


def run_gate(
    staging_dir: Path,
    run_id: str,
    published_db: Path,
    context_dir: Path,
    data_docs_dir: Path,
    expected: dict[str, int],
    labels: Sequence[str],
    now: datetime | None = None,
) -> GateResult:
    """Validate one run's staged tables; nothing is published here.

    Returns as soon as the verdict is known; the Data Docs pages are still
    being written then (see :class:`DataDocsBuild`).
    """
    failures = schema_failures(staging_dir)
    if failures:
        return GateResult(False, failures, {})
    with _gx_lock:
        return _validate(staging_dir, run_id, published_db, context_dir, data_docs_dir, expected, labels, now)


def _validate(
    staging_dir: Path,
    run_id: str,
    published_db: Path,
    context_dir: Path,
    data_docs_dir: Path,
    expected: dict[str, int],
    labels: Sequence[str],
    now: datetime | None,
) -> GateResult:
    from great_expectations.core.run_identifier import RunIdentifier
    from great_expectations.data_context.types.resource_identifiers import ExpectationSuiteIdentifier

    from expectations.audit import audit_frames
    from expectations.suites import GateLimits, suite_parameters

    context = _context(context_dir, data_docs_dir)  # before any suite: GX objects need an active context
    limits = GateLimits()
    checkpoints = _checkpoints(context, limits)
    failures: list[Failure] = []
    with store.connect(published_db) as con:
        store.ensure_schema(con)
        frames = audit_frames(con, staging_dir, _rules(limits).columns)
    parameters = suite_parameters(expected, labels, limits, now)
    statistics = {}
    documented = [ExpectationSuiteIdentifier(name=table) for table in checkpoints.registered]
    run_time = now or datetime.now(timezone.utc)
    for table in (t for t in CHECKED_TABLES if t in frames):
        run = {"batch_parameters": {"dataframe": frames[table]}, "expectation_parameters": parameters,
               "run_id": RunIdentifier(run_name=run_id, run_time=run_time)}
        result = checkpoints.by_table[table].verdict.run(**run)
        if not result.success:  # the same run id: the detailed result replaces the verdict in the store
            result = checkpoints.by_table[table].rows.run(**run)
        for result_id, suite_result in result.run_results.items():
            failures += _failures_of(table, suite_result, frames[table])
            statistics[table] = dict(suite_result.statistics)
            documented.append(result_id)
    faults.at("validation")
    docs = DataDocsBuild(context, documented, data_docs_dir / "index.html") if documented else None

    article_failures: dict[str, str] = {}
    for failure in failures:
        if failure.level == "article":
            for article_id in failure.article_ids:
                article_failures.setdefault(article_id, failure.reason or failure.expectation)
    # An article-level rule that failed without naming its articles cannot be handled per article.
    unattributed = [f for f in failures if f.level == "article" and not f.article_ids]
    for failure in unattributed:
        failure.level = "batch"
    success = not any(f.level == "batch" for f in failures) and not article_failures
    return GateResult(success, failures, article_failures, docs, statistics)
