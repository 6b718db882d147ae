"""`judge gold ...`: import and list gold label sets (table gold_labels)."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from judge.cli.options import DbOption
from judge.errors import UserInputError

app = typer.Typer(help="Gold labels: import label files, list label sets.", no_args_is_help=True)


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
    from judge.compare.gold import insert_labels, parse_column_map, parse_gold_file, parse_pairs
    from judge.store.db import default_db_path, write_connection

    if fmt is not None and fmt not in ("jsonl", "csv"):
        raise UserInputError(f"unknown format {fmt!r}; expected jsonl or csv", field="format")
    labels, skipped = parse_gold_file(
        file,
        label_set=label_set,
        fmt=fmt,
        column_map=parse_column_map(column_map or []),
        value_map=parse_pairs(value_map or [], ":", "value-map"),
        annotator=annotator,
        skip_unlabeled=skip_unlabeled,
    )
    with write_connection(default_db_path(db)) as con:
        insert_labels(con, labels)
    with_tier = sum(1 for lab in labels if lab.tier)
    typer.echo(
        f"imported {len(labels)} label(s) into label set {label_set!r} "
        f"({with_tier} with a tier, {len(labels) - with_tier} binary only"
        + (f"; skipped {skipped} unlabeled row(s)" if skipped else "")
        + ")"
    )


def _cell(v: object) -> str:
    if v is None:
        return ""
    if isinstance(v, datetime):
        return f"{v:%Y-%m-%d %H:%M}"
    return str(v)


@app.command("list")
def list_sets(
    db: DbOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """List the stored label sets."""
    from judge.compare.gold import list_label_sets
    from judge.store.db import default_db_path, read_connection

    with read_connection(default_db_path(db)) as con:
        sets = list_label_sets(con)
    if as_json:
        typer.echo(json.dumps(sets, default=str, indent=1))
        return
    if not sets:
        typer.echo("no gold label sets; add one with `judge gold import FILE --label-set NAME` or `judge label RUN`")
        return
    table = Table()
    for col in (
        "label set",
        "labels",
        "with tier",
        "binary only",
        "annotators",
        "first labelled",
        "last labelled",
        "sources",
    ):
        table.add_column(col, overflow="fold")
    for s in sets:
        table.add_row(*[_cell(v) for v in s.values()])
    Console().print(table)
