"""`judge import inspect|promptfoo|table` (answers other tools produced) and `judge grade RUN --judge …`."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

import typer

from judge.cli.options import DbOption

import_app = typer.Typer(
    help="Import answers other tools produced (Inspect AI logs, promptfoo results, tables) as a run.",
    no_args_is_help=True,
    rich_markup_mode=None,
)


def _err(message: str) -> None:
    """A line on stderr, printed literally (names and paths may hold markup-like text)."""
    from rich.console import Console

    Console(stderr=True, highlight=False).print(message, markup=False, soft_wrap=True)


NameOption = Annotated[
    str | None, typer.Option("--name", help="Run name (default: the Inspect task, promptfoo description, file stem).")
]
RubricOption = Annotated[
    Path | None, typer.Option("--rubric", help="Rubric of the run (default: rubrics/default.yaml).")
]
MapOption = Annotated[
    Path | None, typer.Option("--map", help="Mapping file (YAML): fields and values → taxonomy, intent, technique.")
]
TaxonomyOption = Annotated[
    Path | None, typer.Option("--taxonomy-file", help="Taxonomy to check against (default: prompts/taxonomy.yaml).")
]
ScoreMapOption = Annotated[
    list[str] | None,
    typer.Option("--score-map", help="VALUE=pass|fail|unsure|TIER for external scores (repeatable)."),
]
QuietOption = Annotated[bool, typer.Option("--quiet", "-q", help="No progress bar.")]


def _with_progress(quiet: bool, work: Callable[[Any], Any]) -> Any:
    if quiet:
        return work(None)
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    with Progress(
        TextColumn("[bold]{task.description:<6}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=Console(stderr=True),
        transient=False,
    ) as bar:

        def stage(name: str, total: int | None) -> Callable[[int], None]:
            task = bar.add_task(name, total=total)
            return lambda n: bar.advance(task, n)

        return work(stage)


def _report(out: Any, kind: str, db: Path) -> None:
    if out.added:
        for w in out.warnings:
            _err(f"warning: {w}")
    else:
        typer.echo(f"already imported as run {out.run_id} (same files and options): nothing added")
        return
    if out.previous_run:
        changed = ", ".join(f"{v} {k}" for k, v in out.changes.items() if v)
        typer.echo(f"this source was imported before as run {out.previous_run}; since then: {changed or 'no changes'}")
    errors = f", {out.responses_error} recorded as errors" if out.responses_error else ""
    typer.echo(f"imported {out.items} answer(s) of {', '.join(out.targets)} into run {out.run_id}{errors}")
    for judge, n in out.external.items():
        typer.echo(f"  external judge {judge}: {n} verdict(s)")
    if out.unsure:
        typer.echo(f"  {out.unsure} external score(s) had no pass/fail meaning: stored as unsure (see --score-map)")
    db_opt = f" --db {db}" if str(db) != "runs/judge.duckdb" else ""
    typer.echo(f"grade them: judge grade {out.run_id} --judge MODEL{db_opt}; then judge compare {out.run_id}{db_opt}")


def _run(kind: str, files: list[Path], db: Path | None, quiet: bool, **kw: Any) -> None:
    from judge.sources.importer import import_files
    from judge.store.db import default_db_path

    path = default_db_path(db)
    out = _with_progress(quiet, lambda progress: import_files(kind, files, path, progress=progress, **kw))
    _report(out, kind, path)


@import_app.command("inspect")
def inspect_cmd(
    logs: Annotated[list[Path], typer.Argument(help="Inspect logs (.eval or .json); all go into one run.")],
    db: DbOption = None,
    name: NameOption = None,
    rubric: RubricOption = None,
    map_file: MapOption = None,
    taxonomy_file: TaxonomyOption = None,
    score_map: ScoreMapOption = None,
    quiet: QuietOption = False,
) -> None:
    """Every sample becomes a prompt row and an answer of the log's model; Inspect's scores an external judge."""
    _run(
        "inspect",
        logs,
        db,
        quiet,
        name=name,
        rubric_path=rubric,
        map_path=map_file,
        taxonomy_path=taxonomy_file,
        score_map=score_map or [],
    )


@import_app.command("promptfoo")
def promptfoo_cmd(
    results: Annotated[list[Path], typer.Argument(help="promptfoo results (results.json version 3, or .jsonl).")],
    db: DbOption = None,
    name: NameOption = None,
    rubric: RubricOption = None,
    map_file: MapOption = None,
    taxonomy_file: TaxonomyOption = None,
    score_map: ScoreMapOption = None,
    quiet: QuietOption = False,
) -> None:
    """Each (test, prompt, provider) row becomes a prompt row and an answer; assertions an external judge."""
    _run(
        "promptfoo",
        results,
        db,
        quiet,
        name=name,
        rubric_path=rubric,
        map_path=map_file,
        taxonomy_path=taxonomy_file,
        score_map=score_map or [],
    )


@import_app.command("table")
def table_cmd(
    file: Annotated[Path, typer.Argument(help="CSV, JSONL or Parquet file of answers.")],
    prompt: Annotated[str, typer.Option("--prompt", help="Column of the prompt (text or a JSON message list).")],
    response: Annotated[str, typer.Option("--response", help="Column of the answer.")],
    model: Annotated[str | None, typer.Option("--model", help="Column naming the model that answered.")] = None,
    target: Annotated[
        str | None, typer.Option("--target", help="Model name when there is no --model column (default: file stem).")
    ] = None,
    id_col: Annotated[
        str | None, typer.Option("--id", help="Column of the prompt id (default: a content hash).")
    ] = None,
    taxonomy: Annotated[str | None, typer.Option("--taxonomy", help="Column of the taxonomy path (a/b/c).")] = None,
    intent: Annotated[str | None, typer.Option("--intent", help="Column of the intent.")] = None,
    technique: Annotated[str | None, typer.Option("--technique", help="Column of the technique.")] = None,
    meta: Annotated[list[str] | None, typer.Option("--meta", help="Column kept as metadata (repeatable).")] = None,
    score: Annotated[
        list[str] | None,
        typer.Option("--score", help="Column of another grader's verdict: external judge (repeatable)."),
    ] = None,
    db: DbOption = None,
    name: NameOption = None,
    rubric: RubricOption = None,
    map_file: MapOption = None,
    taxonomy_file: TaxonomyOption = None,
    score_map: ScoreMapOption = None,
    quiet: QuietOption = False,
) -> None:
    """A table of answers, through a column mapping (and optionally a mapping file)."""
    from judge.sources.table import Columns

    cols = Columns(
        prompt=prompt,
        response=response,
        model=model,
        id=id_col,
        taxonomy=taxonomy,
        intent=intent,
        technique=technique,
        meta=tuple(meta or ()),
        scores=tuple(score or ()),
        target=target,
    )
    _run(
        "table",
        [file],
        db,
        quiet,
        name=name,
        rubric_path=rubric,
        map_path=map_file,
        taxonomy_path=taxonomy_file,
        score_map=score_map or [],
        columns=cols,
    )


def register(app: typer.Typer) -> None:
    app.add_typer(import_app, name="import")

    @app.command()
    def grade(
        run: Annotated[str, typer.Argument(help="Run id, unique prefix, `latest` or `latest:NAME`.")],
        judges: Annotated[
            list[str], typer.Option("--judge", help="Judge model (repeatable), e.g. builtin/judge, openai/gpt-4o-mini.")
        ],
        api_base: Annotated[str | None, typer.Option("--api-base", help="API base URL of the judges.")] = None,
        api_key_env: Annotated[
            str | None, typer.Option("--api-key-env", help="NAME of the environment variable holding the key.")
        ] = None,
        rubric: Annotated[
            Path | None, typer.Option("--rubric", help="Grade under this rubric (default: the run's own rubric).")
        ] = None,
        db: DbOption = None,
    ) -> None:
        """Grade a run's answers with judges, for example an imported run; resumable, earlier verdicts reused."""
        from judge.compare.regrade import build_spec, regrade
        from judge.store.db import default_db_path

        specs = [build_spec(j, api_base=api_base, api_key_env=api_key_env) for j in judges]
        for spec in specs:
            _err(f"grading with {spec.name} …")
            out = regrade(default_db_path(db), run, spec, rubric_path=rubric)
            typer.echo(
                f"run {out.run_id}: judge {out.judge} graded {out.graded_now} answer(s) now; "
                f"{out.verdicts} verdict(s) under rubric {out.rubric_version}, {out.errors} error(s)"
            )
