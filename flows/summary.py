"""What a run did: the summary the CLI prints, the alert describes and the ``runs`` row records."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from transforms.rejection import Rejection
from warehouse.rows import message_of, run_row


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
    rejected: list[Rejection]
    gate_failures: list[dict] = field(default_factory=list)
    data_docs: str | None = None
    resolved_items: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)  # sources that could not be read at all
    ner_cached: int = 0  # articles whose NER output came from the cache
    ner_workers: dict[str, int] = field(default_factory=dict)  # host:pid → Stanza pipelines it built
    timings: dict[str, float] = field(default_factory=dict)  # seconds per stage
    gate_seconds: dict[str, float] = field(default_factory=dict)  # the gate stage's parts (expectations.gate)
    n_unchanged: int = 0  # inbox files skipped unread (settled earlier, same size and mtime)
    newly_quarantined: list[Rejection] = field(default_factory=list)  # rejected, and not in quarantine before
    web: dict = field(default_factory=dict)  # feeds and sitemaps: flows.web.figures
    silent_sources: list[str] = field(default_factory=list)  # web sources that have just gone silent
    device: str | None = None  # where the NER model ran this run (cpu, cuda), if it ran

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
        if self.web:
            web = self.web
            text += (f"; web: {web['entries_new']} new stories from {web['sources']} source(s), {web['pages']} pages "
                     f"fetched, {web['from_feeds']} from feeds, {web['failed']} failed ({web['retrying']} to retry)")
        if self.silent_sources:
            text += f"; silent: {', '.join(self.silent_sources)}"
        if self.status != "succeeded":
            text += f" [{self.status}]"
        return text

    def run_row(self, started_at: datetime, finished_at: datetime, inbox: str) -> dict:
        return run_row(
            self.run_id, self.flow_run_id, started_at, finished_at, self.status, inbox,
            message=message_of([f["expectation"] for f in self.gate_failures] + self.problems),
            model=self.model, model_version=self.model_version, device=self.device,
            n_seen=self.n_seen, n_new=self.n_new, n_skipped=self.n_skipped, n_failed=self.n_failed,
            n_sentences=self.n_sentences, n_mentions=self.n_mentions, n_duplicates=self.n_duplicates,
        )


    def markdown(self) -> str:
        """The run as the Prefect UI shows it (a flow run artifact): counts, gate, quarantine, Data Docs."""
        lines = [f"# akhbar run `{self.run_id}`: {self.status}", "",
                 "| seen | new | skipped | quarantined | duplicates | sentences | mentions |",
                 "|---|---|---|---|---|---|---|",
                 f"| {self.n_seen} | {self.n_new} | {self.n_skipped} | {len(self.rejected)} | {self.n_duplicates} "
                 f"| {self.n_sentences} | {self.n_mentions} |", ""]
        if self.gate_failures:
            lines += ["## Quality gate: batch held back", "", "| table | expectation | column | unexpected |",
                      "|---|---|---|---|"]
            lines += [f"| {f['suite']} | {f['expectation']} | {f.get('column') or ''} | {f.get('unexpected_count', '')} |"
                      for f in self.gate_failures]
            lines.append("")
        else:
            lines += ["Quality gate: passed." if self.status == "succeeded" else "", ""]
        if self.rejected:
            lines += ["## Quarantined", "", "| item | reason | detail |", "|---|---|---|"]
            lines += [f"| `{_cell(r.source_path)}` | {r.reason} | {_cell(r.detail.splitlines()[0] if r.detail else '')} |"
                      for r in self.rejected[:50]]
            if len(self.rejected) > 50:
                lines.append(f"| … | {len(self.rejected) - 50} more | |")
            lines.append("")
        if self.problems:
            lines += ["## Sources not read", ""] + [f"- {_cell(p)}" for p in self.problems] + [""]
        if self.web:
            lines += ["## Web sources", "", "| " + " | ".join(self.web) + " |", "|" + "---|" * len(self.web),
                      "| " + " | ".join(str(v) for v in self.web.values()) + " |", ""]
        if self.silent_sources:
            lines += [f"Silent sources: {', '.join(self.silent_sources)}", ""]
        if self.data_docs:
            lines.append(f"Data Docs: `{self.data_docs}`")
        return "\n".join(lines)


def _cell(text: str | None) -> str:
    return (text or "").replace("|", "\\|").replace("\n", " ")[:200]


class GateFailed(RuntimeError):
    """The batch failed the quality gate: nothing was published. Carries the run summary."""

    def __init__(self, summary: RunSummary):
        super().__init__(summary.line())
        self.summary = summary
