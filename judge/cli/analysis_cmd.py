"""`judge report`, `judge runs` and `judge export`: reading a run back out of the store."""

from __future__ import annotations

import json
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer

from judge.cli.options import DbOption
from judge.errors import UserInputError

RunArg = Annotated[str, typer.Argument(help="Run id, unique id prefix, `latest` or `latest:NAME`.")]
REPORTS_DIR = Path("runs") / "reports"
EXPORT_TABLES: dict[str, str] = {
    "prompts": "SELECT p.* FROM prompts p JOIN run_prompts rp USING (prompt_hash) WHERE rp.run_id = $run "
    "ORDER BY p.prompt_id",
    "responses": "SELECT * FROM responses WHERE run_id = $run ORDER BY response_id",
    "verdicts": "SELECT * FROM verdicts WHERE run_id = $run ORDER BY verdict_id",
    "scored": "SELECT * FROM scored WHERE run_id = $run ORDER BY response_id, judge",
    "model_calls": "SELECT * FROM calls WHERE run_id = $run ORDER BY started_at, call_id",
    "metrics": "SELECT * FROM metrics WHERE run_id = $run ORDER BY ALL",
}


class ReportFormat(StrEnum):
    md = "md"
    html = "html"
    json = "json"


class ListFormat(StrEnum):
    table = "table"
    json = "json"


def _sql_string(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def export_parquet(con: Any, run_id: str, out_dir: Path) -> dict[str, int]:
    """Write the run's flat tables as Parquet files in out_dir; returns rows written per table."""
    from judge.store.db import fetch

    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise UserInputError(f"cannot create the export folder: {e.strerror}", file=out_dir) from None
    counts = {}
    for name, query in EXPORT_TABLES.items():
        path = (out_dir / f"{name}.parquet").resolve()
        sql = query.replace("$run", _sql_string(run_id))
        con.execute(f"COPY ({sql}) TO {_sql_string(str(path))} (FORMAT parquet, COMPRESSION zstd)").fetchall()
        counts[name] = int(fetch(con, f"SELECT count(*) FROM read_parquet({_sql_string(str(path))})")[0][0])
    return counts


RUNS_SQL = """
SELECT run_id, name, started_at, status, targets, judges, n_prompts, cost_usd, offline_providers
FROM run_overview ORDER BY started_at DESC LIMIT ?
"""


def list_runs(con: Any, limit: int) -> list[dict[str, Any]]:
    from judge.store.db import fetch

    out = []
    for run_id, name, started, status, targets, judges, n_prompts, cost, offline in fetch(con, RUNS_SQL, [limit]):
        try:
            offline_list = sorted(set(json.loads(offline))) if offline else []
        except (json.JSONDecodeError, TypeError):
            offline_list = []
        out.append(
            {
                "run_id": run_id,
                "name": name,
                "started_at": started.isoformat(timespec="seconds") if started else None,
                "status": status,
                "targets": list(targets or []),
                "judges": list(judges or []),
                "n_prompts": int(n_prompts),
                "cost_usd": float(cost or 0.0),
                "offline_providers": offline_list,
            }
        )
    return out


def _short_time(iso: str | None) -> str:
    return (iso or "").replace("T", " ")[:16]


def register(app: typer.Typer) -> None:
    @app.command()
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
        from rich.console import Console

        from judge.analysis.report_data import build_report
        from judge.store.db import default_db_path, read_connection
        from judge.store.runs import resolve_run

        with read_connection(default_db_path(db)) as con:
            run_id = resolve_run(con, run)
            data = build_report(con, run_id, judge=judge, level2=l2, examples_per_target=examples)
        if fmt is ReportFormat.html:
            from judge.analysis.report_html import render_html

            text = render_html(data)
        elif fmt is ReportFormat.json:
            from judge.analysis.report_json import render_json

            text = render_json(data)
        else:
            from judge.analysis.report_md import render_markdown

            text = render_markdown(data)
        err = Console(stderr=True)
        if output is None and fmt is ReportFormat.html:
            output = REPORTS_DIR / f"{run_id}.html"
        if output is None:
            typer.echo(text, nl=False)
            err.print(f"numbers from judge {data.judge}", highlight=False)
            return
        try:
            output.parent.mkdir(parents=True, exist_ok=True)
            output.write_text(text, encoding="utf-8")
        except OSError as e:
            raise UserInputError(f"cannot write the report: {e.strerror}", file=output) from None
        err.print(f"numbers from judge {data.judge}", highlight=False)
        typer.echo(str(output))

    @app.command()
    def runs(
        db: DbOption = None,
        fmt: Annotated[ListFormat, typer.Option("--format", help="table or json.")] = ListFormat.table,
        limit: Annotated[int, typer.Option("--limit", "-n", min=1, help="Newest runs shown.")] = 50,
    ) -> None:
        """List runs, newest first: id, name, start, status, targets, judges, prompts, cost, offline providers."""
        from rich import box
        from rich.console import Console
        from rich.table import Table

        from judge.store.db import default_db_path, read_connection

        with read_connection(default_db_path(db)) as con:
            rows = list_runs(con, limit)
        if fmt is ListFormat.json:
            typer.echo(json.dumps(rows, indent=1, ensure_ascii=False))
            return
        console = Console()
        if console.width >= 130:
            table = Table(box=box.SIMPLE_HEAD, pad_edge=False)
            for col in ("id", "name", "started", "status", "targets", "judges", "prompts", "cost", "offline providers"):
                table.add_column(col, justify="right" if col in ("prompts", "cost") else "left", overflow="fold")
            for r in rows:
                table.add_row(
                    r["run_id"],
                    r["name"],
                    _short_time(r["started_at"]),
                    r["status"],
                    "\n".join(r["targets"]),
                    "\n".join(r["judges"]),
                    str(r["n_prompts"]),
                    f"${r['cost_usd']:.4f}",
                    "\n".join(r["offline_providers"]) or "none",
                )
            console.print(table)
        else:  # narrow terminal: one short block per run
            for r in rows:
                console.print(
                    f"[bold]{r['run_id']}[/]  {r['name']}  {r['status']}  {_short_time(r['started_at'])}",
                    highlight=False,
                )
                console.print(
                    f"  targets: {', '.join(r['targets'])}   judges: {', '.join(r['judges'])}", highlight=False
                )
                console.print(
                    f"  prompts: {r['n_prompts']}   cost: ${r['cost_usd']:.4f}   offline providers: "
                    f"{', '.join(r['offline_providers']) or 'none'}",
                    highlight=False,
                )
        Console(stderr=True).print(f"{len(rows)} run(s)")

    @app.command()
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
        from judge.store.db import default_db_path, read_connection
        from judge.store.runs import resolve_run

        if parquet is None:
            raise UserInputError("give --parquet DIR (the folder to write the files to)", field="--parquet")
        with read_connection(default_db_path(db)) as con:
            run_id = resolve_run(con, run)
            counts = export_parquet(con, run_id, parquet)
        for name, n in counts.items():
            typer.echo(f"{parquet / (name + '.parquet')}\t{n} rows")
