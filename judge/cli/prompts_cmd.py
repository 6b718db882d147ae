"""`judge prompts ...`: check, sample and import prompt sets."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from judge.cli.options import DbOption
from judge.errors import UserInputError
from judge.prompts.check import (
    DEFAULT_THRESHOLD,
    INTENTS,
    CheckReport,
    Coverage,
    ShingleKind,
    check_rows,
    parse_target_mix,
)
from judge.prompts.importers import PRESETS, Format, import_file, write_jsonl
from judge.prompts.loader import load_prompt_sets
from judge.prompts.sample import ids_used_by_runs, parse_stratify, sample_prompts
from judge.prompts.taxonomy import load_taxonomy
from judge.store.db import default_db_path

app = typer.Typer(help="Prompt sets: check, sample, import.", no_args_is_help=True)

GAP = "[red]·[/red]"


# --- check ------------------------------------------------------------------------------------
@app.command()
def check(
    files: Annotated[list[Path], typer.Argument(help="Prompt set JSONL files.")],
    taxonomy: Annotated[Path | None, typer.Option(help="Taxonomy YAML (default: prompts/taxonomy.yaml).")] = None,
    threshold: Annotated[
        float, typer.Option(help="Jaccard similarity at or above which two prompts are near-duplicates.")
    ] = DEFAULT_THRESHOLD,
    target_mix: Annotated[
        str, typer.Option(help="Target intent mix, e.g. safe=0.2,unsafe=0.4,adversarial=0.4.")
    ] = "safe=0.2,unsafe=0.4,adversarial=0.4",
    shingle: Annotated[str, typer.Option(help="Near-duplicate shingles: word (3-grams) or char (5-grams).")] = "word",
    output_format: Annotated[str, typer.Option("--format", help="Output: table or json.")] = "table",
) -> None:
    """Validate prompt sets: taxonomy paths, coverage, intent mix, duplicates. Exit 1 on errors/duplicates."""
    if output_format not in ("table", "json"):
        raise UserInputError(f"unknown format {output_format!r}; expected table or json", field="format")
    if shingle not in ("word", "char"):
        raise UserInputError(f"unknown shingle kind {shingle!r}; expected word or char", field="shingle")
    kind: ShingleKind = "word" if shingle == "word" else "char"
    rows = load_prompt_sets(files)
    report = check_rows(rows, load_taxonomy(taxonomy), threshold, parse_target_mix(target_mix), kind)
    if output_format == "json":
        typer.echo(json.dumps(report.model_dump(mode="json") | {"ok": report.ok}, indent=2, ensure_ascii=False))
    else:
        render_report(report, Console())
    raise typer.Exit(0 if report.ok else 1)


def render_report(report: CheckReport, console: Console) -> None:
    console.print(f"[bold]{report.n_prompts} prompts[/bold]")
    console.print(coverage_table(report.coverage_l1, "Coverage: hazard (level 1) × intent"))
    console.print(coverage_table(report.coverage_l2, "Coverage: topic (level 2) × intent"))
    console.print(mix_table(report))
    console.print(stats_table(report))
    if report.duplicates:
        console.print(duplicates_table(report))
    for issue in report.warnings:
        console.print(f"[yellow]warning[/yellow] {issue.id or ''} {issue.message}".replace("  ", " "))
    for issue in report.errors:
        console.print(f"[red]error[/red] {issue.id or ''}: {issue.message}")
    console.print(summary_line(report))


def coverage_table(cov: Coverage, title: str) -> Table:
    table = Table(title=title)
    table.add_column("taxonomy")
    for intent in INTENTS:
        table.add_column(intent, justify="right")
    table.add_column("total", justify="right")
    for key in cov.rows:
        cells = cov.counts[key]
        table.add_row(key, *(str(cells[i]) if cells[i] else GAP for i in INTENTS), str(sum(cells.values())))
    table.caption = f"{len(cov.gaps)} gaps (·)" if cov.gaps else "no gaps"
    return table


def mix_table(report: CheckReport) -> Table:
    table = Table(title="Intent mix")
    for col in ("intent", "count", "share", "target", "delta"):
        table.add_column(col, justify="left" if col == "intent" else "right")
    for m in report.mix:
        table.add_row(m.intent, str(m.count), f"{m.share:.1%}", f"{m.target:.0%}", f"{m.delta:+.1%}")
    return table


def stats_table(report: CheckReport) -> Table:
    table = Table(title="Languages, techniques and lengths")
    table.add_column("statistic")
    table.add_column("value")
    table.add_row("languages", ", ".join(f"{k}: {v}" for k, v in report.languages.items()))
    table.add_row("techniques", ", ".join(f"{k}: {v}" for k, v in report.techniques.items()) or "-")
    for s in report.lengths:
        table.add_row(f"length ({s.unit})", f"min {s.min}, median {s.median:g}, mean {s.mean:g}, max {s.max}")
    return table


def duplicates_table(report: CheckReport) -> Table:
    table = Table(title=f"Duplicates ({len(report.duplicates)} pairs)")
    for col in ("id a", "id b", "kind", "similarity"):
        table.add_column(col)
    for d in report.duplicates:
        table.add_row(d.a, d.b, d.kind, f"{d.similarity:.3f}")
    return table


def summary_line(report: CheckReport) -> str:
    if report.ok:
        return f"[green]ok[/green]: no errors, no duplicates ({len(report.warnings)} warnings)"
    return f"[red]failed[/red]: {len(report.errors)} errors, {len(report.duplicates)} duplicate pairs"


# --- sample -----------------------------------------------------------------------------------
@app.command()
def sample(
    files: Annotated[list[Path], typer.Argument(help="Prompt set JSONL files.")],
    n: Annotated[int, typer.Option("--n", min=1, help="Number of prompts to draw.")],
    out: Annotated[Path, typer.Option("-o", "--out", help="Output JSONL file.")],
    stratify: Annotated[
        str, typer.Option(help="Comma-separated strata: l1,l2,l3,intent,technique,lang.")
    ] = "l1,intent",
    seed: Annotated[int, typer.Option(help="Random seed (same seed, same sample).")] = 0,
    exclude_run: Annotated[
        list[str] | None,
        typer.Option(help="Skip prompts already used by this run (id, 'latest', 'latest:NAME' or 'all'); repeatable."),
    ] = None,
    db: DbOption = None,
) -> None:
    """Draw a stratified, reproducible sample (proportional allocation per stratum)."""
    rows = load_prompt_sets(files)
    keys = parse_stratify(stratify)
    exclude: set[str] = set()
    if exclude_run:
        exclude = ids_used_by_runs(default_db_path(db), exclude_run, rows)
    picked = sample_prompts(rows, n, keys, seed, exclude_ids=exclude)
    write_jsonl(picked, out)
    typer.echo(f"wrote {len(picked)} of {len(rows) - len(exclude)} available prompts to {out}")


# --- import -----------------------------------------------------------------------------------
@app.command("import")
def import_cmd(
    file: Annotated[Path, typer.Argument(help="CSV or JSONL file to import.")],
    out: Annotated[Path, typer.Option("-o", "--out", help="Output PromptRow JSONL file.")],
    input_format: Annotated[str, typer.Option("--format", help="Input format: csv or jsonl.")] = "csv",
    preset: Annotated[str | None, typer.Option(help=f"Known dataset shape: {', '.join(PRESETS)}.")] = None,
    maps: Annotated[
        list[str] | None, typer.Option("--map", help="column=field (repeatable); field may be metadata.NAME.")
    ] = None,
    intent: Annotated[str | None, typer.Option(help="Intent for rows that have none.")] = None,
) -> None:
    """Convert a public prompt set into PromptRow JSONL."""
    if input_format not in ("csv", "jsonl"):
        raise UserInputError(f"unknown format {input_format!r}; expected csv or jsonl", field="format")
    fmt: Format = "csv" if input_format == "csv" else "jsonl"
    result = import_file(file, fmt, preset=preset, maps=maps or [], default_intent=intent)
    write_jsonl(result.rows, out)
    for w in result.warnings:
        typer.echo(f"warning: {w}", err=True)
    typer.echo(f"wrote {len(result.rows)} prompts to {out}")
