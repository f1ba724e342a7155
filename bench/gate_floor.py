"""The floor under the quality gate's cost: its rules checked by Great Expectations' cheapest call.

The gate runs one checkpoint per table. Beneath a checkpoint, ``Batch.validate``
checks a suite against a frame with nothing else: no freshness checks, no
result store, no Data Docs, one result format. Timing that over the gate's own
suites and audit frames gives the least any gate made of these Great
Expectations rules can cost on this machine: if the floor alone is over 5% of
a run, no change to how the gate calls Great Expectations can meet the target,
only fewer expectations can.

The batch is rebuilt from a warehouse that has had runs: every published row of
the checked tables is staged again as one batch, against an empty published
warehouse, so that every rule holds (the floor of a passing gate, which is the
common case; a failing one pays a second, detailed checkpoint on top).
"""

from __future__ import annotations

import statistics
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path


from expectations.audit import audit_frames
from expectations.gate import CHECKED_TABLES, _gate_context, run_gate  # the bench measures the gate's insides
from expectations.suites import GateLimits, suite_parameters
from warehouse import store

RUN_ID = "bench-gate-floor"


@dataclass
class GateFloor:
    articles: int
    expectations: int
    gate_seconds: float  # run_gate (schema, audit frames, checkpoints), context already built
    audit_seconds: float  # the audit frames alone
    floor_seconds: float  # Batch.validate over every suite, BOOLEAN_ONLY
    floor_passed: bool

    @property
    def ms_per_expectation(self) -> float:
        return 1000 * self.floor_seconds / self.expectations

    def expectations_within(self, budget_seconds: float) -> int:
        """How many expectations the floor allows in ``budget_seconds``, after the audit frames."""
        return max(0, int((budget_seconds - self.audit_seconds) * 1000 / self.ms_per_expectation))


def restage(warehouse: Path, staging_dir: Path) -> tuple[store.Staging, dict[str, int], tuple[str, ...]]:
    """Every published row of the checked tables, staged again as one batch; its row counts and labels."""
    staging = store.StagingArea(staging_dir).for_run(RUN_ID)
    tables = store.Warehouse(warehouse).published_tables(CHECKED_TABLES)
    for table, rows in tables.items():
        staging.write(table, 0, rows)
    counts = {t: tables[t].num_rows for t in ("articles", "sentences", "mentions")}
    labels = tuple(sorted(set(tables["mentions"]["label"].to_pylist())))
    return staging, counts, labels


def measure(warehouse: Path, repeats: int = 5, work: Path | None = None) -> GateFloor:
    """The gate and its floor over ``warehouse``'s published rows, best of ``repeats``, working in ``work``."""
    work = work or Path(tempfile.mkdtemp(prefix="akhbar-gate-floor-"))
    staging, counts, labels = restage(warehouse, work / "staging")
    published = store.Warehouse(work / "empty.duckdb")
    context_dir, docs_dir = work / "gx", work / "data_docs"

    gate_runs = []
    for _ in range(repeats + 1):  # the first builds the context and the suites' pages
        started = time.perf_counter()
        result = run_gate(staging, published, context_dir, docs_dir, counts, labels)
        gate_runs.append(time.perf_counter() - started)
        result.data_docs_index  # noqa: B018 (waits for the pages: the next gate must not overlap them)
    if not result.success:
        raise RuntimeError(f"the restaged batch fails the gate: {result.failure_dicts()}")

    gate = _gate_context(context_dir, docs_dir, GateLimits())
    parameters = suite_parameters(counts, labels, GateLimits())
    audits, floors, passed = [], [], True
    with published.held_open():
        for _ in range(repeats):
            started = time.perf_counter()
            frames = audit_frames(published, staging, gate.columns)
            audits.append(time.perf_counter() - started)
            seconds = 0.0
            for table, frame in frames.items():
                batch = gate.context.data_sources.get("akhbar_staging").get_asset(table) \
                    .get_batch_definition("staged").get_batch(batch_parameters={"dataframe": frame})
                suite = gate.context.suites.get(table)
                started = time.perf_counter()
                checked = batch.validate(suite, expectation_parameters=parameters, result_format="BOOLEAN_ONLY")
                seconds += time.perf_counter() - started
                passed = passed and checked.success
            floors.append(seconds)
    n_expectations = sum(len(gate.context.suites.get(t).expectations) for t in CHECKED_TABLES)
    return GateFloor(counts["articles"], n_expectations, min(gate_runs[1:]), statistics.median(audits),
                     min(floors), passed)
