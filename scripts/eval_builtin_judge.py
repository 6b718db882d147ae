"""Evaluate the built-in judge without flattering it: cross-source and held-out splits.

For every split the learned model is re-trained from scratch on the training side only, then
scored beside the rules-only judge and the string-matching baseline:
- cross-source: train on gptfuzz (+synthetic) -> test chatgpt_refusals, and the reverse;
- held-out: chatgpt_refusals 80/20 stratified split (seed 0), gptfuzz by its own train/evaluate split
  (training side = that set's train part + the other set + synthetic, i.e. the shipped recipe).

    python scripts/eval_builtin_judge.py            # table + typical errors
    python scripts/eval_builtin_judge.py --json     # machine-readable
    python scripts/eval_builtin_judge.py --demo     # agreement with the demo recordings' intended tiers

The demo recordings (prompts/recorded/model_{a,b}.jsonl, prompts in prompts/sample.jsonl) are an
evaluation set only: the shipped model never trains on them.
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

from train_builtin_judge import DEFAULT_DATA, SEED, Row, fit_model, load_set, synthetic_rows

from judge.judging.baseline import string_match_refuses
from judge.judging.builtin import BuiltinVerdict, classify, classify_rules_only, classify_with_model
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


def run_split(name: str, train: list[Row], test: list[Row], n_errors: int) -> SplitResult:
    model = fit_model(train)
    verdicts = [classify_with_model(model, r.prompt, r.response) for r in test]
    rules = [classify_rules_only(r.prompt, r.response).tier for r in test]
    scores = {
        "builtin": score(test, [v.tier for v in verdicts]),
        "rules_only": score(test, rules),
        "string_match": score(test, [baseline_tier(r) for r in test]),
    }
    train_desc = "+".join(sorted({r.source for r in train}))
    return SplitResult(name, train_desc, test[0].source, scores, typical_errors(test, verdicts, n_errors))


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


def chatgpt_holdout(rows: list[Row]) -> tuple[list[Row], list[Row]]:
    """Stratified 80/20 split by human label class (binary + tier), seed 0."""
    by_key: dict[str, list[Row]] = {}
    for r in rows:
        by_key.setdefault(f"{r.binary}/{r.tier}", []).append(r)
    train: list[Row] = []
    test: list[Row] = []
    rng = random.Random(SEED)
    for key in sorted(by_key):
        group = by_key[key][:]
        rng.shuffle(group)
        cut = len(group) // 5
        test.extend(group[:cut])
        train.extend(group[cut:])
    return train, test


def all_splits(data: Path) -> list[tuple[str, list[Row], list[Row]]]:
    chat = [r for r in load_set("chatgpt", data) if r.binary]
    fuzz = [r for r in load_set("gptfuzz", data) if r.binary]
    syn = synthetic_rows()
    chat_train, chat_test = chatgpt_holdout(chat)
    fuzz_train = [r for r in fuzz if r.split != "evaluate"]
    fuzz_test = [r for r in fuzz if r.split == "evaluate"]
    return [
        ("cross: gptfuzz -> chatgpt", fuzz + syn, chat),
        ("cross: chatgpt -> gptfuzz", chat + syn, fuzz),
        ("held-out: chatgpt 20%", chat_train + fuzz + syn, chat_test),
        ("held-out: gptfuzz evaluate", fuzz_train + chat + syn, fuzz_test),
    ]


def _fmt(x: float | None) -> str:
    return "  -  " if x is None else f"{x:.3f}"


def print_table(results: Sequence[SplitResult], show: Callable[[str], None] = print) -> None:
    show(f"{'split':28} {'judge':13} {'bin acc':>7} {'kappa':>6} {'tier acc':>8} {'t-kappa':>7}  n")
    for res in results:
        for judge, s in res.scores.items():
            show(
                f"{res.name:28} {judge:13} {_fmt(s.binary_acc):>7} {_fmt(s.binary_kappa):>6} "
                f"{_fmt(s.tier_acc):>8} {_fmt(s.tier_kappa):>7}  {s.n_binary}"
            )
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
    ap.add_argument("--only", default="", help="run splits whose name contains this")
    ap.add_argument("--demo", action="store_true", help="only the demo recordings: agreement + confusion matrix")
    args = ap.parse_args()
    if args.demo:
        reports = [demo_report(classify, "built-in (shipped model)"), demo_report(classify_rules_only, "rules only")]
        if args.json:
            print(json.dumps([{k: v for k, v in r.items() if not k.startswith("_")} for r in reports], indent=2))
        else:
            print_demo(reports)
        return
    results = [
        run_split(name, train, test, args.errors) for name, train, test in all_splits(args.data) if args.only in name
    ]
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
