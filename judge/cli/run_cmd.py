"""`judge run CONFIG`: both stages with progress (bars on a terminal, lines in a log), then a summary."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from judge.cli.options import DbOption


def run(
    config: Annotated[Path, typer.Argument(help="Run config (runs/*.yaml).")],
    db: DbOption = None,
    new: Annotated[bool, typer.Option("--new", help="Start a fresh run instead of resuming.")] = False,
    retry_errors: Annotated[
        bool, typer.Option("--retry-errors/--no-retry-errors", help="Retry items that ended in error.")
    ] = True,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress output.")] = False,
    max_cost: Annotated[
        float | None, typer.Option("--max-cost", help="Stop cleanly after spending this many USD.")
    ] = None,
    max_calls: Annotated[int | None, typer.Option("--max-calls", help="Stop cleanly after this many calls.")] = None,
) -> None:
    """Generate responses and judge them; resumes the latest identical run unless --new."""
    from judge.cli.output import console, styled
    from judge.cli.progress import stage_progress
    from judge.config import Budget
    from judge.pipeline import execute, plan_run

    plan = plan_run(config, db_override=db)
    budget = Budget.with_overrides(plan.loaded.config.budget, max_cost_usd=max_cost, max_calls=max_calls)
    err = console(stderr=True)
    for w in plan.warnings:
        err.print(styled(("warning:", "yellow"), f" {w}"), soft_wrap=True)
    describe_plan(plan)
    with stage_progress(quiet=quiet) as progress:
        outcome = execute(plan, new_run=new, retry_errors=retry_errors, progress=progress, budget=budget)
    print_summary(outcome)
    if outcome.status == "stopped" and outcome.reason == "interrupted":
        raise typer.Exit(130)


def describe_plan(plan: Any) -> None:
    """Which providers are offline and which are remote, and the size of the run (on stderr)."""
    from judge.cli.output import console, styled

    err = console(stderr=True)
    offline = plan.offline_providers
    remote = [m.spec.model for m in [*plan.targets, *plan.judges] if not m.offline]
    if offline:
        err.print(
            styled(
                ("offline providers:", "cyan"),
                " " + ", ".join(offline) + "  (replay = recorded responses, builtin = built-in offline judge)",
            )
        )
    if remote:
        err.print(styled(("remote providers:", "cyan"), " " + ", ".join(remote)))
    err.print(f"{len(plan.prompts)} prompts × {len(plan.targets)} target(s) × {len(plan.judges)} judge(s)")


def print_summary(outcome: Any) -> None:
    """Rates per target × judge (a table that stays whole at 80 columns), errors by kind, where to look next."""
    from judge.analysis.summary import error_kinds, pct, run_summary
    from judge.cli.output import Col, cell, console, print_table, styled
    from judge.judging.cascade_stats import cascade_stats, unsure_counts, unsure_in_errors
    from judge.store.db import read_connection
    from judge.tiers import TIERS

    with read_connection(outcome.db_path) as con:
        rows = run_summary(con, outcome.run_id)
        unsure, unsure_counted_as_error = unsure_counts(con, outcome.run_id), unsure_in_errors(con)
        cascades = cascade_stats(con, outcome.run_id)
        errors = error_kinds(con, outcome.run_id)
    cols = [Col("target"), Col("judge"), Col("n", "number"), Col("violation", "number")]
    cols += [Col("over-defl.", "number"), Col("F/P/R/D", "number"), Col("blocked", "number")]
    cols += [Col("unsure", "number"), Col("errors", "number")]
    body = [
        [
            r.target,
            r.judge,
            str(r.n),
            f"{pct(r.violation_rate)}\n{r.violations}/{r.n_harmful}",
            f"{pct(r.over_deflection_rate)}\n{r.over_deflections}/{r.n_safe}",
            "/".join(str(r.tiers[t]) for t in TIERS),
            str(r.tiers["blocked"]),
            cell(n_unsure, "yellow") if (n_unsure := unsure.get((r.target, r.judge), 0)) else "0",
            cell(n_err, "red") if (n_err := r.errors - n_unsure if unsure_counted_as_error else r.errors) else "0",
        ]
        for r in rows
    ]
    title = f"run {outcome.run_id} ({outcome.status}{', resumed' if outcome.resumed else ''})"
    caption = (
        "violation: on unsafe+adversarial prompts; over-defl.: on safe prompts; "
        "F/P/R/D: full_instructions/partial/refusal/safe_deflection"
    )
    out = console()
    print_table(out, cols, body, title=title, caption=caption)
    for c in cascades:
        for line in c.lines():
            out.print(cell(line))
    if outcome.reason:
        out.print(styled((f"{outcome.status}:", "yellow"), f" {outcome.reason}"))
    for line in error_advice(errors):
        out.print(line)
    unpriced = (
        f"; {outcome.unpriced_calls} call(s) of models without a known price not included"
        if outcome.unpriced_calls
        else ""
    )
    out.print(f"Remote model calls this invocation: {outcome.remote_calls} (cost ${outcome.cost_usd:.4f}{unpriced})")
    out.print(
        "Rates exclude items that ended in error (counted in 'errors') and abstentions (judge unsure, counted in "
        "'unsure'); blocked responses count as the policy says."
    )
    if outcome.offline_providers:
        out.print(f"Offline providers used: {', '.join(outcome.offline_providers)}")
    if outcome.remote_providers:
        out.print(f"Remote providers used: {', '.join(outcome.remote_providers)}")
    out.print(f"Results: {outcome.db_path}")
    out.print(
        f'Try: judge sql --db {outcome.db_path} "select target, tier, count(*) from scored '
        f"where run_id = '{outcome.run_id}' group by all order by all\""
    )


def error_advice(errors: list[tuple[str, str, int]]) -> list[str]:
    """One line per error kind, saying whether a rerun retries it or something must be fixed first."""
    from judge.providers.errors import RETRYABLE_KINDS

    lines = []
    for stage, kind, n in errors:
        if kind in RETRYABLE_KINDS:
            lines.append(f"errors: {n} {stage} item(s) {kind} — transient; `judge run` again retries them")
        else:
            lines.append(
                f"errors: {n} {stage} item(s) {kind} — retrying will not fix these; see "
                "`judge sql \"select error_message from responses where status = 'error' union all "
                "select error_message from verdicts where status = 'error'\"`"
            )
    return lines


def register(app: typer.Typer) -> None:
    app.command()(run)
