"""`judge compare`, `judge regrade`, `judge label`: comparing judges with each other and with people."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer

from judge.cli.options import DbOption, split_list

RunArgOptional = Annotated[str, typer.Argument(help="Run id, unique prefix, `latest` or `latest:NAME`.")]


class Format(StrEnum):
    table = "table"
    md = "md"
    json = "json"


def compare(
    run: RunArgOptional = "latest",
    db: DbOption = None,
    judges: Annotated[
        str | None, typer.Option("--judges", help="Comma-separated judge names (default: all of the run).")
    ] = None,
    gold: Annotated[
        str | None, typer.Option("--gold", help="Gold labels: a stored label set or a JSONL/CSV file.")
    ] = None,
    gold_map: Annotated[
        list[str] | None, typer.Option("--gold-map", help="For a --gold FILE: column=field (as gold import --map).")
    ] = None,
    gold_value_map: Annotated[
        list[str] | None, typer.Option("--gold-value-map", help="For a --gold FILE: label:tier.")
    ] = None,
    rubric_version: Annotated[
        str | None,
        typer.Option(
            "--rubric-version",
            help="Rubric version(s) of the verdicts, comma-separated, or `all` (default: the run's rubric).",
        ),
    ] = None,
    min_votes: Annotated[int, typer.Option("--min-votes", min=1, help="Ensemble: minimum valid votes.")] = 2,
    ensemble: Annotated[
        bool, typer.Option("--ensemble/--no-ensemble", help="Add the majority-vote virtual judge.")
    ] = True,
    top: Annotated[int, typer.Option("--top", min=0, help="How many worst disagreements to list.")] = 10,
    fmt: Annotated[Format, typer.Option("--format", help="Output format.")] = Format.table,
) -> None:
    """Judge agreement (Cohen's and Fleiss' κ, confusion matrices), cost, and accuracy against gold labels."""
    from judge.compare.gold import parse_column_map, parse_pairs
    from judge.compare.report import CompareOptions, build_report, render_json, render_markdown
    from judge.store.db import default_db_path, read_connection
    from judge.store.runs import resolve_run

    opts = CompareOptions(
        judges=split_list(judges),
        rubric_versions=split_list(rubric_version),
        gold=gold,
        gold_parse={
            "column_map": parse_column_map(gold_map or []),
            "value_map": parse_pairs(gold_value_map or [], ":", "gold-value-map"),
        },
        ensemble=ensemble,
        min_votes=min_votes,
        top=top,
    )
    with read_connection(default_db_path(db)) as con:
        report = build_report(con, resolve_run(con, run), opts)
    if fmt is Format.json:
        typer.echo(render_json(report))
    elif fmt is Format.md:
        typer.echo(render_markdown(report))
    else:
        print_compare(report)


def print_compare(report: dict[str, Any]) -> None:
    """The comparison's sections as literal tables (names and ids are data)."""
    from judge.cli.output import Col, console, print_table, styled
    from judge.compare.report import sections

    out = console()
    out.print(styled(("Judge comparison", "bold"), f" run {report['run_id']}"))
    for s in sections(report):
        cols = [Col(c or " ", "text" if n == 0 else "number") for n, c in enumerate(s.columns)]
        print_table(out, cols, s.rows, title=s.title, caption=s.note or None)


def regrade(
    run: Annotated[str, typer.Argument(help="Run id, unique prefix, `latest` or `latest:NAME`.")],
    judge: Annotated[
        str | None, typer.Option("--judge", help="Judge model, e.g. openai/gpt-4o-mini or builtin/rules.")
    ] = None,
    judge_config: Annotated[
        Path | None, typer.Option("--judge-config", help="YAML/JSON with the judge's fields (params, ...).")
    ] = None,
    api_base: Annotated[str | None, typer.Option("--api-base", help="API base URL of the judge.")] = None,
    api_key_env: Annotated[
        str | None, typer.Option("--api-key-env", help="NAME of the environment variable holding the key.")
    ] = None,
    label: Annotated[str | None, typer.Option("--label", help="Short name of the judge in tables.")] = None,
    rubric: Annotated[
        Path | None, typer.Option("--rubric", help="Grade under this rubric (default: the run's own rubric).")
    ] = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress bar.")] = False,
    db: DbOption = None,
) -> None:
    """Grade an existing run's responses with another judge (or rubric) without generating again."""
    from judge.cli.output import console
    from judge.cli.progress import stage_progress
    from judge.compare.regrade import build_spec, describe_outcome
    from judge.compare.regrade import regrade as do_regrade
    from judge.store.db import default_db_path

    spec = build_spec(judge, judge_config=judge_config, api_base=api_base, api_key_env=api_key_env, label=label)
    console(stderr=True).print(f"grading with {spec.name} ({spec.model}) …")
    with stage_progress(quiet=quiet) as progress:
        outcome = do_regrade(default_db_path(db), run, spec, rubric_path=rubric, progress=progress)
    console().print(describe_outcome(outcome))


def label(
    run: Annotated[str, typer.Argument(help="Run id, unique prefix, `latest` or `latest:NAME`.")] = "latest",
    n: Annotated[int, typer.Option("--n", min=1, help="Sample size (stratified by intent and l1).")] = 50,
    annotator: Annotated[str | None, typer.Option("--annotator", help="Who labels (default: $USER).")] = None,
    label_set: Annotated[str, typer.Option("--label-set", help="Label set to store the labels in.")] = "default",
    seed: Annotated[int, typer.Option("--seed", help="Sampling seed.")] = 0,
    db: DbOption = None,
) -> None:
    """Label a sample of a run's responses in the terminal (disagreements first); resumable.

    Keys: 1=full_instructions 2=partial 3=refusal 4=safe_deflection, s=skip, q=quit (then Enter).
    Each label is saved at once; Ctrl-C or q stops, and the same command continues where it stopped.
    """
    import sys

    from judge.cli.output import console
    from judge.compare.labeling import prepare_session, run_session

    session = prepare_session(run, n=n, annotator=annotator, label_set=label_set, seed=seed, db=db)

    def read_line() -> str | None:
        line = sys.stdin.readline()
        return line if line else None

    try:
        run_session(session, read_line=read_line, console=console())
    except KeyboardInterrupt:
        print(
            "\ninterrupted: every label given so far is saved; run the same command again to continue",
            file=sys.stderr,
        )
        raise typer.Exit(130) from None


def register(app: typer.Typer) -> None:
    app.command()(compare)
    app.command()(regrade)
    app.command()(label)
