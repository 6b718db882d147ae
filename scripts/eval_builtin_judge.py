"""Evaluate the built-in judge without flattering it: cross-source only, every shared set a test set once.

For each labelled set T (chatgpt_refusals, gptfuzz_labeled, harmbench_val), the learned model is
re-trained from scratch on the *other* sets (+ synthetic pairs), and its confidence calibrator is fitted
on cross-source predictions among those other sets (each predicted by a model trained without it) —
T is never seen by the model, the calibrator, or the thresholds. Scored beside the rules-only judge
and the string-matching baseline: binary accuracy and kappa, tier accuracy where T has tiers, the
selective-accuracy curve (accuracy on the most confident X % of T) and the calibration error (ECE).

    python scripts/eval_builtin_judge.py            # tables + typical errors
    python scripts/eval_builtin_judge.py --json     # machine-readable
    python scripts/eval_builtin_judge.py --demo     # agreement with the demo recordings' intended tiers

The rules themselves were written while reading errors of all three sets: no figure here is a
strictly unseen-data figure for the rule layer (docs/judges.md says how to read them).
"""

from __future__ import annotations

import argparse
import json
import random
import sys
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from train_builtin_judge import (
    DEFAULT_DATA,
    SEED,
    SET_FILES,
    FeaturisedSets,
    Row,
    featurise_sets,
    fit_calibrated,
    load_set,
    synthetic_rows,
)

from judge.judging.baseline import string_match_refuses
from judge.judging.builtin import BuiltinVerdict, classify, classify_rules_only, classify_with_model
from judge.judging.selective import at_coverages, coverage_curve
from judge.stats import cohen_kappa, fmt_stat
from judge.tiers import Tier

BINARY = {
    Tier.FULL_INSTRUCTIONS: "comply",
    Tier.PARTIAL: "comply",
    Tier.REFUSAL: "refuse",
    Tier.SAFE_DEFLECTION: "refuse",
}
TIERS = tuple(Tier)


def kappa(gold: Sequence[str], pred: Sequence[str]) -> float | None:
    """Cohen's κ from judge.stats (None when undefined: no items, or one single label throughout)."""
    return cohen_kappa(gold, pred)


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 4)


def per_class(gold: Sequence[str], pred: Sequence[str]) -> dict[str, dict[str, float]]:
    out: dict[str, dict[str, float]] = {}
    for c in sorted(set(gold) | set(pred)):
        tp = sum(g == c and p == c for g, p in zip(gold, pred, strict=True))
        n_pred = sum(p == c for p in pred)
        n_gold = sum(g == c for g in gold)
        out[c] = {
            "precision": round(tp / n_pred, 3) if n_pred else 0.0,
            "recall": round(tp / n_gold, 3) if n_gold else 0.0,
            "support": n_gold,
        }
    return out


@dataclass
class Scores:
    binary_acc: float
    binary_kappa: float | None
    n_binary: int
    tier_acc: float | None = None
    tier_kappa: float | None = None
    n_tier: int = 0
    per_tier: dict[str, dict[str, float]] = field(default_factory=dict)
    selective: dict[str, float] = field(default_factory=dict)  # coverage -> accuracy on the most confident
    ece: float | None = None


COVERAGES = (1.0, 0.9, 0.8, 0.7, 0.6, 0.5, 0.4, 0.3)


def selective(rows: Sequence[Row], verdicts: Sequence[BuiltinVerdict]) -> tuple[dict[str, float], float]:
    """Accuracy on the most confident share of the binary-labelled rows, and the expected calibration error."""
    pairs = [(v.confidence, BINARY[v.tier] == r.binary) for r, v in zip(rows, verdicts, strict=True) if r.binary]
    points = coverage_curve([c for c, _ in pairs], [ok for _, ok in pairs])
    curve = {
        f"{c:.2f}": round(p.agreement or 0.0, 4)
        for c, p in zip(COVERAGES, at_coverages(points, COVERAGES), strict=True)
    }
    bins: dict[int, list[tuple[float, bool]]] = {}
    for c, ok in pairs:
        bins.setdefault(min(int(c * 10), 9), []).append((c, ok))
    ece = sum(abs(sum(c for c, _ in b) / len(b) - sum(ok for _, ok in b) / len(b)) * len(b) for b in bins.values())
    return curve, round(ece / len(pairs), 4)


def score(rows: Sequence[Row], tiers: Sequence[Tier]) -> Scores:
    pairs = [(r.binary, BINARY[t]) for r, t in zip(rows, tiers, strict=True) if r.binary]
    gold_b, pred_b = [g for g, _ in pairs], [p for _, p in pairs]
    acc = sum(g == p for g, p in pairs) / len(pairs)
    s = Scores(round(acc, 4), _round(kappa(gold_b, pred_b)), len(pairs))
    tpairs = [(r.tier.value, t.value) for r, t in zip(rows, tiers, strict=True) if r.tier]
    if tpairs:
        gold_t, pred_t = [g for g, _ in tpairs], [p for _, p in tpairs]
        s.tier_acc = round(sum(g == p for g, p in tpairs) / len(tpairs), 4)
        s.tier_kappa = _round(kappa(gold_t, pred_t))
        s.n_tier = len(tpairs)
        s.per_tier = per_class(gold_t, pred_t)
    return s


def baseline_tier(r: Row) -> Tier:
    return Tier.REFUSAL if string_match_refuses(r.response) else Tier.FULL_INSTRUCTIONS


@dataclass
class SplitResult:
    name: str
    train: str
    test: str
    scores: dict[str, Scores]
    errors: list[dict[str, object]]


def run_split(data: FeaturisedSets, test_set: str, n_errors: int) -> SplitResult:
    """Train + calibrate on every other shared set (+ synthetic), test on `test_set`."""
    train_sets = [n for n in SET_FILES if n != test_set and n in data]
    model = fit_calibrated(data, train_sets)
    test = data[test_set][0]
    verdicts = [classify_with_model(model, r.prompt, r.response) for r in test]
    rule_verdicts = [classify_rules_only(r.prompt, r.response) for r in test]
    scores = {
        "builtin": score(test, [v.tier for v in verdicts]),
        "rules_only": score(test, [v.tier for v in rule_verdicts]),
        "string_match": score(test, [baseline_tier(r) for r in test]),
    }
    scores["builtin"].selective, scores["builtin"].ece = selective(test, verdicts)
    scores["rules_only"].selective, scores["rules_only"].ece = selective(test, rule_verdicts)
    name = f"cross: {'+'.join(train_sets)} -> {test_set}"
    return SplitResult(name, "+".join([*train_sets, "synthetic"]), test_set, scores,
                       typical_errors(test, verdicts, n_errors))  # fmt: skip


def typical_errors(rows: Sequence[Row], verdicts: Sequence[BuiltinVerdict], n: int) -> list[dict[str, object]]:
    """A seeded sample of binary errors (for writing up failure modes; excerpts are not stored)."""
    wrong = [(r, v) for r, v in zip(rows, verdicts, strict=True) if r.binary and BINARY[v.tier] != r.binary]
    random.Random(SEED).shuffle(wrong)
    return [
        {
            "id": r.id,
            "gold": r.tier.value if r.tier else r.binary,
            "pred": v.tier.value,
            "confidence": v.confidence,
            "cues": list(v.cues),
            "excerpt": " ".join(r.response.split())[:240],
        }
        for r, v in wrong[:n]
    ]


def load_data(data_dir: Path) -> FeaturisedSets:
    sets = {name: [r for r in load_set(name, data_dir) if r.binary] for name in SET_FILES}
    sets["synthetic"] = synthetic_rows()
    return featurise_sets(sets)


def _fmt(x: float | None) -> str:
    return "  -  " if x is None else f"{x:.3f}"


def print_table(results: Sequence[SplitResult], show: Callable[[str], None] = print) -> None:
    show(f"{'split':40} {'judge':13} {'bin acc':>7} {'kappa':>6} {'tier acc':>8} {'t-kappa':>7} {'ECE':>6}  n")
    for res in results:
        for judge, s in res.scores.items():
            show(
                f"{res.name:40} {judge:13} {_fmt(s.binary_acc):>7} {_fmt(s.binary_kappa):>6} "
                f"{_fmt(s.tier_acc):>8} {_fmt(s.tier_kappa):>7} {_fmt(s.ece):>6}  {s.n_binary}"
            )
    show("\nselective binary accuracy (accuracy on the most confident share of the test set):")
    show(f"{'split':40} {'judge':13} " + " ".join(f"{c:>6.0%}" for c in COVERAGES))
    for res in results:
        for judge in ("builtin", "rules_only"):
            sel = res.scores[judge].selective
            show(f"{res.name:40} {judge:13} " + " ".join(f"{sel.get(f'{c:.2f}', 0):>6.3f}" for c in COVERAGES))
    for res in results:
        per = res.scores["builtin"].per_tier
        if per:
            show(f"\nper-tier precision/recall, builtin, {res.name}:")
            for tier, d in per.items():
                show(f"  {tier:18} P={d['precision']:.3f} R={d['recall']:.3f} n={d['support']}")


PROJECT = Path(__file__).resolve().parents[1]
DEMO_FILES = ("prompts/recorded/model_a.jsonl", "prompts/recorded/model_b.jsonl")


def _prompt_text(d: dict[str, object]) -> str:
    if isinstance(d.get("prompt"), str):
        return str(d["prompt"])
    turns = [m for m in d.get("messages") or [] if isinstance(m, dict) and m.get("role") == "user"]  # type: ignore[union-attr]
    return str(turns[-1]["content"]) if turns else ""


def demo_rows(root: Path = PROJECT) -> list[tuple[str, str, str, Tier]]:
    """(file, prompt, response, intended tier) of every non-blocked recorded demo reply."""
    with open(root / "prompts" / "sample.jsonl", encoding="utf-8") as fh:
        prompts = {d["id"]: _prompt_text(d) for d in map(json.loads, fh)}
    rows: list[tuple[str, str, str, Tier]] = []
    for rel in DEMO_FILES:
        with open(root / rel, encoding="utf-8") as fh:
            for d in map(json.loads, fh):
                if d.get("blocked") or "label" not in d:
                    continue
                rows.append((Path(rel).stem, prompts.get(d["id"], ""), d["response"], Tier(d["label"])))
    return rows


def demo_report(classify_fn: Callable[[str, str], BuiltinVerdict], name: str) -> dict[str, object]:
    rows = demo_rows()
    preds = [classify_fn(p, r).tier for _, p, r, _ in rows]
    gold = [t for *_, t in rows]
    confusion = Counter((g.value, p.value) for g, p in zip(gold, preds, strict=True))
    n = len(rows)
    return {
        "judge": name,
        "n": n,
        "tier_agreement": round(sum(g == p for g, p in zip(gold, preds, strict=True)) / n, 4),
        "binary_agreement": round(sum(BINARY[g] == BINARY[p] for g, p in zip(gold, preds, strict=True)) / n, 4),
        "tier_kappa": _round(kappa([g.value for g in gold], [p.value for p in preds])),
        "confusion": {f"{g}->{p}": c for (g, p), c in sorted(confusion.items())},
        "_matrix": confusion,
    }


def print_demo(reports: Sequence[dict[str, object]]) -> None:
    for rep in reports:
        print(f"demo recordings, {rep['judge']}: n={rep['n']} tier agreement={rep['tier_agreement']:.3f} "
              f"binary agreement={rep['binary_agreement']:.3f} tier kappa={fmt_stat(rep['tier_kappa'])}")  # fmt: skip
        matrix = rep["_matrix"]
        assert isinstance(matrix, Counter)
        print("  " + "gold / predicted".ljust(20) + "".join(f"{t.value[:10]:>12}" for t in TIERS))
        for g in TIERS:
            print(f"  {g.value:20}" + "".join(f"{matrix[(g.value, p.value)]:>12}" for p in TIERS))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--data", type=Path, default=DEFAULT_DATA)
    ap.add_argument("--json", action="store_true", help="print results as JSON")
    ap.add_argument("--errors", type=int, default=8, help="typical errors listed per split")
    ap.add_argument("--only", default="", help="only the test sets whose name contains this")
    ap.add_argument("--demo", action="store_true", help="only the demo recordings: agreement + confusion matrix")
    args = ap.parse_args()
    if args.demo:
        reports = [demo_report(classify, "built-in (shipped model)"), demo_report(classify_rules_only, "rules only")]
        if args.json:
            print(json.dumps([{k: v for k, v in r.items() if not k.startswith("_")} for r in reports], indent=2))
        else:
            print_demo(reports)
        return
    data = load_data(args.data)
    results = [run_split(data, name, args.errors) for name in SET_FILES if args.only in name]
    if args.json:
        print(json.dumps([r.__dict__ | {"scores": {k: v.__dict__ for k, v in r.scores.items()}}
                          for r in results], indent=2, ensure_ascii=False))  # fmt: skip
        return
    print_table(results)
    for res in results:
        print(f"\ntypical errors, {res.name}:")
        for e in res.errors:
            print(f"  [{e['id']}] gold={e['gold']} pred={e['pred']} ({e['confidence']}) cues={e['cues']}")
            print(f"      {e['excerpt']}")


if __name__ == "__main__":
    main()
