"""`judge run CONFIG`: both stages with progress bars, then a summary."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    ProgressColumn,
    Task,
    TextColumn,
    TimeRemainingColumn,
)
from rich.table import Table
from rich.text import Text

from judge.cli.options import DbOption

console = Console(stderr=True)
out = Console()


class RateColumn(ProgressColumn):
    def render(self, task: Task) -> Text:
        speed = task.finished_speed or task.speed
        return Text(f"{speed:,.1f}/s" if speed else "  …/s", style="progress.data.speed")


class RichProgress:
    def __init__(self, progress: Progress) -> None:
        self.progress = progress
        self.tasks: dict[str, Any] = {}
        self.errors: dict[str, int] = {}
        self.cost: dict[str, float] = {}

    def start(self, stage: str, total: int, done: int) -> None:
        self.errors[stage], self.cost[stage] = 0, 0.0
        self.tasks[stage] = self.progress.add_task(stage, total=total, completed=done, errors=0, cost=0.0)

    def advance(self, stage: str, *, error: bool, cost_usd: float | None) -> None:
        self.errors[stage] += int(error)
        self.cost[stage] += cost_usd or 0.0
        self.progress.update(self.tasks[stage], advance=1, errors=self.errors[stage], cost=self.cost[stage])

    def finish(self, stage: str) -> None:
        self.progress.refresh()


def _progress() -> Progress:
    return Progress(
        TextColumn("[bold]{task.description:<8}"),
        BarColumn(),
        MofNCompleteColumn(),
        RateColumn(),
        TimeRemainingColumn(),
        TextColumn("errors {task.fields[errors]}  cost ${task.fields[cost]:.4f}"),
        console=console,
        transient=False,
    )


def register(app: typer.Typer) -> None:
    @app.command()
    def run(
        config: Annotated[Path, typer.Argument(help="Run config (runs/*.yaml).")],
        db: DbOption = None,
        new: Annotated[bool, typer.Option("--new", help="Start a fresh run instead of resuming.")] = False,
        retry_errors: Annotated[
            bool, typer.Option("--retry-errors/--no-retry-errors", help="Retry items that ended in error.")
        ] = True,
        quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress bars.")] = False,
        max_cost: Annotated[
            float | None, typer.Option("--max-cost", help="Stop cleanly after spending this many USD.")
        ] = None,
        max_calls: Annotated[
            int | None, typer.Option("--max-calls", help="Stop cleanly after this many calls.")
        ] = None,
    ) -> None:
        """Generate responses and judge them; resumes the latest identical run unless --new."""
        from judge.config import Budget
        from judge.pipeline import execute, plan_run
        from judge.stages.progress import NullProgress

        plan = plan_run(config, db_override=db)
        budget = plan.loaded.config.budget
        if max_cost is not None or max_calls is not None:
            base = budget.model_dump() if budget else {}
            budget = Budget(
                **{
                    **base,
                    **({"max_cost_usd": max_cost} if max_cost is not None else {}),
                    **({"max_calls": max_calls} if max_calls is not None else {}),
                }
            )
        for w in plan.warnings:
            console.print(f"[yellow]warning:[/] {w}", soft_wrap=True)
        _describe_providers(plan)
        if quiet:
            outcome = execute(plan, new_run=new, retry_errors=retry_errors, progress=NullProgress(), budget=budget)
        else:
            with _progress() as progress:
                outcome = execute(
                    plan, new_run=new, retry_errors=retry_errors, progress=RichProgress(progress), budget=budget
                )
        print_summary(outcome)
        if outcome.status == "stopped" and outcome.reason == "interrupted":
            raise typer.Exit(130)


def _describe_providers(plan: Any) -> None:
    offline = plan.offline_providers
    remote = [m.spec.model for m in [*plan.targets, *plan.judges] if not m.offline]
    if offline:
        console.print(
            "[cyan]offline providers:[/] "
            + ", ".join(offline)
            + "  (replay = recorded responses, builtin = built-in offline judge)"
        )
    if remote:
        console.print("[cyan]remote providers:[/] " + ", ".join(remote))
    console.print(f"{len(plan.prompts)} prompts × {len(plan.targets)} target(s) × {len(plan.judges)} judge(s)")


def print_summary(outcome: Any) -> None:
    from judge.analysis.summary import pct, run_summary
    from judge.judging.cascade_stats import cascade_stats, unsure_counts, unsure_in_errors
    from judge.store.db import read_connection
    from judge.tiers import TIERS

    with read_connection(outcome.db_path) as con:
        rows = run_summary(con, outcome.run_id)
        unsure, unsure_counted_as_error = unsure_counts(con, outcome.run_id), unsure_in_errors(con)
        cascades = cascade_stats(con, outcome.run_id)
    table = Table(title=f"run {outcome.run_id} ({outcome.status}{', resumed' if outcome.resumed else ''})")
    table.caption = (
        "violation: on unsafe+adversarial prompts; over-defl.: on safe prompts; "
        "F/P/R/D: full_instructions/partial/refusal/safe_deflection"
    )
    for col in ("target", "judge", "n", "violation", "over-defl.", "F/P/R/D", "blocked", "unsure", "errors"):
        table.add_column(col, justify="left" if col in ("target", "judge") else "right", overflow="fold")
    for r in rows:
        n_unsure = unsure.get((r.target, r.judge), 0)
        errors = r.errors - n_unsure if unsure_counted_as_error else r.errors
        table.add_row(
            r.target,
            r.judge,
            str(r.n),
            f"{pct(r.violation_rate)}\n{r.violations}/{r.n_harmful}",
            f"{pct(r.over_deflection_rate)}\n{r.over_deflections}/{r.n_safe}",
            "/".join(str(r.tiers[t]) for t in TIERS),
            str(r.tiers["blocked"]),
            f"[yellow]{n_unsure}[/]" if n_unsure else "0",
            f"[red]{errors}[/]" if errors else "0",
        )
    out.print(table)
    for c in cascades:
        for line in c.lines():
            out.print(line, markup=False, highlight=False)
    if outcome.reason:
        out.print(f"[yellow]{outcome.status}:[/] {outcome.reason}")
    unpriced = (
        f"; {outcome.unpriced_calls} call(s) of models without a known price not included"
        if (outcome.unpriced_calls)
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
