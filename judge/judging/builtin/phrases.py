"""Phrase matching for the cue regexes: each alternative is tried only where its literal start occurs.

Python's `re` tries every alternative of a long alternation at every position, so a 60-way refusal
pattern costs a full scan per text even when nothing matches. `PhraseScanner` derives, for every
top-level alternative of every cue pattern, the literal prefixes its matches must start with (by
expanding leading groups, optional ones with and without, breadth first up to a small budget; each
prefix decides the first token's *key*, its first three characters). One trie-shaped regex of all
prefixes, after a non-word character, finds the candidate positions in a single C-level pass and
matches the longest prefix there; that prefix alone says which alternatives can match at that
position, so only those run, via `pattern.match(text, pos)` (one regex per such set, in their original
order, compiled on first use). Per cue, matches are non-overlapping, left to right, as with
`pattern.finditer`. Alternatives without a determinable start (no `\\b` before the first literal,
e.g. `\\b'd advise`) fall back to `GatedPattern`.
"""

from __future__ import annotations

import bisect
import re
import threading
from collections import deque
from collections.abc import Callable, Sequence
from typing import Any

from judge.judging.builtin.gating import GatedPattern, split_top_level

KEY_LEN = 3
_TOKEN_CHARS = re.compile(r"[a-z]+(?:'[a-z]+)?|\d+")
_MAX_STATES = 4000
_PLAIN_ESCAPES = set(".?!*+()[]{}|^$\\-'\" ,:;/")


def _group_end(s: str, i: int) -> int:
    """Index just after the group `(...)` or class `[...]` starting at s[i]."""
    if s[i] == "[":
        j = i + 1
        if s[j : j + 1] == "^":
            j += 1
        if s[j : j + 1] == "]":
            j += 1
        while j < len(s) and s[j] != "]":
            j += 2 if s[j] == "\\" else 1
        return j + 1
    depth = 0
    j = i
    in_class = False
    while j < len(s):
        ch = s[j]
        if ch == "\\":
            j += 2
            continue
        if in_class:
            in_class = ch != "]"
        elif ch == "[":
            in_class = True
        elif ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
            if depth == 0:
                return j + 1
        j += 1
    return j


def _key_of(lit: str) -> tuple[str | None, bool]:
    """(key, decided) for a literal prefix: decided when the first token's key is fixed by `lit`."""
    m = _TOKEN_CHARS.match(lit)
    if m is None:
        return None, bool(lit)  # starts with a non-token character: not keyable
    run = m.group()
    if len(run) >= KEY_LEN:
        return run[:KEY_LEN], True
    if m.end() < len(lit):
        nxt = lit[m.end()]
        if nxt == "'" and m.end() + 1 == len(lit):
            return None, False  # "i'" + ...: the token may continue ("i'm")
        return run, True
    return None, False


PREFIX_BUDGET = 48  # expansions per alternative beyond which literal prefixes stop growing
PREFIX_MAX = 14  # literal prefixes stop growing at this length


def alternative_prefixes(alt: str) -> list[tuple[str, str]] | None:
    """(key, literal prefix) pairs such that every match of `alt` starts with one of the prefixes.

    The key is the first three characters of the match's first token (the whole token if shorter).
    Every match must start at a word boundary (`\\b` before the first literal character); None when
    that, or the first token, cannot be determined from the pattern.
    """
    out: list[tuple[str, str]] = []
    # state: (literal so far, rest of the pattern, word boundary seen before the literal); breadth first,
    # so that when the budget runs out the prefixes have grown evenly (not one long branch and short rest)
    stack: deque[tuple[str, str, bool]] = deque([("", alt, False)])
    steps = 0

    def done(lit: str, probe: str, bounded: bool) -> bool:
        key, decided = _key_of(probe)
        if not decided:
            return False
        if key is None or not bounded:
            raise _NotKeyable
        out.append((key, lit))
        return True

    try:
        while stack:
            steps += 1
            if steps > _MAX_STATES:
                return None
            lit, rest, bounded = stack.popleft()
            growing = len(lit) < PREFIX_MAX and len(stack) + len(out) < PREFIX_BUDGET
            if not growing and done(lit, lit, bounded):
                continue
            if not rest:
                if done(lit, lit + "\x00", bounded):  # a complete alternative ends the token only if its key is known
                    continue
                return None  # the pattern ends inside a short token: the token may be longer
            ch = rest[0]
            if rest.startswith("\\b"):
                if not lit:
                    stack.append((lit, rest[2:], True))
                    continue
                m = _TOKEN_CHARS.match(lit)
                if m is None or m.end() != len(lit):
                    if done(lit, lit, bounded):
                        continue
                    return None
                if done(lit, lit + " ", bounded):  # the token ends here: the prefix stops
                    continue
                return None
            if ch == "(":
                end = _group_end(rest, 0)
                inner = rest[1 : end - 1]
                quant = rest[end : end + 1]
                special = inner.startswith("?") and not inner.startswith("?:")
                if special or quant in ("*", "+", "{"):
                    if done(lit, lit, bounded):
                        continue
                    return None
                inner = inner[2:] if inner.startswith("?:") else inner
                after = rest[end + 1 :] if quant == "?" else rest[end:]
                for part in split_top_level(inner):
                    stack.append((lit, part + after, bounded))
                if quant == "?":
                    stack.append((lit, after, bounded))
                continue
            char = ""
            nxt = 1
            if ch == "\\":
                esc = rest[1:2]
                char, nxt = (esc, 2) if esc in _PLAIN_ESCAPES else ("", 2)
            elif ch not in "[.^$|?*+{)":
                char = ch
            quant = rest[nxt : nxt + 1]
            if not char or quant in ("*", "+", "{"):
                if done(lit, lit, bounded):
                    continue
                return None
            if quant == "?":
                stack.append((lit + char, rest[nxt + 1 :], bounded))
                stack.append((lit, rest[nxt + 1 :], bounded))
            else:
                stack.append((lit + char, rest[nxt:], bounded))
    except _NotKeyable:
        return None
    return out or None


class _NotKeyable(Exception):
    pass


class _LazyPattern:
    """A regex compiled on its first `match` (most prefixes' regexes are never needed by a short run)."""

    __slots__ = ("flags", "match", "source")

    def __init__(self, source: str, flags: int) -> None:
        self.source = source
        self.flags = flags
        self.match: Callable[[str, int], re.Match[str] | None] = self._compile_and_match

    def _compile_and_match(self, text: str, pos: int) -> re.Match[str] | None:
        self.match = re.compile(self.source, self.flags).match
        return self.match(text, pos)


class ScanGroup:
    """Scanners that read the same text share one pass over it.

    The first member to scan a text scans it for every member (one `PhraseScanner` of all their
    patterns, built on first use) and keeps the result for that text object, per thread; the others then
    take their part of it. Results equal those of separate scanners: each pattern's matches are found
    independently of the others'."""

    def __init__(self) -> None:
        self._patterns: list[re.Pattern[str]] = []
        self._joint: PhraseScanner | None = None
        self._last = threading.local()

    def _add(self, patterns: Sequence[re.Pattern[str]]) -> int:
        if self._joint is not None:
            raise RuntimeError("a scan group takes no new members after its first scan")
        self._patterns.extend(patterns)
        return len(self._patterns) - len(patterns)

    def scan(self, text: str) -> list[list[re.Match[str]]]:
        last = self._last
        if getattr(last, "text", None) is not text:
            if self._joint is None:
                self._joint = PhraseScanner(self._patterns)
            last.found = self._joint.scan(text)
            last.text = text
        found: list[list[re.Match[str]]] = last.found
        return found


# Scanners over the whole normalised response (the rules' cues, the relation's swap/clarify phrases).
RESPONSE = ScanGroup()


class PhraseScanner:
    """Finds the matches of several cue patterns in one pass over the word starts of a text."""

    def __init__(self, patterns: Sequence[re.Pattern[str]], group: ScanGroup | None = None) -> None:
        self.n = len(patterns)
        self._group = group
        self._offset = group._add(patterns) if group is not None else 0
        if group is not None:
            return  # the group scans
        # per pattern: its keyable alternatives in original order, each with the literal prefixes of its matches
        keyable: list[list[tuple[str, frozenset[str]]]] = []
        fallback: list[GatedPattern | None] = []
        for pattern in patterns:
            rest: list[str] = []
            alts: dict[str, set[str]] = {}
            for alt in split_top_level(pattern.pattern):
                pairs = alternative_prefixes(alt)
                if pairs is None:
                    rest.append(alt)
                else:
                    alts.setdefault(alt, set()).update(prefix for _, prefix in pairs)
            keyable.append([(alt, frozenset(prefixes)) for alt, prefixes in alts.items()])
            fallback.append(GatedPattern(re.compile("|".join(rest), pattern.flags)) if rest else None)
        self._fallback = tuple(fallback)
        prefixes = sorted({p for alts_ in keyable for _, ps in alts_ for p in ps})
        # The trigger matches the *longest* prefix at a word start (the trie prefers longer). Every prefix of
        # an alternative that the text starts with there is then a prefix of that one, so which alternatives
        # can match follows from the matched prefix alone: `_runs` maps it to (pattern, regex of just those).
        viable: list[list[list[str]]] = [[[] for _ in patterns] for _ in prefixes]
        for ci, alts_ in enumerate(keyable):
            for alt, ps in alts_:
                hit: set[int] = set()
                for p in ps:  # the prefixes extending p are a contiguous run of the sorted list
                    i = bisect.bisect_left(prefixes, p)
                    while i < len(prefixes) and prefixes[i].startswith(p):
                        hit.add(i)
                        i += 1
                for i in hit:
                    viable[i][ci].append(alt)  # alternatives stay in their original order
        compiled: dict[tuple[int, tuple[str, ...]], _LazyPattern] = {}
        runs: dict[str, tuple[tuple[int, _LazyPattern], ...]] = {}
        for prefix, per_pattern in zip(prefixes, viable, strict=True):
            entries: list[tuple[int, _LazyPattern]] = []
            for ci, run in enumerate(per_pattern):
                if run:
                    key = (int(patterns[ci].flags), tuple(run))
                    rx = compiled.get(key)
                    if rx is None:
                        rx = compiled[key] = _LazyPattern("|".join(run), patterns[ci].flags)
                    entries.append((ci, rx))
            runs[prefix] = tuple(entries)
        self._runs = runs
        # A phrase starts at a word boundary and every prefix starts with a word character: so right after a
        # non-word character (the text is scanned with a space in front). A leading character class lets `re`
        # skip to the candidates in C; a leading `\b` would make it try the whole trie at every position.
        self._trigger = re.compile(r"\W(" + (trie_pattern(prefixes) if prefixes else "(?!)") + ")")

    def scan(self, text: str) -> list[list[re.Match[str]]]:
        """Matches of every pattern in `text`, each list ordered by position (non-overlapping)."""
        n = self.n
        if self._group is not None:
            return self._group.scan(text)[self._offset : self._offset + n]
        found: list[list[re.Match[str]]] = [[] for _ in range(n)]
        last_end = [0] * n
        runs, search = self._runs, self._trigger.search
        padded = " " + text  # a phrase may start at 0: positions in `padded` are one more than in `text`
        trig = search(padded)
        while trig is not None:
            at = trig.start(1)
            start = at - 1
            for ci, rx in runs[trig.group(1)]:
                if start >= last_end[ci]:
                    hit = rx.match(text, start)
                    if hit is not None:
                        found[ci].append(hit)
                        last_end[ci] = hit.end()
            trig = search(padded, at)  # prefixes of other phrases may start inside this one
        for ci, fb in enumerate(self._fallback):
            if fb is None:
                continue
            extra = fb.finditer(text)
            if extra:
                merged = found[ci] + extra
                merged.sort(key=_start)
                found[ci] = merged
        return found


def trie_pattern(words: Sequence[str]) -> str:
    """A regex matching any of `words`, factored as a trie (`re` then rejects most positions at once)."""
    root: dict[str, Any] = {}
    for w in words:
        node = root
        for ch in w:
            node = node.setdefault(ch, {})
        node[""] = {}

    def build(node: dict[str, Any]) -> str:
        alts = [re.escape(ch) + build(child) for ch, child in sorted(node.items()) if ch]
        if not alts:
            return ""
        body = alts[0] if len(alts) == 1 else "(?:" + "|".join(alts) + ")"
        if "" in node:
            body = f"(?:{body})?" if len(alts) > 1 or len(alts[0]) > 1 else body + "?"
        return body

    return build(root)


def _start(m: re.Match[str]) -> int:
    return m.start()


def after_newline(pattern: re.Pattern[str]) -> re.Pattern[str]:
    """A line-start pattern (`^...` with re.MULTILINE) rewritten to run on `"\\n" + text`: `\\n...`.

    `re` tries a `^`-led pattern at every position; one led by a literal it finds in C. On the padded text
    the rewritten pattern matches where the original matches on `text`, each match starting at the newline
    before the line, so `m.start()` equals the original match's start in `text` (and `m.group()` has the
    newline in front). Only for patterns whose matches never end with a newline: the newline the next
    match needs would be consumed (the rules' line patterns all end with a non-space character or a word).
    """
    if not pattern.pattern.startswith("^") or not pattern.flags & re.MULTILINE:
        raise ValueError(f"not a line-start pattern: {pattern.pattern[:40]!r}")
    return re.compile("\n" + pattern.pattern[1:], pattern.flags)
