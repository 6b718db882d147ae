"""`judge compare`, `judge regrade`, `judge label`: comparing judges with each other and with people."""

from __future__ import annotations

import sys
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from judge.cli.options import DbOption
from judge.errors import UserInputError


class Format(StrEnum):
    table = "table"
    md = "md"
    json = "json"


def _split(value: str | None) -> list[str] | None:
    if value is None:
        return None
    items = [v.strip() for v in value.split(",") if v.strip()]
    return items or None


def register(app: typer.Typer) -> None:
    @app.command()
    def compare(
        run: Annotated[str, typer.Argument(help="Run id, unique prefix, `latest` or `latest:NAME`.")] = "latest",
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
        from judge.compare.report import CompareOptions, build_report, render_json, render_markdown, render_table
        from judge.store.db import default_db_path, read_connection
        from judge.store.runs import resolve_run

        opts = CompareOptions(
            judges=_split(judges),
            rubric_versions=_split(rubric_version),
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
            run_id = resolve_run(con, run)
            report = build_report(con, run_id, opts)
        if fmt is Format.json:
            typer.echo(render_json(report))
        elif fmt is Format.md:
            typer.echo(render_markdown(report))
        else:
            render_table(report, Console(width=max(Console().width, 120)))

    @app.command()
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
        db: DbOption = None,
    ) -> None:
        """Grade an existing run's responses with another judge (or rubric) without generating again."""
        from judge.compare.regrade import build_spec
        from judge.compare.regrade import regrade as do_regrade
        from judge.store.db import default_db_path

        spec = build_spec(judge, judge_config=judge_config, api_base=api_base, api_key_env=api_key_env, label=label)
        err = Console(stderr=True)
        err.print(f"grading with {spec.name} ({spec.model}) …")
        out = do_regrade(default_db_path(db), run, spec, rubric_path=rubric)
        where = f"rubric {out.rubric_version}" + (
            f" (new: read it with `judge compare --rubric-version {out.rubric_version}`)"
            if out.new_rubric
            else " (the run's)"
        )
        typer.echo(
            f"run {out.run_id}: judge {out.judge} graded {out.graded_now} response(s) now; "
            f"{out.verdicts} verdict(s) under {where}, {out.errors} error(s)"
        )

    @app.command()
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
        """
        from judge.compare.gold import default_annotator
        from judge.compare.labeling import choose_sample, labeled_keys, load_items, run_session
        from judge.store.db import default_db_path, read_connection, write_connection
        from judge.store.runs import resolve_run

        if not label_set.strip():
            raise UserInputError("label set name must not be empty", field="label-set")
        who = annotator or default_annotator()
        path = default_db_path(db)
        with read_connection(path) as con:
            run_id = resolve_run(con, run)
        with write_connection(path) as con:  # migrates an older database (gold_labels)
            sample = choose_sample(load_items(con, run_id), n, seed)
            done = labeled_keys(con, label_set, who)
        if not sample:
            raise UserInputError(f"run {run_id} has no answered responses to label", field="RUN")
        stdin = sys.stdin

        def read_line() -> str | None:
            line = stdin.readline()
            return line if line else None

        run_session(
            path,
            run_id,
            sample,
            done,
            label_set=label_set,
            annotator=who,
            read_line=read_line,
            console=Console(highlight=False),
        )
