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
validation definitions and checkpoints are code, registered in memory once
per process and warehouse (what varies per run is an expectation parameter);
only validation results and Data Docs are written to disk. A table is first
validated for a verdict only and again for its failing rows only when it
fails, and the Data Docs index lists the latest results only.

The schema check (every staged table has exactly the columns and types the
warehouse defines) runs first, in plain Arrow: a batch with a changed schema
is refused before anything else looks at it.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import OrderedDict
from contextlib import nullcontext
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Sequence

import pyarrow.parquet as pq

from core import faults
from core.stopwatch import Stopwatch
from warehouse.store import Staging, Warehouse
from warehouse.tables import TABLES

log = logging.getLogger(__name__)

SITE = "akhbar"
CHECKED_TABLES = ("articles", "sentences", "mentions", "amounts", "quotes", "stories", "entities",
                  "article_entities")
INDEXED_RESULTS = 10 * len(CHECKED_TABLES)  # validation results listed on the Data Docs index: the last 10 runs'
INDEX_COLUMNS = {"articles": ["article_id"], "sentences": ["article_id"], "mentions": ["article_id"],
                 "amounts": ["article_id"], "quotes": ["article_id"], "stories": ["story_id"],
                 "entities": ["entity_id"],
                 "article_entities": ["article_id"]}


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
_last_docs: "DataDocsBuild | None" = None  # a gate waits for these first: a lock alone does not keep order


class DataDocsBuild:
    """Data Docs pages being written in the background, from a gate's results.

    A failure here loses pages, never data: it is logged, and the gate's
    verdict stands.
    """

    def __init__(self, gate: "_GateContext", resource_identifiers: list, index: Path):
        self.index = index
        self.error: BaseException | None = None
        self._reported = False
        self._thread = threading.Thread(target=self._build, args=(gate, resource_identifiers),
                                        name="akhbar-data-docs")
        self._thread.start()

    def _build(self, gate: "_GateContext", resource_identifiers: list) -> None:
        if not resource_identifiers:  # no result, and the suites' pages are those of these suites already
            return
        with _gx_lock:
            try:
                gate.context.build_data_docs(site_names=[SITE], resource_identifiers=resource_identifiers,
                                             build_index=True)
            except Exception as error:  # noqa: BLE001 (reported by wait(); pages are not worth a run)
                self.error = error
            else:
                built = {getattr(r, "name", None) for r in resource_identifiers}
                remaining = [s for s in gate.undocumented if s not in built]
                if gate.undocumented and not remaining:  # every suite's page is written: say from what
                    _stamp_pages(gate)
                gate.undocumented[:] = remaining

    def join(self) -> None:
        self._thread.join()

    def wait(self) -> Path | None:
        """The site's index page once this build is over, or None if there is none."""
        self.join()
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
    seconds: dict[str, float] = field(default_factory=dict)  # schema, context, audit frames, checkpoints
    result_ids: list = field(default_factory=list)  # the stored validation results, for their Data Docs pages

    @property
    def data_docs_index(self) -> Path | None:
        """The Data Docs index, waiting for this gate's pages to be written."""
        return self.data_docs.wait() if self.data_docs else None

    @property
    def batch_failures(self) -> list[Failure]:
        return [f for f in self.failures if f.level == "batch"]

    def failure_dicts(self) -> list[dict[str, Any]]:
        return [f.as_dict() for f in self.batch_failures or self.failures]


def schema_failures(staging: Staging) -> list[Failure]:
    """Each staged file must carry exactly the warehouse's columns and types."""
    failures = []
    for table in TABLES:
        expected = TABLES[table]
        for part in staging.files(table):
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


def _project_config(context_dir: Path, data_docs_dir: Path):
    """Definitions in memory, results and Data Docs on disk.

    Suites, validation definitions and checkpoints are code (``expectations/
    suites.py``): they are registered in memory once per process, so no
    stored copy can go stale and no run pays for GX re-reading and comparing
    stored definitions. What must outlive the process, the validation results
    and the Data Docs built from them, is kept in the warehouse folder.
    """
    from great_expectations.data_context.types.base import (
        DataContextConfig,
        InMemoryStoreBackendDefaults,
        ProgressBarsConfig,
    )

    config = DataContextConfig(
        store_backend_defaults=InMemoryStoreBackendDefaults(init_temp_docs_sites=False),
        progress_bars=ProgressBarsConfig(globally=False),  # tqdm bars would flood the run's logs
    )
    config.stores[config.validation_results_store_name] = {
        "class_name": "ValidationResultsStore",
        "store_backend": {"class_name": "TupleFilesystemStoreBackend",
                          "base_directory": str((context_dir / "validations").resolve())},
    }
    config.data_docs_sites = {SITE: {
        "class_name": "SiteBuilder",
        "store_backend": {"class_name": "TupleFilesystemStoreBackend", "base_directory": str(data_docs_dir.resolve())},
        # GX reads every stored validation result to build the index page: without a limit the gate
        # would slow down with every run ever made.
        "site_index_builder": {"class_name": "DefaultSiteIndexBuilder", "validation_results_limit": INDEXED_RESULTS,
                               "view": _view("IndexPageView")},
        "site_section_builders": {section: {"view": _view("PageView")}
                                  for section in ("expectations", "validations", "profiling")},
    }}
    return config


def _view(class_name: str) -> dict[str, str]:
    """A Data Docs view that compiles its templates once per process (``expectations/data_docs.py``)."""
    return {"module_name": "expectations.data_docs", "class_name": class_name}


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

    batch = context.data_sources.get("akhbar_staging").add_dataframe_asset(table) \
        .add_batch_definition_whole_dataframe("staged")
    definition = context.validation_definitions.add(
        gx.ValidationDefinition(name=f"{table}_staged", data=batch, suite=context.suites.add(suite))
    )
    formats = {
        f"akhbar_{table}": {"result_format": "BOOLEAN_ONLY"},
        f"akhbar_{table}_rows": {"result_format": "COMPLETE", "unexpected_index_column_names": INDEX_COLUMNS[table],
                                 "partial_unexpected_count": 10},
    }
    verdict, rows = (
        context.checkpoints.add(
            # Data Docs are built once for all suites, in run_gate, rather than by an action per checkpoint.
            gx.Checkpoint(name=name, validation_definitions=[definition], actions=[], result_format=result_format)
        )
        for name, result_format in formats.items()
    )
    return _TableCheckpoints(verdict, rows)


@dataclass
class _GateContext:
    """A Great Expectations context with every table's checkpoints, built once per process and warehouse."""

    context: Any
    checkpoints: dict[str, _TableCheckpoints]
    columns: dict[str, list[str]]  # table -> the audit frame columns its suite reads
    undocumented: list[str]  # suites whose Data Docs pages are not those of these suites (yet)
    sizes: dict[str, int]  # table -> expectations in its suite
    pages_stamp: str  # what the suites' pages are written from (see _suite_pages_stamp)
    data_docs_dir: Path


_contexts: "OrderedDict[tuple, _GateContext]" = OrderedDict()
KEPT_CONTEXTS = 8  # one per warehouse a process gates; a scheduled process has one


def _gate_context(context_dir: Path, data_docs_dir: Path, limits) -> _GateContext:
    """The context of this warehouse's gate: made on a process's first gate there, then reused.

    Building it (a context, six suites, their validation definitions and twelve
    checkpoints) costs about as much as validating a small batch.
    """
    from core.collector import kept_for_the_process

    key = (context_dir.resolve(), data_docs_dir.resolve(), limits)
    if key in _contexts:
        _contexts.move_to_end(key)
        return _contexts[key]
    # The process's first context is kept for its life; a process that gates many warehouses drops the
    # least recent ones (KEPT_CONTEXTS), which the collector must then be able to reach.
    with kept_for_the_process() if not _contexts else nullcontext():
        from expectations.suites import all_suites, checked_columns  # first: see expectations/gx_import.py
        import great_expectations as gx

        context = gx.get_context(mode="ephemeral", project_config=_project_config(context_dir, data_docs_dir))
        context.data_sources.add_pandas("akhbar_staging")
        suites = all_suites(limits)  # new objects: GX binds a suite to the context that stores it
        stamp = _suite_pages_stamp(suites)
        _contexts[key] = _GateContext(
            context,
            {table: _register(context, table, suite) for table, suite in suites.items()},
            {table: checked_columns(suite, INDEX_COLUMNS[table]) for table, suite in suites.items()},
            [] if _suite_pages_current(data_docs_dir, list(suites), stamp) else list(suites),
            {table: len(suite.expectations) for table, suite in suites.items()},
            stamp,
            data_docs_dir,
        )
    while len(_contexts) > KEPT_CONTEXTS:
        _contexts.popitem(last=False)
    return _contexts[key]


def prepare(context_dir: Path, data_docs_dir: Path, write_pages: bool = True) -> dict[str, list[str]]:
    """Do now what a process's first gate on this warehouse would do once, so that a warm process's first gate
    costs no more than its later ones (``flows/warm.py``, ``expectations/gate_helper.py``): build the context
    (Great Expectations imported, suites and checkpoints made), write the suites' Data Docs pages, and check
    each suite once against an empty frame (Great Expectations loads and caches parts of itself on a first
    validation). Nothing is stored: a frame checked here is no run's, and has no result. Returns the columns
    of each table's audit frame. Without ``write_pages``, the suites' pages are left to the first gate's Data
    Docs, which are written after its verdict."""
    from expectations.suites import suite_parameters  # first: see expectations/gx_import.py
    import pandas as pd

    from transforms.entities import ENTITY_TYPES

    limits = _limits()
    with _gx_lock:
        gate = _gate_context(context_dir, data_docs_dir, limits)
        if write_pages and gate.undocumented:
            gate.context.build_data_docs(site_names=[SITE], build_index=True, resource_identifiers=_suite_pages(gate))
            _stamp_pages(gate)
            gate.undocumented.clear()
        parameters = suite_parameters(dict.fromkeys(("articles", "sentences", "mentions"), 0), ENTITY_TYPES, limits)
        source = gate.context.data_sources.get("akhbar_staging")
        for table, columns in gate.columns.items():
            batch = source.get_asset(table).get_batch_definition("staged").get_batch(
                batch_parameters={"dataframe": pd.DataFrame(columns=columns)})
            batch.validate(gate.context.suites.get(table), expectation_parameters=parameters,
                           result_format="BOOLEAN_ONLY")
        return gate.columns


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
    staging: Staging,
    published: Warehouse,
    context_dir: Path,
    data_docs_dir: Path,
    expected: dict[str, int],
    labels: Sequence[str],
    now: datetime | None = None,
) -> GateResult:
    """Validate one run's staged tables; nothing is published here.

    Returns as soon as the verdict is known; the Data Docs pages are still
    being written then (see :class:`DataDocsBuild`). The flows call it through
    ``expectations/gate_helper.py``, which runs the checkpoints in a helper
    process where one was started.
    """
    from expectations.audit import audit_frames  # pandas: only when a batch is gated

    refused, schema_seconds = refused_schema(staging)
    if refused is not None:
        return refused
    if _last_docs is not None:
        _last_docs.join()
    with _gx_lock:
        clock = Stopwatch()
        gate = _gate_context(context_dir, data_docs_dir, _limits())
        clock.lap("context")
        frames = audit_frames(published, staging, gate.columns)
        clock.lap("audit frames")
        result = _checked(gate, frames, data_docs_dir, staging.run_id, expected, labels, now)
    result.seconds = {"schema": schema_seconds, **clock.laps, **result.seconds}
    return result


def refused_schema(staging: Staging) -> tuple[GateResult | None, float]:
    """The gate's first check, in plain Arrow: its refusal if a staged table's schema differs (else None),
    and its seconds."""
    started = time.perf_counter()
    failures = schema_failures(staging)
    seconds = time.perf_counter() - started
    return (GateResult(False, failures, {}, seconds={"schema": seconds}) if failures else None), seconds


def validate_frames(context_dir: Path, data_docs_dir: Path, frames: dict, run_id: str, expected: dict[str, int],
                    labels: Sequence[str], now: datetime | None, build_docs: bool = True) -> GateResult:
    """The checkpoints over audit frames built elsewhere (by the process that holds the warehouse open), of
    some tables or all. Without ``build_docs``, their pages are left to :func:`build_pages`."""
    if _last_docs is not None:
        _last_docs.join()
    with _gx_lock:
        return _checked(_gate_context(context_dir, data_docs_dir, _limits()), frames, data_docs_dir, run_id,
                        expected, labels, now, build_docs)


def build_pages(context_dir: Path, data_docs_dir: Path, result_ids: list) -> DataDocsBuild:
    """Data Docs pages of stored results (of this process's gates or another's), in the background."""
    global _last_docs
    gate = _gate_context(context_dir, data_docs_dir, _limits())
    _last_docs = DataDocsBuild(gate, _suite_pages(gate) + list(result_ids), data_docs_dir / "index.html")
    return _last_docs


def split_tables(context_dir: Path, data_docs_dir: Path, tables: Sequence[str]) -> tuple[list[str], list[str]]:
    """``tables`` in two groups of about as many expectations each, for two processes to check at once."""
    sizes = _gate_context(context_dir, data_docs_dir, _limits()).sizes
    groups: tuple[list[str], list[str]] = ([], [])
    for table in sorted(tables, key=lambda t: -sizes.get(t, 0)):
        min(groups, key=lambda g: sum(sizes.get(t, 0) for t in g)).append(table)
    return groups


def merged(parts: Sequence[GateResult]) -> GateResult:
    """One verdict from the results of disjoint groups of tables, as if one gate had checked them all."""
    order = {table: n for n, table in enumerate(CHECKED_TABLES)}
    failures = sorted((f for part in parts for f in part.failures), key=lambda f: order.get(f.suite, len(order)))
    success, article_failures = _verdict(failures)
    statistics = dict(sorted(((t, v) for part in parts for t, v in part.statistics.items()),
                             key=lambda item: order.get(item[0], len(order))))
    return GateResult(success, failures, article_failures, None, statistics,
                      result_ids=[i for part in parts for i in part.result_ids])


def _limits():
    from expectations.suites import GateLimits  # first: see expectations/gx_import.py

    return GateLimits()


def _checked(gate: _GateContext, frames: dict, data_docs_dir: Path, run_id: str, expected: dict[str, int],
             labels: Sequence[str], now: datetime | None, build_docs: bool = True) -> GateResult:
    """Each table's checkpoint over its audit frame, the failures sorted into article and batch level, and
    (``build_docs``) the Data Docs of the results started in the background."""
    from expectations.suites import suite_parameters  # first: see expectations/gx_import.py
    from great_expectations.core.run_identifier import RunIdentifier

    clock = Stopwatch()
    failures: list[Failure] = []
    parameters = suite_parameters(expected, labels, _limits(), now)
    statistics = {}
    result_pages = []
    run_time = now or datetime.now(timezone.utc)
    for table in (t for t in CHECKED_TABLES if t in frames):
        run = {"batch_parameters": {"dataframe": frames[table]}, "expectation_parameters": parameters,
               "run_id": RunIdentifier(run_name=run_id, run_time=run_time)}
        result = gate.checkpoints[table].verdict.run(**run)
        if not result.success:  # the same run id: the detailed result replaces the verdict in the store
            result = gate.checkpoints[table].rows.run(**run)
        for result_id, suite_result in result.run_results.items():
            failures += _failures_of(table, suite_result, frames[table])
            statistics[table] = dict(suite_result.statistics)
            result_pages.append(result_id)
    clock.lap("checkpoints")
    faults.at("validation")
    docs = None
    if build_docs and (gate.undocumented or result_pages):
        global _last_docs
        docs = _last_docs = DataDocsBuild(gate, _suite_pages(gate) + result_pages, data_docs_dir / "index.html")
    success, article_failures = _verdict(failures)
    return GateResult(success, failures, article_failures, docs, statistics, clock.laps, result_pages)


# Beside the suites' pages: what they were written from. A new process gating a warehouse whose pages are those
# of its suites does not write them again (about 0.3 s of a cold command's CPU).
_PAGES_STAMP = Path("expectations") / ".akhbar-suites"


def _suite_pages_stamp(suites: dict) -> str:
    """A digest of what the suites' pages are rendered from: the suites' rules (their own digests), Great
    Expectations' version and akhbar's views."""
    import hashlib

    import great_expectations as gx

    from expectations import data_docs

    digest = hashlib.sha256(f"{gx.__version__}\n".encode())
    digest.update(Path(data_docs.__file__).read_bytes())
    digest.update(repr(sorted((table, suite.meta["digest"]) for table, suite in suites.items())).encode())
    return digest.hexdigest()


def _suite_pages_current(data_docs_dir: Path, tables: list[str], stamp: str) -> bool:
    pages = [data_docs_dir / "index.html", *(data_docs_dir / "expectations" / f"{t}.html" for t in tables)]
    try:
        return (data_docs_dir / _PAGES_STAMP).read_text() == stamp and all(page.exists() for page in pages)
    except OSError:
        return False


def _stamp_pages(gate: _GateContext) -> None:
    try:
        (gate.data_docs_dir / _PAGES_STAMP).write_text(gate.pages_stamp)
    except OSError as error:  # the pages are written again by the next process: time, not pages, is lost
        log.warning("Data Docs: could not record what the suites' pages were written from: %s", error)


def _suite_pages(gate: _GateContext) -> list:
    from great_expectations.data_context.types.resource_identifiers import ExpectationSuiteIdentifier

    return [ExpectationSuiteIdentifier(name=table) for table in gate.undocumented]


def _verdict(failures: list[Failure]) -> tuple[bool, dict[str, str]]:
    """Whether the batch passes, and the articles that fail on their own with their reasons (the first
    failure's, in table order)."""
    article_failures: dict[str, str] = {}
    for failure in failures:
        if failure.level == "article":
            for article_id in failure.article_ids:
                article_failures.setdefault(article_id, failure.reason or failure.expectation)
    # An article-level rule that failed without naming its articles cannot be handled per article.
    for failure in failures:
        if failure.level == "article" and not failure.article_ids:
            failure.level = "batch"
    return not any(f.level == "batch" for f in failures) and not article_failures, article_failures
