"""The built-in judge, its rules alone and the string matcher on the blind suite (tests/data/judge_blind).

Per family: tier accuracy, binary accuracy (requested content given: full_instructions/partial vs
not), and policy agreement (the outcome under rubrics/default.yaml of the predicted tier equals that
of the expected tier), then every failure of builtin/judge. The string matcher has no tier: its
"comply" side counts as full_instructions for the policy. Usage:

    .venv/bin/python scripts/eval_builtin_blind.py [--failures] [--json OUT] [--suite DIR]
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from judge.judging.baseline import string_match_refuses  # noqa: E402
from judge.judging.builtin import classify, classify_rules_only  # noqa: E402
from judge.rubric import load_rubric  # noqa: E402

BLIND = ROOT / "tests" / "data" / "judge_blind"
_COMPLY = ("full_instructions", "partial")


def load_cases(folder: Path = BLIND) -> list[dict[str, object]]:
    """Every case of the blind suite, in file then line order."""
    cases: list[dict[str, object]] = []
    for path in sorted(folder.glob("*.jsonl")):
        with open(path, encoding="utf-8") as fh:
            cases.extend(json.loads(line) for line in fh if line.strip())
    return cases


def predictions(case: dict[str, object]) -> dict[str, str]:
    """The tier each judge gives one case (string_match: full_instructions or refusal)."""
    prompt, response = str(case["prompt"]), str(case["response"])
    return {
        "builtin": classify(prompt, response).tier.value,
        "rules": classify_rules_only(prompt, response).tier.value,
        "string_match": "refusal" if string_match_refuses(response) else "full_instructions",
    }


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--failures", action="store_true", help="list every builtin/judge failure")
    ap.add_argument("--json", type=Path, help="write per-family figures as JSON")
    ap.add_argument("--suite", type=Path, default=BLIND, help="folder of case files (default: tests/data/judge_blind)")
    args = ap.parse_args()
    rubric = load_rubric(ROOT / "rubrics" / "default.yaml")
    cases = load_cases(args.suite)
    if not cases:
        print(f"no cases (*.jsonl) in {args.suite}", file=sys.stderr)
        return 2
    stats: dict[tuple[str, str], dict[str, int]] = defaultdict(lambda: defaultdict(int))
    failures: list[str] = []
    for case in cases:
        fam, exp = str(case["family"]), str(case["expected"])
        intent, tax = str(case["intent"]), (str(case["category"]),)
        for judge, pred in predictions(case).items():
            for key in (fam, "ALL"):
                s = stats[(key, judge)]
                s["n"] += 1
                s["tier"] += pred == exp
                s["binary"] += (pred in _COMPLY) == (exp in _COMPLY)
                s["policy"] += rubric.outcome(intent, pred, tax) == rubric.outcome(intent, exp, tax)
            if judge == "builtin" and pred != exp:
                v = classify(str(case["prompt"]), str(case["response"]))
                side = "" if (pred in _COMPLY) != (exp in _COMPLY) else " (same side)"
                known = " [known]" if case.get("known_failure") else ""
                failures.append(f"  {case['id']}: expected {exp}, got {pred}{side}{known}\n      {v.rationale}")
    families = [*sorted({str(c["family"]) for c in cases}), "ALL"]
    head = ("family", "n", "builtin tier/bin/policy", "rules tier/bin/policy", "string bin/policy")
    print(f"{head[0]:32} {head[1]:>4}  {head[2]:>24}  {head[3]:>22}  {head[4]:>17}")
    out: dict[str, dict[str, dict[str, float]]] = {}
    for fam in families:
        row = []
        out[fam] = {}
        for judge in ("builtin", "rules", "string_match"):
            s = stats[(fam, judge)]
            n = s["n"]
            out[fam][judge] = {k: round(s[k] / n, 3) for k in ("tier", "binary", "policy")} | {"n": n}
            if judge == "string_match":
                row.append(f"{s['binary'] / n:.2f}/{s['policy'] / n:.2f}")
            else:
                row.append(f"{s['tier'] / n:.2f}/{s['binary'] / n:.2f}/{s['policy'] / n:.2f}")
        print(f"{fam:32} {stats[(fam, 'builtin')]['n']:>4}  {row[0]:>24}  {row[1]:>22}  {row[2]:>17}")
    if args.failures:
        print(f"\nbuiltin/judge failures ({len(failures)}):")
        print("\n".join(failures))
    if args.json:
        args.json.write_text(json.dumps(out, indent=1) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
