"""Train the built-in judge's learned heads and write the shipped weights file.

scikit-learn is used here only (dev dependency); the exported JSON holds plain coefficients that
`judge.judging.builtin.learned` evaluates in pure Python.

    python scripts/train_builtin_judge.py                       # both shared sets + synthetic
    python scripts/train_builtin_judge.py --sets gptfuzz --out /tmp/m.json.gz
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from scipy import sparse
from sklearn.linear_model import LogisticRegression

sys.path.insert(0, str(Path(__file__).resolve().parent))

from builtin_judge_synthetic import generate

from judge.judging.builtin import Decision, decide_with_model
from judge.judging.builtin.calibration import Calibrator
from judge.judging.builtin.features import N_BUCKETS, dense_features, dense_names, hashed_features
from judge.judging.builtin.learned import MODEL_PATH, LearnedModel, LinearHead, save_model
from judge.judging.builtin.rules import analyze, normalize, rules_verdict
from judge.tiers import Tier

PROJECT = Path(__file__).resolve().parents[1]


def find_shared_datasets(start: Path = PROJECT) -> Path:
    """$JUDGE_SHARED_DATASETS, else the first `shared/datasets` found walking up from the repo root."""
    env = os.environ.get("JUDGE_SHARED_DATASETS")
    if env:
        return Path(env)
    for parent in (start, *start.parents):
        if (parent / "shared" / "datasets").is_dir():
            return parent / "shared" / "datasets"
    return start.parent / "shared" / "datasets"


DEFAULT_DATA = find_shared_datasets()
SET_FILES = {
    "chatgpt": "chatgpt_refusals.jsonl",
    "gptfuzz": "gptfuzz_labeled.jsonl",
    "harmbench": "harmbench_val.jsonl",
}
SEED = 0
C_COMPLY = 0.02
C_REFUSAL = 0.1
C_PARTIAL = 1.0
C_CALIBRATION = 1.0
PRUNE = 1e-4
SYNTHETIC_PER_TIER = 300


@dataclass(frozen=True)
class Row:
    source: str
    prompt: str
    response: str
    binary: str | None  # comply / refuse
    tier: Tier | None
    id: str = ""
    split: str = ""


def load_set(name: str, data_dir: Path = DEFAULT_DATA) -> list[Row]:
    rows: list[Row] = []
    with open(data_dir / SET_FILES[name], encoding="utf-8") as fh:
        for line in fh:
            d = json.loads(line)
            tier = Tier(d["tier_gold"]) if d.get("tier_gold") else None
            split = (d.get("meta") or {}).get("split", "")
            rows.append(Row(name, d["prompt"], d["response"], d.get("binary_gold"), tier, d["id"], split))
    return rows


def synthetic_rows(n_per_tier: int = SYNTHETIC_PER_TIER, seed: int = SEED) -> list[Row]:
    comply = {Tier.FULL_INSTRUCTIONS, Tier.PARTIAL}
    return [
        Row("synthetic", ex.prompt, ex.response, "comply" if ex.tier in comply else "refuse", ex.tier)
        for ex in generate(n_per_tier, seed)
    ]


@dataclass
class Matrix:
    hashed: sparse.csr_matrix
    dense: np.ndarray
    names: list[str]


def featurize(rows: Sequence[Row], names: list[str] | None = None) -> Matrix:
    data: list[float] = []
    indices: list[int] = []
    indptr = [0]
    dense_rows: list[list[float]] = []
    for r in rows:
        a = analyze(r.prompt, r.response)
        rv = rules_verdict(a)
        if names is None:
            names = dense_names(a)
        for idx, x in sorted(hashed_features(normalize(r.response)).items()):
            indices.append(idx)
            data.append(x)
        indptr.append(len(indices))
        dense_rows.append(dense_features(a, rv, names))
    hashed = sparse.csr_matrix((data, indices, indptr), shape=(len(rows), N_BUCKETS), dtype=np.float64)
    return Matrix(hashed, np.asarray(dense_rows, dtype=np.float64), names or [])


def _fit_head(x: sparse.csr_matrix, y: np.ndarray, c: float, n_hashed: int, n_dense: int) -> LinearHead:
    if len(set(y.tolist())) < 2:
        raise ValueError("a head needs both classes in its training rows")
    clf = LogisticRegression(C=c, solver="liblinear", random_state=SEED, max_iter=2000, class_weight="balanced")
    clf.fit(x, y)
    coef = clf.coef_[0]
    hashed = {int(i): round(float(coef[i]), 5) for i in np.flatnonzero(np.abs(coef[:n_hashed]) > PRUNE)}
    dense = tuple(round(float(w), 5) for w in coef[n_hashed : n_hashed + n_dense])
    return LinearHead(round(float(clf.intercept_[0]), 5), hashed, dense)


def _select(m: Matrix, mask: np.ndarray, use_hashed: bool) -> sparse.csr_matrix:
    dense = sparse.csr_matrix(m.dense[mask])
    if not use_hashed:
        return dense
    return sparse.hstack([m.hashed[mask], dense], format="csr")


def stack(parts: Sequence[tuple[Sequence[Row], Matrix]]) -> tuple[list[Row], Matrix]:
    """Concatenate featurised row groups (all featurised with the same dense names)."""
    rows = [r for rs, _ in parts for r in rs]
    names = parts[0][1].names
    hashed = sparse.vstack([m.hashed for _, m in parts], format="csr")
    dense = np.vstack([m.dense for _, m in parts])
    return rows, Matrix(hashed, dense, names)


def fit_model(
    rows: Sequence[Row],
    meta: dict[str, object] | None = None,
    use_hashed: bool = True,
    matrix: Matrix | None = None,
) -> LearnedModel:
    """Fit the three heads on `rows` (binary labels for `comply`, tiers for the two splits)."""
    m = matrix if matrix is not None else featurize(rows)
    nh = N_BUCKETS if use_hashed else 0
    n_dense = len(m.names)
    binary = np.array([r.binary for r in rows], dtype=object)
    tiers = np.array([r.tier.value if r.tier else "" for r in rows], dtype=object)

    has_bin = binary != None  # noqa: E711
    comply = _fit_head(_select(m, has_bin, use_hashed), binary[has_bin] == "comply", C_COMPLY, nh, n_dense)

    refuse_mask = np.isin(tiers, [Tier.REFUSAL.value, Tier.SAFE_DEFLECTION.value])
    y_ref = tiers[refuse_mask] == Tier.REFUSAL.value
    refusal = _fit_head(_select(m, refuse_mask, use_hashed), y_ref, C_REFUSAL, nh, n_dense)

    comply_mask = np.isin(tiers, [Tier.FULL_INSTRUCTIONS.value, Tier.PARTIAL.value])
    y_full = tiers[comply_mask] == Tier.FULL_INSTRUCTIONS.value
    full = _fit_head(_select(m, comply_mask, False), y_full, C_PARTIAL, 0, n_dense)

    info = {"n_rows": len(rows), "sources": sorted({r.source for r in rows})}
    info.update(meta or {})
    return LearnedModel(tuple(m.names), comply, refusal, full, info)


FeaturisedSets = dict[str, tuple[list[Row], Matrix]]


def featurise_sets(sets: dict[str, list[Row]]) -> FeaturisedSets:
    return {name: (rows, featurize(rows)) for name, rows in sets.items()}


def fit_on(data: FeaturisedSets, sources: Sequence[str], meta: dict[str, object] | None = None) -> LearnedModel:
    """A model trained on the named sources (plus "synthetic" when present in `data`)."""
    names = [*sources, *(["synthetic"] if "synthetic" in data and "synthetic" not in sources else [])]
    rows, m = stack([data[n] for n in names])
    return fit_model(rows, meta, matrix=m)


def cross_decisions(data: FeaturisedSets, sources: Sequence[str]) -> list[tuple[str, Decision, bool]]:
    """Each source predicted by a model trained on the *other* sources: (source, decision, binary correct)."""
    out: list[tuple[str, Decision, bool]] = []
    for held in sources:
        model = fit_on(data, [s for s in sources if s != held])
        for r in data[held][0]:
            if r.binary is None:
                continue
            d = decide_with_model(model, r.prompt, r.response)[0]
            comply = d.tier in (Tier.FULL_INSTRUCTIONS, Tier.PARTIAL)
            out.append((held, d, comply == (r.binary == "comply")))
    return out


def fit_calibrator(decisions: Sequence[tuple[str, Decision, bool]]) -> Calibrator:
    """Monotone map from the model's margin toward the chosen side to P(the side is right).

    One input only (the margin, plus its quartic on the positive side; both weights kept ≥ 0), so the
    calibrated confidence ranks verdicts exactly as the margin does and the fit (Platt scaling, every
    source weighing the same) only sets the scale. Richer calibrators — one weight per rule,
    model/rule agreement, the rule certainty, agreement with the refusal string matcher —
    ranked worse on the set left out: their per-rule weights learn how often a rule is right on the
    training sources, which does not carry over (docs/judges.md, "Confidence").
    """
    x = np.array([[d.margin, max(d.margin, 0.0) ** 4] for _, d, _ in decisions])
    y = np.array([ok for _, _, ok in decisions])
    per_source = {s: sum(1 for t, _, _ in decisions if t == s) for s, _, _ in decisions}
    weight = np.array([len(decisions) / (len(per_source) * per_source[s]) for s, _, _ in decisions])
    clf = LogisticRegression(C=C_CALIBRATION, solver="lbfgs", max_iter=5000)
    clf.fit(x, y, sample_weight=weight)
    w_margin, w_margin4 = (max(round(float(c), 5), 0.0) for c in clf.coef_[0])  # ≥ 0: monotone in the margin
    return Calibrator(round(float(clf.intercept_[0]), 5), {}, w_margin, 0.0, 0.0, 1.0, 0.0, 0.0, w_margin4)


def fit_calibrated(data: FeaturisedSets, sources: Sequence[str], meta: dict[str, object] | None = None) -> LearnedModel:
    """Model on `sources` (+ synthetic) with a calibrator fitted on cross-source predictions among them."""
    model = fit_on(data, sources, meta)
    if len(sources) < 2:
        return model
    cal = fit_calibrator(cross_decisions(data, sources))
    return LearnedModel(
        model.dense_names, model.comply, model.refusal_given_refuse, model.full_given_comply,
        {**model.meta, "calibration": cal.to_dict(), "calibrated_on": sorted(sources)},
    )  # fmt: skip


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--data", type=Path, default=DEFAULT_DATA, help="folder with the shared jsonl sets")
    ap.add_argument("--sets", nargs="*", default=sorted(SET_FILES), choices=sorted(SET_FILES))
    ap.add_argument("--no-synthetic", action="store_true")
    ap.add_argument("--out", type=Path, default=MODEL_PATH)
    args = ap.parse_args()
    sets = {name: [r for r in load_set(name, args.data) if r.binary or r.tier] for name in args.sets}
    if not args.no_synthetic:
        sets["synthetic"] = synthetic_rows()
    data = featurise_sets(sets)
    model = fit_calibrated(data, args.sets, {"trained_on": args.sets, "synthetic": not args.no_synthetic})
    save_model(model, args.out)
    rows = [r for rs, _ in data.values() for r in rs]
    n = sum(len(h.hashed) for h in (model.comply, model.refusal_given_refuse, model.full_given_comply))
    print(f"wrote {args.out} ({args.out.stat().st_size / 1024:.0f} KiB, {n} hashed weights, {len(rows)} rows)")


if __name__ == "__main__":
    main()
