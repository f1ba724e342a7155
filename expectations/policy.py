"""Write–audit–publish: what of a staged batch may be published, decided by the quality gate.

One unit, independent of Prefect and Stanza: it reads and edits the staged
Parquet and asks a :class:`BatchGate` for verdicts.

1. Validate the staged batch.
2. Articles that fail an article-level rule are rejected on their own, with
   the near copies whose first copy they were; their rows leave staging, the
   totals derived from the staged rows are staged again, and the rest is
   validated again.
3. A batch that still fails (a batch-level rule: keys, totals, schema) is
   held back whole, moved aside for inspection; every article in it is
   rejected at batch level, and nothing of it is published.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from core.stopwatch import Stopwatch
from expectations.gate import GateResult
from transforms.rejection import BATCH_LEVEL, Rejection
from transforms.selection import Selection, orphan_rejections, set_aside_orphans
from warehouse.store import Staging

COUNTED_TABLES = ("articles", "sentences", "mentions")


class BatchGate(Protocol):
    def stage_totals(self, staging: Staging) -> None:
        """Stage what is derived from the staged rows (entity totals), again after rows are dropped."""

    def validate(self, staging: Staging, expected: dict[str, int]) -> GateResult:
        """The verdict on everything staged; ``expected`` is the row count per table the run staged."""


@dataclass
class GateOutcome:
    published: dict[str, int]  # rows per counted table that may be published (all 0 if held back)
    rejected: list[Rejection] = field(default_factory=list)
    held_back: Path | None = None  # where a failed batch's files were moved
    failures: list[dict] = field(default_factory=list)  # the batch-level failures that held it back
    last_result: GateResult | None = None  # the last verdict (its Data Docs are still being written)
    seconds: dict[str, float] = field(default_factory=dict)  # the gate's parts, over every validation

    @property
    def status(self) -> str:
        return "gate_failed" if self.held_back is not None else "succeeded"


def staged_counts(staging: Staging) -> dict[str, int]:
    return {table: staging.row_count(table) for table in COUNTED_TABLES}


def gate_batch(staging: Staging, gate: BatchGate, selection: Selection, annotated_ids: set[str],
               expected: dict[str, int], hold_back_to: Path, clock: Stopwatch | None = None) -> GateOutcome:
    """Decide, and carry out on staging, what of the batch is published.

    ``selection`` holds the batch's articles (NER-processed first copies and
    near copies); ``annotated_ids`` are the first copies whose rows are staged.
    """
    clock = clock or Stopwatch()
    outcome = GateOutcome(published=dict(expected))
    result = _validate(staging, gate, expected, outcome, clock)
    if result.article_failures:
        outcome.rejected += _article_rejections(result, selection, staging.run_id)
        orphans = set_aside_orphans(selection, annotated_ids - set(result.article_failures))
        outcome.rejected += orphan_rejections(orphans)
        staging.drop_articles(set(result.article_failures) | {a.article_id for a, _ in orphans})
        outcome.published = staged_counts(staging)
        result = _validate(staging, gate, outcome.published, outcome, clock) if outcome.published["articles"] else None
        clock.lap("gate")
    if result is not None and not result.success:
        _hold_back(staging, selection, result, hold_back_to, outcome)
    return outcome


def _validate(staging: Staging, gate: BatchGate, expected: dict[str, int], outcome: GateOutcome,
              clock: Stopwatch) -> GateResult:
    gate.stage_totals(staging)
    clock.lap("entities")
    result = outcome.last_result = gate.validate(staging, expected)
    for part, seconds in result.seconds.items():
        outcome.seconds[part] = outcome.seconds.get(part, 0.0) + seconds
    clock.lap("gate")
    return result


def _by_id(selection: Selection) -> dict:
    return {a.article_id: a for a in selection.to_annotate + [a for a, _ in selection.near_copies]}


def _article_rejections(result: GateResult, selection: Selection, run_id: str) -> list[Rejection]:
    articles = _by_id(selection)
    rejections = []
    for article_id, reason in result.article_failures.items():
        failed = [f.as_dict() for f in result.failures if article_id in f.article_ids]
        rejections.append(Rejection.of_article(articles[article_id], reason, "; ".join(f["rule"] for f in failed),
                                               validation={"run_id": run_id, "failed": failed}))
    return rejections


def _hold_back(staging: Staging, selection: Selection, result: GateResult, destination: Path,
               outcome: GateOutcome) -> None:
    outcome.failures = result.failure_dicts()
    articles = _by_id(selection)
    staged_ids = staging.column("articles", "article_id")
    staging.hold_back(destination)
    outcome.held_back = destination
    detail = "; ".join(f["expectation"] for f in outcome.failures)
    outcome.rejected += [
        Rejection.of_article(articles[i], "batch_failed_gate", detail, level=BATCH_LEVEL,
                             validation={"failed": outcome.failures, "held_back": str(destination)})
        for i in staged_ids
    ]
    outcome.published = {table: 0 for table in COUNTED_TABLES}
