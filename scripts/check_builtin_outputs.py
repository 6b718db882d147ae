"""Pin the built-in judge's outputs: record or compare a digest of every verdict on real answers.

Runs `classify` and `classify_rules_only` over every answer of the shared labelled sets
(`../shared/datasets/*.jsonl`, located like `scripts/train_builtin_judge.py` does) and of the case
suites `tests/data/judge_blind`, `judge_blind2` and `judge_patterns`, and hashes (tier, confidence,
rationale, cues) of each verdict. A speed change must leave every hash identical.

    python scripts/check_builtin_outputs.py --record /tmp/main.json     # before a change (or in a main checkout)
    python scripts/check_builtin_outputs.py --check /tmp/main.json      # after it: exit 1 on any difference

Prints the overall digest and the item count; `--check` lists the first differing items (id, old
and new verdict when the record holds them). Exit codes: 0 identical / recorded, 1 differences,
2 bad input (missing record, no answers found).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))

from train_builtin_judge import find_shared_datasets  # noqa: E402

from judge.judging.builtin import BuiltinVerdict, classify, classify_rules_only  # noqa: E402

SUITES = tuple(ROOT / "tests" / "data" / name for name in ("judge_blind", "judge_blind2", "judge_patterns"))
SHOW = 10  # differing items listed


def items(data: Path) -> Iterator[tuple[str, str, str]]:
    """(item key, prompt, response) for every answer, in a fixed order."""
    folders = [data, *SUITES]
    for folder in folders:
        for path in sorted(folder.glob("*.jsonl")):
            with open(path, encoding="utf-8") as fh:
                for n, line in enumerate(fh, 1):
                    if not line.strip():
                        continue
                    row = json.loads(line)
                    key = f"{path.parent.name}/{path.name}:{n}:{row.get('id', '')}"
                    yield key, str(row["prompt"]), str(row["response"])


def render(v: BuiltinVerdict) -> str:
    return json.dumps([v.tier.value, repr(v.confidence), v.rationale, list(v.cues)], ensure_ascii=False)


def outputs(data: Path) -> dict[str, str]:
    """Item key -> the rendered verdicts of both judges (judge first, then rules only)."""
    out: dict[str, str] = {}
    for key, prompt, response in items(data):
        out[key] = render(classify(prompt, response)) + "\n" + render(classify_rules_only(prompt, response))
    return out


def digest(rendered: dict[str, str]) -> str:
    h = hashlib.sha256()
    for key in sorted(rendered):
        h.update(key.encode("utf-8") + b"\0" + rendered[key].encode("utf-8") + b"\0")
    return h.hexdigest()[:16]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    mode = ap.add_mutually_exclusive_group(required=True)
    mode.add_argument("--record", type=Path, help="write every item's verdicts and the digest to this JSON file")
    mode.add_argument("--check", type=Path, help="compare with a file written by --record")
    ap.add_argument("--data", type=Path, default=find_shared_datasets(), help="folder of the shared *.jsonl sets")
    args = ap.parse_args()
    if args.check is not None and not args.check.is_file():
        print(f"{args.check}: no such record (write one with --record)", file=sys.stderr)
        return 2
    rendered = outputs(args.data)
    if not rendered:
        print(f"no answers found in {args.data} or the case suites", file=sys.stderr)
        return 2
    total = digest(rendered)
    n_shared = sum(1 for k in rendered if not k.startswith(tuple(f"{s.name}/" for s in SUITES)))
    print(f"{len(rendered)} items ({n_shared} from {args.data}), digest {total}")
    if args.record is not None:
        tmp = args.record.with_name(args.record.name + ".tmp")
        tmp.write_text(json.dumps({"digest": total, "items": rendered}, ensure_ascii=False), encoding="utf-8")
        tmp.replace(args.record)
        print(f"recorded in {args.record}")
        return 0
    old = json.loads(args.check.read_text(encoding="utf-8"))
    old_items: dict[str, str] = old["items"]
    if old["digest"] == total and old_items == rendered:
        print(f"identical to {args.check}")
        return 0
    keys = sorted(set(old_items) | set(rendered))
    differing = [k for k in keys if old_items.get(k) != rendered.get(k)]
    print(f"DIFFERENT from {args.check} (digest {old['digest']}): {len(differing)} of {len(keys)} items")
    for k in differing[:SHOW]:
        print(f"- {k}\n  was: {old_items.get(k, '(missing)')}\n  now: {rendered.get(k, '(missing)')}")
    return 1


if __name__ == "__main__":
    sys.exit(main())
