"""Render a Report as Markdown."""

from __future__ import annotations

import re
from collections.abc import Sequence

from judge.analysis.report_data import (
    TIER_KEYS,
    CategoryRow,
    Example,
    HeadlineRow,
    ProviderRow,
    Report,
    fmt_cost,
    fmt_grade,
    fmt_kappa,
    fmt_pct,
    fmt_rate,
    fmt_rel,
)


def _cell(value: object) -> str:
    text = "" if value is None else str(value)
    return " ".join(text.replace("\\", "\\\\").replace("|", "\\|").split())


def table(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> list[str]:
    out = ["| " + " | ".join(_cell(h) for h in headers) + " |", "|" + "|".join("---" for _ in headers) + "|"]
    out += ["| " + " | ".join(_cell(v) for v in r) + " |" for r in rows]
    return out


def _fenced(text: str) -> list[str]:
    """Untrusted text in a code fence longer than any backtick run inside it."""
    longest = max((len(m) for m in re.findall(r"`+", text)), default=0)
    fence = "`" * max(3, longest + 1)
    return [fence + "text", text, fence]


def _category_table(rows: Sequence[CategoryRow], with_grade: bool) -> list[str]:
    headers = ["category", "target", "n", "violation (unsafe+adv.)", "over-deflection (safe)"]
    headers += ["grade", "rel."] if with_grade else []
    headers += ["errors", "blocked"]
    body = []
    for c in rows:
        r: list[object] = [c.category, c.target, c.n, fmt_rate(c.violation), fmt_rate(c.over_deflection)]
        r += [fmt_grade(c.grade), fmt_rel(c.grade)] if with_grade else []
        r += [c.errors, c.blocked]
        body.append(r)
    return table(headers, body)


def _example(e: Example) -> list[str]:
    tech = f", technique {e.technique}" if e.technique else ""
    conf = f", confidence {e.confidence:.2f}" if e.confidence is not None else ""
    out = [f"**{e.target}** · `{e.prompt_id}` · {e.taxonomy_path} · {e.intent}{tech} → tier **{e.tier}**{conf}", ""]
    out += [f"Prompt{' (truncated)' if e.prompt_truncated else ''}:", "", *_fenced(e.prompt), ""]
    out += [f"Response{' (truncated)' if e.response_truncated else ''}:", "", *_fenced(e.response), ""]
    if e.rationale:
        out += [f"Judge rationale{' (truncated)' if e.rationale_truncated else ''}:", "", *_fenced(e.rationale)]
        out.append("")
    return out


def _header(report: Report) -> list[str]:
    run = report.run
    return [
        f"# Safety report: run `{run.run_id}`",
        "",
        f"- Run: **{run.name}**, status {run.status}"
        + (f" ({run.status_reason})" if run.status_reason else "")
        + f", started {run.started_at or '—'}, finished {run.finished_at or '—'}",
        f"- Rubric version: `{run.rubric_version}`",
        f"- Numbers from judge: **{report.judge}** (the run's judges: {', '.join(report.judges)})",
        f"- Reference target for grades: **{report.reference_target}**",
        f"- Generated {report.generated_at} by {report.generated_by}",
        "",
        f"> {report.denominator_rule}",
        "",
    ]


def _headline_row(h: HeadlineRow) -> list[object]:
    return [
        h.target + (" (reference)" if h.is_reference else ""),
        fmt_rate(h.violation),
        fmt_rate(h.violation_unsafe),
        fmt_rate(h.violation_adversarial),
        fmt_rate(h.over_deflection),
        fmt_grade(h.grade),
        fmt_rel(h.grade),
        h.n,
        f"{h.errors} ({fmt_pct(h.error_rate)})",
        f"{h.blocked} ({fmt_pct(h.blocked_rate)})",
    ]


def _headline_section(report: Report) -> list[str]:
    headers = [
        "target",
        "violation (unsafe+adv.)",
        "violation (unsafe)",
        "violation (adversarial)",
        "over-deflection (safe)",
        "grade",
        "rel.",
        "n",
        "errors",
        "blocked",
    ]
    lines = ["## Headline", "", *table(headers, [_headline_row(h) for h in report.headline])]
    return [*lines, "", f"_{report.grade_rule}_"]


def _tiers_section(report: Report) -> list[str]:
    return [
        "",
        "## Tiers by intent",
        "",
        *table(
            ["target", "intent", "n", *TIER_KEYS],
            [[t.target, t.intent, t.n, *(t.counts[k] for k in TIER_KEYS)] for t in report.tiers],
        ),
    ]


def _categories_sections(report: Report) -> list[str]:
    lines: list[str] = []
    for level in report.category_levels:
        rows = [c for c in report.categories if c.level == level]
        title = "hazard (taxonomy level 1)" if level == "l1" else "topic (taxonomy level 2)"
        lines += ["", f"## Categories by {title}", "", *_category_table(rows, with_grade=level == "l1")]
    return lines


def _worst_categories_section(report: Report) -> list[str]:
    lines = ["", "## Worst categories", ""]
    if report.worst_categories:
        return lines + _category_table(report.worst_categories, with_grade=True)
    return [*lines, "No category has violations."]


def _worst_techniques_section(report: Report) -> list[str]:
    lines = ["", "## Worst adversarial techniques", ""]
    if report.worst_techniques:
        return lines + table(
            ["technique", "target", "violation", "errors"],
            [[t.technique, t.target, fmt_rate(t.violation), t.errors] for t in report.worst_techniques],
        )
    return [*lines, "No adversarial technique led to a violation."]


def _examples_sections(report: Report) -> list[str]:
    lines: list[str] = []
    for kind, title in (("violation", "Violating responses"), ("over_deflection", "Over-deflected safe prompts")):
        lines += ["", f"## Examples: {title.lower()}", ""]
        examples = [e for e in report.examples if e.kind == kind]
        if not examples:
            lines.append("None.")
        for e in examples:
            lines += _example(e)
    return lines


def _agreement_section(report: Report) -> list[str]:
    lines = ["", "## Judge agreement", ""]
    if report.agreement:
        return lines + table(
            ["judge A", "judge B", "n", "agree", "percent agreement", "Cohen's kappa"],
            [[a.judge_a, a.judge_b, a.n, a.agree, fmt_pct(a.percent), fmt_kappa(a.kappa)] for a in report.agreement],
        )
    return [*lines, "One judge graded this run: no agreement to report."]


def _abstention_section(report: Report) -> list[str]:
    if not report.unsure and not report.cascade_lines:
        return []
    lines = ["", "## Abstentions and cascade", ""]
    for target, n in sorted(report.unsure.items()):
        lines.append(f"- {_cell(target)}: {n} verdict(s) of {_cell(report.judge)} unsure (excluded from rates)")
    if report.cascade_lines:
        lines += ["", *_fenced("\n".join(report.cascade_lines))]
    return lines


def _provider_row(p: ProviderRow) -> list[object]:
    return [
        p.role,
        p.name,
        p.model,
        p.kind,
        p.calls,
        p.errors,
        p.blocked,
        p.prompt_tokens,
        p.completion_tokens,
        fmt_cost(p.cost_usd),
    ]


def _providers_section(report: Report) -> list[str]:
    headers = ["role", "name", "model", "provider", "calls", "errors", "blocked", "tokens in", "tokens out", "cost"]
    lines = ["", "## Providers, calls and cost", "", *table(headers, [_provider_row(p) for p in report.providers])]
    lines += ["", f"Total: {report.total_calls} calls, {fmt_cost(report.total_cost_usd)}."]
    if report.offline_providers:
        lines.append(f"Offline providers used: {', '.join(report.offline_providers)}.")
    return lines


def render_markdown(report: Report) -> str:
    lines = [
        *_header(report),
        *_headline_section(report),
        *_tiers_section(report),
        *_categories_sections(report),
        *_worst_categories_section(report),
        *_worst_techniques_section(report),
        *_examples_sections(report),
        *_agreement_section(report),
        *_abstention_section(report),
        *_providers_section(report),
    ]
    return "\n".join(lines) + "\n"
