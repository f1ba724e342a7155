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

InboxOpt = typer.Option(None, "--inbox", help="Folder of articles [env AKHBAR_INBOX; default seeds/articles].")
WarehouseOpt = typer.Option(
    None, "--warehouse", help="DuckDB file [env AKHBAR_WAREHOUSE; default warehouse/akhbar.duckdb]."
)


class OutputFormat(str, Enum):
    table = "table"
    csv = "csv"
    json = "json"


@app.command()
def run(inbox: Optional[Path] = InboxOpt, warehouse: Optional[Path] = WarehouseOpt) -> None:
    """Take in every new article from the inbox (one Prefect flow run)."""
    from flows.ingest import ingest
    from flows.nlp import ModelUnavailable

    try:
        summary = ingest(
            inbox=str(inbox) if inbox else None, warehouse=str(warehouse) if warehouse else None
        )
    except (ModelUnavailable, FileNotFoundError) as error:
        err.print(f"[red]akhbar run failed:[/red] {error}")
        raise typer.Exit(1)
    out.print(summary.line())
    out.print(f"model: {summary.model or 'none found'} ({summary.model_version or '-'}); "
              f"loaded this run: {'yes' if summary.model_loaded else 'no'}")
    out.print(f"warehouse: {summary.warehouse}")
    for item in summary.rejected:
        out.print(f"  rejected {item.source_path}: {item.reason} {item.detail}")


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
