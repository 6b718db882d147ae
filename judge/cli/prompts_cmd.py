"""`judge prompts ...`: check, sample and import prompt sets."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from judge.cli.options import DbOption

if TYPE_CHECKING:
    from rich.console import Console
    from rich.table import Table

    from judge.prompts.check import CheckReport, Coverage

app = typer.Typer(help="Prompt sets: check, sample, import.", no_args_is_help=True, rich_markup_mode=None)
PRESETS = ("xstest", "advbench", "harmbench", "donotanswer", "sorrybench")  # = importers.PRESETS (a test checks)


class OutputFormat(StrEnum):
    table = "table"
    json = "json"


class Shingle(StrEnum):
    word = "word"
    char = "char"


class InputFormat(StrEnum):
    csv = "csv"
    jsonl = "jsonl"


# --- check ------------------------------------------------------------------------------------
@app.command()
def check(
    files: Annotated[list[Path], typer.Argument(help="Prompt set JSONL files.")],
    taxonomy: Annotated[Path | None, typer.Option(help="Taxonomy YAML (default: prompts/taxonomy.yaml).")] = None,
    threshold: Annotated[
        float, typer.Option(help="Jaccard similarity at or above which two prompts are near-duplicates.")
    ] = 0.7,
    target_mix: Annotated[
        str, typer.Option(help="Target intent mix, e.g. safe=0.2,unsafe=0.4,adversarial=0.4.")
    ] = "safe=0.2,unsafe=0.4,adversarial=0.4",
    shingle: Annotated[Shingle, typer.Option(help="Near-duplicate shingles: word (3-grams) or char (5-grams).")] = (
        Shingle.word
    ),
    strict: Annotated[
        bool, typer.Option("--strict", help="Taxonomy paths outside the taxonomy are errors (default: warnings).")
    ] = False,
    output_format: Annotated[OutputFormat, typer.Option("--format", help="Output: table or json.")] = (
        OutputFormat.table
    ),
) -> None:
    """Validate prompt sets: taxonomy paths, coverage, intent mix, duplicates. Exit 1 on errors/duplicates."""
    import json

    from judge.cli.output import console
    from judge.prompts.check import check_rows, parse_target_mix
    from judge.prompts.loader import load_prompt_sets
    from judge.prompts.taxonomy import load_taxonomy

    rows = load_prompt_sets(files)
    report = check_rows(
        rows, load_taxonomy(taxonomy), threshold, parse_target_mix(target_mix), shingle.value, strict_taxonomy=strict
    )
    if output_format is OutputFormat.json:
        typer.echo(json.dumps(report.model_dump(mode="json") | {"ok": report.ok}, indent=2, ensure_ascii=False))
    else:
        render_report(report, console())
    raise typer.Exit(0 if report.ok else 1)


def render_report(report: CheckReport, out: Console) -> None:
    """The check as tables; prompt ids, paths and messages are printed literally."""
    from judge.cli.output import styled

    out.print(styled((f"{report.n_prompts} prompts", "bold")))
    out.print(coverage_table(report.coverage_l1, "Coverage: hazard (level 1) × intent"))
    out.print(coverage_table(report.coverage_l2, "Coverage: topic (level 2) × intent"))
    out.print(mix_table(report))
    out.print(stats_table(report))
    if report.duplicates:
        out.print(duplicates_table(report))
    for issue in report.warnings:
        out.print(styled(("warning", "yellow"), f" {issue.id + ': ' if issue.id else ''}{issue.message}"))
    for issue in report.errors:
        out.print(styled(("error", "red"), f" {issue.id + ': ' if issue.id else ''}{issue.message}"))
    if report.ok:
        out.print(styled(("ok", "green"), f": no errors, no duplicates ({len(report.warnings)} warnings)"))
    else:
        out.print(styled(("failed", "red"), f": {len(report.errors)} errors, {len(report.duplicates)} duplicate pairs"))


def coverage_table(cov: Coverage, title: str) -> Table:
    from judge.cli.output import Col, cell, table
    from judge.prompts.check import INTENTS

    cols = [Col("taxonomy"), *(Col(i, "number") for i in INTENTS), Col("total", "number")]
    rows = [
        [
            key,
            *(str(cov.counts[key][i]) if cov.counts[key][i] else cell("·", "red") for i in INTENTS),
            str(sum(cov.counts[key].values())),
        ]
        for key in cov.rows
    ]
    return table(cols, rows, title=title, caption=f"{len(cov.gaps)} gaps (·)" if cov.gaps else "no gaps")


def mix_table(report: CheckReport) -> Table:
    from judge.cli.output import Col, table

    cols = [Col("intent"), *(Col(c, "number") for c in ("count", "share", "target", "delta"))]
    rows = [[m.intent, str(m.count), f"{m.share:.1%}", f"{m.target:.0%}", f"{m.delta:+.1%}"] for m in report.mix]
    return table(cols, rows, title="Intent mix")


def stats_table(report: CheckReport) -> Table:
    from judge.cli.output import Col, table

    rows = [
        ["languages", ", ".join(f"{k}: {v}" for k, v in report.languages.items())],
        ["techniques", ", ".join(f"{k}: {v}" for k, v in report.techniques.items()) or "-"],
    ]
    rows += [
        [f"length ({s.unit})", f"min {s.min}, median {s.median:g}, mean {s.mean:g}, max {s.max}"]
        for s in report.lengths
    ]
    return table([Col("statistic"), Col("value")], rows, title="Languages, techniques and lengths")


def duplicates_table(report: CheckReport) -> Table:
    from judge.cli.output import Col, table

    rows = [[d.a, d.b, d.kind, f"{d.similarity:.3f}"] for d in report.duplicates]
    cols = [Col("id a"), Col("id b"), Col("kind"), Col("similarity", "number")]
    return table(cols, rows, title=f"Duplicates ({len(report.duplicates)} pairs)")


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
    """Draw a stratified, reproducible sample (proportional, at least one prompt per stratum when n allows)."""
    from judge.errors import UserInputError
    from judge.prompts.importers import write_jsonl
    from judge.prompts.loader import load_prompt_sets
    from judge.prompts.sample import draw_sample

    rows = load_prompt_sets(files)
    ids, hashes = _used_by_runs(exclude_run or [], db)
    picked = draw_sample(rows, n, stratify.split(","), seed, exclude_ids=ids, exclude_hashes=hashes)
    if not picked.rows:
        raise UserInputError(
            f"nothing to sample: all {len(rows)} prompts were already used by the excluded run(s); nothing written",
            field="exclude-run",
        )
    write_jsonl(picked.rows, out)
    typer.echo(f"wrote {len(picked.rows)} of {picked.available} available prompts to {out}")
    if picked.uncovered:
        names = ", ".join("/".join(k) for k in picked.uncovered[:10])
        more = f" and {len(picked.uncovered) - 10} more" if len(picked.uncovered) > 10 else ""
        typer.echo(
            f"warning: n={n} is smaller than the {len(picked.uncovered) + len(picked.rows)} strata; "
            f"{len(picked.uncovered)} strata have no prompt in the sample: {names}{more}",
            err=True,
        )


def _used_by_runs(refs: list[str], db: Path | None) -> tuple[set[str], set[str]]:
    if not refs:
        return set(), set()
    from judge.store.db import default_db_path, read_connection
    from judge.store.runs import prompts_used_by_runs

    with read_connection(default_db_path(db)) as con:
        return prompts_used_by_runs(con, refs)


# --- import -----------------------------------------------------------------------------------
@app.command("import")
def import_cmd(
    file: Annotated[Path, typer.Argument(help="CSV or JSONL file to import.")],
    out: Annotated[Path, typer.Option("-o", "--out", help="Output PromptRow JSONL file.")],
    input_format: Annotated[InputFormat, typer.Option("--format", help="Input format: csv or jsonl.")] = (
        InputFormat.csv
    ),
    preset: Annotated[
        str | None, typer.Option(help=f"Known dataset shape: {', '.join(PRESETS)} (docs/importing-prompts.md).")
    ] = None,
    maps: Annotated[
        list[str] | None, typer.Option("--map", help="column=field (repeatable); field may be metadata.NAME.")
    ] = None,
    intent: Annotated[str | None, typer.Option(help="Intent for rows that have none.")] = None,
) -> None:
    """Convert a public prompt set into PromptRow JSONL (paths outside the taxonomy are reported)."""
    from judge.prompts.importers import import_file, write_jsonl

    result = import_file(file, input_format.value, preset=preset, maps=maps or [], default_intent=intent)
    write_jsonl(result.rows, out)
    for w in result.warnings:
        typer.echo(f"warning: {w}", err=True)
    typer.echo(f"wrote {len(result.rows)} prompts to {out}")


def register(parent: typer.Typer) -> None:
    parent.add_typer(app, name="prompts")
