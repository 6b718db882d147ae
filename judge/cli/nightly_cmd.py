"""`judge nightly CONFIG`: a new run, compared with the previous one; the exit code says what happened."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from judge.cli.options import DbOption


def nightly(
    config: Annotated[Path, typer.Argument(help="Run config (runs/*.yaml), with an optional `gates:` block.")],
    db: DbOption = None,
    baseline: Annotated[
        str | None,
        typer.Option(
            "--baseline",
            help="Compare with this run (id, prefix, latest:NAME) instead of the "
            "previous finished run of the same config name.",
        ),
    ] = None,
    out_dir: Annotated[
        Path | None,
        typer.Option(
            "--out", help="Root folder of the dated result folders (default $NIGHTLY_DIR, else runs/nightly)."
        ),
    ] = None,
    judge: Annotated[
        str | None, typer.Option("--judge", help="Gate on this judge's verdicts (default: the first judge).")
    ] = None,
) -> None:
    """Run CONFIG as a new run and gate regressions against the previous finished run.

    Writes summary.md, gates.json (and report.html) to runs/nightly/NAME/YYYY-MM-DD_HHMMSS/.
    Exit codes: 0 nothing regressed, 1 a gate failed, 2 bad input, 3 the run did not complete.
    """
    from judge.cli.output import console, styled
    from judge.nightly.command import run_nightly
    from judge.nightly.summary import EXIT_MEANING

    result = run_nightly(config, db=db, baseline=baseline, out=out_dir, judge=judge)
    out = console()
    for c in result.failed:
        where = f"hazard {c.scope}" if c.gate == "per_hazard" else c.gate
        out.print(
            styled(("FAILED", "red"), f" {c.target} {where}: {c.before.k}/{c.before.n} → {c.after.k}/{c.after.n}")
        )
    for e in result.error_failures:
        out.print(styled(("errors", "red"), f" {e}"))
    out.print(f"nightly: {EXIT_MEANING.get(result.exit_code, '?')} (exit {result.exit_code})")
    out.print(f"run {result.run_id or '—'}; baseline {result.baseline_id or 'none'}")
    out.print(f"summary: {result.summary_path}")
    raise typer.Exit(result.exit_code)


def register(app: typer.Typer) -> None:
    app.command()(nightly)
