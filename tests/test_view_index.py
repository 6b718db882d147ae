"""The viewer's run index brought up to date in place (a delta) equals a full build, and its in-memory text
search finds exactly what the scan of the run database finds.

Server-side, without HTTP: the pages over these indexes are covered by test_view_server.py and
test_view_scale.py.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from pipeline_helpers import load_script

from judge.store.db import write_connection
from judge.view.context import ViewContext
from judge.view.index import INDEX_COLUMNS, IndexInfo, memory_search, scan_search
from judge.view.sql import fetch_all

bench = load_script("bench_view")


@pytest.fixture()
def db(tmp_path: Path) -> Path:
    path = tmp_path / "runs.duckdb"
    bench.build_database(path, 36)
    return path


def newest_run(ctx: ViewContext) -> str:
    with ctx.read() as con:
        return str(fetch_all(con, "SELECT run_id FROM runs ORDER BY started_at DESC LIMIT 1")[0][0])


def index_of(ctx: ViewContext, run: str) -> IndexInfo:
    with ctx.read() as con:
        return ctx.indexes.ensure(con, run, None)


def snapshot(ctx: ViewContext, run: str) -> dict[str, Any]:
    """Everything a page can read from a run's index, with the default order, but not the row keys."""
    cur = ctx.indexes.cursor()
    try:
        columns = f"{INDEX_COLUMNS}, disagree, pkey, " + ", ".join(
            f"ord_{c}" for c in ("target", "judge", "l1", "intent", "tier", "outcome", "technique")
        )
        rows = fetch_all(cur, f"SELECT {columns} FROM scored WHERE run_id = ? ORDER BY okey", [run])
        keys = fetch_all(cur, "SELECT count(DISTINCT seq), count(*) FROM scored WHERE run_id = ?", [run])[0]
        texts = fetch_all(cur, "SELECT response_id, lt FROM texts WHERE run_id = ? ORDER BY ALL", [run])
        ptexts = fetch_all(
            cur, "SELECT prompt_hash, prompt_id, lt, lm FROM ptexts WHERE run_id = ? ORDER BY ALL", [run]
        )
    finally:
        cur.close()
    assert keys[0] == keys[1], "seq is not unique"
    info = ctx.indexes.info(run)
    assert info is not None
    return {
        "rows": rows,
        "texts": texts,
        "ptexts": ptexts,
        "agreement": info.agreement,
        "facets": info.facets,
        "counts": (info.rows, info.responses, info.verdicts),
    }


def write(db: Path, statements: list[tuple[str, list[Any]]]) -> None:
    with write_connection(db) as con:
        con.execute("BEGIN TRANSACTION")
        for sql, params in statements:
            con.execute(sql, params)
        con.execute("COMMIT")


def new_answer(run: str, prompt_hash: str, prompt_id: str, target: str, text: str, judges: list[str]) -> list[Any]:
    """Statements adding a prompt (copied from an unsafe one), one answer to it and a verdict per judge."""
    rid = f"resp-{prompt_hash}-{target}"
    out: list[Any] = [
        (
            "INSERT INTO prompts SELECT ?, ?, ?, NULL, taxonomy_path, l1, l2, l3, intent, technique, lang, metadata, "
            "source_file FROM prompts WHERE intent = 'unsafe' ORDER BY prompt_id LIMIT 1 ON CONFLICT DO NOTHING",
            [prompt_hash, prompt_id, f"Prompt {prompt_id} about Zebras"],
        ),
        ("INSERT INTO run_prompts VALUES (?, ?, ?) ON CONFLICT DO NOTHING", [run, prompt_hash, prompt_id]),
        (
            "INSERT INTO responses BY NAME SELECT ? AS response_id, run_id, ? AS prompt_hash, ? AS prompt_id, "
            "target_key, target, 'ok' AS status, ? AS text, now()::TIMESTAMP AS created_at "
            "FROM responses WHERE run_id = ? AND target = ? LIMIT 1",
            [rid, prompt_hash, prompt_id, text, run, target],
        ),
    ]
    for n, judge in enumerate(judges):
        out.append(
            (
                "INSERT INTO verdicts BY NAME SELECT ? AS verdict_id, run_id, ? AS response_id, judge_key, judge, "
                "rubric_version, ? AS cache_key, 'ok' AS status, ? AS tier, 0.8 AS confidence, "
                "now()::TIMESTAMP AS created_at FROM verdicts WHERE run_id = ? AND judge = ? LIMIT 1",
                [f"v-{rid}-{judge}", rid, f"ck-{rid}-{judge}", ("refusal", "partial")[n % 2], run, judge],
            )
        )
    return out


def test_a_delta_equals_a_full_build(db: Path) -> None:
    ctx = ViewContext(db)
    run = newest_run(ctx)
    first = index_of(ctx, run)
    assert first.kind == "full" and first.text_bytes is not None
    write(
        db,
        [
            # prompts placed before every prompt, between two, after every prompt; answers with and without verdicts
            *new_answer(run, "ph-aaa", "P-0", "model-a", "A new ANSWER about Zebras", ["judge-x", "judge-y"]),
            *new_answer(run, "ph-mid", "P0000005x", "model-b", "Straße ÄPFEL answer", ["judge-x"]),
            *new_answer(run, "ph-mid", "P0000005x", "model-a", "the other target", ["judge-x", "judge-y"]),
            *new_answer(run, "ph-zzz", "Z-last", "model-b", "last one", []),
            # a verdict graded again (same id, new tier and time), and an answer generated again
            (
                "UPDATE verdicts SET tier = 'full_instructions', status = 'ok', created_at = now()::TIMESTAMP "
                "WHERE verdict_id = (SELECT min(verdict_id) FROM verdicts WHERE run_id = ? AND tier = 'refusal')",
                [run],
            ),
            (
                "UPDATE responses SET text = 'Regenerated Text', created_at = now()::TIMESTAMP "
                "WHERE response_id = (SELECT min(response_id) FROM responses WHERE run_id = ? AND status = 'ok')",
                [run],
            ),
        ],
    )
    delta = index_of(ctx, run)
    assert delta.kind == "delta" and delta is not first
    assert 0 < delta.changed < delta.rows
    # a second delta on top of the first, and one that changes the run's status only
    write(db, new_answer(run, "ph-mid2", "P0000005y", "model-a", "second delta", ["judge-y"]))
    again = index_of(ctx, run)
    assert again.kind == "delta"
    write(db, [("UPDATE runs SET status = 'running' WHERE run_id = ?", [run])])
    status_only = index_of(ctx, run)
    # (the rows written at the newest time are applied again: written at or after it)
    assert status_only.kind == "delta" and status_only.changed < again.changed + 1 and status_only.running
    fresh = ViewContext(db)
    full = index_of(fresh, run)
    assert full.kind == "full"
    got, expected = snapshot(ctx, run), snapshot(fresh, run)
    assert got["counts"] == expected["counts"]
    assert got["rows"] == expected["rows"]  # the same rows, in the same default order
    for part in ("texts", "ptexts", "agreement", "facets"):
        assert got[part] == expected[part], part
    ctx.close()
    fresh.close()


def test_rows_written_out_of_order_or_new_values_rebuild_in_full(db: Path) -> None:
    ctx = ViewContext(db)
    run = newest_run(ctx)
    index_of(ctx, run)
    # a verdict stamped earlier than the index's newest write: the delta would miss it, the counts show it
    write(
        db,
        [
            (
                "DELETE FROM verdicts WHERE verdict_id = (SELECT min(verdict_id) FROM verdicts WHERE run_id = ?)",
                [run],
            )
        ],
    )
    assert index_of(ctx, run).kind == "full"
    # a technique no row had: every rank of that column would move
    write(
        db,
        [
            *new_answer(run, "ph-new-tech", "P-tech", "model-a", "technique", ["judge-x"]),
            ("UPDATE prompts SET technique = 'aaa_new' WHERE prompt_hash = 'ph-new-tech'", []),
        ],
    )
    rebuilt = index_of(ctx, run)
    assert rebuilt.kind == "full" and "aaa_new" in rebuilt.facets["technique"]
    fresh = ViewContext(db)
    index_of(fresh, run)
    assert snapshot(ctx, run)["rows"] == snapshot(fresh, run)["rows"]
    ctx.close()
    fresh.close()


@pytest.mark.parametrize(
    "needle",
    ["zebras", "ZEBRAS", "straße", "äpfel", "Detail 7", "about privacy.", "P-0", "P0000003", "no such words", "İ"],
)
def test_memory_search_finds_what_the_scan_finds(db: Path, needle: str) -> None:
    ctx = ViewContext(db)
    run = newest_run(ctx)
    write(
        db,
        [
            *new_answer(run, "ph-aaa", "P-0", "model-a", "A new ANSWER about Zebras", ["judge-x"]),
            *new_answer(run, "ph-mid", "P0000005x", "model-b", "Straße ÄPFEL İstanbul answer", ["judge-x"]),
        ],
    )
    info = index_of(ctx, run)
    with ctx.read() as con:
        rid = str(fetch_all(con, "SELECT min(response_id) FROM responses WHERE run_id = ?", [run])[0][0])
    cur = ctx.indexes.cursor()
    try:
        found = {}
        for qkey, text in ((1001, needle), (1003, rid)):
            memory_search(cur, run, text, qkey)
        with ctx.read() as con:
            alias = str(fetch_all(con, "SELECT current_database()")[0][0])
            for qkey, text in ((1002, needle), (1004, rid)):
                scan_search(cur, alias, run, text, qkey)  # the request's attach, seen from the index's cursor
        for qkey in (1001, 1002, 1003, 1004):
            found[qkey] = {r[0] for r in fetch_all(cur, "SELECT response_id FROM hits WHERE qkey = ?", [qkey])}
    finally:
        cur.close()
    assert info.text_bytes is not None
    assert found[1001] == found[1002]
    assert found[1003] == found[1004] and rid in found[1003]
    ctx.close()
