"""`judge compare`: build the comparison report (one JSON-able dict) and render it as a table or Markdown."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import duckdb

from judge.compare.agreement import (
    OUTCOME_WEIGHT,
    by_group,
    disagreements,
    fleiss,
    judge_stats,
    load_run_verdicts,
    pairwise,
)
from judge.compare.ensemble import DEFAULT_MIN_VOTES, ENSEMBLE_NAME, add_ensemble
from judge.compare.gold import BINARY, gold_for_reference, match_gold, score_rater
from judge.tiers import TIERS


@dataclass
class CompareOptions:
    judges: list[str] | None = None
    rubric_versions: list[str] | None = None
    gold: str | None = None
    gold_parse: dict[str, Any] = field(default_factory=dict)
    ensemble: bool = True
    min_votes: int = DEFAULT_MIN_VOTES
    top: int = 10


def build_report(con: duckdb.DuckDBPyConnection, run_id: str, opts: CompareOptions) -> dict[str, Any]:
    rv = load_run_verdicts(con, run_id, judges=opts.judges, rubric_versions=opts.rubric_versions)
    real = [r.name for r in rv.raters]
    ensemble = None
    if opts.ensemble and len(real) >= max(opts.min_votes, 2):
        ensemble = add_ensemble(rv, real, opts.min_votes)
    report: dict[str, Any] = {
        "run_id": run_id,
        "rubric_version": rv.rubric_version,
        "rubric_versions": sorted({str(r.rubric_version) for r in rv.raters if r.rubric_version}),
        "tiers": list(TIERS),
        "items": len(rv.items),
        "judges": real,
        "judge_stats": [judge_stats(rv, r.name) for r in rv.raters],
        "pairs": pairwise(rv, real),
        "fleiss": fleiss(rv, real) if len(real) >= 2 else None,
        "by_l1": by_group(rv, real, "l1") if len(real) >= 2 else [],
        "by_intent": by_group(rv, real, "intent") if len(real) >= 2 else [],
        "ensemble": ensemble,
        "disagreements": disagreements(rv, real, opts.top),
        "gold": None,
        **_abstentions(con, run_id),
    }
    if opts.gold:
        name, labels = gold_for_reference(con, opts.gold, **opts.gold_parse)
        gold = match_gold(rv.items, labels)
        report["gold"] = {
            "label_set": name,
            "labels": len(labels),
            "matched": len(gold),
            "with_tier": sum(1 for g in gold.values() if g.tier),
            "scores": [score_rater(rv, r.name, gold) for r in rv.raters],
        }
    return report


def _abstentions(con: duckdb.DuckDBPyConnection, run_id: str) -> dict[str, Any]:
    """Unsure verdicts per judge and every cascade judge's decided-by / audit agreement / cost figures."""
    from judge.judging.cascade_stats import cascade_stats, unsure_counts

    unsure: dict[str, int] = {}
    for (_, judge), n in unsure_counts(con, run_id).items():
        unsure[judge] = unsure.get(judge, 0) + n
    return {"unsure": unsure, "cascades": [c.as_dict() for c in cascade_stats(con, run_id)]}


def _ci(rate: float | None, ci: Any) -> str:
    return "n/a" if rate is None or ci is None else f"{pct(rate)} [{pct(ci[0])}–{pct(ci[1])}]"


def _abstention_sections(report: dict[str, Any]) -> list[Section]:
    out = []
    if report.get("unsure"):
        rows = [[j, str(n)] for j, n in sorted(report["unsure"].items())]
        out.append(
            Section("Abstentions", ["judge", "unsure verdicts"], rows, "unsure verdicts are excluded from rates")
        )
    if report.get("cascades"):
        columns = ["cascade", "items", "decided by", "unsure", "audited", "tier agreement [95% CI]",
                   "binary agreement [95% CI]", "cost $", "all to last stage $", "saved $"]  # fmt: skip
        rows = [
            [
                c["judge"],
                num(c["n"]),
                ", ".join(f"{k}: {v}" for k, v in sorted(c["decided_by"].items())),
                num(c["unsure"]),
                num(c["audit_n"]),
                _ci(c["tier_agreement"], c["tier_agreement_ci"]),
                _ci(c["binary_agreement"], c["binary_agreement_ci"]),
                _cost(c["cost_usd"]),
                _cost(c["all_to_last_stage_usd"]),
                _cost(c["saved_usd"]),
            ]
            for c in report["cascades"]
        ]
        note = (
            "agreement: the deciding stage vs the next stage on audited items; "
            "saved: vs sending every item to the last stage"
        )
        out.append(Section("Cascade", columns, rows, note))
    return out


# --- rendering -------------------------------------------------------------------------------------
def num(v: Any, digits: int = 3) -> str:
    if v is None:
        return "n/a"
    if isinstance(v, float):
        return f"{v:.{digits}f}"
    return str(v)


def _cost(v: float | None) -> str:
    return "n/a" if v is None else f"{v:.2g}" if v else "0"


def pct(v: float | None) -> str:
    return "n/a" if v is None else f"{100 * v:.1f}%"


@dataclass
class Section:
    title: str
    columns: list[str]
    rows: list[list[str]]
    note: str = ""


def _judges_section(report: dict[str, Any]) -> Section:
    ens = report["ensemble"]
    columns = [
        "judge",
        "verdicts",
        "errors",
        "error rate",
        "latency ms",
        "tokens/verdict",
        "cost/verdict $",
        "calls/verdict",
    ]
    rows = [
        [
            s["judge"],
            num(s["verdicts"]),
            num(s["errors"]),
            pct(s["error_rate"]),
            num(s["mean_latency_ms"], 1),
            num(s["tokens_per_verdict"], 1),
            _cost(s["cost_per_verdict_usd"]),
            num(s["calls_per_verdict"], 2),
        ]
        for s in report["judge_stats"]
    ]
    note = f"{report['items']} answered responses; rubric version(s) {', '.join(report['rubric_versions']) or 'n/a'}"
    if ens:
        note += (
            f". {ENSEMBLE_NAME}: errors = unscored items (fewer than {ens['min_votes']} valid votes); "
            f"{ens['ties']} tie(s) went to the most severe tier"
        )
    return Section("Judges", columns, rows, note)


def _tiers_section(report: dict[str, Any]) -> Section:
    return Section(
        "Tiers per judge",
        ["judge", *TIERS],
        [[s["judge"], *[str(s["tiers"][t]) for t in TIERS]] for s in report["judge_stats"]],
    )


def _pairwise_section(report: dict[str, Any]) -> Section:
    if len(report["judges"]) < 2:
        return Section(
            "Pairwise agreement",
            ["note"],
            [["this run has one judge: add another with `judge regrade RUN --judge MODEL`"]],
        )
    return Section(
        "Pairwise agreement",
        ["judge A", "judge B", "n", "agreement", "Cohen's κ", "outcome agreement"],
        [
            [p["a"], p["b"], num(p["n"]), pct(p["agreement"]), num(p["cohen_kappa"]), pct(p["outcome_agreement"])]
            for p in report["pairs"]
        ],
        "agreement = same tier; Cohen's κ = agreement beyond chance (1 perfect, 0 chance level, < 0 worse); "
        "outcome agreement = same policy outcome. Agreement is not accuracy: two judges can agree and both "
        "be wrong; compare with people's labels (--gold) for accuracy",
    )


def _fleiss_sections(report: dict[str, Any]) -> list[Section]:
    f = report["fleiss"]
    if not f:
        return []
    return [
        Section(
            "All judges",
            ["judges", "items graded by all", "Fleiss' κ", "unanimous"],
            [[str(len(report["judges"])), num(f["n"]), num(f["fleiss_kappa"]), pct(f["unanimous"])]],
        )
    ]


def _confusion(title: str, labels: Sequence[str], matrix: list[list[int]]) -> Section:
    """A square confusion matrix, one row per label."""
    return Section(title, ["", *labels], [[t, *[str(v) for v in row]] for t, row in zip(labels, matrix, strict=True)])


def _pair_confusion_sections(report: dict[str, Any]) -> list[Section]:
    return [
        _confusion(f"Confusion: {p['a']} (rows) × {p['b']} (columns)", TIERS, p["confusion"]) for p in report["pairs"]
    ]


def _group_sections(report: dict[str, Any]) -> list[Section]:
    out = []
    for key, title in (("by_l1", "Agreement by category (l1)"), ("by_intent", "Agreement by intent")):
        col = key.removeprefix("by_")
        if report[key]:
            out.append(
                Section(
                    title,
                    [col, "items graded by all", "unanimous", "Fleiss' κ"],
                    [[g[col], num(g["n"]), pct(g["unanimous"]), num(g["fleiss_kappa"])] for g in report[key]],
                )
            )
    return out


def _gold_summary_section(gold: dict[str, Any]) -> Section:
    columns = [
        "judge",
        "judged",
        "errors",
        "tier acc",
        "tier κ",
        "binary acc",
        "binary κ",
        "outcome acc",
        "missed violations",
        "false violations",
    ]
    rows = [
        [
            s["judge"],
            num(s["judged"]),
            num(s["errors"]),
            pct(s["tier_accuracy"]),
            num(s["tier_kappa"]),
            pct(s["binary_accuracy"]),
            num(s["binary_kappa"]),
            pct(s["outcome_accuracy"]),
            num(s["missed_violations"]),
            num(s["false_violations"]),
        ]
        for s in gold["scores"]
    ]
    note = (
        f"{gold['labels']} labels, {gold['matched']} matched to this run's responses "
        f"({gold['with_tier']} with a tier); errors are not counted in accuracies. "
        "How to read: tier acc = share of labelled answers where the judge's tier is the gold tier; "
        "outcome acc = the same for the policy outcome (acceptable / violation / over-deflection), the "
        "figure that decides grades; κ corrects agreement for chance (1 perfect, 0 chance level); missed "
        "violations = gold says violation, the judge does not. Gold labels that the judge was built or "
        "tuned on overstate its accuracy: only labels it never saw tell how it does on new answers"
    )
    return Section(f"Against gold labels ({gold['label_set']})", columns, rows, note)


def _gold_judge_sections(s: dict[str, Any]) -> list[Section]:
    """One judge against gold: per-tier precision/recall and the tier confusion, else the binary confusion."""
    if s["tier_n"]:
        per_tier = Section(
            f"Per tier vs gold: {s['judge']}",
            ["tier", "precision", "recall", "F1", "gold n", "predicted n"],
            [
                [t, num(v["precision"]), num(v["recall"]), num(v["f1"]), str(v["support"]), str(v["predicted"])]
                for t, v in s["per_tier"].items()
            ],
        )
        return [per_tier, _confusion(f"Confusion: gold (rows) × {s['judge']} (columns)", TIERS, s["tier_confusion"])]
    if s["binary_n"]:
        title = f"Confusion: gold binary (rows) × {s['judge']} (columns)"
        return [_confusion(title, BINARY, s["binary_confusion"])]
    return []


def _gold_sections(report: dict[str, Any]) -> list[Section]:
    gold = report["gold"]
    if not gold:
        return []
    out = [_gold_summary_section(gold)]
    for s in gold["scores"]:
        out += _gold_judge_sections(s)
    return out


def _disagreements_sections(report: dict[str, Any]) -> list[Section]:
    if not report["disagreements"]:
        return []
    judges = report["judges"]
    rows = [
        [
            str(d["severity"]),
            d["response_id"],
            d["prompt_id"],
            d["intent"],
            *[str(d["tiers"].get(j) or "error/none") for j in judges],
        ]
        for d in report["disagreements"]
    ]
    note = (
        f"severity = {OUTCOME_WEIGHT} if the policy outcome flips + the gap in compliance rank "
        "(full_instructions 3, partial 2, safe_deflection 1, refusal 0); read one with "
        "`judge sql \"select * from verdicts_flat where response_id = '…'\"`"
    )
    return [Section("Worst disagreements", ["severity", "response_id", "prompt_id", "intent", *judges], rows, note)]


def sections(report: dict[str, Any]) -> list[Section]:
    return [
        _judges_section(report),
        _tiers_section(report),
        _pairwise_section(report),
        *_fleiss_sections(report),
        *_pair_confusion_sections(report),
        *_group_sections(report),
        *_gold_sections(report),
        *_disagreements_sections(report),
        *_abstention_sections(report),
    ]


def render_markdown(report: dict[str, Any]) -> str:
    lines = [f"# Judge comparison: run `{report['run_id']}`", ""]
    for s in sections(report):
        lines += [f"## {s.title}", ""]
        if s.note:
            lines += [s.note, ""]
        lines.append("| " + " | ".join(c or " " for c in s.columns) + " |")
        lines.append("|" + "|".join(" --- " for _ in s.columns) + "|")
        lines += ["| " + " | ".join(_md(c) for c in row) + " |" for row in s.rows]
        lines.append("")
    return "\n".join(lines)


def _md(cell: str) -> str:
    return cell.replace("|", "\\|")


def render_json(report: dict[str, Any]) -> str:
    return json.dumps(report, indent=1, ensure_ascii=False, default=str)
