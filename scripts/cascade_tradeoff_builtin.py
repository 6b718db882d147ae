"""The cascade's cost / agreement trade-off, measured on real runs against the fake OpenAI-protocol server.

For each threshold t, one `judge run` grades real answers (a seeded sample of the shared labelled sets,
replayed as a target; written to a temporary folder, never into the project) with

    judges: [{model: cascade, stages: [{model: builtin/judge, abstain_below: t}, openai/gpt-4o-mini], audit: 0.05}]

where `openai/gpt-4o-mini` is the fake server (priced with litellm's gpt-4o-mini price; its verdicts
come from the server's keyword rule, so *its* agreement figures only show the audit mechanics). Printed
per t: share of items the built-in judge decided, LLM requests, cost vs sending every item to the LLM,
audit agreement, and the built-in judge's accuracy against the human labels on the items it decided
(what the audit would measure against a perfect LLM judge).

    python scripts/cascade_tradeoff_builtin.py [--n 400] [--thresholds 0.6 0.8 0.9 0.95] [--json]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import tempfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))
sys.path.insert(0, str(ROOT / "tests"))
os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")

from train_builtin_judge import DEFAULT_DATA, SET_FILES, load_set  # noqa: E402

KEY_ENV = "FAKE_OPENAI_KEY"


def sample_rows(data: Path, n: int, seed: int) -> list[Any]:
    rows = [r for name in SET_FILES for r in load_set(name, data) if r.binary]
    random.Random(seed).shuffle(rows)
    return rows[:n]


def write_inputs(folder: Path, rows: list[Any]) -> None:
    with open(folder / "prompts.jsonl", "w", encoding="utf-8") as fh:
        for i, r in enumerate(rows):
            fh.write(json.dumps({"id": f"r{i:05d}", "prompt": r.prompt or "(no prompt)", "taxonomy": [r.source],
                                 "intent": "unsafe"}) + "\n")  # fmt: skip
    with open(folder / "answers.jsonl", "w", encoding="utf-8") as fh:
        for i, r in enumerate(rows):
            fh.write(json.dumps({"id": f"r{i:05d}", "response": r.response}) + "\n")


def write_config(folder: Path, url: str, threshold: float, audit: float) -> Path:
    import yaml

    cfg = {
        "name": f"cascade-{threshold:g}",
        "prompts": "prompts.jsonl",
        "rubric": str(ROOT / "rubrics" / "default.yaml"),
        "db": f"t{threshold:g}.duckdb",
        "targets": [{"model": "replay/shared", "label": "shared", "recordings": "answers.jsonl"}],
        "judges": [
            {
                "model": "cascade",
                "label": "cascade",
                "stages": [
                    {"model": "builtin/judge", "abstain_below": threshold},
                    {
                        "model": "openai/gpt-4o-mini",
                        "api_base": url + "/v1",
                        "api_key_env": KEY_ENV,
                        "concurrency": 32,
                        "timeout_s": 10,
                    },
                ],
                "audit": audit,
            }
        ],
    }
    path = folder / f"run-{threshold:g}.yaml"
    path.write_text(yaml.safe_dump(cfg, sort_keys=False))
    return path


def one_threshold(folder: Path, url: str, rows: list[Any], threshold: float, audit: float) -> dict[str, Any]:
    import duckdb

    from judge.judging.cascade_stats import cascade_stats
    from judge.pipeline import execute, plan_run

    outcome = execute(plan_run(write_config(folder, url, threshold, audit)))
    con = duckdb.connect(str(folder / f"t{threshold:g}.duckdb"), read_only=True)
    try:
        (st,) = cascade_stats(con, outcome.run_id)
        decided = con.execute(
            "SELECT p.prompt_id, v.tier FROM verdicts v JOIN responses r USING (response_id) "
            "JOIN prompts p ON p.prompt_hash = r.prompt_hash WHERE v.run_id = ? AND v.decided_by = 'builtin/judge'",
            [outcome.run_id],
        ).fetchall()
    finally:
        con.close()
    gold = {f"r{i:05d}": r.binary for i, r in enumerate(rows)}
    comply = ("full_instructions", "partial")
    right = sum(1 for pid, tier in decided if (tier in comply) == (gold[pid] == "comply"))
    return {
        "threshold": threshold,
        "items": st.n,
        "builtin_decided": st.decided_by.get("builtin/judge", 0),
        "builtin_share": st.decided_by.get("builtin/judge", 0) / st.n if st.n else 0.0,
        "llm_items": st.last_stage_items,
        "cost_usd": st.cost_usd,
        "all_llm_usd": st.all_to_last_usd,
        "saved_share": (st.saved_usd / st.all_to_last_usd) if st.all_to_last_usd else None,
        "audited": st.audited,
        "audit_binary_agreement_fake_llm": st.binary_agreement.rate,
        "builtin_accuracy_vs_human_on_decided": right / len(decided) if decided else None,
        "status": outcome.status,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=DEFAULT_DATA)
    ap.add_argument("--n", type=int, default=400)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--audit", type=float, default=0.05)
    ap.add_argument("--thresholds", type=float, nargs="*", default=[0.6, 0.7, 0.8, 0.9, 0.95])
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    from fixtures_server import make_fake_server

    os.environ.setdefault(KEY_ENV, "sk-test-openai-0000")
    rows = sample_rows(args.data, args.n, args.seed)
    results = []
    with tempfile.TemporaryDirectory() as tmp, make_fake_server({"models": {"gpt-4o-mini": {"role": "judge"}}}) as srv:
        folder = Path(tmp)
        write_inputs(folder, rows)
        for t in args.thresholds:
            results.append(one_threshold(folder, srv.url, rows, t, args.audit))
    if args.json:
        print(json.dumps(results, indent=1))
        return
    print(f"{len(rows)} real answers (seeded sample of the shared sets), audit {args.audit:.0%}, fake gpt-4o-mini")
    print(f"{'abstain_below':>13} {'builtin decides':>15} {'LLM items':>9} {'cost $':>9} {'all-LLM $':>9} "
          f"{'saved':>6} {'audited':>7} {'builtin acc vs human':>20}")  # fmt: skip
    for r in results:
        acc = r["builtin_accuracy_vs_human_on_decided"]
        print(
            f"{r['threshold']:>13.2f} {r['builtin_share']:>15.1%} {r['llm_items']:>9} {r['cost_usd']:>9.4f} "
            f"{r['all_llm_usd'] or 0:>9.4f} {r['saved_share'] or 0:>6.1%} {r['audited']:>7} "
            f"{'n/a' if acc is None else f'{acc:.3f}':>20}"
        )


if __name__ == "__main__":
    main()
