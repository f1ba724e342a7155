"""Web sources: discover stories in feeds and news sitemaps, fetch each new story's page, politely.

Three steps with their own state, as in Media Cloud's ``rss-fetcher`` → ``story-indexer``:

1. **Discovery** (:func:`discover`): each feed or sitemap is asked for with a conditional GET (the ETag and
   Last-Modified of its last answer); a sitemap index's sitemaps are read newest first, those not modified
   since the index was last read skipped, at most ``AKHBAR_SITEMAP_MAX_CHILDREN`` per run.
2. **Selection** (:func:`select_candidates`): an entry is new when its normalized address
   (:func:`transforms.web.normalize_url`) was never taken in, by any source, and its GUID was never announced
   by its source. Pages that failed at an earlier run are asked for again, up to ``AKHBAR_FETCH_MAX_ATTEMPTS``
   runs.
3. **Fetching** (:func:`fetch_pages`): a feed entry that holds the story (:func:`transforms.web.holds_full_text`)
   is taken as it is (``fetched_via = feed``); every other story's page is fetched by the polite
   :class:`flows.crawl.Crawler` and extracted by trafilatura (``page``). The page's bytes are the item's raw
   bytes, so quarantine and replay treat it as any other item.

Nothing here writes: the run stages what :func:`stage_web_state` makes of a :class:`WebIntake`, with its batch.
The entries' state is published only with a batch that passed the gate (a held-back batch's stories are
new again at the next run); each source's health and each run's figures are recorded whatever the gate said.
"""

from __future__ import annotations

import json
import time
from collections import Counter
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from typing import Iterable

from core.settings import Settings
from flows.crawl import Crawler, Fetched, Politeness, user_agent
from flows.intake import WEB_KINDS, SourceSpec
from transforms.formats import RawItem
from transforms.rejection import Rejection
from transforms.web import (Entry, SitemapError, announcement, entry_from_announcement, feed_entries, holds_full_text, is_feed_or_sitemap,
                            is_page, is_transient, media_type, page_item, parse_sitemap)

# A sitemap index may name other indexes; deeper than this is a loop or a mistake.
MAX_SITEMAP_DEPTH = 3
# The quarantine format of a story whose page could not be had: its announcement (``transforms.web.announcement``),
# which ``akhbar retry`` asks for again.
UNFETCHED = "web_entry"


def politeness(settings: Settings) -> Politeness:
    """The crawler's manners, from the settings (``AKHBAR_CRAWL_*``, ``AKHBAR_FETCH_*``, ``AKHBAR_CONTACT_URL``)."""
    return Politeness(user_agent(settings.contact_url), delay=settings.crawl_delay, per_host=settings.crawl_per_host,
                      total=settings.crawl_total, timeout=settings.fetch_timeout, max_bytes=settings.max_item_bytes,
                      retries=settings.fetch_retries, max_wait=settings.fetch_max_wait,
                      max_redirects=settings.max_redirects)


@dataclass
class SourceReport:
    """One web source in one run: the figures ``source_runs`` keeps and what ``web_sources`` carries on."""

    spec: SourceSpec
    status: str = "ok"  # ok | not_modified | failed
    http_status: int | None = None
    entries_seen: int = 0
    entries_new: int = 0
    entries_deferred: int = 0  # new, but over AKHBAR_MAX_NEW_PER_SOURCE: left for the next runs
    pages_fetched: int = 0
    pages_failed: int = 0
    failures: Counter = field(default_factory=Counter)  # reason → pages
    bytes: int = 0
    seconds: float = 0.0
    etag: str | None = None
    last_modified: str | None = None
    error: str | None = None


@dataclass
class EntryOutcome:
    """What became of one story address this run."""

    entry: Entry
    label: str  # the source path of its item, or of its quarantine
    status: str  # taken | retrying | quarantined
    fetched_via: str | None = None  # page | feed | canonical
    attempts: int = 0  # runs that asked for its page, this one included
    reason: str | None = None
    first_seen_at: datetime | None = None  # when an earlier run first saw it


@dataclass
class WebIntake:
    items: list[tuple[RawItem, SourceSpec]] = field(default_factory=list)
    rejected: list[Rejection] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    entries: list[EntryOutcome] = field(default_factory=list)
    reports: dict[str, SourceReport] = field(default_factory=dict)  # by source id
    previous: dict[str, dict] = field(default_factory=dict)  # web_sources rows as the run found them
    requests: int = 0
    seconds: float = 0.0


@dataclass(frozen=True)
class Candidate:
    entry: Entry
    spec: SourceSpec
    held: RawItem | None = None  # the feed's own item, when the feed holds the story
    attempts: int = 0  # earlier runs that asked for its page
    first_seen_at: datetime | None = None
    last_chance: bool = False  # asked for by ``akhbar retry``: a failure quarantines it again at once


# ------------------------------------------------------------------ the whole step


def take_in(specs: Iterable[SourceSpec], settings: Settings, warehouse, crawler: Crawler | None = None) -> WebIntake:
    """Discover, select and fetch the new stories of these web sources."""
    specs = [spec for spec in specs if spec.kind in WEB_KINDS]
    crawler = crawler or Crawler(politeness(settings))
    started = time.monotonic()
    web = WebIntake(previous=warehouse.web_sources())
    announced = discover(specs, web, crawler, settings)
    candidates = select_candidates(announced, web, warehouse, settings, specs)
    fetch_pages(candidates, web, crawler, settings)
    web.requests, web.seconds = crawler.requests, time.monotonic() - started
    return web


# ------------------------------------------------------------------ 1. discovery


def _conditional(previous: dict | None, spec: SourceSpec) -> dict[str, str]:
    if not previous or previous.get("location") != spec.location:
        return {}
    headers = {}
    if previous.get("etag"):
        headers["If-None-Match"] = previous["etag"]
    if previous.get("last_modified"):
        headers["If-Modified-Since"] = previous["last_modified"]
    return headers


def discover(specs: list[SourceSpec], web: WebIntake, crawler: Crawler,
             settings: Settings) -> list[tuple[Entry, RawItem | None, SourceSpec]]:
    """Every entry the sources announce now (with the feed's own item, if any), in registry order."""
    fetched = crawler.fetch_many([(spec.location, _conditional(web.previous.get(spec.source_id), spec))
                                  for spec in specs])
    announced: list[tuple[Entry, RawItem | None, SourceSpec]] = []
    for spec, answer in zip(specs, fetched):
        report = web.reports[spec.source_id] = SourceReport(spec, http_status=answer.status, seconds=answer.seconds,
                                                            bytes=answer.size)
        if not _answered(answer, spec, report, web):
            continue
        if answer.status == 304:
            report.status = "not_modified"
            continue
        report.etag, report.last_modified = answer.headers.get("etag"), answer.headers.get("last-modified")
        if spec.kind == "feed":
            entries, refused, held = feed_entries(answer.body, spec.source_id, spec.location)
            web.rejected += [r.about(format="feed", source_id=spec.source_id) for r in refused]
            if not entries and any(r.reason == "malformed_feed" for r in refused):
                report.status, report.error = "failed", "malformed_feed"
            announced += [(entry, held.get(entry.url), spec) for entry in entries]
            report.entries_seen = len(entries)
        else:
            entries = _sitemap_entries(answer, spec, report, web, crawler, settings)
            announced += [(entry, None, spec) for entry in entries]
            report.entries_seen = len(entries)
    return announced


def _answered(answer: Fetched, spec: SourceSpec, report: SourceReport, web: WebIntake) -> bool:
    """Whether a source's own document came; if not, the source failed this run (never the run itself)."""
    problem = None
    if not answer.ok:
        problem = f"{answer.reason} ({answer.detail})" if answer.detail else answer.reason
    elif answer.status != 304 and not is_feed_or_sitemap(answer.headers.get("content-type")):
        problem = f"not_feed (the answer is {media_type(answer.headers.get('content-type'))})"
    if problem is None:
        return True
    report.status, report.error = "failed", problem.split(" ", 1)[0]
    web.problems.append(f"{spec.source_id}: cannot fetch {spec.location}: {problem}")
    return False


def _sitemap_entries(answer: Fetched, spec: SourceSpec, report: SourceReport, web: WebIntake, crawler: Crawler,
                     settings: Settings) -> list[Entry]:
    """The pages of a sitemap, or of the sitemaps an index names (newest first, within the run's cap)."""
    previous = web.previous.get(spec.source_id) or {}
    since = previous.get("last_success_at")
    since_day = since.date() if isinstance(since, datetime) and previous.get("location") == spec.location else None
    entries: list[Entry] = []
    documents, budget = [(answer.final_url, answer)], settings.sitemap_max_children
    for depth in range(MAX_SITEMAP_DEPTH):
        children: list[tuple[str, date | None]] = []
        for location, document in documents:
            try:
                sitemap = parse_sitemap(document.body, spec.source_id)
            except SitemapError as error:
                web.rejected.append(Rejection("malformed_sitemap", str(error), source_path=location,
                                              raw=document.body, format="sitemap", source_id=spec.source_id))
                report.status, report.error = "failed", "malformed_sitemap"
                continue
            entries += sitemap.entries
            children += sitemap.children
        # A sitemap not modified since the index was last read announces nothing new.
        children = [(loc, day) for loc, day in children if day is None or since_day is None or day >= since_day]
        children.sort(key=lambda child: child[1] or date.min, reverse=True)
        children = children[:budget]
        budget -= len(children)
        if not children:
            break
        fetched = crawler.fetch_many([(loc, None) for loc, _ in children])
        documents = []
        for (loc, _), child in zip(children, fetched):
            report.bytes += child.size
            report.seconds += child.seconds
            if child.ok and is_feed_or_sitemap(child.headers.get("content-type")):
                documents.append((loc, child))
            else:
                reason = child.reason or "not_feed"
                web.problems.append(f"{spec.source_id}: cannot fetch the sitemap {loc}: {reason}")
                report.failures[f"sitemap_{reason}"] += 1
    return entries


# ------------------------------------------------------------------ 2. selection


def select_candidates(announced: list[tuple[Entry, RawItem | None, SourceSpec]], web: WebIntake, warehouse,
                      settings: Settings, specs: list[SourceSpec]) -> list[Candidate]:
    """The entries never taken in, then the pages that failed before and may be asked for again."""
    first: dict[str, tuple[Entry, RawItem | None, SourceSpec]] = {}
    for entry, held, spec in announced:  # a story two sources announce is taken once, for the first
        first.setdefault(entry.url, (entry, held, spec))
    known = warehouse.web_entries(list(first))
    known_guids = warehouse.known_web_guids([(e.source_id, e.guid) for e, _, _ in first.values() if e.guid])
    new: dict[str, list[Candidate]] = {}
    for url, (entry, held, spec) in first.items():
        if url in known or (entry.guid and (entry.source_id, entry.guid) in known_guids):
            continue
        web.reports[spec.source_id].entries_new += 1
        new.setdefault(spec.source_id, []).append(
            Candidate(entry, spec, held if held is not None and holds_full_text(held.text) else None))
    candidates = []
    for source_id, found in new.items():  # the newest first; the others are still new at the next run
        found.sort(key=lambda c: c.entry.published or date.min, reverse=True)
        candidates += found[:settings.max_new_per_source]
        web.reports[source_id].entries_deferred = max(0, len(found) - settings.max_new_per_source)
    by_id = {spec.source_id: spec for spec in specs}
    taken = {c.entry.url for c in candidates}
    for row in warehouse.web_entries_retrying():
        spec = by_id.get(row["source_id"])
        if spec is None or row["url"] in taken or row["attempts"] >= settings.fetch_max_attempts:
            continue
        entry = Entry(row["source_id"], row["url"], row["guid"], row["title"], row["published"])
        entry = replace(entry, raw=announcement(entry))
        candidates.append(Candidate(entry, spec, None, row["attempts"], row["first_seen_at"]))
    return candidates


# ------------------------------------------------------------------ 3. fetching


def fetch_pages(candidates: list[Candidate], web: WebIntake, crawler: Crawler, settings: Settings) -> None:
    """Each candidate's story: the feed's own item, or its page fetched and extracted.

    Pages are extracted on the crawl's workers as they come (between two turns of their host); what became of
    each is recorded afterwards in the candidates' order, so that a run's order does not depend on timing.
    """
    to_fetch = []
    for candidate in candidates:
        if candidate.held is not None:
            web.items.append((candidate.held, candidate.spec))
            web.entries.append(EntryOutcome(candidate.entry, candidate.held.source_path, "taken", "feed",
                                            candidate.attempts, first_seen_at=candidate.first_seen_at))
        else:
            to_fetch.append(candidate)
    pages: list[Page | None] = [None] * len(to_fetch)

    def extract(number: int, answer: Fetched) -> None:
        pages[number] = extract_page(to_fetch[number].entry, answer)

    crawler.fetch_many([(c.entry.url, None) for c in to_fetch], on_result=extract)
    for candidate, page in zip(to_fetch, pages):
        _took_page(candidate, page or Page(reason="connection_error", detail="no answer recorded"), web, settings)


@dataclass(frozen=True)
class Page:
    """What a fetched story page gave: an item, or a rejection with its bytes, or why it could not be had."""

    item: RawItem | None = None
    rejection: Rejection | None = None
    reason: str | None = None
    detail: str = ""
    size: int = 0  # bytes received
    seconds: float = 0.0  # from the first request to the answer, waits for the host's turn included


def extract_page(entry: Entry, answer: Fetched) -> Page:
    measured = {"size": answer.size, "seconds": answer.seconds}
    if not answer.ok:
        return Page(reason=answer.reason, detail=answer.detail, **measured)
    content_type = answer.headers.get("content-type")
    if not is_page(content_type):
        return Page(reason="not_html", detail=f"the page is {media_type(content_type)}", **measured)
    known = {"source_path": entry.url, "raw": answer.body, "format": "html", "source_id": entry.source_id}
    try:
        return Page(item=page_item(answer.body, entry, content_type, answer.final_url), **measured)
    except Rejection as rejection:  # no main text: the page is kept in quarantine as fetched
        return Page(rejection=rejection.about(**known), **measured)
    except Exception as error:  # a bug met on one page is that page's alone
        return Page(rejection=Rejection.internal_error(error, **known), **measured)


def _took_page(candidate: Candidate, page: Page, web: WebIntake, settings: Settings) -> None:
    entry, spec = candidate.entry, candidate.spec
    report = web.reports.get(spec.source_id) or SourceReport(spec)  # a retried page counts for no source run
    report.bytes += page.size
    report.seconds += page.seconds
    attempts = candidate.attempts + 1
    outcome = EntryOutcome(entry, entry.url, "taken", "page", attempts, first_seen_at=candidate.first_seen_at)
    web.entries.append(outcome)
    if page.item is not None:
        web.items.append((page.item, spec))
        report.pages_fetched += 1
        if page.item.url and page.item.url != entry.url:  # the page's canonical address is taken in with it
            web.entries.append(EntryOutcome(replace(entry, url=page.item.url, guid=None), entry.url, "taken",
                                            "canonical", attempts, first_seen_at=candidate.first_seen_at))
        return
    reason = page.rejection.reason if page.rejection is not None else page.reason or "connection_error"
    report.pages_failed += 1
    report.failures[reason] += 1
    if page.rejection is not None:  # fetched, but no story in it (no_main_text...)
        web.rejected.append(page.rejection)
        outcome.status, outcome.reason = "quarantined", reason
        return
    outcome.reason = reason
    if is_transient(reason) and attempts < settings.fetch_max_attempts and not candidate.last_chance:
        outcome.status = "retrying"  # left to a later run; nothing is quarantined yet
        return
    outcome.status = "quarantined"
    after = f" after {attempts} runs" if is_transient(reason) else ""
    web.rejected.append(Rejection(reason, f"{page.detail or reason}{after}", source_path=entry.url,
                                  raw=announcement(entry), format=UNFETCHED, source_id=spec.source_id))


def refetch(quarantined: list[tuple[bytes, SourceSpec]], settings: Settings, warehouse,
            crawler: Crawler | None = None) -> WebIntake:
    """Story pages quarantined because they could not be had, asked for once more (``akhbar retry``)."""
    crawler = crawler or Crawler(politeness(settings))
    web, candidates = WebIntake(), []
    for raw, spec in quarantined:
        entry = entry_from_announcement(raw)
        if entry is None:
            web.rejected.append(Rejection("malformed_announcement", "not the JSON of a story's address",
                                          source_path=spec.location, raw=raw, format=UNFETCHED,
                                          source_id=spec.source_id))
            continue
        row = warehouse.web_entries([entry.url]).get(entry.url) or {}
        candidates.append(Candidate(entry, spec, None, row.get("attempts") or 0, row.get("first_seen_at"),
                                    last_chance=True))
    fetch_pages(candidates, web, crawler, settings)
    web.requests = crawler.requests
    return web


# ------------------------------------------------------------------ what a run records


def entry_rows(web: WebIntake, rejected: Iterable[Rejection], run_id: str, at: datetime) -> list[dict]:
    """``web_entries`` rows: what became of each address this run; an item rejected after it was fetched (no
    article in it, NER failed, the gate refused it) is quarantined with its reason."""
    later = {r.source_path: r.reason for r in rejected}
    rows = {}
    for outcome in web.entries:
        status, reason = outcome.status, outcome.reason
        if status == "taken" and outcome.label in later:
            status, reason = "quarantined", later[outcome.label]
        entry = outcome.entry
        rows[entry.source_id, entry.url] = {
            "source_id": entry.source_id, "url": entry.url, "guid": entry.guid, "title": entry.title,
            "published": entry.published, "status": status, "fetched_via": outcome.fetched_via,
            "attempts": outcome.attempts, "last_reason": reason, "first_seen_at": outcome.first_seen_at or at,
            "last_attempt_at": at if outcome.fetched_via in ("page", "canonical") else None, "run_id": run_id}
    return list(rows.values())


def source_rows(web: WebIntake, run_id: str, at: datetime, published: bool) -> tuple[list[dict], list[dict]]:
    """``web_sources`` rows (state carried to the next run) and ``source_runs`` rows (this run's figures).

    ``published``: whether the batch passed the gate; if not, the conditional-GET validators of the last
    published batch are kept, so that the next run reads again what this one could not publish.
    """
    sources, runs = [], []
    for source_id, report in web.reports.items():
        before = web.previous.get(source_id) or {}
        same = before.get("location") == report.spec.location
        delivered = report.entries_new > 0
        answered = report.status != "failed"
        keep = report.status == "not_modified" or not published
        sources.append({
            "source_id": source_id, "kind": report.spec.kind, "location": report.spec.location,
            "etag": (before.get("etag") if same else None) if keep else report.etag,
            "last_modified": (before.get("last_modified") if same else None) if keep else report.last_modified,
            "last_checked_at": at,
            "last_success_at": at if answered else before.get("last_success_at"),
            "last_delivery_at": at if delivered else before.get("last_delivery_at"),
            "failure_streak": 0 if answered else (before.get("failure_streak") or 0) + 1,
            "silent_runs": 0 if delivered else (before.get("silent_runs") or 0) + 1,
            "last_error": report.error, "run_id": run_id})
        runs.append({
            "run_id": run_id, "source_id": source_id, "kind": report.spec.kind, "status": report.status,
            "http_status": report.http_status, "entries_seen": report.entries_seen,
            "entries_new": report.entries_new, "entries_deferred": report.entries_deferred,
            "pages_fetched": report.pages_fetched,
            "pages_failed": report.pages_failed,
            "failures": json.dumps(dict(sorted(report.failures.items()))) if report.failures else None,
            "bytes": report.bytes, "seconds": round(report.seconds, 3)})
    return sources, runs


def newly_silent(sources: list[dict], after_runs: int) -> list[dict]:
    """Sources that delivered before and have now delivered nothing for exactly ``after_runs`` runs (alerted
    once, when the streak reaches it)."""
    if after_runs <= 0:
        return []
    return [row for row in sources if row["silent_runs"] == after_runs and row["last_delivery_at"] is not None]


def figures(web: WebIntake) -> dict[str, int | float]:
    """The run's web figures, for its summary: requests sent, pages taken and failed, bytes, seconds."""
    reports = web.reports.values()
    return {"sources": len(web.reports), "entries_new": sum(r.entries_new for r in reports),
            "pages": sum(r.pages_fetched for r in reports), "failed": sum(r.pages_failed for r in reports),
            "retrying": sum(o.status == "retrying" for o in web.entries),
            "from_feeds": sum(o.fetched_via == "feed" for o in web.entries),
            "requests": web.requests, "bytes": sum(r.bytes for r in reports), "seconds": round(web.seconds, 1)}
