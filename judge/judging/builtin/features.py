"""Feature extraction for the learned part of the built-in judge (pure Python, no sklearn).

Two kinds of features, both computed from the response only (the prompt contributes just a
word-overlap ratio, via the rules), so that topic words of a training set do not leak in:
- hashed word unigrams + bigrams of the whole response, plus a separate "head" copy for the first
  tokens (where refusals and compliance openers sit), binary and L2-normalised; a token's id is its
  CRC32, a bigram's id mixes the two token ids (no string building), then ids fold into 2^18 buckets;
- the dense rule features of `rules.analyze` (flags and log counts) and the rule verdict one-hot.

Hashing uses CRC32, so feature indices are identical in every process (unlike `hash()`).
"""

from __future__ import annotations

import functools
import itertools
import math
import re
import zlib
from collections.abc import Sequence

import numpy as np

from judge.judging.builtin.rules import Analysis, RuleVerdict
from judge.tiers import Tier

FEATURES_VERSION = "feat-2"
N_BUCKETS = 1 << 18
HEAD_TOKENS = 24
MAX_TOKENS = 700

_TOKEN = re.compile(r"[a-z]+(?:'[a-z]+)?|\d+|[^\x00-\x7f\s]")


_TOKEN_IDS: dict[str, int] = {}  # token -> CRC32 memo (deterministic, so memoising is safe)
_TOKEN_IDS_MAX = 200_000
_MIX = 0x9E3779B1  # odd 32-bit multiplier combining two token ids into a bigram id
_HEAD_SALT = 0x5BD1E995  # separates the head copy of a gram from the whole-text copy
_MASK32 = 0xFFFFFFFF
_MIX_U64 = np.uint64(_MIX)
_MASK_U64 = np.uint64(_MASK32)


def _new_token_id(t: str) -> int:
    h = zlib.crc32(("0" if t[0].isdigit() else t).encode("utf-8"))  # every number is the token "0"
    if len(_TOKEN_IDS) < _TOKEN_IDS_MAX:
        _TOKEN_IDS[t] = h
    return h


def _token_ids(normalized_text: str) -> list[int]:
    tokens = _TOKEN.findall(normalized_text)[:MAX_TOKENS]
    ids: list[int | None] = list(map(_TOKEN_IDS.get, tokens))  # memo hits at C speed
    if None in ids:
        return [_new_token_id(t) if h is None else h for t, h in zip(tokens, ids, strict=True)]
    return ids  # type: ignore[return-value]


def _gram_ids(normalized_text: str) -> set[int]:
    """32-bit ids of the distinct unigrams, bigrams and head copies (CRC32 of tokens, mixed for bigrams).

    The set is filled in a fixed order (unigrams, bigrams, head copies): its iteration order, and so the
    order in which the model adds the weights up (floating point), depends on it."""
    ids = _token_ids(normalized_text)
    grams: set[int] = set(ids)
    if len(ids) > 1:
        arr = np.array(ids, dtype=np.uint64)  # a * _MIX < 2**64: uint64 keeps the exact low 32 bits
        bigrams: list[int] = (((arr[:-1] * _MIX_U64) ^ arr[1:]) & _MASK_U64).tolist()
        grams.update(bigrams)
    else:
        bigrams = []
    head = ids[:HEAD_TOKENS]
    grams.update([h ^ _HEAD_SALT for h in head])
    grams.update([((g + 1) * _MIX ^ _HEAD_SALT) & _MASK32 for g in bigrams[: max(len(head) - 1, 0)]])
    return grams


def hashed_indices(normalized_text: str) -> tuple[np.ndarray, float]:
    """Bucket of every distinct n-gram (collisions repeat) and the shared L2 weight."""
    grams = _gram_ids(normalized_text)
    if not grams:
        return np.zeros(0, dtype=np.intp), 0.0
    ids = np.fromiter(grams, dtype=np.intp, count=len(grams))
    return ids & (N_BUCKETS - 1), 1.0 / math.sqrt(len(grams))


def hashed_features(normalized_text: str) -> dict[int, float]:
    """Binary hashed n-gram features, L2-normalised (same values as `hashed_indices`, as a dict)."""
    idx, weight = hashed_indices(normalized_text)
    out: dict[int, float] = {}
    for i in idx.tolist():
        out[i] = out.get(i, 0.0) + weight
    return out


_RULE_TIERS: tuple[Tier, ...] = tuple(Tier)


def dense_names(analysis: Analysis) -> list[str]:
    """Stable order of the dense feature names (sorted rule values, then the rule tier one-hot)."""
    return sorted(analysis.values) + [f"rule_tier={t.value}" for t in _RULE_TIERS]


def dense_features(analysis: Analysis, verdict: RuleVerdict, names: Sequence[str]) -> list[float]:
    """Dense vector in the order of `names` (missing values are 0)."""
    out = list(map(analysis.values.get, names, itertools.repeat(0.0)))
    at = _rule_slot(tuple(names), verdict.tier)
    if at >= 0:
        out[at] = verdict.certainty
    return out


@functools.lru_cache(maxsize=64)
def _rule_slot(names: tuple[str, ...], tier: Tier) -> int:
    """Where the rule tier's one-hot feature sits in `names` (-1: not there)."""
    key = f"rule_tier={tier.value}"
    return names.index(key) if key in names else -1
