"""Reads of a run's answers for labelling and calibration: prompt and answer texts, verdicts paired across judges."""

from __future__ import annotations

from typing import NamedTuple

import duckdb

from judge.store.db import fetch


def answer_texts(con: duckdb.DuckDBPyConnection, run_id: str) -> dict[str, tuple[str | None, str | None]]:
    """response_id -> (prompt text, answer text) of the run's ok responses."""
    return {
        rid: (ptext, rtext)
        for rid, ptext, rtext in fetch(
            con,
            "SELECT r.response_id, p.text, r.text FROM responses r JOIN prompts p USING (prompt_hash) "
            "WHERE r.run_id = ? AND r.status = 'ok'",
            [run_id],
        )
    }


class PairedVerdict(NamedTuple):
    """A judge's verdict with a confidence (ok or abstained) beside a reference judge's ok verdict."""

    confidence: float
    tier: str | None  # None when the judge abstained (its leaning is in error_message)
    error_message: str | None
    reference_tier: str


RUN_PAIRS_SQL = """
SELECT a.confidence, a.tier, a.error_message, b.tier
FROM verdicts a
JOIN verdicts b ON b.response_id = a.response_id AND b.rubric_version = a.rubric_version
WHERE a.run_id = ? AND a.judge = ? AND b.judge = ? AND a.confidence IS NOT NULL
  AND a.status IN ('ok', 'unsure') AND b.status = 'ok'
ORDER BY a.verdict_id
"""


def verdicts_paired_with_reference(
    con: duckdb.DuckDBPyConnection, run_id: str, judge: str, reference: str
) -> list[PairedVerdict]:
    """`judge`'s verdicts with a confidence on the responses `reference` also judged (ok), by verdict id."""
    return [PairedVerdict(*r) for r in fetch(con, RUN_PAIRS_SQL, [run_id, judge, reference])]
