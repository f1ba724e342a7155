"""The quality gate: Great Expectations checkpoints over a run's staging area.

``run_gate`` builds the audit frames, runs one checkpoint per table, builds
the Data Docs pages of this run's results once into the warehouse's
``data_docs/`` (GX's ``UpdateDataDocsAction`` would rebuild the site once per
suite, which was most of the gate's cost), and turns the results into a
:class:`GateResult` the flow acts on: which articles fail on their own
(quarantine them, validate the rest again) and whether the batch as a whole
may be published.

The schema check (every staged table has exactly the columns and types the
warehouse defines) runs first, in plain Arrow: a batch with a changed schema
is refused before anything else looks at it.
"""

from __future__ import annotations

import logging
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


@dataclass
class GateResult:
    success: bool
    failures: list[Failure]
    article_failures: dict[str, str]  # article_id -> reason, for article-level problems only
    data_docs_index: Path | None
    statistics: dict[str, dict[str, Any]] = field(default_factory=dict)

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
    if SITE not in context.get_site_names():
        context.add_data_docs_site(
            site_name=SITE,
            site_config={
                "class_name": "SiteBuilder",
                "store_backend": {"class_name": "TupleFilesystemStoreBackend",
                                  "base_directory": str(data_docs_dir.resolve())},
                "site_index_builder": {"class_name": "DefaultSiteIndexBuilder"},
            },
        )
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


def _checkpoint(context, table: str, suite):
    import great_expectations as gx

    suite = context.suites.add_or_update(suite)
    definition = context.validation_definitions.add_or_update(
        gx.ValidationDefinition(name=f"{table}_staged", data=_batch_definition(context, table), suite=suite)
    )
    return context.checkpoints.add_or_update(
        gx.Checkpoint(
            name=f"akhbar_{table}",
            validation_definitions=[definition],
            actions=[],  # Data Docs are built once for all suites, in run_gate
            result_format={"result_format": "COMPLETE", "unexpected_index_column_names": INDEX_COLUMNS[table],
                           "partial_unexpected_count": 10},
        )
    )


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
    """Validate one run's staged tables; nothing is published here."""
    from great_expectations.core.run_identifier import RunIdentifier
    from great_expectations.data_context.types.resource_identifiers import ExpectationSuiteIdentifier

    from expectations.audit import audit_frames
    from expectations.suites import (
        GateLimits, article_entities_suite, articles_suite, entities_suite, mentions_suite, sentences_suite,
    )

    failures = schema_failures(staging_dir)
    if failures:
        return GateResult(False, failures, {}, None)

    with store.connect(published_db) as con:
        store.ensure_schema(con)
        frames = audit_frames(con, staging_dir)

    context = _context(context_dir, data_docs_dir)  # before any suite: GX objects need an active context
    limits = GateLimits()
    suites = {
        "articles": articles_suite(limits, expected["articles"], now),
        "sentences": sentences_suite(expected["sentences"]),
        "mentions": mentions_suite(expected["mentions"], labels),
        "entities": entities_suite(labels),
        "article_entities": article_entities_suite(),
    }
    statistics = {}
    documented = []
    run_time = now or datetime.now(timezone.utc)
    for table in (t for t in CHECKED_TABLES if t in frames):
        checkpoint = _checkpoint(context, table, suites[table])
        result = checkpoint.run(
            batch_parameters={"dataframe": frames[table]},
            run_id=RunIdentifier(run_name=run_id, run_time=run_time),
        )
        for result_id, suite_result in result.run_results.items():
            failures += _failures_of(table, suite_result, frames[table])
            statistics[table] = dict(suite_result.statistics)
            documented += [result_id, ExpectationSuiteIdentifier(name=suite_result.suite_name)]
    faults.at("validation")
    if documented:
        context.build_data_docs(site_names=[SITE], resource_identifiers=documented, build_index=True)

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
    index = data_docs_dir / "index.html"
    return GateResult(success, failures, article_failures, index if index.exists() else None, statistics)
