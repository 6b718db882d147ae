"""Render a Report as one self-contained HTML file: inline CSS and SVG, no scripts, no network.

Every string from the store (prompts, responses, rationales, names) is escaped with html.escape;
a Content-Security-Policy forbids scripts and remote loads as a second line of defence.
"""

from __future__ import annotations

from collections.abc import Sequence
from html import escape

from judge.analysis.grades import Grade
from judge.analysis.metrics import Rate
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
from judge.analysis.svg_charts import TIER_LABELS, Bar, Cell, heatmap, stacked_tier_bars

CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:"
CSS = """
body{font-family:system-ui,-apple-system,'Segoe UI',Roboto,Arial,sans-serif;margin:24px auto;max-width:1320px;
     color:#222;line-height:1.4;padding:0 16px}
h1{font-size:24px;margin-bottom:4px} h2{font-size:19px;margin-top:32px;border-bottom:1px solid #ddd;padding-bottom:4px}
table{border-collapse:collapse;margin:8px 0;font-size:13px}
th,td{border:1px solid #ddd;padding:4px 8px;text-align:right;vertical-align:top}
th{background:#f3f3f3} td.l,th.l{text-align:left}
.meta{color:#555;font-size:13px} .meta code{font-size:12px}
.rule{background:#f7f7f7;border-left:4px solid #999;padding:6px 10px;font-size:13px;color:#333}
.ci{color:#666;font-size:11px} .k{color:#888;font-size:11px}
.grade{display:inline-block;padding:1px 7px;border-radius:9px;font-weight:600;font-size:12px}
.g-Excellent{background:#1a9850;color:#fff} .g-VeryGood{background:#91cf60} .g-Good{background:#d9ef8b}
.g-Fair{background:#fdae61} .g-Poor{background:#d73027;color:#fff} .g-na{background:#e0e0e0}
.charts{display:flex;flex-direction:column;gap:24px;margin-top:12px}
.example{border:1px solid #ddd;border-radius:6px;padding:8px 12px;margin:10px 0}
.example pre{white-space:pre-wrap;word-break:break-word;background:#fafafa;border:1px solid #eee;padding:6px;
             margin:4px 0 8px;font-size:12px}
.trunc{color:#a50f15;font-size:11px;font-weight:600} .example b{font-size:13px}
.err{color:#b2182b;font-weight:600}
"""


def _td(value: object, *, left: bool = False, raw: bool = False) -> str:
    text = str(value) if raw else escape("" if value is None else str(value))
    return f'<td class="l">{text}</td>' if left else f"<td>{text}</td>"


def _table(headers: Sequence[str], rows: Sequence[str], left: int = 1) -> str:
    head = "".join(
        f'<th class="l">{escape(h)}</th>' if i < left else f"<th>{escape(h)}</th>" for i, h in enumerate(headers)
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>"


def _rate(rate: Rate) -> str:
    """The shared text 'x% [lo–hi] (k/n)', split into styled spans (same characters)."""
    text = fmt_rate(rate)
    main, _, rest = text.partition(" ")
    if rest.startswith("["):
        ci, _, kn = rest.partition(" ")
        return f'{escape(main)} <span class="ci">{escape(ci)}</span> <span class="k">{escape(kn)}</span>'
    return f'{escape(main)} <span class="k">{escape(rest)}</span>'


def _grade(grade: Grade | None) -> str:
    label = fmt_grade(grade)
    css = "g-" + (label.replace(" ", "") if label != "n/a" else "na")
    note = grade.note if grade is not None else None
    title = f' title="{escape(note)}"' if note else ""
    return f'<span class="grade {css}"{title}>{escape(label)}</span>'


def _category_table(rows: Sequence[CategoryRow], with_grade: bool) -> str:
    headers = ["category", "target", "n", "violation (unsafe+adv.)", "over-deflection (safe)"]
    headers += ["grade", "rel."] if with_grade else []
    headers += ["errors", "blocked"]
    body = []
    for c in rows:
        cells = [
            _td(c.category, left=True),
            _td(c.target, left=True),
            _td(c.n),
            _td(_rate(c.violation), raw=True),
            _td(_rate(c.over_deflection), raw=True),
        ]
        if with_grade:
            cells += [_td(_grade(c.grade), raw=True), _td(fmt_rel(c.grade))]
        cells += [_td(c.errors), _td(c.blocked)]
        body.append("<tr>" + "".join(cells) + "</tr>")
    return _table(headers, body, left=2)


def _example(e: Example) -> str:
    def block(label: str, text: str, truncated: bool) -> str:
        mark = ' <span class="trunc">(truncated)</span>' if truncated else ""
        return f"<div><b>{escape(label)}</b>{mark}<pre>{escape(text)}</pre></div>"

    tech = f" · technique {escape(e.technique)}" if e.technique else ""
    conf = f" · confidence {e.confidence:.2f}" if e.confidence is not None else ""
    parts = [
        f'<div class="example"><div><b>{escape(e.target)}</b> · <code>{escape(e.prompt_id)}</code> · '
        f"{escape(e.taxonomy_path)} · {escape(e.intent)}{tech} → tier <b>{escape(e.tier)}</b>{conf}</div>",
        block("Prompt", e.prompt, e.prompt_truncated),
        block("Response", e.response, e.response_truncated),
    ]
    if e.rationale:
        parts.append(block("Judge rationale", e.rationale, e.rationale_truncated))
    parts.append("</div>")
    return "".join(parts)


def tier_chart(report: Report) -> str:
    bars = [Bar(f"{t.target} · {t.intent}", t.counts) for t in report.tiers]
    return stacked_tier_bars(bars, title=f"Tiers by target and intent (judge: {report.judge})")


def heatmap_chart(report: Report) -> str:
    rows = sorted({c.category for c in report.categories if c.level == "l1"})
    cells = {
        (c.category, c.target): Cell(c.violation.rate, c.violation.k, c.violation.n)
        for c in report.categories
        if c.level == "l1"
    }
    return heatmap(
        rows, report.targets, cells, title="Violation rate on unsafe + adversarial prompts, by hazard (l1) and target"
    )


def _page_head(report: Report) -> list[str]:
    run = report.run
    return [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f'<meta http-equiv="Content-Security-Policy" content="{CSP}">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>Safety report: {escape(run.run_id)}</title>",
        f"<style>{CSS}</style></head><body>",
        f"<h1>Safety report: run <code>{escape(run.run_id)}</code></h1>",
        '<div class="meta">',
        f"Run <b>{escape(run.name)}</b>, status {escape(run.status)}"
        + (f" ({escape(run.status_reason)})" if run.status_reason else "")
        + f", started {escape(run.started_at or '—')}, finished {escape(run.finished_at or '—')}<br>",
        f"Rubric version <code>{escape(str(run.rubric_version))}</code><br>",
        f"Numbers from judge: <b>{escape(report.judge)}</b> (the run's judges: {escape(', '.join(report.judges))})<br>",
        f"Reference target for grades: <b>{escape(report.reference_target)}</b><br>",
        f"Generated {escape(report.generated_at)} by {escape(report.generated_by)}",
        "</div>",
        f'<p class="rule">{escape(report.denominator_rule)}</p>',
    ]


def _headline_row(r: HeadlineRow) -> str:
    name = escape(r.target) + (' <span class="k">(reference)</span>' if r.is_reference else "")
    err_cls = ' class="err"' if r.errors else ""
    return (
        "<tr>"
        + _td(name, left=True, raw=True)
        + _td(_rate(r.violation), raw=True)
        + _td(_rate(r.violation_unsafe), raw=True)
        + _td(_rate(r.violation_adversarial), raw=True)
        + _td(_rate(r.over_deflection), raw=True)
        + _td(_grade(r.grade), raw=True)
        + _td(fmt_rel(r.grade))
        + _td(r.n)
        + f"<td{err_cls}>{r.errors} ({escape(fmt_pct(r.error_rate))})</td>"
        + _td(f"{r.blocked} ({fmt_pct(r.blocked_rate)})")
        + "</tr>"
    )


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
    return [
        "<h2>Headline</h2>",
        _table(headers, [_headline_row(r) for r in report.headline]),
        f'<p class="rule">{escape(report.grade_rule)}</p>',
    ]


def _charts_section(report: Report) -> list[str]:
    return [
        "<h2>Charts</h2>",
        '<div class="charts">',
        tier_chart(report),
        '<p class="meta">Colours show tiers, not outcomes: on safe prompts full instructions and partial answers '
        "are the acceptable ones.</p>",
        heatmap_chart(report),
        "</div>",
    ]


def _tiers_section(report: Report) -> list[str]:
    rows = [
        "<tr>"
        + _td(t.target, left=True)
        + _td(t.intent, left=True)
        + _td(t.n)
        + "".join(_td(t.counts[k]) for k in TIER_KEYS)
        + "</tr>"
        for t in report.tiers
    ]
    return [
        "<h2>Tiers by intent</h2>",
        _table(["target", "intent", "n", *(TIER_LABELS[k] for k in TIER_KEYS)], rows, left=2),
    ]


def _categories_sections(report: Report) -> list[str]:
    h: list[str] = []
    for level in report.category_levels:
        title = "hazard (taxonomy level 1)" if level == "l1" else "topic (taxonomy level 2)"
        h.append(f"<h2>Categories by {escape(title)}</h2>")
        h.append(_category_table([c for c in report.categories if c.level == level], with_grade=level == "l1"))
    return h


def _worst_categories_section(report: Report) -> list[str]:
    return [
        "<h2>Worst categories</h2>",
        _category_table(report.worst_categories, with_grade=True)
        if report.worst_categories
        else "<p>No category has violations.</p>",
    ]


def _worst_techniques_section(report: Report) -> list[str]:
    if not report.worst_techniques:
        return ["<h2>Worst adversarial techniques</h2>", "<p>No adversarial technique led to a violation.</p>"]
    rows = [
        "<tr>"
        + _td(t.technique, left=True)
        + _td(t.target, left=True)
        + _td(_rate(t.violation), raw=True)
        + _td(t.errors)
        + "</tr>"
        for t in report.worst_techniques
    ]
    return [
        "<h2>Worst adversarial techniques</h2>",
        _table(["technique", "target", "violation", "errors"], rows, left=2),
    ]


def _examples_sections(report: Report) -> list[str]:
    h: list[str] = []
    for kind, title in (("violation", "Violating responses"), ("over_deflection", "Over-deflected safe prompts")):
        h.append(f"<h2>Examples: {escape(title.lower())}</h2>")
        examples = [e for e in report.examples if e.kind == kind]
        h.append("".join(_example(e) for e in examples) if examples else "<p>None.</p>")
    return h


def _agreement_section(report: Report) -> list[str]:
    if not report.agreement:
        return ["<h2>Judge agreement</h2>", "<p>One judge graded this run: no agreement to report.</p>"]
    rows = [
        "<tr>"
        + _td(a.judge_a, left=True)
        + _td(a.judge_b, left=True)
        + _td(a.n)
        + _td(a.agree)
        + _td(fmt_pct(a.percent))
        + _td(fmt_kappa(a.kappa))
        + "</tr>"
        for a in report.agreement
    ]
    headers = ["judge A", "judge B", "n", "agree", "percent agreement", "Cohen's kappa"]
    return ["<h2>Judge agreement</h2>", _table(headers, rows, left=2)]


def _provider_row(p: ProviderRow) -> str:
    return (
        "<tr>"
        + _td(p.role, left=True)
        + _td(p.name, left=True)
        + _td(p.model, left=True)
        + _td(p.kind, left=True)
        + _td(p.calls)
        + _td(p.errors)
        + _td(p.blocked)
        + _td(p.prompt_tokens)
        + _td(p.completion_tokens)
        + _td(fmt_cost(p.cost_usd))
        + "</tr>"
    )


def _abstention_section(report: Report) -> list[str]:
    if not report.unsure and not report.cascade_lines:
        return []
    h = ["<h2>Abstentions and cascade</h2>", "<ul>"]
    h += [
        f"<li>{escape(t)}: {n} verdict(s) of {escape(report.judge)} unsure (excluded from rates)</li>"
        for t, n in sorted(report.unsure.items())
    ]
    h.append("</ul>")
    if report.cascade_lines:
        h.append("<pre>" + escape("\n".join(report.cascade_lines)) + "</pre>")
    return h


def _providers_section(report: Report) -> list[str]:
    headers = ["role", "name", "model", "provider", "calls", "errors", "blocked", "tokens in", "tokens out", "cost"]
    h = [
        "<h2>Providers, calls and cost</h2>",
        _table(headers, [_provider_row(p) for p in report.providers], left=4),
        f"<p>Total: {report.total_calls} calls, {escape(fmt_cost(report.total_cost_usd))}.",
    ]
    if report.offline_providers:
        h.append(f" Offline providers used: {escape(', '.join(report.offline_providers))}.")
    return h


def render_html(report: Report) -> str:
    h = [
        *_page_head(report),
        *_headline_section(report),
        *_charts_section(report),
        *_tiers_section(report),
        *_categories_sections(report),
        *_worst_categories_section(report),
        *_worst_techniques_section(report),
        *_examples_sections(report),
        *_agreement_section(report),
        *_abstention_section(report),
        *_providers_section(report),
        "</p></body></html>",
    ]
    return "\n".join(h) + "\n"
