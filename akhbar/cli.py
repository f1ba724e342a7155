"""The `akhbar` command."""

from __future__ import annotations

import sys
from enum import Enum
from pathlib import Path
from typing import Optional

import typer
from rich.console import Console
from rich.table import Table

import akhbar.prefect_env  # noqa: F401  (before anything imports prefect)

app = typer.Typer(help="Arabic news → Stanza NER → a DuckDB warehouse.", no_args_is_help=True)
out = Console(soft_wrap=True)
err = Console(stderr=True)

InboxOpt = typer.Option(None, "--inbox", help="Read this one folder instead of the sources registry [env AKHBAR_INBOX].")
WarehouseOpt = typer.Option(
    None, "--warehouse", help="DuckDB file [env AKHBAR_WAREHOUSE; default warehouse/akhbar.duckdb]."
)


class OutputFormat(str, Enum):
    table = "table"
    csv = "csv"
    json = "json"


def _run_flow(**params):
    """Run the ingest flow; print its summary; exit 1 when the run failed."""
    from flows.ingest import GateFailed, RunSummary, ingest
    from flows.nlp import ModelUnavailable

    state = ingest(**params, return_state=True)
    outcome = state.result(raise_on_failure=False)
    if isinstance(outcome, GateFailed):
        summary = outcome.summary
    elif isinstance(outcome, RunSummary):
        summary = outcome
    elif isinstance(outcome, (ModelUnavailable, FileNotFoundError)):
        err.print(f"[red]akhbar run failed:[/red] {outcome}")
        raise typer.Exit(1)
    else:
        err.print(f"[red]akhbar run failed:[/red] {outcome!r}")
        raise typer.Exit(1)
    _print_summary(summary)
    if state.is_failed():
        raise typer.Exit(1)
    return summary


def _print_summary(summary) -> None:
    out.print(summary.line())
    out.print(f"model: {summary.model or 'none found'} ({summary.model_version or '-'}); "
              f"loaded this run: {'yes' if summary.model_loaded else 'no'}")
    out.print(f"warehouse: {summary.warehouse}")
    if summary.gate_failures:
        out.print("[red]quality gate failed; the batch was held back and nothing was published:[/red]")
        for failure in summary.gate_failures:
            out.print(f"  {failure['suite']}: {failure['expectation']} {failure.get('column') or ''}")
    if summary.data_docs:
        out.print(f"data docs: {summary.data_docs}")
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
    from akhbar.settings import get_settings
    from warehouse.query import WarehouseMissing, open_read_only
    from warehouse.quarantine import open_items

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
    import json

    from akhbar.settings import get_settings
    from warehouse.quarantine import QuarantineStore

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
def sql(
    query: str = typer.Argument(..., help="A SQL query over the published tables."),
    warehouse: Optional[Path] = WarehouseOpt,
    format: OutputFormat = typer.Option(OutputFormat.table, "--format", "-f"),
) -> None:
    """Run a read-only SQL query against the warehouse."""
    import duckdb

    from akhbar.settings import get_settings
    from warehouse.query import WarehouseMissing, run_query, to_csv, to_json

    path = get_settings(warehouse=warehouse).warehouse
    try:
        result = run_query(path, query)
    except WarehouseMissing as error:
        err.print(f"[red]{error}[/red]")
        raise typer.Exit(1)
    except duckdb.Error as error:
        err.print(f"[red]query failed:[/red] {error}")
        raise typer.Exit(1)
    if format is OutputFormat.csv:
        sys.stdout.write(to_csv(result))
    elif format is OutputFormat.json:
        sys.stdout.write(to_json(result) + "\n")
    else:
        table = Table(*result.columns, show_lines=False)
        for row in result.rows:
            table.add_row(*("" if v is None else str(v) for v in row))
        out.print(table)
        out.print(f"{len(result.rows)} row(s)")


def main() -> None:
    app()


if __name__ == "__main__":
    main()
