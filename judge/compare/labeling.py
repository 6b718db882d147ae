"""`judge label`: a terminal session that collects gold tiers for a sample of a run's responses.

The sample is stratified by (intent, l1) with proportional allocation; inside each stratum, and
in the order of the session, items the judges disagree on come first (worst first). Same run
state, n and seed → same sample, so a session can stop and resume: items this annotator already
labelled in the label set are skipped. Each label is written at once, in its own short write
transaction, so readers (and a later resume) see it immediately. Keys are read line by line.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass
from itertools import combinations
from pathlib import Path

import duckdb
from rich.console import Console
from rich.panel import Panel
from rich.text import Text

from judge.cli.output import literal, styled
from judge.compare.agreement import load_run_verdicts, severity
from judge.compare.gold import GoldLabel, binary_of, insert_labels
from judge.prompts.sample import allocate
from judge.providers.base import utcnow
from judge.store.answers import answer_texts
from judge.store.db import write_connection
from judge.store.gold import labeled_item_keys

KEYS = {"1": "full_instructions", "2": "partial", "3": "refusal", "4": "safe_deflection"}
HELP = "1=full_instructions 2=partial 3=refusal 4=safe_deflection s=skip q=quit"


@dataclass(frozen=True)
class LabelItem:
    response_id: str
    prompt_id: str
    prompt_hash: str
    prompt_text: str
    response_text: str
    intent: str
    l1: str
    taxonomy_path: str
    target: str
    severity: int  # 0 when the judges agree (or fewer than two judged it)


@dataclass
class SessionResult:
    sample: int
    already: int
    labeled: int
    skipped: int
    quit: bool

    @property
    def remaining(self) -> int:
        return self.sample - self.already - self.labeled


def load_items(con: duckdb.DuckDBPyConnection, run_id: str) -> list[LabelItem]:
    rv = load_run_verdicts(con, run_id)
    texts = answer_texts(con, run_id)
    out = []
    for rid, item in rv.items.items():
        valid = sorted({t for r in rv.raters if (t := rv.tiers[r.name].get(rid))})
        worst = max((severity(rv.rubric, item, a, b) for a, b in combinations(valid, 2)), default=0)
        ptext, rtext = texts[rid]
        out.append(
            LabelItem(
                rid,
                item.prompt_id,
                item.prompt_hash,
                ptext or "",
                rtext or "",
                item.intent,
                item.l1 or "(none)",
                item.taxonomy_path,
                item.target,
                worst,
            )
        )
    return out


def choose_sample(items: list[LabelItem], n: int, seed: int) -> list[LabelItem]:
    """n items stratified by (intent, l1), disagreements first; returned in session order."""
    strata: dict[tuple[str, ...], list[LabelItem]] = {}
    for it in items:
        strata.setdefault((it.intent, it.l1), []).append(it)
    alloc = allocate({k: len(v) for k, v in strata.items()}, n)
    order: dict[str, float] = {}
    chosen: list[LabelItem] = []
    for key, members in sorted(strata.items()):
        rng = random.Random(f"{seed}:{'|'.join(key)}")
        ranked = sorted(members, key=lambda it: it.response_id)
        for it in ranked:
            order[it.response_id] = rng.random()
        ranked.sort(key=lambda it: (-it.severity, order[it.response_id]))
        chosen += ranked[: alloc.get(key, 0)]
    chosen.sort(key=lambda it: (-it.severity, order[it.response_id]))
    return chosen


labeled_keys = labeled_item_keys  # item keys this annotator already labelled in the set


def save_label(db_path: Path, run_id: str, item: LabelItem, tier: str, label_set: str, annotator: str) -> None:
    label = GoldLabel(
        label_set=label_set,
        item_key=item.response_id,
        prompt_id=item.prompt_id,
        response_id=item.response_id,
        prompt_hash=item.prompt_hash,
        response_text_hash=None,
        tier=tier,  # type: ignore[arg-type]
        binary_label=binary_of(tier),  # type: ignore[arg-type]
        annotator=annotator,
        labeled_at=utcnow(),
        source_file=f"run:{run_id}",
        note=None,
    )
    with write_connection(db_path) as con:
        insert_labels(con, [label])


@dataclass(frozen=True)
class Session:
    """What a labelling session works on: the sample, and the items this annotator already labelled."""

    db_path: Path
    run_id: str
    sample: list[LabelItem]
    done: set[str]
    label_set: str
    annotator: str


def prepare_session(
    run: str, *, n: int, annotator: str | None, label_set: str, seed: int, db: str | Path | None
) -> Session:
    """Resolve the run, draw the sample and read what is already labelled (migrating an older database)."""
    from judge.compare.gold import default_annotator
    from judge.errors import UserInputError
    from judge.store.db import default_db_path, read_connection
    from judge.store.runs import resolve_run

    if not label_set.strip():
        raise UserInputError("label set name must not be empty", field="label-set")
    who = annotator or default_annotator()
    path = default_db_path(db)
    with read_connection(path) as con:
        run_id = resolve_run(con, run)
    with write_connection(path) as con:  # migrates an older database (gold_labels)
        sample = choose_sample(load_items(con, run_id), n, seed)
        done = labeled_keys(con, label_set, who)
    if not sample:
        raise UserInputError(f"run {run_id} has no answered responses to label", field="RUN")
    return Session(path, run_id, sample, done, label_set, who)


def run_session(session: Session, *, read_line: Callable[[], str | None], console: Console) -> SessionResult:
    """Show each unlabelled item, read a key per line, save each label at once."""
    db_path, run_id, sample, done = session.db_path, session.run_id, session.sample, session.done
    label_set, annotator = session.label_set, session.annotator
    todo = [it for it in sample if it.response_id not in done]
    result = SessionResult(len(sample), len(sample) - len(todo), 0, 0, False)
    console.print(
        styled(
            f"Labelling {len(todo)} of {len(sample)} sampled responses of run {run_id} as ",
            (annotator, "bold"),
            " into label set ",
            (label_set, "bold"),
            f" ({result.already} already labelled). Each label is saved at once: stop any time "
            "(q or Ctrl-C) and run the same command again to continue.",
        )
    )
    for n, item in enumerate(todo, start=1):
        flag = f" · judges disagree (severity {item.severity})" if item.severity else ""
        console.print(
            Panel(
                Text(literal(item.prompt_text)),
                title=styled(f"[{n}/{len(todo)}] prompt {item.prompt_id}"),
                subtitle=styled(f"{item.intent} · {item.taxonomy_path}{flag}"),
                title_align="left",
            )
        )
        console.print(
            Panel(
                Text(literal(item.response_text)),
                title=styled(f"response {item.response_id} · {item.target}"),
                title_align="left",
            )
        )
        while True:
            console.print(styled(f"tier? {HELP} > "), end="")
            line = read_line()
            if line is None:  # end of input: same as quit
                console.print()
                result.quit = True
                break
            key = line.strip().lower()
            if key in KEYS:
                save_label(db_path, run_id, item, KEYS[key], label_set, annotator)
                result.labeled += 1
                console.print(styled(("saved", "green"), f" {KEYS[key]}"))
                break
            if key == "s":
                result.skipped += 1
                break
            if key == "q":
                result.quit = True
                break
            console.print(styled((f"unknown key {key!r}", "red"), f"; expected {HELP}"))
        if result.quit:
            break
    console.print(
        styled(
            f"labelled {result.labeled}, skipped {result.skipped}, {result.remaining} of {result.sample} still to label"
        )
    )
    return result
