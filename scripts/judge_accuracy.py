"""Accuracy of any judge on a labeled JSONL set, through the same model boundary as `judge run`.

Each row needs `prompt` and `response`, and `tier_gold` and/or `binary_gold` (comply/refuse), as
in ../shared/datasets/ (see its README.md). The judge sees the prompt rendered with
rubrics/default.yaml exactly as in a run; the prompt's intent is the row's `prompt_intent` when it is
a valid intent, else "unsafe". Beside the judge, the string-matching refusal baseline
(`judge.judging.baseline.string_match_refuses`) is scored on the same rows.

Binary accuracy: full_instructions/partial → comply, refusal/safe_deflection → refuse. Tier accuracy
only over rows with a gold tier. A judge error is counted apart and never as a tier; the judge's
accuracies are over the rows it answered, and the baseline is scored on those same rows
(`baseline_binary_accuracy`) and on all rows (`baseline_binary_accuracy_all`).

    python scripts/judge_accuracy.py ../shared/datasets/chatgpt_refusals.jsonl
    python scripts/judge_accuracy.py FILE --judge openai/gpt-4o-mini --api-key-env OPENAI_API_KEY --limit 200
    python scripts/judge_accuracy.py FILE --json
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import time
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")

from pydantic import ValidationError  # noqa: E402

from judge.config import ModelSpec  # noqa: E402
from judge.errors import UserInputError  # noqa: E402
from judge.judging.baseline import string_match_refuses  # noqa: E402
from judge.judging.render import render_judge_messages  # noqa: E402
from judge.prompts.loader import iter_jsonl_objects, pydantic_error_to_user_error  # noqa: E402
from judge.prompts.model import Intent, PromptRow  # noqa: E402
from judge.providers.base import JudgeRequest, JudgeResult  # noqa: E402
from judge.providers.registry import resolve_judge  # noqa: E402
from judge.rubric import load_rubric  # noqa: E402
from judge.stats import cohen_kappa_from_matrix, confusion_matrix  # noqa: E402
from judge.tiers import TIERS  # noqa: E402

RUBRIC = ROOT / "rubrics" / "default.yaml"
BINARY = ("comply", "refuse")
INTENTS = {i.value for i in Intent}


def binary_of(tier: str) -> str:
    return "comply" if tier in ("full_instructions", "partial") else "refuse"


def load_rows(path: Path, limit: int | None) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    for lineno, obj in iter_jsonl_objects(path):
        for fld in ("prompt", "response"):
            if not isinstance(obj.get(fld), str):
                raise UserInputError("expected a string", file=path, line=lineno, field=fld)
        tier, binary = obj.get("tier_gold"), obj.get("binary_gold")
        if tier is not None and tier not in TIERS:
            raise UserInputError(f"unknown tier {tier!r}", file=path, line=lineno, field="tier_gold")
        if binary is not None and binary not in BINARY:
            raise UserInputError(
                f"expected comply or refuse, got {binary!r}", file=path, line=lineno, field="binary_gold"
            )
        if tier is None and binary is None:
            continue  # no usable label
        obj["_line"] = lineno
        rows.append(obj)
        if limit is not None and len(rows) >= limit:
            break
    return rows


def prompt_row(row: dict[str, Any]) -> PromptRow:
    intent = Intent(row["prompt_intent"]) if row.get("prompt_intent") in INTENTS else Intent.UNSAFE
    category = row.get("category")
    return PromptRow(
        id=str(row.get("id") or f"line-{row['_line']}")[:200],
        prompt=row["prompt"] if row["prompt"].strip() else "(no prompt)",
        taxonomy=(category if isinstance(category, str) and category.strip() else "uncategorized",),
        intent=intent,
    )


async def grade_all(spec: ModelSpec, rows: Sequence[dict[str, Any]]) -> list[JudgeResult]:
    judge = resolve_judge(spec)
    rubric = load_rubric(RUBRIC)

    async def one(row: dict[str, Any]) -> JudgeResult:
        prompt = prompt_row(row)
        messages = render_judge_messages(rubric, prompt, row["response"])
        return await judge.grade(JudgeRequest(prompt, row["response"], messages))

    return list(await asyncio.gather(*(one(r) for r in rows)))


def _acc(pairs: Sequence[tuple[str, str]]) -> float | None:
    return sum(1 for g, p in pairs if g == p) / len(pairs) if pairs else None


def score(rows: Sequence[dict[str, Any]], results: Sequence[JudgeResult]) -> dict[str, Any]:
    answered = [(r, res) for r, res in zip(rows, results, strict=True) if res.status == "ok" and res.tier]
    errors = Counter(res.error_kind or "error" for res in results if not (res.status == "ok" and res.tier))
    bin_pairs = [(r["binary_gold"], binary_of(str(res.tier))) for r, res in answered if r.get("binary_gold")]
    tier_pairs = [(r["tier_gold"], str(res.tier)) for r, res in answered if r.get("tier_gold")]
    allowed = [
        (str(res.tier) in (r.get("tier_gold_allowed") or [])) for r, res in answered if r.get("tier_gold_allowed")
    ]
    base_same = [
        (r["binary_gold"], "refuse" if string_match_refuses(r["response"]) else "comply")
        for r, _ in answered
        if r.get("binary_gold")
    ]
    base_all = [
        (r["binary_gold"], "refuse" if string_match_refuses(r["response"]) else "comply")
        for r in rows
        if r.get("binary_gold")
    ]
    bm = confusion_matrix([g for g, _ in bin_pairs], [p for _, p in bin_pairs], BINARY)
    tm = confusion_matrix([g for g, _ in tier_pairs], [p for _, p in tier_pairs], TIERS)
    base_m = confusion_matrix([g for g, _ in base_same], [p for _, p in base_same], BINARY)
    return {
        "n": len(rows),
        "answered": len(answered),
        "errors": sum(errors.values()),
        "error_kinds": dict(errors),
        "binary_n": len(bin_pairs),
        "binary_accuracy": _acc(bin_pairs),
        "binary_kappa": cohen_kappa_from_matrix(bm),
        "binary_confusion": {"labels": list(BINARY), "rows_gold_cols_judge": bm},
        "tier_n": len(tier_pairs),
        "tier_accuracy": _acc(tier_pairs),
        "tier_kappa": cohen_kappa_from_matrix(tm) if tier_pairs else None,
        "tier_confusion": {"labels": list(TIERS), "rows_gold_cols_judge": tm},
        "tier_allowed_n": len(allowed),
        "tier_allowed_accuracy": sum(allowed) / len(allowed) if allowed else None,
        "baseline_binary_accuracy": _acc(base_same),
        "baseline_binary_kappa": cohen_kappa_from_matrix(base_m),
        "baseline_binary_confusion": {"labels": list(BINARY), "rows_gold_cols_baseline": base_m},
        "baseline_binary_accuracy_all": _acc(base_all),
        "baseline_binary_n_all": len(base_all),
        "judge_tiers": dict(Counter(str(res.tier) for _, res in answered)),
    }


def _f(v: float | None) -> str:
    return "n/a" if v is None else f"{v:.3f}"


def _matrix(title: str, labels: Sequence[str], m: Sequence[Sequence[int]]) -> list[str]:
    width = max(len(x) for x in labels) + 2
    lines = [title, " " * width + "".join(f"{x:>{width}}" for x in labels)]
    lines += [f"{lab:<{width}}" + "".join(f"{v:>{width}}" for v in row) for lab, row in zip(labels, m, strict=True)]
    return lines


def render(report: dict[str, Any]) -> str:
    lines = [
        f"set: {report['file']}   judge: {report['judge']}   rows: {report['n']}   answered: {report['answered']}   "
        f"judge errors: {report['errors']} {report['error_kinds'] or ''}".rstrip(),
        "",
        f"{'':<28}{'judge':>10}{'baseline':>10}{'n':>8}",
        f"{'binary accuracy':<28}{_f(report['binary_accuracy']):>10}{_f(report['baseline_binary_accuracy']):>10}"
        f"{report['binary_n']:>8}",
        f"{'binary Cohen kappa':<28}{_f(report['binary_kappa']):>10}{_f(report['baseline_binary_kappa']):>10}"
        f"{report['binary_n']:>8}",
        f"{'tier accuracy':<28}{_f(report['tier_accuracy']):>10}{'-':>10}{report['tier_n']:>8}",
        f"{'tier Cohen kappa':<28}{_f(report['tier_kappa']):>10}{'-':>10}{report['tier_n']:>8}",
        f"{'tier within allowed set':<28}{_f(report['tier_allowed_accuracy']):>10}{'-':>10}"
        f"{report['tier_allowed_n']:>8}",
        f"(baseline on all {report['baseline_binary_n_all']} binary rows: "
        f"{_f(report['baseline_binary_accuracy_all'])})",
        "",
    ]
    lines += _matrix(
        "binary confusion, judge (rows gold, columns judge):",
        BINARY,
        report["binary_confusion"]["rows_gold_cols_judge"],
    )
    lines += [
        "",
        *_matrix(
            "binary confusion, baseline (rows gold, columns baseline):",
            BINARY,
            report["baseline_binary_confusion"]["rows_gold_cols_baseline"],
        ),
    ]
    if report["tier_n"]:
        lines += [
            "",
            *_matrix(
                "tier confusion (rows gold, columns judge):", TIERS, report["tier_confusion"]["rows_gold_cols_judge"]
            ),
        ]
    lines.append(f"\n{report['seconds']:.1f} s")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("file", type=Path, help="labeled JSONL (prompt, response, tier_gold and/or binary_gold)")
    ap.add_argument("--judge", default="builtin/judge", help="judge model (default: builtin/judge)")
    ap.add_argument("--api-base", default=None)
    ap.add_argument("--api-key-env", default=None, help="NAME of the variable holding the API key")
    ap.add_argument("--limit", type=int, default=None, help="only the first N labeled rows")
    ap.add_argument("--json", action="store_true", help="print one JSON object")
    args = ap.parse_args(argv)
    try:
        spec = ModelSpec(model=args.judge, api_base=args.api_base, api_key_env=args.api_key_env)
        if spec.api_key_env and not os.environ.get(spec.api_key_env):
            raise UserInputError(f"environment variable {spec.api_key_env} is not set", field="api-key-env")
        rows = load_rows(args.file, args.limit)
        t0 = time.perf_counter()
        results = asyncio.run(grade_all(spec, rows))
    except UserInputError as e:
        print(f"error: {e.one_line()}", file=sys.stderr)
        return 2
    except ValidationError as e:  # the judge's ModelSpec
        print(f"error: {pydantic_error_to_user_error(e, file='--judge').one_line()}", file=sys.stderr)
        return 2
    report = {"file": str(args.file), "judge": spec.model, **score(rows, results), "seconds": time.perf_counter() - t0}
    print(json.dumps(report, indent=1) if args.json else render(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
