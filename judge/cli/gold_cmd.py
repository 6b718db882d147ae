"""`judge gold ...`: import and list gold label sets (table gold_labels)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from judge.cli.options import DbOption

app = typer.Typer(help="Gold labels: import label files, list label sets.", no_args_is_help=True, rich_markup_mode=None)


@app.command("import")
def import_labels(
    file: Annotated[Path, typer.Argument(help="JSONL or CSV file of labels.")],
    label_set: Annotated[str, typer.Option("--label-set", help="Name of the label set to add the labels to.")],
    fmt: Annotated[
        str | None, typer.Option("--format", help="jsonl or csv (default: from the file extension).")
    ] = None,
    column_map: Annotated[
        list[str] | None,
        typer.Option(
            "--map",
            help="column=field: read a source column as prompt_id, response_id, response, "
            "response_text_hash, prompt_hash, tier, binary, label, annotator, labeled_at or note.",
        ),
    ] = None,
    value_map: Annotated[
        list[str] | None, typer.Option("--value-map", help="label:tier (or label:comply / label:refuse).")
    ] = None,
    annotator: Annotated[
        str | None, typer.Option("--annotator", help="Annotator of rows without one (default: $USER).")
    ] = None,
    skip_unlabeled: Annotated[
        bool, typer.Option("--skip-unlabeled", help="Skip rows without any label instead of failing.")
    ] = False,
    db: DbOption = None,
) -> None:
    """Import gold labels; every row is validated first and all are written in one transaction."""
    from judge.compare.gold import import_label_file
    from judge.store.db import default_db_path

    summary = import_label_file(
        file,
        label_set=label_set,
        fmt=fmt,
        column_map=column_map or [],
        value_map=value_map or [],
        annotator=annotator,
        skip_unlabeled=skip_unlabeled,
        db_path=default_db_path(db),
    )
    typer.echo(summary)


@app.command("list")
def list_sets(
    db: DbOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """List the stored label sets."""
    import json

    from judge.cli.output import Col, console, table
    from judge.store.db import default_db_path, read_connection
    from judge.store.gold import label_set_summaries

    with read_connection(default_db_path(db)) as con:
        sets = label_set_summaries(con)
    if as_json:
        typer.echo(json.dumps(sets, default=str, indent=1))
        return
    if not sets:
        typer.echo("no gold label sets; add one with `judge gold import FILE --label-set NAME` or `judge label RUN`")
        return
    cols = [Col("label set"), Col("labels", "number"), Col("with tier", "number"), Col("binary only", "number")]
    cols += [Col("annotators"), Col("first labelled"), Col("last labelled"), Col("sources")]
    console().print(table(cols, [[_cell(v) for v in s.values()] for s in sets]))


def _cell(v: object) -> str:
    from datetime import datetime

    if v is None:
        return ""
    if isinstance(v, datetime):
        return f"{v:%Y-%m-%d %H:%M}"
    return str(v)


def register(parent: typer.Typer) -> None:
    parent.add_typer(app, name="gold")
