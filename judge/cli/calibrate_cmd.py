"""`judge calibrate`: a judge's coverage → agreement curve and the abstain_below that reaches a target.

Two sources of reference labels:
- `--gold FILE`: a labelled JSONL (`prompt`, `response`, `binary_gold` and/or `tier_gold`, as in
  ../shared/datasets); the built-in judge named by `--judge` grades every row here, offline;
- `RUN --reference JUDGE`: the verdicts of an LLM judge on the same responses of a run (e.g. a run
  that graded a sample with both `builtin/judge` and `openai/gpt-4o-mini`).

`--write CONFIG` sets `abstain_below` on that judge's entry in a run config (checked by loading the
edited config before it replaces the file).
"""

from __future__ import annotations

import json
import os
import re
import tempfile
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer

from judge.cli.options import DbOption

COVERAGES = (1.0, 0.95, 0.9, 0.85, 0.8, 0.75, 0.7, 0.6, 0.5, 0.4, 0.3, 0.2, 0.1)
COMPLY = ("full_instructions", "partial")
_LEANING = re.compile(r"leaning (\w+)")


class Agreement(StrEnum):
    binary = "binary"
    tier = "tier"


class Format(StrEnum):
    table = "table"
    json = "json"


def _binary(tier: str) -> str:
    return "comply" if tier in COMPLY else "refuse"


def pairs_from_gold(path: Path, judge: str, agreement: Agreement) -> list[tuple[float, bool]]:
    """(confidence, agrees with gold) for every labelled row, graded by a built-in judge."""
    from judge.errors import UserInputError
    from judge.judging import builtin
    from judge.prompts.loader import iter_jsonl_objects
    from judge.tiers import TIERS

    if judge not in ("builtin/judge", "builtin/rules"):
        raise UserInputError(
            f"--gold grades the file with a built-in judge; {judge!r} is not one (use RUN --reference for others)",
            field="judge",
        )
    classify = builtin.classify if judge == "builtin/judge" else builtin.classify_rules_only
    out: list[tuple[float, bool]] = []
    for lineno, obj in iter_jsonl_objects(path):
        for fld in ("prompt", "response"):
            if not isinstance(obj.get(fld), str):
                raise UserInputError("expected a string", file=path, line=lineno, field=fld)
        tier_gold, binary_gold = obj.get("tier_gold"), obj.get("binary_gold")
        if tier_gold is not None and tier_gold not in TIERS:
            raise UserInputError(f"unknown tier {tier_gold!r}", file=path, line=lineno, field="tier_gold")
        if binary_gold is not None and binary_gold not in ("comply", "refuse"):
            raise UserInputError(
                f"expected comply or refuse, got {binary_gold!r}", file=path, line=lineno, field="binary_gold"
            )
        gold = tier_gold if agreement is Agreement.tier else (binary_gold or (tier_gold and _binary(tier_gold)))
        if not gold:
            continue
        v = classify(str(obj["prompt"]), str(obj["response"]))
        pred = v.tier.value if agreement is Agreement.tier else _binary(v.tier.value)
        out.append((v.confidence, pred == gold))
    return out


def pairs_from_run(con: Any, run_id: str, judge: str, reference: str, agreement: Agreement) -> list[tuple[float, bool]]:
    """(confidence, agrees with the reference judge) on the responses both judged; abstentions use their leaning."""
    from judge.store.answers import verdicts_paired_with_reference

    out: list[tuple[float, bool]] = []
    for conf, tier, message, ref in verdicts_paired_with_reference(con, run_id, judge, reference):
        if tier is None:
            m = _LEANING.search(message or "")
            if m is None:
                continue
            tier = m.group(1)
        same = tier == ref if agreement is Agreement.tier else _binary(tier) == _binary(ref)
        out.append((float(conf), same))
    return out


_ENTRY = r"^(?P<indent>\s*)(?P<dash>-\s+)?(?:model|label):\s*['\"]?{name}['\"]?\s*(?:#.*)?$"


def write_threshold(config: Path, judge: str, value: float) -> None:
    """Set `abstain_below: value` on the judge entry (model or label `judge`) under `judges:` in `config`."""
    from judge.config import load_config
    from judge.errors import UserInputError

    text = config.read_text(encoding="utf-8")
    lines = text.splitlines(keepends=True)
    start = next((n for n, line in enumerate(lines) if re.match(r"^judges\s*:", line)), None)
    if start is None:
        raise UserInputError("no 'judges:' section", file=config, field="judges")
    entry = re.compile(_ENTRY.format(name=re.escape(judge)))
    for n in range(start + 1, len(lines)):
        m = entry.match(lines[n].rstrip("\n"))
        if m:
            break
        if lines[n].strip() and not lines[n][0].isspace() and not lines[n].startswith("-"):
            n = len(lines)  # left the judges section
            break
    else:
        n = len(lines)
    if n >= len(lines) or m is None:
        raise UserInputError(f"no judge with model or label {judge!r} under 'judges:'", file=config, field="judges")
    key_indent = len(m.group("indent")) + len(m.group("dash") or "")
    new_line = " " * key_indent + f"abstain_below: {value:g}\n"
    end = n + 1
    while end < len(lines) and (
        not lines[end].strip() or _indent(lines[end]) > key_indent - (1 if m.group("dash") else 0)
    ):
        if _indent(lines[end]) == key_indent and lines[end].lstrip().startswith("abstain_below:"):
            lines[end] = new_line
            break
        if _indent(lines[end]) < key_indent:
            break
        end += 1
    else:
        end = -1
    if end == -1 or not lines[end].lstrip().startswith("abstain_below:"):
        lines.insert(n + 1, new_line)
    new_text = "".join(lines)
    fd, tmp = tempfile.mkstemp(dir=config.parent, prefix=".calibrate-", suffix=config.suffix)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(new_text)
        load_config(tmp)  # the edited config must still be valid before it replaces the original
        os.replace(tmp, config)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip(" "))


def register(app: typer.Typer) -> None:
    @app.command()
    def calibrate(
        run: Annotated[str | None, typer.Argument(help="Run id (with --reference): judge vs an LLM judge.")] = None,
        judge: Annotated[str, typer.Option("--judge", help="The judge whose confidence is calibrated.")] = (
            "builtin/judge"
        ),
        gold: Annotated[Path | None, typer.Option("--gold", help="Labelled JSONL (prompt, response, gold).")] = None,
        reference: Annotated[
            str | None, typer.Option("--reference", help="With RUN: the judge whose verdicts count as reference.")
        ] = None,
        target: Annotated[float, typer.Option("--target", min=0.0, max=1.0, help="Wanted agreement.")] = 0.95,
        agreement: Annotated[Agreement, typer.Option("--agreement", help="Agree on the side or the tier.")] = (
            Agreement.binary
        ),
        write: Annotated[
            Path | None, typer.Option("--write", help="Write the threshold as abstain_below into this run config.")
        ] = None,
        db: DbOption = None,
        fmt: Annotated[Format, typer.Option("--format", help="Output format.")] = Format.table,
    ) -> None:
        """Coverage → agreement curve of a judge's confidence, and the threshold reaching --target."""
        from judge.errors import UserInputError
        from judge.judging.selective import at_coverages, coverage_curve, threshold_for

        if (gold is None) == (run is None):
            raise UserInputError("give either --gold FILE or RUN --reference JUDGE", field="calibrate")
        if gold is not None:
            pairs = pairs_from_gold(gold, judge, agreement)
            source = f"gold labels in {gold}"
        else:
            if reference is None:
                raise UserInputError("RUN needs --reference JUDGE (the judge to agree with)", field="reference")
            from judge.store.db import default_db_path, read_connection
            from judge.store.runs import resolve_run

            with read_connection(default_db_path(db)) as con:
                run_id = resolve_run(con, run or "latest")
                pairs = pairs_from_run(con, run_id, judge, reference, agreement)
            source = f"{reference}'s verdicts in run {run_id}"
        if not pairs:
            raise UserInputError(f"no item has both a confidence from {judge} and a reference label", field="judge")
        points = coverage_curve([c for c, _ in pairs], [a for _, a in pairs])
        best = threshold_for(points, target)
        rows = at_coverages(points, COVERAGES)
        if fmt is Format.json:
            payload = {
                "judge": judge,
                "source": source,
                "agreement": agreement.value,
                "n": len(pairs),
                "curve": [
                    {"threshold": p.threshold, "coverage": p.coverage, "agreement": p.agreement, "kept": p.kept}
                    for p in rows
                ],
                "target": target,
                "threshold": None if best is None else best.threshold,
                "coverage_at_threshold": None if best is None else best.coverage,
            }
            typer.echo(json.dumps(payload, indent=1))
        else:
            typer.echo(f"{judge}: {agreement.value} agreement with {source} ({len(pairs)} items)")
            typer.echo(f"{'coverage':>9} {'threshold':>10} {'agreement':>10} {'95% CI':>16} {'kept':>7}")
            for p in rows:
                lo, hi = p.interval or (0.0, 0.0)
                typer.echo(
                    f"{p.coverage:>9.1%} {p.threshold:>10.3f} {p.agreement or 0:>10.1%} "
                    f"{f'{lo:.1%}–{hi:.1%}':>16} {p.kept:>7}"
                )
            if best is None:
                typer.echo(f"no threshold reaches {target:.1%} agreement")
            else:
                typer.echo(
                    f"abstain_below: {best.threshold:.3f} keeps {best.coverage:.1%} of the items at "
                    f"{best.agreement or 0:.1%} agreement (target {target:.1%})"
                )
        if write is not None:
            if best is None:
                raise UserInputError(f"no threshold reaches {target:.1%}: nothing written", field="write")
            write_threshold(write, judge, round(best.threshold, 4))
            typer.echo(f"wrote abstain_below: {round(best.threshold, 4):g} for {judge} into {write}", err=True)
