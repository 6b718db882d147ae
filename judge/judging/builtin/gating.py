"""Faster matching of long regex alternations: only the alternatives that can match are run.

Python's `re` tries every top-level alternative at every word boundary, so a 40-way alternation costs
~40 checks per word even when nothing matches. `GatedPattern` splits a pattern into its top-level
alternatives and derives for each a *gate*: a literal substring that every match of that alternative
must contain (the longest unconditional literal run). Per text it keeps the alternatives whose gate
occurs (cheap `in` tests) and runs just those (each compiled once), plus the ungated ones together.
Matches equal those of the full pattern, except that matches of different alternatives may overlap.
"""

from __future__ import annotations

import re

_SPECIAL = set("()[]{}?*+|.^$\\")
_QUANT = set("?*{")


def split_top_level(pattern: str) -> list[str]:
    """Split a regex at its top-level `|` (outside groups and character classes)."""
    parts: list[str] = []
    depth = 0
    in_class = False
    start = 0
    i = 0
    while i < len(pattern):
        ch = pattern[i]
        if ch == "\\":
            i += 2
            continue
        if in_class:
            in_class = ch != "]"
        elif ch == "[":
            in_class = True
            if pattern[i + 1 : i + 2] == "]":
                i += 1
        elif ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        elif ch == "|" and depth == 0:
            parts.append(pattern[start:i])
            start = i + 1
        i += 1
    parts.append(pattern[start:])
    return parts


def _skip_group(alt: str, i: int) -> int:
    """Index just after the group or class starting at alt[i]."""
    close = "]" if alt[i] == "[" else ")"
    depth = 0
    while i < len(alt):
        ch = alt[i]
        if ch == "\\":
            i += 2
            continue
        if close == "]":
            if ch == "]" and depth:
                return i + 1
            depth = 1
        elif ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
            if depth == 0:
                return i + 1
        i += 1
    return i


def gate_of(alt: str) -> str:
    """The longest literal run every match of `alt` must contain ('' when there is none)."""
    runs: list[str] = []
    run: list[str] = []
    i = 0
    while i < len(alt):
        ch = alt[i]
        lit: str | None = None
        if ch == "\\":
            nxt = alt[i + 1 : i + 2]
            lit = nxt if nxt and not nxt.isalnum() else None
            i += 2
        elif ch in "([":
            i = _skip_group(alt, i)
        elif ch == "{":
            i = alt.find("}", i) + 1 or len(alt)
        elif ch in _SPECIAL:
            i += 1
        else:
            lit = ch
            i += 1
        if i < len(alt) and alt[i] in _QUANT:
            lit = None  # optional or repeated: not required as written
        if lit is None:
            runs.append("".join(run))
            run = []
        else:
            run.append(lit)
            if i < len(alt) and alt[i] == "+":
                runs.append("".join(run))
                run = []
    runs.append("".join(run))
    best = max(runs, key=len)
    return best if len(best) >= 3 else ""


def _first_group(alt: str) -> tuple[int, int] | None:
    """Span of the first top-level, non-optional `(?:...)` group of `alt`, if any."""
    i = 0
    while i < len(alt):
        ch = alt[i]
        if ch == "\\":
            i += 2
            continue
        if ch in "([":
            end = _skip_group(alt, i)
            optional = end < len(alt) and alt[end] in "?*+{"
            if ch == "(" and alt.startswith("(?:", i) and not optional:
                return i, end
            i = end
            continue
        i += 1
    return None


GOOD_GATE = 3  # gates shorter than this ("can", " to") are too common to filter much: expand further


def expand(alt: str, budget: int = 400) -> list[str]:
    """Distribute groups of a weakly gated alternative until every part has a good gate (or give up)."""
    if len(gate_of(alt)) >= GOOD_GATE:
        return [alt]
    span = _first_group(alt)
    if span is None:
        return [alt]
    a, b = span
    out: list[str] = []
    for part in split_top_level(alt[a + 3 : b - 1]):
        out.extend(expand(alt[:a] + part + alt[b:], budget))
        if len(out) > budget:
            return [alt]
    return out


class GatedPattern:
    """An alternation whose alternatives run only when their literal gate occurs in the text."""

    def __init__(self, pattern: re.Pattern[str]) -> None:
        self.pattern = pattern
        groups: dict[tuple[str, bool], list[str]] = {}
        always: list[str] = []
        for alt in split_top_level(pattern.pattern):
            for part in expand(alt):
                gate = gate_of(part)
                head = _leading_literal(part[2:]) if part.startswith("\\b") else ""
                if len(head) >= 3 and head[0].isalnum():
                    # `\bword...` -> `word...`: a literal prefix lets `re` skip ahead with a fast search;
                    # the word boundary is checked on the (rare) matches instead.
                    groups.setdefault((head, True), []).append(part[2:])
                elif gate:
                    groups.setdefault((gate, False), []).append(part)
                else:
                    always.append(part)
        flags = pattern.flags
        self._always = re.compile("|".join(always), flags) if always else None
        self._gated = tuple((g, re.compile("|".join(alts), flags), chk) for (g, chk), alts in groups.items())

    def finditer(self, text: str) -> list[re.Match[str]]:
        """All matches, ordered by position (matches of different alternatives may overlap)."""
        out: list[re.Match[str]] = list(self._always.finditer(text)) if self._always is not None else []
        for gate, rx, check_boundary in self._gated:
            if gate not in text:
                continue
            if check_boundary:
                out.extend(m for m in rx.finditer(text) if _word_start(text, m.start()))
            else:
                out.extend(rx.finditer(text))
        if len(out) > 1:
            out.sort(key=_start)
        return out


def _word_start(text: str, i: int) -> bool:
    if i == 0:
        return True
    ch = text[i - 1]
    return not (ch.isalnum() or ch == "_")


def _leading_literal(alt: str) -> str:
    """The literal characters at the start of `alt` that are unconditionally required."""
    out: list[str] = []
    for i, ch in enumerate(alt):
        if ch in _SPECIAL:
            break
        if i + 1 < len(alt) and alt[i + 1] in _QUANT:
            break
        out.append(ch)
    return "".join(out)


def _start(m: re.Match[str]) -> int:
    return m.start()
