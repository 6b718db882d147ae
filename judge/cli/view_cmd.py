"""`judge view`: browse runs, verdicts and run-to-run changes in a local web page; label with --label."""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from judge.cli.options import DbOption
from judge.errors import UserInputError


def register(app: typer.Typer) -> None:
    @app.command()
    def view(
        db: DbOption = None,
        port: Annotated[int, typer.Option("--port", min=0, max=65535, help="Port (0 = any free port).")] = 8765,
        host: Annotated[
            str, typer.Option("--host", help="Address to listen on; beyond 127.0.0.1 a --token is required.")
        ] = "127.0.0.1",
        token: Annotated[
            str | None,
            typer.Option("--token", envvar="JUDGE_VIEW_TOKEN", help="Secret every request must carry (?token=…)."),
        ] = None,
        label: Annotated[
            bool, typer.Option("--label", help="Allow labelling in the browser (writes gold_labels, nothing else).")
        ] = False,
        label_set: Annotated[str, typer.Option("--label-set", help="Label set for --label.")] = "default",
        annotator: Annotated[str | None, typer.Option("--annotator", help="Who labels (default: $USER).")] = None,
        n: Annotated[int, typer.Option("--n", min=1, help="Labelling sample size, as in `judge label`.")] = 50,
        seed: Annotated[int, typer.Option("--seed", help="Labelling sample seed, as in `judge label`.")] = 0,
        no_browser: Annotated[bool, typer.Option("--no-browser", help="Never open a browser.")] = False,
    ) -> None:
        """Serve a local web viewer: runs, verdicts (filter, sort, search), items, two runs side by side,
        judge agreement; labelling with --label. Read-only otherwise."""
        from judge.compare.gold import default_annotator
        from judge.store.db import default_db_path, read_connection
        from judge.view.context import ViewContext
        from judge.view.security import UnsafeBind, check_bind
        from judge.view.server import serve

        try:
            check_bind(host, token)
        except UnsafeBind as e:
            raise UserInputError(str(e), field="--host") from None
        if label and not label_set.strip():
            raise UserInputError("label set name must not be empty", field="--label-set")
        path = default_db_path(db)
        with read_connection(path):  # exists and opens: fail now with one line, not on the first page
            pass
        ctx = ViewContext(
            path, label=label, label_set=label_set, annotator=annotator or default_annotator(), sample_n=n, seed=seed
        )
        try:
            serve(ctx, host=host, port=port, token=token, open_browser=not no_browser and sys.stdout.isatty())
        except OSError as e:
            raise UserInputError(f"cannot listen on {host}:{port}: {e.strerror or e}", field="--port") from None
