"""The verdict table: one page of a run's (response × judge) rows, filtered and sorted in the run index.

Counting, sorting and paging run in the in-memory index; only the page's rows are then read from
the run database for their text snippets and gold labels.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import duckdb

from judge.compare.gold import has_gold_table
from judge.view.context import ViewContext
from judge.view.filters import VerdictQuery
from judge.view.index import SORT_COLUMNS, IndexInfo
from judge.view.sql import fetch_all

SNIPPET_CHARS = 240


@dataclass(frozen=True)
class TableRow:
    response_id: str
    verdict_id: str | None
    prompt_id: str
    target: str
    judge: str
    intent: str
    taxonomy_path: str
    l1: str | None
    technique: str | None
    response_status: str
    verdict_status: str | None
    error_kind: str | None
    tier: str | None
    outcome: str | None
    confidence: float | None
    disagree: bool
    prompt: str
    response: str
    gold: str | None  # a gold tier (or binary label) for this response, if any


@dataclass(frozen=True)
class TablePage:
    query: VerdictQuery
    info: IndexInfo
    rows: list[TableRow]
    total: int
    page: int
    pages: int


_ROW_COLUMNS = (
    "s.response_id, s.verdict_id, s.prompt_id, s.target, s.judge, s.intent, s.taxonomy_path, s.l1, s.technique, "
    "s.response_status, s.verdict_status, coalesce(s.verdict_error_kind, s.response_error_kind), s.tier, "
    "s.outcome, s.confidence, s.disagree, s.prompt_hash"
)


def gold_response_ids(con: duckdb.DuckDBPyConnection, run_id: str) -> list[str]:
    """The run's responses that have a gold label: by response_id, or by prompt_id and response text hash."""
    if not has_gold_table(con):
        return []
    rows = fetch_all(
        con,
        """SELECT DISTINCT r.response_id FROM gold_labels g JOIN responses r ON g.response_id = r.response_id
           WHERE r.run_id = $run
           UNION
           SELECT DISTINCT r.response_id FROM gold_labels g JOIN responses r ON g.prompt_id = r.prompt_id
           WHERE r.run_id = $run AND g.response_id IS NULL AND g.response_text_hash = sha256(coalesce(r.text, ''))""",
        {"run": run_id},
    )
    return [str(r[0]) for r in rows]


def verdict_page(ctx: ViewContext, con: duckdb.DuckDBPyConnection, run_id: str, query: VerdictQuery) -> TablePage:
    info = ctx.indexes.ensure(con, run_id, ctx.wait_s)
    hits = None
    if query.q:
        hits = ctx.indexes.search(con, info, query.q)
    gold_ids = gold_response_ids(con, run_id) if query.gold is not None else None
    where, params = query.where(run_id, hits_table="hits" if hits is not None else None, gold_ids=gold_ids)
    if hits is not None:
        params["qkey"] = hits
    cur = ctx.indexes.cursor()
    try:
        order = query.order_by()
        # one filtering pass: the matching rows' integer sort keys are kept, then counted and sorted
        total, seqs = _count_and_page(cur, where, order, params, query.per, (query.page - 1) * query.per)
        pages = max(1, -(-total // query.per))
        page = min(query.page, pages)  # past the end: the last page (as _count_and_page read)
        raw = fetch_all(
            cur,
            f"SELECT {_ROW_COLUMNS} FROM scored s WHERE s.seq = ANY($seqs) AND s.run_id = $run ORDER BY {order}",
            {"run": run_id, "seqs": seqs},
        )
    finally:
        cur.close()
    return TablePage(query, info, _with_texts(con, run_id, raw), total, page, pages)


_SORT_KEYS = "s.seq, s.okey, s.confidence, " + ", ".join(f"s.ord_{c}" for c in SORT_COLUMNS)


def _count_and_page(
    cur: duckdb.DuckDBPyConnection, where: str, order: str, params: dict[str, Any], limit: int, offset: int
) -> tuple[int, list[int]]:
    """How many rows match, and the seq keys of the rows [offset, offset + limit) in `order` (an offset past
    the end reads the last page)."""
    rows = fetch_all(
        cur,
        f"""WITH s AS MATERIALIZED (SELECT {_SORT_KEYS} FROM scored s WHERE {where})
            SELECT NULL, count(*) FROM s
            UNION ALL
            (SELECT s.seq, NULL FROM s ORDER BY {order} LIMIT $lim
             OFFSET (SELECT greatest(0, least($off, (count(*) - 1) // $lim * $lim)) FROM s))""",
        {**params, "lim": limit, "off": offset},
    )
    total = next(int(n) for seq, n in rows if seq is None)
    return total, [int(seq) for seq, _ in rows if seq is not None]


def _with_texts(con: duckdb.DuckDBPyConnection, run_id: str, raw: list[tuple[Any, ...]]) -> list[TableRow]:
    """The page's rows with prompt and response snippets and gold labels, read for these rows only."""
    if not raw:
        return []
    rids = sorted({r[0] for r in raw})
    phashes = sorted({r[16] for r in raw})
    # `key IN (?, ?, …)` is answered through the primary-key index; `= ANY(list)` would scan the table
    responses = dict(
        fetch_all(
            con,
            f"SELECT response_id, left(coalesce(text, ''), ?) FROM responses WHERE response_id IN ({_marks(rids)})",
            [SNIPPET_CHARS + 1, *rids],
        )
    )
    prompts = dict(
        fetch_all(
            con,
            f"SELECT prompt_hash, left(text, ?) FROM prompts WHERE prompt_hash IN ({_marks(phashes)})",
            [SNIPPET_CHARS + 1, *phashes],
        )
    )
    gold: dict[str, str] = {}
    if has_gold_table(con):
        for rid, label in fetch_all(
            con,
            "SELECT response_id, string_agg(DISTINCT coalesce(tier, binary_label), ', ') FROM gold_labels "
            "WHERE response_id = ANY(?::VARCHAR[]) GROUP BY response_id",
            [rids],
        ):
            gold[str(rid)] = str(label)
    out = []
    for r in raw:
        out.append(
            TableRow(
                response_id=r[0],
                verdict_id=r[1],
                prompt_id=r[2],
                target=r[3],
                judge=r[4],
                intent=r[5],
                taxonomy_path=r[6],
                l1=r[7],
                technique=r[8],
                response_status=r[9],
                verdict_status=r[10],
                error_kind=r[11],
                tier=r[12],
                outcome=r[13],
                confidence=r[14],
                disagree=bool(r[15]),
                prompt=_snippet(prompts.get(r[16], "")),
                response=_snippet(responses.get(r[0], "")),
                gold=gold.get(r[0]),
            )
        )
    return out


def _marks(values: list[str]) -> str:
    return ", ".join("?" * len(values))


def _snippet(text: str | None) -> str:
    text = (text or "").replace("\r", " ").replace("\n", " ")
    return text if len(text) <= SNIPPET_CHARS else text[:SNIPPET_CHARS] + "…"
