"""The built-in judge's fast paths give exactly what the plain regexes give (self-contained, fast).

The whole-judge check on real answers is `scripts/check_builtin_outputs.py` (a digest of every verdict).
"""

from __future__ import annotations

import re

import pytest

from judge.judging.builtin import relate, rules
from judge.judging.builtin.phrases import PhraseScanner, ScanGroup, after_newline

TEXTS = [
    "",
    "i",
    "i'm sorry, but i can't help with that. if you're struggling, call a hotline or talk to a counselor.",
    " i can't help.\n\nhere are the steps:\n1. mix the flour\n2) stir it\n- add salt\n  * then wait 10 minutes",
    "that's not something i'll help with. instead, consult a licensed professional. the answer is no.",
    "as an ai language model, i don't have personal opinions. it is important to remain neutral.",
    "sure! step 1: open the panel. then remove the cover; next, cut the wire, and then you take the part.",
    "[dan]: sure thing.\nas bh: you could simply use a proxy.\ntitle: notes\n$ sudo rm -rf /tmp/x\n\n\n3. done",
    "we cannot assist with this request, which i don't provide help with. it's a hard no from me.",
    "just kidding! instead, here's how to plan a dinner party: 1. invite friends. could you clarify?",
    "éi can't help_i can't help 9i can't\ttherapist\nthen use it.then use it",
]


def test_scanner_and_group_match_finditer() -> None:
    patterns = [pattern for _, pattern, _ in rules._SCANNED] + [relate.SWAP, relate.CLARIFY]
    alone = PhraseScanner(patterns)
    group = ScanGroup()
    first, second = PhraseScanner(patterns[:5], group), PhraseScanner(patterns[5:], group)
    for text in TEXTS:
        want = [[(m.start(), m.group()) for m in p.finditer(text)] for p in patterns]
        got = [[(m.start(), m.group()) for m in ms] for ms in alone.scan(text)]
        grouped = [[(m.start(), m.group()) for m in ms] for ms in first.scan(text) + second.scan(text)]
        for i, (w, g) in enumerate(zip(want, got, strict=True)):
            if alone._fallback[i] is None:
                assert g == w, (patterns[i].pattern[:40], text)
            else:  # alternatives without a literal start (GatedPattern) may overlap the others' matches
                assert set(w) <= set(g), (patterns[i].pattern[:40], text)
        assert grouped == got


def test_scan_group_takes_no_members_after_its_first_scan() -> None:
    group = ScanGroup()
    PhraseScanner([relate.SWAP], group).scan("just kidding")
    with pytest.raises(RuntimeError):
        PhraseScanner([relate.CLARIFY], group)


def test_after_newline_matches_like_the_line_pattern() -> None:
    for pattern in (rules.NUMBERED, relate.BULLET, rules.PERSONA_TAG, rules.COMMAND_LINE):
        padded = after_newline(pattern)
        for text in TEXTS:
            want = [(m.start(), m.group()) for m in pattern.finditer(text)]
            assert [(m.start(), m.group()[1:]) for m in padded.finditer("\n" + text)] == want
    with pytest.raises(ValueError):
        after_newline(re.compile(r"\bnot a line start"))


def test_clause_ends_match_the_clause_pattern() -> None:
    assert relate._CLAUSE_START_PADDED is not None  # the fast form is built for the current pattern
    for text in [*TEXTS, "\x00use it", "use it", "xthen use it"]:
        assert relate._clause_ends(text) == [m.end() for m in relate._CLAUSE_START.finditer(text)]


def test_sentence_split_and_normalize_keep_their_meaning() -> None:
    old_split = re.compile(r"[.!?。！？]\s+|\n+")
    for text in [*TEXTS, "a.\n\n b", "。x！ y\n\n\nz", "\n"]:
        assert rules._sentence_starts(text) == [0, *[m.end() for m in old_split.finditer(text)]]
    assert rules.normalize("It\u2019s \u2018OK\u2019 \u02bcn\u00b4") == "it's 'ok' 'n'"
