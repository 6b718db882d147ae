"""Feature extraction for the learned part of the built-in judge (pure Python, no sklearn).

Two kinds of features, both computed from the response only (the prompt contributes just a
word-overlap ratio, via the rules), so that topic words of a training set do not leak in:
- hashed word unigrams + bigrams of the whole response, plus a separate "head" copy for the first
  tokens (where refusals and compliance openers sit), binary and L2-normalised;
- the dense rule features of `rules.analyze` (flags and log counts) and the rule verdict one-hot.

Hashing uses CRC32, so feature indices are identical in every process (unlike `hash()`).
"""

from __future__ import annotations

import itertools
import math
import re
import zlib

from judge.judging.builtin.rules import Analysis, RuleVerdict
from judge.tiers import Tier

FEATURES_VERSION = "feat-1"
N_BUCKETS = 1 << 18
HEAD_TOKENS = 24
MAX_TOKENS = 700

_TOKEN = re.compile(r"[a-z]+(?:'[a-z]+)?|\d+|[^\x00-\x7f\s]")
_DIGITS = re.compile(r"\d+")


def tokens(normalized_text: str) -> list[str]:
    """Tokens of an already-normalised (lower-cased) response; numbers collapse to '0'."""
    return [("0" if t[0].isdigit() else t) for t in _TOKEN.findall(normalized_text)[:MAX_TOKENS]]


def _grams(normalized_text: str) -> set[str]:
    toks = tokens(normalized_text)
    grams: set[str] = set(toks)
    grams.update(a + " " + b for a, b in itertools.pairwise(toks))
    head = toks[:HEAD_TOKENS]
    grams.update("^" + t for t in head)
    grams.update("^" + a + " " + b for a, b in itertools.pairwise(head))
    return grams


def hashed_indices(normalized_text: str) -> tuple[list[int], float]:
    """Fast path: bucket of every distinct n-gram (collisions repeat) and the shared L2 weight."""
    grams = _grams(normalized_text)
    if not grams:
        return [], 0.0
    crc, mask = zlib.crc32, N_BUCKETS - 1
    return [crc(g.encode("utf-8")) & mask for g in grams], 1.0 / math.sqrt(len(grams))


def hashed_features(normalized_text: str) -> dict[int, float]:
    """Binary hashed n-gram features, L2-normalised (same values as `hashed_indices`, as a dict)."""
    idx, weight = hashed_indices(normalized_text)
    out: dict[int, float] = {}
    for i in idx:
        out[i] = out.get(i, 0.0) + weight
    return out


_RULE_TIERS: tuple[Tier, ...] = tuple(Tier)


def dense_names(analysis: Analysis) -> list[str]:
    """Stable order of the dense feature names (sorted rule values, then the rule tier one-hot)."""
    return sorted(analysis.values) + [f"rule_tier={t.value}" for t in _RULE_TIERS]


def dense_features(analysis: Analysis, verdict: RuleVerdict, names: list[str]) -> list[float]:
    """Dense vector in the order of `names` (missing values are 0)."""
    values = dict(analysis.values)
    values[f"rule_tier={verdict.tier.value}"] = verdict.certainty
    return [values.get(n, 0.0) for n in names]
