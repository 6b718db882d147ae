"""`judge report`, `judge runs` and `judge export`: reading a run back out of the store."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer

from judge.cli.options import DbOption, RunArg


class ReportFormat(StrEnum):
    md = "md"
    html = "html"
    json = "json"


class ListFormat(StrEnum):
    table = "table"
    json = "json"


def report(
    run: RunArg = "latest",
    db: DbOption = None,
    fmt: Annotated[ReportFormat, typer.Option("--format", help="md, html (self-contained) or json.")] = (
        ReportFormat.md
    ),
    output: Annotated[
        Path | None,
        typer.Option("--output", "-o", help="Output file (default: stdout; html: runs/reports/<run>.html)."),
    ] = None,
    judge: Annotated[
        str | None,
        typer.Option("--judge", help="The judge whose verdicts give the numbers (default: the run's first judge)."),
    ] = None,
    l2: Annotated[bool, typer.Option("--l2", help="Also break categories down by taxonomy level 2.")] = False,
    examples: Annotated[
        int,
        typer.Option(
            "--examples", min=0, max=50, help="Examples per target of each kind (violation, over-deflection)."
        ),
    ] = 2,
) -> None:
    """A report for one run: rates with 95% intervals, grades, tiers, categories, examples, costs."""
    from judge.analysis.reports import REPORTS_DIR, render_report, write_report
    from judge.cli.output import console
    from judge.store.db import default_db_path

    rendered = render_report(default_db_path(db), run, fmt.value, judge=judge, level2=l2, examples=examples)
    if output is None and fmt is ReportFormat.html:
        output = REPORTS_DIR / f"{rendered.run_id}.html"
    if output is None:
        typer.echo(rendered.text, nl=False)
    else:
        write_report(rendered, output)
    console(stderr=True).print(f"numbers from judge {rendered.judge}")
    if output is not None:
        typer.echo(str(output))


def runs(
    db: DbOption = None,
    fmt: Annotated[ListFormat, typer.Option("--format", help="table or json.")] = ListFormat.table,
    limit: Annotated[int, typer.Option("--limit", "-n", min=1, help="Newest runs shown.")] = 50,
) -> None:
    """List runs, newest first: id, name, start, status, targets, judges, prompts, cost, offline providers."""
    import json

    from judge.cli.output import console
    from judge.store.db import default_db_path, read_connection
    from judge.store.runs import list_runs

    with read_connection(default_db_path(db)) as con:
        rows = list_runs(con, limit)
    if fmt is ListFormat.json:
        typer.echo(json.dumps(rows, indent=1, ensure_ascii=False))
        return
    print_runs(rows)
    console(stderr=True).print(f"{len(rows)} run(s)")


def _short_time(iso: str | None) -> str:
    return (iso or "").replace("T", " ")[:16]


def print_runs(rows: list[dict[str, Any]]) -> None:
    """A table on a wide terminal; one short block per run below 130 columns."""
    from judge.cli.output import Col, console, styled, table

    out = console()
    if out.width >= 130:
        cols = [Col(c) for c in ("id", "name", "started", "status", "targets", "judges")]
        cols += [Col("prompts", "number"), Col("cost", "number"), Col("offline providers")]
        body = [
            [
                r["run_id"],
                r["name"],
                _short_time(r["started_at"]),
                r["status"],
                "\n".join(r["targets"]),
                "\n".join(r["judges"]),
                str(r["n_prompts"]),
                f"${r['cost_usd']:.4f}",
                "\n".join(r["offline_providers"]) or "none",
            ]
            for r in rows
        ]
        out.print(table(cols, body))
        return
    for r in rows:
        out.print(styled((r["run_id"], "bold"), f"  {r['name']}  {r['status']}  {_short_time(r['started_at'])}"))
        out.print(styled(f"  targets: {', '.join(r['targets'])}   judges: {', '.join(r['judges'])}"))
        offline = ", ".join(r["offline_providers"]) or "none"
        out.print(styled(f"  prompts: {r['n_prompts']}   cost: ${r['cost_usd']:.4f}   offline providers: {offline}"))


def export(
    run: RunArg = "latest",
    db: DbOption = None,
    parquet: Annotated[
        Path | None,
        typer.Option(
            "--parquet",
            help="Folder to write prompts, responses, verdicts, scored, model_calls, metrics as .parquet.",
        ),
    ] = None,
) -> None:
    """Export a run's flat tables as Parquet files (DuckDB COPY; no pyarrow needed)."""
    from judge.analysis.export import export_parquet
    from judge.errors import UserInputError
    from judge.store.db import default_db_path, read_connection
    from judge.store.runs import resolve_run

    if parquet is None:
        raise UserInputError("give --parquet DIR (the folder to write the files to)", field="--parquet")
    with read_connection(default_db_path(db)) as con:
        counts = export_parquet(con, resolve_run(con, run), parquet)
    for name, n in counts.items():
        typer.echo(f"{parquet / (name + '.parquet')}\t{n} rows")


def register(app: typer.Typer) -> None:
    app.command()(report)
    app.command()(runs)
    app.command()(export)
