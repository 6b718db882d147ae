"""`judge view` at scale: the "preparing" page, indexes that follow a run being written, the bench script.

The speed itself is measured by scripts/bench_view.py (figures in docs/view.md); these tests check
what must hold whatever the speed: a page never waits for an index beyond its budget, and an index
never shows rows older than the last commit.
"""

from __future__ import annotations

import re
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from pipeline_helpers import ROOT, load_script, query

from judge.view.server import ViewServer

bench = load_script("bench_view")


@pytest.fixture()
def db(tmp_path: Path) -> Path:
    path = tmp_path / "runs.duckdb"
    bench.build_database(path, 48)
    return path


def newest_run(db: Path) -> str:
    return str(query(db, "SELECT run_id FROM runs ORDER BY started_at DESC LIMIT 1")[0][0])


def total_of(html: str) -> int:
    m = re.search(r'<b id="total">([\d,]+)</b>', html)
    assert m, "no row total on the page"
    return int(m.group(1).replace(",", ""))


def scored(db: Path, run: str, where: str = "true") -> int:
    return int(query(db, f"SELECT count(*) FROM scored WHERE run_id = ? AND {where}", [run])[0][0])


def test_a_page_answers_preparing_at_once_then_itself(db: Path) -> None:
    run = newest_run(db)
    with ViewServer(db, wait_s=0.0) as s:  # never wait: the first request always finds the index missing
        first = httpx.get(f"{s.url}/runs/{run}/verdicts", timeout=60)
        assert first.status_code == 202
        assert "Preparing run" in first.text and '<meta http-equiv="refresh" content="1">' in first.text
        assert first.headers["Content-Security-Policy"].startswith("default-src 'none'")
        assert first.headers["Cache-Control"] == "no-store"
        for _ in range(600):  # as the browser does: reload until the page is there
            page = httpx.get(f"{s.url}/runs/{run}/verdicts", timeout=60)
            if page.status_code != 202:
                break
            time.sleep(0.05)
        assert page.status_code == 200
        assert total_of(page.text) == scored(db, run)
        # the run page waits for its report the same way
        for _ in range(600):
            run_page = httpx.get(f"{s.url}/runs/{run}", timeout=60)
            if run_page.status_code != 202:
                break
            time.sleep(0.05)
        assert run_page.status_code == 200 and "By hazard" in run_page.text


WRITER = r"""
import sys
from judge.store.db import write_connection

db, run = sys.argv[1], sys.argv[2]
with write_connection(db) as con:
    con.execute("BEGIN TRANSACTION")
    # a new prompt answered by model-a and graded by both judges: two more rows of the run
    con.execute(
        "INSERT INTO prompts SELECT 'ph-new', 'P-NEW-1', 'A brand new prompt about zebras', NULL, taxonomy_path, "
        "l1, l2, l3, intent, technique, lang, metadata, source_file FROM prompts WHERE intent = 'unsafe' LIMIT 1"
    )
    con.execute("INSERT INTO run_prompts VALUES (?, 'ph-new', 'P-NEW-1')", [run])
    con.execute(
        "INSERT INTO responses BY NAME SELECT 'resp-new' AS response_id, run_id, 'ph-new' AS prompt_hash, "
        "'P-NEW-1' AS prompt_id, target_key, target, 'ok' AS status, 'Zebra answer' AS text, "
        "now()::TIMESTAMP AS created_at FROM responses WHERE run_id = ? AND target = 'model-a' LIMIT 1",
        [run],
    )
    con.execute(
        "INSERT INTO verdicts BY NAME SELECT 'verd-new-' || judge AS verdict_id, run_id, 'resp-new' AS response_id, "
        "judge_key, judge, rubric_version, 'ck-new-' || judge AS cache_key, 'ok' AS status, "
        "'full_instructions' AS tier, 0.9 AS confidence, now()::TIMESTAMP AS created_at "
        "FROM verdicts WHERE run_id = ? QUALIFY row_number() OVER (PARTITION BY judge ORDER BY verdict_id) = 1",
        [run],
    )
    # an existing verdict graded again (as a resumed run replaces an error): same id, new tier, new time
    con.execute(
        "UPDATE verdicts SET tier = 'full_instructions', status = 'ok', created_at = now()::TIMESTAMP "
        "WHERE verdict_id = (SELECT min(verdict_id) FROM verdicts WHERE run_id = ? AND tier = 'refusal')",
        [run],
    )
    con.execute("COMMIT")
"""


def test_rows_a_run_adds_show_on_the_next_request(db: Path) -> None:
    run = newest_run(db)
    with ViewServer(db, wait_s=120) as s:
        url = f"{s.url}/runs/{run}/verdicts"
        before = total_of(httpx.get(url, timeout=60).text)
        assert before == scored(db, run)
        info = s.ctx.indexes.info(run)
        assert info is not None
        # nothing changed: the same index answers (no rebuild)
        httpx.get(url, timeout=60)
        assert s.ctx.indexes.info(run) is info
        refusals = total_of(httpx.get(url + "?tier=refusal", timeout=60).text)
        full = total_of(httpx.get(url + "?tier=full_instructions", timeout=60).text)
        assert s.ctx.indexes.info(run) is info
        # another process writes while the viewer runs (between its requests)
        out = subprocess.run(
            [sys.executable, "-c", WRITER, str(db), run], capture_output=True, text=True, timeout=120, cwd=ROOT
        )
        assert out.returncode == 0, out.stderr
        # the very next requests show the new rows and the changed verdict: no stale index
        assert total_of(httpx.get(url, timeout=60).text) == before + 2 == scored(db, run)
        assert s.ctx.indexes.info(run) is not info
        assert total_of(httpx.get(url + "?tier=refusal", timeout=60).text) == refusals - 1
        assert total_of(httpx.get(url + "?tier=full_instructions", timeout=60).text) == full + 3
        found = httpx.get(url + "?q=zebras", timeout=60).text
        assert total_of(found) == 2 and "P-NEW-1" in found
        item = httpx.get(f"{s.url}/items/resp-new", timeout=60).text
        assert "Zebra answer" in item and item.count("full_instructions") >= 2
        # the run list counts them too
        runs_page = httpx.get(s.url + "/", timeout=60).text
        n_verdicts = query(db, "SELECT count(*) FROM verdicts WHERE run_id = ?", [run])[0][0]
        assert f"{n_verdicts:,}" in runs_page


def test_a_run_being_written_shows_its_earlier_figures_marked_until_the_new_ones_are_ready(db: Path) -> None:
    """A run's report is computed again after every commit: meanwhile its page shows the last figures
    with a notice that they are superseded, instead of "preparing" for as long as the run writes."""
    run = newest_run(db)
    from judge.store.db import write_connection

    with write_connection(db) as con:
        con.execute("UPDATE runs SET status = 'running' WHERE run_id = ?", [run])
    with ViewServer(db, wait_s=120) as s:
        url = f"{s.url}/runs/{run}"
        shown = httpx.get(url, timeout=60)
        assert shown.status_code == 200 and "still being written" in shown.text and 'id="superseded"' not in shown.text
        s.ctx.wait_s = 0.0  # from now on a page never waits for a new index or report
        out = subprocess.run(
            [sys.executable, "-c", WRITER, str(db), run], capture_output=True, text=True, timeout=120, cwd=ROOT
        )
        assert out.returncode == 0, out.stderr
        earlier = httpx.get(url, timeout=60)
        assert earlier.status_code == 200 and 'id="superseded"' in earlier.text
        assert _headline(earlier.text) == _headline(shown.text)  # the same figures, marked
        for _ in range(1200):  # the newer figures replace them once computed
            page = httpx.get(url, timeout=60)
            if 'id="superseded"' not in page.text:
                break
            time.sleep(0.05)
        assert page.status_code == 200 and 'id="superseded"' not in page.text
        assert _headline(page.text) != _headline(shown.text)  # the new rows count
        # the run ends (and a verdict is graded again): no older figures for a run known to be finished
        finish = (
            "import sys; from judge.store.db import write_connection\n"
            "with write_connection(sys.argv[1]) as con:\n"
            "    con.execute(\"UPDATE runs SET status = 'complete' WHERE run_id = ?\", [sys.argv[2]])\n"
        )
        out = subprocess.run([sys.executable, "-c", finish, str(db), run], capture_output=True, text=True, cwd=ROOT)
        assert out.returncode == 0, out.stderr
        time.sleep(2.1)  # past the viewer's racy-file window (RACY_S): the new status is read and trusted
        ended = httpx.get(url, timeout=60)
        assert ended.status_code in (200, 202) and 'id="superseded"' not in ended.text


def _headline(html: str) -> str:
    m = re.search(r'<table id="headline">.*?</table>', html, re.S)
    assert m, "no headline table"
    return m.group(0)


def test_runs_list_counts_equal_run_overview(db: Path) -> None:
    from judge.view.context import ViewContext
    from judge.view.data.runs import list_runs

    ctx = ViewContext(db)
    with ctx.read() as con:
        rows, total = list_runs(ctx, con)
    expected = query(
        db,
        "SELECT run_id, targets, judges, n_prompts, n_responses, n_verdicts, n_calls, cost_usd FROM run_overview "
        "ORDER BY started_at DESC",
    )
    assert total == len(expected) == 2
    got = [(r.run_id, r.targets, r.judges, r.n_prompts, r.n_responses, r.n_verdicts, r.n_calls) for r in rows]
    assert got == [tuple(e[:7]) for e in expected]
    assert [round(r.cost_usd, 9) for r in rows] == [round(float(e[7]), 9) for e in expected]


def test_bench_view_prints_every_page_beside_its_reference(tmp_path: Path) -> None:
    out = subprocess.run(
        [
            sys.executable,
            str(ROOT / "scripts" / "bench_view.py"),
            "--out",
            str(tmp_path / "bench.duckdb"),
            "--prompts",
            "30",
            "--repeat",
            "1",
        ],
        capture_output=True,
        text=True,
        timeout=240,
        cwd=ROOT,
    )
    assert out.returncode == 0, out.stderr[-3000:]
    text = out.stdout
    assert "load average at start" in text and "reference, fresh read-only attach" in text
    assert "index builds" in text and "rows in" in text
    warm = text.split("warm, median of 1")[1]
    for page in ("runs", "run", "verdicts: first page", "verdicts: judges disagree", "item", "two runs", "label"):
        line = next((ln for ln in warm.splitlines() if ln.startswith(page + " ")), None)
        assert line is not None, f"no figure for {page!r}"
        median, _worst, ratio = (float(x) for x in line[len(page) :].split()[:3])
        assert median > 0 and ratio > 0


def test_a_failed_or_interrupted_read_releases_the_file(db: Path) -> None:
    import threading

    import duckdb

    from judge.view.context import ViewContext

    ctx = ViewContext(db)
    with pytest.raises(duckdb.Error), ctx.read() as con:
        con.execute("SELECT nonsense FROM nowhere")
    with pytest.raises(duckdb.Error), ctx.read() as con:
        threading.Timer(0.2, con.interrupt).start()
        con.execute("SELECT count(*) FROM range(100000000000) t(i) WHERE i % 7 = 1").fetchall()
    attached = {r[0] for r in ctx.mem.execute("SELECT database_name FROM duckdb_databases()").fetchall()}
    assert attached == {"memory", "system", "temp"}
    writer = "import duckdb,sys; duckdb.connect(sys.argv[1]).execute('CHECKPOINT')"
    out = subprocess.run([sys.executable, "-c", writer, str(db)], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
