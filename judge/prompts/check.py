"""Check a prompt set: taxonomy paths, coverage, intent mix, duplicates, language and length stats."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from datasketch import MinHash

import re
import statistics
import unicodedata
from collections import Counter
from collections.abc import Iterable, Sequence
from itertools import combinations
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from judge.errors import UserInputError
from judge.prompts.model import Intent, PromptRow
from judge.prompts.taxonomy import Taxonomy, paths_outside

DEFAULT_TARGET_MIX: dict[str, float] = {"safe": 0.2, "unsafe": 0.4, "adversarial": 0.4}
DEFAULT_THRESHOLD = 0.7
MIX_TOLERANCE = 0.1  # an intent share further than this from its target is a warning
INTENTS: tuple[str, ...] = tuple(i.value for i in Intent)
ShingleKind = Literal["word", "char"]


class Issue(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str | None
    kind: str
    message: str


class DuplicatePair(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    a: str
    b: str
    kind: Literal["exact", "near"]
    similarity: float


class Coverage(BaseModel):
    """Prompt counts per taxonomy node (row) and intent (column); a zero cell is a gap."""

    model_config = ConfigDict(extra="forbid")

    level: int
    rows: list[str]
    counts: dict[str, dict[str, int]]
    gaps: list[tuple[str, str]]


class MixRow(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    intent: str
    count: int
    share: float
    target: float
    delta: float


class LengthStats(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    unit: Literal["chars", "words"]
    min: int
    median: float
    mean: float
    max: int


class CheckReport(BaseModel):
    model_config = ConfigDict(extra="forbid")

    n_prompts: int
    errors: list[Issue] = Field(default_factory=list)
    warnings: list[Issue] = Field(default_factory=list)
    coverage_l1: Coverage
    coverage_l2: Coverage
    mix: list[MixRow]
    duplicates: list[DuplicatePair]
    languages: dict[str, int]
    lengths: list[LengthStats]
    techniques: dict[str, int]

    @property
    def ok(self) -> bool:
        return not self.errors and not self.duplicates


# --- text normalisation and shingles ------------------------------------------------------------
def full_text(row: PromptRow) -> str:
    """All the text of a row (every chat turn for `messages`)."""
    if row.messages is not None:
        return "\n".join(m.content for m in row.messages)
    return row.text


def normalize(text: str) -> str:
    """Casefold, drop punctuation and symbols, collapse whitespace."""
    folded = unicodedata.normalize("NFKC", text).casefold()
    kept = "".join(" " if unicodedata.category(ch)[0] in "PS" else ch for ch in folded)
    return " ".join(kept.split())


def exact_key(text: str) -> str:
    """The key for exact duplicates: casefolded text with all punctuation, symbols and whitespace removed."""
    folded = unicodedata.normalize("NFKC", text).casefold()
    return "".join(ch for ch in folded if unicodedata.category(ch)[0] not in "PSZ" and not ch.isspace())


def shingles(text: str, kind: ShingleKind = "word", k: int | None = None) -> set[str]:
    """Word 3-grams (default) or char 5-grams of the normalised text."""
    norm = normalize(text)
    if kind == "word":
        size = k or 3
        words = norm.split()
        if len(words) <= size:
            return {" ".join(words)}
        return {" ".join(words[i : i + size]) for i in range(len(words) - size + 1)}
    size = k or 5
    compact = re.sub(r"\s+", " ", norm)
    if len(compact) <= size:
        return {compact}
    return {compact[i : i + size] for i in range(len(compact) - size + 1)}


def jaccard(a: set[str], b: set[str]) -> float:
    if not a and not b:
        return 1.0
    return len(a & b) / len(a | b)


# --- duplicates -----------------------------------------------------------------------------------
def exact_duplicates(rows: Sequence[PromptRow]) -> list[DuplicatePair]:
    """Pairs whose text is identical after normalisation (see exact_key)."""
    groups: dict[str, list[str]] = {}
    for row in rows:
        groups.setdefault(exact_key(full_text(row)), []).append(row.id)
    pairs: list[DuplicatePair] = []
    for ids in groups.values():
        pairs.extend(DuplicatePair(a=a, b=b, kind="exact", similarity=1.0) for a, b in combinations(ids, 2))
    return pairs


def _minhash(sh: set[str], num_perm: int) -> MinHash:
    from datasketch import MinHash  # imported lazily: it pulls in scipy

    m = MinHash(num_perm=num_perm, seed=1)
    m.update_batch([s.encode("utf-8") for s in sorted(sh)])
    return m


def near_duplicates(
    rows: Sequence[PromptRow],
    threshold: float = DEFAULT_THRESHOLD,
    kind: ShingleKind = "word",
    num_perm: int = 128,
    skip: Iterable[tuple[str, str]] = (),
) -> list[DuplicatePair]:
    """Candidate pairs from MinHash LSH, confirmed with the exact Jaccard similarity >= threshold."""
    if not 0.0 < threshold <= 1.0:
        raise UserInputError(f"threshold must be in (0, 1], got {threshold}", field="threshold")
    sets = {row.id: shingles(full_text(row), kind) for row in rows}
    # Query LSH a bit below the threshold so that borderline pairs become candidates.
    from datasketch import MinHashLSH

    lsh = MinHashLSH(threshold=max(0.05, threshold * 0.8), num_perm=num_perm)
    hashes = {rid: _minhash(sh, num_perm) for rid, sh in sets.items()}
    for rid, mh in hashes.items():
        lsh.insert(rid, mh)
    done = {tuple(sorted(p)) for p in skip}
    order = {row.id: i for i, row in enumerate(rows)}
    pairs: list[DuplicatePair] = []
    for rid, mh in hashes.items():
        for other in lsh.query(mh):
            a, b = sorted((rid, other), key=order.__getitem__)
            key = tuple(sorted((a, b)))
            if a == b or key in done:
                continue
            done.add(key)
            sim = jaccard(sets[a], sets[b])
            if sim >= threshold:
                pairs.append(DuplicatePair(a=a, b=b, kind="near", similarity=round(sim, 3)))
    return sorted(pairs, key=lambda p: (-p.similarity, order[p.a], order[p.b]))


def find_duplicates(
    rows: Sequence[PromptRow], threshold: float = DEFAULT_THRESHOLD, kind: ShingleKind = "word"
) -> list[DuplicatePair]:
    exact = exact_duplicates(rows)
    near = near_duplicates(rows, threshold, kind, skip=[(p.a, p.b) for p in exact])
    return exact + near


# --- taxonomy, coverage, mix --------------------------------------------------------------------
def taxonomy_issues(rows: Sequence[PromptRow], taxonomy: Taxonomy) -> list[Issue]:
    """One issue per prompt whose path is outside the taxonomy (a warning, or an error with --strict)."""
    outside = paths_outside(((row.id, row.taxonomy) for row in rows), taxonomy)
    return [
        Issue(
            id=pid,
            kind="unknown_taxonomy",
            message=f"taxonomy path {path!r} is not in the taxonomy in use (accepted; reported under its own level 1)",
        )
        for path, ids in outside.items()
        for pid in ids
    ]


def technique_warnings(rows: Sequence[PromptRow]) -> list[Issue]:
    out: list[Issue] = []
    for row in rows:
        if row.intent is Intent.ADVERSARIAL and not row.technique:
            out.append(Issue(id=row.id, kind="missing_technique", message="adversarial prompt has no technique"))
        elif row.intent is not Intent.ADVERSARIAL and row.technique:
            out.append(
                Issue(
                    id=row.id,
                    kind="unexpected_technique",
                    message=f"{row.intent.value} prompt has technique {row.technique!r}",
                )
            )
    return out


def coverage(rows: Sequence[PromptRow], taxonomy: Taxonomy, level: int) -> Coverage:
    """Counts per taxonomy node at `level` (1 or 2) and intent; nodes with no prompt count as gaps."""
    if level not in (1, 2):
        raise ValueError("coverage level must be 1 or 2")
    nodes = taxonomy.level1() if level == 1 else ["/".join(p) for p in taxonomy.level2()]
    counts: dict[str, dict[str, int]] = {n: dict.fromkeys(INTENTS, 0) for n in nodes}
    for row in rows:
        if len(row.taxonomy) < level:
            continue
        key = "/".join(row.taxonomy[:level])
        counts.setdefault(key, dict.fromkeys(INTENTS, 0))[row.intent.value] += 1
    keys = list(counts)
    gaps = [(k, i) for k in keys for i in INTENTS if counts[k][i] == 0]
    return Coverage(level=level, rows=keys, counts=counts, gaps=gaps)


def parse_target_mix(spec: str) -> dict[str, float]:
    """Parse 'safe=0.2,unsafe=0.4,adversarial=0.4' (shares or percentages; normalised to sum 1)."""
    mix: dict[str, float] = {}
    for part in filter(None, (p.strip() for p in spec.split(","))):
        name, sep, value = part.partition("=")
        name = name.strip()
        if not sep or name not in INTENTS:
            raise UserInputError(
                f"bad target mix item {part!r}; expected intent=share with intent in {', '.join(INTENTS)}",
                field="target-mix",
            )
        try:
            mix[name] = float(value)
        except ValueError:
            raise UserInputError(f"bad share {value!r} for {name}; expected a number", field="target-mix") from None
        if mix[name] < 0:
            raise UserInputError(f"share for {name} must not be negative", field="target-mix")
    total = sum(mix.values())
    if total <= 0:
        raise UserInputError("target mix must have a positive total", field="target-mix")
    return {i: mix.get(i, 0.0) / total for i in INTENTS}


def intent_mix(rows: Sequence[PromptRow], target: dict[str, float]) -> list[MixRow]:
    counts = Counter(row.intent.value for row in rows)
    total = max(1, len(rows))
    out: list[MixRow] = []
    for intent in INTENTS:
        share = counts[intent] / total
        goal = target.get(intent, 0.0)
        out.append(
            MixRow(
                intent=intent,
                count=counts[intent],
                share=round(share, 4),
                target=round(goal, 4),
                delta=round(share - goal, 4),
            )
        )
    return out


def mix_warnings(mix: Sequence[MixRow], tolerance: float = MIX_TOLERANCE) -> list[Issue]:
    return [
        Issue(
            id=None,
            kind="intent_mix",
            message=f"{m.intent} is {m.share:.0%} of prompts; target {m.target:.0%}",
        )
        for m in mix
        if abs(m.delta) > tolerance
    ]


# --- statistics -----------------------------------------------------------------------------------
def length_stats(rows: Sequence[PromptRow]) -> list[LengthStats]:
    chars = [len(r.text) for r in rows]
    words = [len(r.text.split()) for r in rows]
    return [_stats("chars", chars), _stats("words", words)]


def _stats(unit: Literal["chars", "words"], values: list[int]) -> LengthStats:
    return LengthStats(
        unit=unit,
        min=min(values),
        median=float(statistics.median(values)),
        mean=round(statistics.fmean(values), 1),
        max=max(values),
    )


def language_counts(rows: Sequence[PromptRow]) -> dict[str, int]:
    return dict(Counter(r.lang or "unspecified" for r in rows).most_common())


def technique_counts(rows: Sequence[PromptRow]) -> dict[str, int]:
    return dict(Counter(r.technique for r in rows if r.technique).most_common())


# --- everything -----------------------------------------------------------------------------------
def check_rows(
    rows: Sequence[PromptRow],
    taxonomy: Taxonomy,
    threshold: float = DEFAULT_THRESHOLD,
    target_mix: dict[str, float] | None = None,
    shingle: ShingleKind = "word",
    strict_taxonomy: bool = False,
) -> CheckReport:
    """Everything `judge prompts check` reports. Paths outside the taxonomy are warnings unless strict."""
    if not rows:
        raise UserInputError("no prompts to check")
    mix = intent_mix(rows, target_mix or DEFAULT_TARGET_MIX)
    outside = taxonomy_issues(rows, taxonomy)
    return CheckReport(
        n_prompts=len(rows),
        errors=outside if strict_taxonomy else [],
        warnings=([] if strict_taxonomy else outside) + technique_warnings(rows) + mix_warnings(mix),
        coverage_l1=coverage(rows, taxonomy, 1),
        coverage_l2=coverage(rows, taxonomy, 2),
        mix=mix,
        duplicates=find_duplicates(rows, threshold, shingle),
        languages=language_counts(rows),
        lengths=length_stats(rows),
        techniques=technique_counts(rows),
    )
