"""What is left to do in a run: the reads the stages resume from (answers, verdicts, open provider batches).

Each function runs one query on a connection the caller holds (judge.store.db.read_connection) and
says in its name what it returns. Rows still in the journal are the caller's to merge (they are
newer than the database).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

import duckdb

from judge.store.db import fetch
from judge.store.runs import PROMPT_COLUMNS


# --- generate ------------------------------------------------------------------------------------------
def finished_response_ids(con: duckdb.DuckDBPyConnection, run_id: str, statuses: Sequence[str]) -> set[str]:
    """Ids of the run's responses whose status is one of `statuses` (the ones generation skips)."""
    rows = fetch(
        con,
        f"SELECT response_id FROM responses WHERE run_id = ? AND status IN ({', '.join('?' * len(statuses))})",
        [run_id, *statuses],
    )
    return {r[0] for r in rows}


class ReusableResponse(NamedTuple):
    """An ok answer of an earlier run that a run with `reuse_responses` copies instead of asking again."""

    target_key: str
    prompt_hash: str
    response_id: str
    text: str | None
    finish_reason: str | None


def reusable_responses(con: duckdb.DuckDBPyConnection, run_id: str) -> dict[tuple[str, str], ReusableResponse]:
    """The latest ok response of each (target config, prompt hash) from runs other than `run_id`."""
    rows = fetch(
        con,
        """SELECT target_key, prompt_hash, response_id, text, finish_reason FROM responses
           WHERE status = 'ok' AND run_id <> ?
           QUALIFY row_number() OVER (PARTITION BY target_key, prompt_hash ORDER BY created_at DESC) = 1""",
        [run_id],
    )
    return {(r[0], r[1]): ReusableResponse(*r) for r in rows}


# --- grade ---------------------------------------------------------------------------------------------
def count_ok_responses(con: duckdb.DuckDBPyConnection, run_id: str) -> int:
    """How many of the run's responses are answers (status ok): the ones every judge grades."""
    return int(fetch(con, "SELECT count(*) FROM responses WHERE run_id = ? AND status = 'ok'", [run_id])[0][0])


def count_done_verdicts(
    con: duckdb.DuckDBPyConnection, run_id: str, rubric_version: str, judge_keys: Sequence[str], statuses: Sequence[str]
) -> int:
    """Verdicts of these judges under this rubric on the run's ok responses whose status is in `statuses`."""
    return int(
        fetch(
            con,
            "SELECT count(*) FROM verdicts v JOIN responses r USING (response_id) "
            "WHERE v.run_id = ? AND r.status = 'ok' AND v.rubric_version = ? "
            "AND v.judge_key IN (SELECT unnest(?::VARCHAR[])) AND v.status IN (SELECT unnest(?::VARCHAR[]))",
            [run_id, rubric_version, list(judge_keys), list(statuses)],
        )[0][0]
    )


def twin_response_groups(con: duckdb.DuckDBPyConnection, run_id: str) -> set[tuple[str, str]]:
    """(prompt hash, md5 of text) of the run's ok responses that have an identical twin in the run."""
    rows = fetch(
        con,
        "SELECT prompt_hash, md5(coalesce(text, '')) FROM responses WHERE run_id = ? AND status = 'ok' "
        "GROUP BY ALL HAVING count(*) > 1",
        [run_id],
    )
    return {(r[0], r[1]) for r in rows}


@dataclass(frozen=True)
class ResponseToGrade:
    """An ok response with its prompt and the judges that already have a verdict for it."""

    response_id: str
    prompt_hash: str
    text: str  # '' for a NULL text
    text_md5: str
    judged_by: frozenset[str]  # judge keys with a verdict of a done status under the rubric
    prompt_columns: tuple[Any, ...]  # PROMPT_COLUMNS, in order (judge.store.runs.prompt_from_row)


def responses_to_grade_page(
    con: duckdb.DuckDBPyConnection, run_id: str, rubric_version: str, statuses: Sequence[str], after: str, limit: int
) -> list[ResponseToGrade]:
    """The next `limit` ok responses of the run with response_id > `after`, in response_id order (keyset paging)."""
    rows = fetch(
        con,
        f"""SELECT r.response_id, r.prompt_hash, coalesce(r.text, ''), md5(coalesce(r.text, '')),
                   (SELECT list(v.judge_key) FROM verdicts v
                     WHERE v.run_id = r.run_id AND v.response_id = r.response_id
                       AND v.rubric_version = ? AND v.status IN (SELECT unnest(?::VARCHAR[]))),
                   {PROMPT_COLUMNS}
            FROM responses r JOIN prompts p USING (prompt_hash)
            WHERE r.run_id = ? AND r.status = 'ok' AND r.response_id > ?
            ORDER BY r.response_id LIMIT {int(limit)}""",
        [rubric_version, list(statuses), run_id, after],
    )
    return [
        ResponseToGrade(rid, phash, text, md5, frozenset(done or ()), tuple(prompt_cols))
        for rid, phash, text, md5, done, *prompt_cols in rows
    ]


def prompt_columns_by_hash(con: duckdb.DuckDBPyConnection, prompt_hashes: Sequence[str]) -> dict[str, tuple[Any, ...]]:
    """prompt hash -> its PROMPT_COLUMNS values, for the stored prompts among `prompt_hashes`."""
    rows = fetch(
        con,
        f"SELECT p.prompt_hash, {PROMPT_COLUMNS} FROM prompts p WHERE p.prompt_hash IN (SELECT unnest(?::VARCHAR[]))",
        [list(prompt_hashes)],
    )
    return {r[0]: tuple(r[1:]) for r in rows}


class ReusableVerdict(NamedTuple):
    """An ok verdict judged (not itself reused) that copies with the same cache key may reuse."""

    cache_key: str
    verdict_id: str
    tier: str | None
    confidence: float | None
    rationale: str | None
    raw_output: str | None
    decided_by: str | None
    cascade: Any  # JSON text (or already decoded), None when not a cascade


def reusable_verdicts(con: duckdb.DuckDBPyConnection, cache_keys: Sequence[str]) -> dict[str, ReusableVerdict]:
    """cache key -> an original ok verdict with that key, from any run."""
    rows = fetch(
        con,
        """SELECT cache_key, verdict_id, tier, confidence, rationale, raw_output, decided_by, cascade
           FROM verdicts WHERE status = 'ok' AND reused_from IS NULL
             AND cache_key IN (SELECT unnest(?::VARCHAR[]))""",
        [list(cache_keys)],
    )
    return {r[0]: ReusableVerdict(*r) for r in rows}


# --- provider batches ----------------------------------------------------------------------------------
# The provider_batches columns open_provider_batches returns, in order.
OPEN_BATCH_COLUMNS = (
    "batch_id",
    "run_id",
    "stage",
    "model_key",
    "model",
    "provider",
    "status",
    "item_ids",
    "submitted_at",
    "input_file_id",
    "output_file_id",
    "error_file_id",
    "updated_at",
    "finished_at",
    "error",
)


def open_provider_batches(
    con: duckdb.DuckDBPyConnection, run_id: str, stage: str, model_key: str
) -> list[tuple[Any, ...]]:
    """Batches of this run, stage and model submitted but not finished (OPEN_BATCH_COLUMNS, oldest first)."""
    return fetch(
        con,
        f"""SELECT {", ".join(OPEN_BATCH_COLUMNS)}
           FROM provider_batches
           WHERE run_id = ? AND stage = ? AND model_key = ? AND finished_at IS NULL
           ORDER BY submitted_at, batch_id""",
        [run_id, stage, model_key],
    )
