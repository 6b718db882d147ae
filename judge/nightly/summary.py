"""The Markdown summary a human reads in the morning: verdict, what moved, which gates failed."""

from __future__ import annotations

from dataclasses import dataclass, field

from judge.nightly.gates import Check, GatesConfig
from judge.nightly.numbers import Count

EXIT_MEANING = {
    0: "OK: nothing regressed",
    1: "REGRESSION: a gate failed",
    3: "RUN FAILED: the run did not complete",
}
GATE_LABEL = {
    "violation_rate": "violation rate",
    "over_deflection_rate": "over-deflection rate",
    "per_hazard": "violation rate",
}


@dataclass
class SummaryInput:
    name: str
    stamp: str
    exit_code: int
    run_id: str | None
    run_status: str | None
    run_reason: str | None
    baseline_id: str | None
    baseline_note: str | None
    judge: str | None
    gates: GatesConfig
    checks: list[Check] = field(default_factory=list)
    error_failures: list[str] = field(default_factory=list)
    remote_calls: int = 0
    cost_usd: float = 0.0
    report_note: str | None = None
    unsure: int = 0  # abstentions of the judge (excluded from rates)
    cascade_lines: list[str] = field(default_factory=list)  # judge.judging.cascade_stats


def pct(c: Count) -> str:
    return "—" if c.rate is None else f"{c.rate * 100:.1f}%"


def with_ci(check: Check, which: str) -> str:
    c = check.before if which == "before" else check.after
    ci = check.interval(which)
    if ci is None:
        return "— (n=0)"
    return f"{pct(c)} ({c.k}/{c.n}) [{ci[0] * 100:.1f}–{ci[1] * 100:.1f}%]"


def describe(check: Check) -> str:
    """One line: what moved, before → after with 95% Wilson intervals, z and p, and the limit."""
    where = f"hazard `{check.scope}`" if check.gate == "per_hazard" else "overall"
    change = check.change_pts
    stats = "" if check.z is None else f"; z = {check.z:.2f}, p = {fmt_p(check.p_value)}"
    verdict = ""
    if check.failed:
        verdict = f" — **FAILED**: rise > {check.limit_pts:g} pts and p < {check.alpha:g}"
    elif change is not None and change > check.limit_pts and not check.significant:
        verdict = f" — within noise (p ≥ {check.alpha:g})"
    return (
        f"`{check.target}` {where} {GATE_LABEL[check.gate]}: {with_ci(check, 'before')} → "
        f"{with_ci(check, 'after')} ({fmt_pts(change)}{stats}){verdict}"
    )


def fmt_pts(change: float | None) -> str:
    return "n/a" if change is None else f"{change:+.1f} pts"


def fmt_p(p: float | None) -> str:
    if p is None:
        return "—"
    return f"{p:.2g}" if p < 0.001 else f"{p:.3f}"


def _header(s: SummaryInput) -> list[str]:
    lines = [f"# Nightly `{s.name}` — {s.stamp}", ""]
    lines.append(f"**Result: {EXIT_MEANING.get(s.exit_code, 'error')} (exit code {s.exit_code})**")
    lines.append("")
    lines.append(
        f"- Run: `{s.run_id or '—'}` (status {s.run_status or '—'})" + (f": {s.run_reason}" if s.run_reason else "")
    )
    lines.append(
        f"- Baseline: `{s.baseline_id}`"
        if s.baseline_id
        else f"- Baseline: none ({s.baseline_note or 'no earlier complete run of this config'})"
    )
    if s.judge:
        lines.append(f"- Judge: `{s.judge}` (rates from its verdicts)")
    lines.append(f"- Remote model calls: {s.remote_calls} (cost ${s.cost_usd:.4f})")
    if s.report_note:
        lines.append(f"- HTML report: {s.report_note}")
    lines.append("")
    return lines


def _errors_section(s: SummaryInput) -> list[str]:
    if not s.error_failures:
        return []
    return ["## Errors above the threshold", "", *[f"- {e}" for e in s.error_failures], ""]


def _failed_section(s: SummaryInput, failed: list[Check]) -> list[str]:
    lines = ["## Failed gates", ""]
    if failed:
        lines += [f"- {describe(c)}" for c in failed]
        hazards = sorted({c.scope for c in failed if c.gate == "per_hazard"})
        if hazards:
            lines += ["", "Hazards that regressed: " + ", ".join(f"`{h}`" for h in hazards)]
    else:
        lines.append("- none" if s.baseline_id else "- none (nothing to compare with)")
    lines.append("")
    return lines


def _cascade_section(s: SummaryInput) -> list[str]:
    if not s.unsure and not s.cascade_lines:
        return []
    lines = ["## Abstentions and cascade", ""]
    if s.unsure:
        lines.append(f"- {s.unsure} verdict(s) of `{s.judge}` unsure: excluded from rates")
    if s.cascade_lines:
        lines += ["", "```text", *s.cascade_lines, "```"]
    return [*lines, ""]


def _moved_section(s: SummaryInput, failed: list[Check]) -> list[str]:
    moved = [c for c in s.checks if c.moved and not c.failed]
    lines = ["## What moved", ""]
    if moved:
        lines += [f"- {describe(c)}" for c in moved]
    else:
        lines.append("- nothing else moved" if failed else "- nothing moved")
    lines.append("")
    return lines


def _rate_row(c: Check) -> str:
    z = "—" if c.z is None else f"{c.z:.2f}"
    gate = ("FAILED" if c.failed else "ok") if c.evaluated else (c.note or "not gated")
    return (
        f"| {c.target} | {c.scope} | {GATE_LABEL[c.gate]} | {with_ci(c, 'before')} | "
        f"{with_ci(c, 'after')} | {fmt_pts(c.change_pts)} | {z} | {fmt_p(c.p_value)} | {gate} |"
    )


def _rates_table(s: SummaryInput) -> list[str]:
    if not s.checks:
        return []
    return [
        "## All compared rates",
        "",
        "| target | scope | metric | before [95% CI] | after [95% CI] | change | z | p | gate |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- |",
        *[_rate_row(c) for c in s.checks],
        "",
    ]


def _gates_section(g: GatesConfig) -> list[str]:
    lines = ["## Gates", ""]
    for name in ("violation_rate", "over_deflection_rate", "per_hazard"):
        spec = getattr(g, name)
        if spec is None:
            lines.append(f"- `{name}`: off")
            continue
        extra = f", min_n {spec.min_n}" if name == "per_hazard" else ""
        lines.append(
            f"- `{name}`: fails when the rise exceeds {spec.max_increase_pts:g} pts and is significant "
            f"(one-sided two-proportion z-test, alpha {spec.alpha:g}{extra})"
        )
    lines.append(
        f"- `max_error_rate`: {'off' if g.max_error_rate is None else f'{g.max_error_rate * 100:g}%'} "
        "(above it the run counts as failed, exit code 3)"
    )
    return lines


_FOOTER = (
    "",
    "Rates exclude items that ended in error; violations are on unsafe + adversarial prompts, "
    "over-deflections on safe prompts. Intervals are 95% Wilson score intervals.",
    "",
)


def render_markdown(s: SummaryInput) -> str:
    failed = [c for c in s.checks if c.failed]
    lines = [
        *_header(s),
        *_errors_section(s),
        *_failed_section(s, failed),
        *_moved_section(s, failed),
        *_rates_table(s),
        *_cascade_section(s),
        *_gates_section(s.gates),
        *_FOOTER,
    ]
    return "\n".join(lines)
