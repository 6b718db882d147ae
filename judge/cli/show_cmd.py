"""`judge show VERDICT_ID`: the exact judge prompt a verdict was made from, printed literally."""

from __future__ import annotations

import json
import sys
from typing import Annotated

import typer

from judge.cli.options import DbOption


def register(app: typer.Typer) -> None:
    @app.command("show")
    def show(
        verdict_id: Annotated[str, typer.Argument(help="A verdict id (verdicts.verdict_id) or a unique prefix.")],
        as_json: Annotated[bool, typer.Option("--json", help="The messages as JSON (role, content).")] = False,
        db: DbOption = None,
    ) -> None:
        """Print the judge prompt of a verdict, rebuilt exactly from the stored rubric, prompt and response."""
        from judge.store.audit import judge_prompt
        from judge.store.db import default_db_path, read_connection

        with read_connection(default_db_path(db)) as con:
            found = judge_prompt(con, verdict_id)
        if as_json:
            out = {
                "verdict_id": found.verdict_id,
                "judge": found.judge,
                "rubric_version": found.rubric_version,
                "messages": found.messages,
            }
            text = json.dumps(out, ensure_ascii=False, indent=2) + "\n"
        else:
            text = found.text + "\n"
        # literally: hostile text is data, never markup (no Rich), and undecodable text is kept
        sys.stdout.buffer.write(text.encode("utf-8", "surrogateescape"))
        sys.stdout.flush()
