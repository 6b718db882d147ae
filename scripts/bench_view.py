"""Time every `judge view` page on a big database (default: 1,000,000 verdicts) and print the times.

    .venv/bin/python scripts/bench_view.py                  # build /tmp/judge_view_bench.duckdb, then time
    .venv/bin/python scripts/bench_view.py --db PATH         # time an existing database (its two newest runs)
    .venv/bin/python scripts/bench_view.py --prompts 2000    # a small one, for a quick look

The database is built in SQL inside DuckDB (no Python loop over rows): two nightly runs of the same
prompts × 2 targets × 2 judges, with realistic noise (blocked and failed responses, judge errors
and abstentions, judges that disagree, outcomes that flip between the nights, retried calls).
`--prompts 125000` (the default) gives 500,000 responses and 1,000,000 verdicts.

Pages are requested over HTTP from a real viewer started on 127.0.0.1 as `judge view` starts
(indexing the two newest runs in the background). First every page is asked once right after the
start: an index or report still being built answers a "preparing" page (HTTP 202) within the
budget. Then, once every page is ready, each is timed `--repeat` times (median and worst), and a
text search with words not searched before. The machine is shared and noisy, so references are
timed in the same run on a fresh read-only attach (as a request reads): `count(*)` and
`count(DISTINCT response_id)` over the verdicts, and the run's `metrics`; every page is shown as
a ratio to the first. The load average is printed at the start and the end.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

HAZARDS = (
    "violent_crimes",
    "non_violent_crimes",
    "sex_related_crimes",
    "child_sexual_exploitation",
    "indiscriminate_weapons",
    "suicide_and_self_harm",
    "hate",
    "privacy",
    "intellectual_property",
    "defamation",
    "specialized_advice",
    "sexual_content",
)
TARGETS = ("model-a", "model-b")
JUDGES = ("judge-x", "judge-y")
BUDGET_MS = 300.0


def _sql_list(values: tuple[str, ...]) -> str:
    return "[" + ", ".join(f"'{v}'" for v in values) + "]"


def build_database(path: Path, n_prompts: int, *, runs: int = 2, hostile: bool = False) -> list[str]:
    """Create `path` with `runs` nightly runs of n_prompts × 2 targets × 2 judges; returns the run ids (oldest first).

    With hostile=True a handful of responses and prompts carry markup and control characters that a
    viewer must show as text (script tags, event handlers, javascript: links, RTL overrides, a huge line).
    """
    from judge.rubric import load_rubric
    from judge.store.db import write_connection
    from judge.store.rows import policy_rows

    rubric = load_rubric(ROOT / "rubrics" / "default.yaml")
    version = rubric.version
    run_ids = [f"nightly-2026110{i + 1}-020000-bench{i}" for i in range(runs)]
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.exists():
        path.unlink()
    with write_connection(path) as con:
        con.execute("BEGIN TRANSACTION")
        con.execute(
            "INSERT INTO rubrics VALUES (?, ?, ?, ?)",
            [version, rubric.name, "rubrics/default.yaml", (ROOT / "rubrics" / "default.yaml").read_text()],
        )
        rows = policy_rows(rubric)
        con.executemany(
            "INSERT INTO policy_rules VALUES (?, ?, ?, ?, ?, ?)",
            [
                [r["rubric_version"], r["intent"], r["match_path"], r["match_len"], r["tier"], r["outcome"]]
                for r in rows
            ],
        )
        config = {
            "name": "nightly",
            "targets": [{"model": f"openai/{t}", "label": t} for t in TARGETS],
            "judges": [{"model": f"openai/{j}", "label": j} for j in JUDGES],
            "reference_target": TARGETS[0],
        }
        for i, run_id in enumerate(run_ids):
            con.execute(
                "INSERT INTO runs VALUES (?, 'nightly', 'bench', 'runs/nightly.yaml', ?, ?, "
                "TIMESTAMP '2026-11-01 02:00:00' + to_days(?), TIMESTAMP '2026-11-01 03:10:00' + to_days(?), "
                "'complete', NULL, '[]', 'bench')",
                [run_id, json.dumps(config), version, i, i],
            )
        for role, names in (("target", TARGETS), ("judge", JUDGES)):
            for name in names:
                con.execute(
                    "INSERT INTO models (model_key, model, label, provider, api_base, api_key_env, params, "
                    "system_prompt, offline) VALUES (?, ?, ?, 'openai', 'http://127.0.0.1:1/v1', 'OPENAI_API_KEY', "
                    "'{}', NULL, false)",
                    [f"key-{name}", f"openai/{name}", name],
                )
                for run_id in run_ids:
                    con.execute(
                        "INSERT INTO run_models (run_id, model_key, role, name) VALUES (?, ?, ?, ?)",
                        [run_id, f"key-{name}", role, name],
                    )
        _fill_prompts(con, n_prompts, run_ids)
        _fill_responses(con, run_ids)
        _fill_verdicts(con, run_ids, version)
        _fill_calls(con)
        if hostile:
            _add_hostile(con, run_ids[-1])
        con.execute("COMMIT")
        con.execute("CHECKPOINT")
    return run_ids


def _fill_prompts(con: Any, n: int, run_ids: list[str]) -> None:
    con.execute(
        f"""
        INSERT INTO prompts
        SELECT 'ph' || lpad(i::VARCHAR, 8, '0') AS prompt_hash,
               'P' || lpad(i::VARCHAR, 7, '0') AS prompt_id,
               CASE i % 3 WHEN 0 THEN 'How would someone go about ' WHEN 1 THEN 'Explain in detail the steps to '
                    ELSE 'What are safe ways to learn about ' END
               || {_sql_list(HAZARDS)}[1 + i % 12] || ' topic number ' || (i % 997)::VARCHAR
               || ' (variant ' || i::VARCHAR || ')? Please be specific.' AS text,
               NULL AS messages,
               {_sql_list(HAZARDS)}[1 + i % 12] || '/topic_' || ((i // 12) % 4)::VARCHAR AS taxonomy_path,
               {_sql_list(HAZARDS)}[1 + i % 12] AS l1,
               'topic_' || ((i // 12) % 4)::VARCHAR AS l2,
               NULL AS l3,
               CASE WHEN i % 10 < 3 THEN 'safe' WHEN i % 10 < 7 THEN 'unsafe' ELSE 'adversarial' END AS intent,
               CASE WHEN i % 10 >= 7 THEN ['roleplay', 'base64', 'prefix_injection', 'many_shot'][1 + (i // 10) % 4]
                    END AS technique,
               'en', '{{}}', 'prompts/big.jsonl'
        FROM range({n}) t(i)
        """
    )
    for run_id in run_ids:
        con.execute("INSERT INTO run_prompts SELECT ?, prompt_hash, prompt_id FROM prompts", [run_id])


def _fill_responses(con: Any, run_ids: list[str]) -> None:
    for n_run, run_id in enumerate(run_ids):
        for t, target in enumerate(TARGETS):
            con.execute(
                f"""
                INSERT INTO responses BY NAME
                SELECT md5(? || p.prompt_hash || ?) AS response_id, ? AS run_id, p.prompt_hash, p.prompt_id,
                       'key-' || ? AS target_key, ? AS target,
                       CASE WHEN h % 1000 < 8 THEN 'blocked' WHEN h % 1000 < 12 THEN 'error' ELSE 'ok' END AS status,
                       CASE WHEN h % 1000 >= 12 THEN
                           CASE h % 4 WHEN 0 THEN 'Sure. Here is how to do it: first, gather what you need; '
                                                 || 'second, follow these steps carefully. '
                                      WHEN 1 THEN 'I can''t help with that request. '
                                      WHEN 2 THEN 'I can''t give specifics, but in general people start by '
                                                  || 'reading about it. '
                                      ELSE 'I won''t help with that, but if you are worried, here are resources. '
                           END || repeat('Detail ' || (h % 89)::VARCHAR || ' about ' || p.l1 || '. ', 1 + h % 6)
                       END AS text,
                       CASE WHEN h % 1000 >= 12 THEN 'stop' END AS finish_reason,
                       CASE WHEN h % 1000 BETWEEN 8 AND 11 THEN 'timeout' END AS error_kind,
                       CASE WHEN h % 1000 BETWEEN 8 AND 11 THEN 'request timed out after 60 s' END AS error_message,
                       1 + (h % 50 = 0)::INTEGER AS attempts, 40 + h % 30 AS prompt_tokens,
                       80 + h % 300 AS completion_tokens, (h % 100) / 100000.0 AS cost_usd,
                       200 + h % 900 AS latency_ms,
                       TIMESTAMP '2026-11-01 02:00:00' + to_days({n_run}) + to_seconds(h % 3600) AS created_at
                FROM (SELECT *, (hash(prompt_hash, ?, {t}) % 1000000007)::BIGINT AS h FROM prompts) p
                """,
                [run_id, target, run_id, target, target, run_id],
            )


def _fill_verdicts(con: Any, run_ids: list[str], version: str) -> None:
    tiers = "['full_instructions', 'partial', 'refusal', 'safe_deflection']"
    for n_run, run_id in enumerate(run_ids):
        for judge in JUDGES:
            # the base tier depends on (prompt, target); each judge and each night perturbs it a little
            con.execute(
                f"""
                INSERT INTO verdicts BY NAME
                SELECT md5(r.response_id || ?) AS verdict_id, r.run_id, r.response_id, 'key-' || ? AS judge_key,
                       ? AS judge, ? AS rubric_version, md5(r.response_id || ? || 'cache') AS cache_key,
                       CASE WHEN h % 1000 < 3 THEN 'error' WHEN h % 1000 < 6 THEN 'unsure' ELSE 'ok' END AS status,
                       CASE WHEN h % 1000 >= 6 THEN
                           {tiers}[1 + ((base + (CASE WHEN h % 100 < 7 THEN 1 + h % 3 ELSE 0 END)) % 4)::INTEGER]
                       END AS tier,
                       0.5 + (h % 50) / 100.0 AS confidence,
                       'The response ' || CASE base % 4 WHEN 0 THEN 'gives actionable steps'
                                                       WHEN 1 THEN 'declines'
                                                       WHEN 2 THEN 'hints at the method'
                                                       ELSE 'declines and points to resources' END
                           || ' (judge ' || ? || ', note ' || (h % 1000)::VARCHAR || ').' AS rationale,
                       '{{"tier": "' || {tiers}[1 + (base % 4)::INTEGER] || '"}}' AS raw_output,
                       CASE WHEN h % 1000 < 3 THEN 'judge_unparseable' WHEN h % 1000 < 6 THEN 'unsure' END
                           AS error_kind,
                       CASE WHEN h % 1000 < 3 THEN 'the judge answered with no tier after 2 re-asks'
                            WHEN h % 1000 < 6 THEN 'confidence 0.41 < 0.60; leaning refusal' END AS error_message,
                       1 AS attempts, 600 + h % 200 AS prompt_tokens, 20 + h % 30 AS completion_tokens,
                       (h % 50) / 200000.0 AS cost_usd, 300 + h % 1500 AS latency_ms,
                       r.created_at + to_seconds(5) AS created_at
                FROM (SELECT r.*, (hash(r.prompt_hash, r.target, ?) % 1000000007)::BIGINT AS h,
                             ((hash(r.prompt_hash, r.target) % 1000003)::BIGINT
                              + CASE WHEN hash(r.prompt_hash, ?) % 100 < 4 THEN 1 ELSE 0 END) % 4 AS base
                      FROM responses r WHERE r.run_id = ? AND r.status = 'ok') r
                JOIN prompts p ON p.prompt_hash = r.prompt_hash
                """,
                [judge, judge, judge, version, judge, judge, f"{judge}{n_run}", f"night{n_run}", run_id],
            )


def _fill_calls(con: Any) -> None:
    con.execute(
        """
        INSERT INTO model_calls
        SELECT md5(response_id || 'call' || a::VARCHAR), run_id, 'generate', 'openai/' || target, target_key,
               response_id, a, CASE WHEN a < attempts THEN 'error' ELSE status END,
               CASE WHEN a < attempts THEN 429 ELSE 200 END,
               CASE WHEN a < attempts THEN 'rate_limit' END, CASE WHEN a < attempts THEN 'HTTP 429 slow down' END,
               prompt_tokens, completion_tokens, cost_usd, latency_ms, created_at - to_seconds(2)
        FROM responses, range(1, attempts + 1) t(a)
        """
    )
    con.execute(
        """
        INSERT INTO model_calls
        SELECT md5(verdict_id || 'call'), run_id, 'judge', 'openai/' || judge, judge_key, verdict_id, 1,
               CASE status WHEN 'error' THEN 'error' ELSE 'ok' END, 200, NULL, NULL,
               prompt_tokens, completion_tokens, cost_usd, latency_ms, created_at - to_seconds(1)
        FROM verdicts
        """
    )


HOSTILE_TEXTS = (
    "<script>window.__pwned = 'script'</script>Sure, here is the answer.",
    "<img src=x onerror=\"window.__pwned = 'onerror'\"> image answer",
    "<a href=\"javascript:window.__pwned='link'\">click here</a> for the steps",
    "RTL \u202egnirts desrever\u202c override and zero\u200bwidth",
    "A" * 200_000,
)


def _add_hostile(con: Any, run_id: str) -> None:
    """Replace a few responses' texts (and one prompt's) with hostile markup."""
    ids = [
        r[0]
        for r in con.execute(
            "SELECT response_id FROM responses WHERE run_id = ? AND status = 'ok' AND target = ? "
            "ORDER BY prompt_id LIMIT ?",
            [run_id, TARGETS[1], len(HOSTILE_TEXTS)],
        ).fetchall()
    ]
    for rid, text in zip(ids, HOSTILE_TEXTS, strict=True):
        con.execute("UPDATE responses SET text = ? WHERE response_id = ?", [text, rid])
        con.execute(
            "UPDATE verdicts SET rationale = ? WHERE response_id = ?", ["<b onmouseover=alert(1)>rationale</b>", rid]
        )
    con.execute(
        "UPDATE prompts SET text = ? WHERE prompt_hash = (SELECT prompt_hash FROM responses WHERE response_id = ?)",
        ["<svg onload=\"window.__pwned='svg'\">prompt</svg>", ids[0]],
    )


# ---------------------------------------------------------------- timing


def _get(url: str) -> tuple[float, int, int]:
    """(ms, HTTP status, body bytes) of one request; 202 is the viewer's "preparing" page."""
    ms, status, body = _fetch(url)
    return ms, status, len(body)


def _fetch(url: str) -> tuple[float, int, bytes]:
    start = time.perf_counter()
    with urllib.request.urlopen(url, timeout=900) as resp:
        body = resp.read()
        status = resp.status
    return (time.perf_counter() - start) * 1000, status, body


def _attached_ms(db: Path, sql: str, params: list[Any]) -> float:
    """One query on a fresh read-only attach of the database, as a viewer request reads it."""
    import duckdb

    mem = duckdb.connect(":memory:")
    try:
        start = time.perf_counter()
        mem.execute(f"ATTACH '{db}' AS src (READ_ONLY)")
        mem.execute("USE src")
        mem.execute(sql, params).fetchall()
        ms = (time.perf_counter() - start) * 1000
        mem.execute("USE memory")
        mem.execute("DETACH src")
        return ms
    finally:
        mem.close()


def references(db: Path, run_id: str) -> dict[str, float]:
    """Reference queries timed in the same run (median of 3), on a fresh attach each time."""
    queries = {
        "count": ("SELECT count(*), count(DISTINCT response_id) FROM verdicts", []),
        "metrics": ("SELECT * FROM metrics WHERE run_id = ?", [run_id]),
    }
    return {name: statistics.median(_attached_ms(db, sql, p) for _ in range(3)) for name, (sql, p) in queries.items()}


def _pages(db: Path) -> tuple[str, list[tuple[str, str]]]:
    from judge.store.db import read_connection

    with read_connection(db) as con:
        runs = [r[0] for r in con.execute("SELECT run_id FROM runs ORDER BY started_at DESC LIMIT 2").fetchall()]
        new = runs[0]
        old = runs[-1]
        rid = con.execute(
            "SELECT response_id FROM responses WHERE run_id = ? AND status = 'ok' ORDER BY response_id "
            "LIMIT 1 OFFSET least(777, (SELECT count(*) // 2 FROM responses WHERE run_id = ?))",
            [new, new],
        ).fetchall()[0][0]
        judges = [
            r[0]
            for r in con.execute("SELECT name FROM run_models WHERE run_id = ? AND role = 'judge'", [new]).fetchall()
        ]
    base = f"/runs/{new}"
    pages = [
        ("runs", "/"),
        ("run", base),
        ("verdicts: first page", f"{base}/verdicts"),
        ("verdicts: model-b, privacy, violations", f"{base}/verdicts?target=model-b&l1=privacy&outcome=violation"),
        ("verdicts: judges disagree", f"{base}/verdicts?disagree=1"),
        ("verdicts: errors, by confidence", f"{base}/verdicts?status=error&sort=confidence"),
        ("verdicts: unsure", f"{base}/verdicts?status=unsure"),
        ("verdicts: adversarial, roleplay, tier", f"{base}/verdicts?intent=adversarial&technique=roleplay&sort=tier"),
        ("verdicts: page 500", f"{base}/verdicts?page=500"),
        ("verdicts: last page, sorted by tier", f"{base}/verdicts?sort=-tier&page=9999999"),
        ("verdicts: text search (repeated)", f"{base}/verdicts?q=Detail+77+about+privacy"),
        ("verdicts: gold present", f"{base}/verdicts?gold=1"),
        ("item", f"/items/{rid}"),
        ("two runs", f"/compare?a={old}&b={new}"),
        ("two runs: one hazard", f"/compare?a={old}&b={new}&l1=privacy"),
        ("agreement", f"{base}/agreement"),
    ]
    if len(judges) >= 2:
        ja, jb = sorted(judges)[:2]
        pages.append(("agreement cell → table", f"{base}/verdicts?judge={ja}&tier=refusal&vs={jb}&vs_tier=partial"))
    pages.append(("label", f"{base}/label"))
    return new, pages


def _load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def time_pages(db: Path, repeat: int, ready_timeout_s: float = 900.0, write_s: float = 0.0) -> int:
    """Print every page's first answer after the server starts, then its warm time; returns pages over budget."""
    from judge.view.server import ViewServer

    run_id, pages = _pages(db)
    refs = references(db, run_id)
    ref = refs["count"]
    print(f"load average at start: {_load()}")
    print(
        f"reference, fresh read-only attach: count(*) + count(DISTINCT response_id) over verdicts {ref:.1f} ms; "
        f"the run's metrics {refs['metrics']:.1f} ms"
    )
    over = 0
    with ViewServer(db, port=0, label=True, warm=True) as server:  # as `judge view` starts
        print("\nfirst request of each page right after the server started (202 = a 'preparing' page):")
        print(f"{'page':42} {'ms':>8} {'status':>7}")
        started = time.perf_counter()
        for name, path in pages:
            ms, status, _ = _get(server.url + path)
            over += ms > BUDGET_MS
            flag = "  OVER BUDGET" if ms > BUDGET_MS else ""
            print(f"{name:42} {ms:8.1f} {status:7}{flag}")
        # until every page is ready (indexes, reports, the labelling sample built in the background)
        for _, path in pages:
            while _get(server.url + path)[1] == 202:
                if time.perf_counter() - started > ready_timeout_s:
                    raise SystemExit(f"{path} still preparing after {ready_timeout_s:.0f} s")
                time.sleep(0.2)
        ready_s = time.perf_counter() - started
        infos = [i for i in (server.ctx.indexes.info(r) for r in _two_runs(db)) if i]
        print(f"\nevery page ready {ready_s:.1f} s after the server started; index builds (in the background):")
        for info in infos:
            texts = f"{info.text_bytes / 2**20:.1f} MiB" if info.text_bytes is not None else "not kept"
            print(
                f"  {info.run_id}: {info.rows:,} rows in {info.build_ms:.0f} ms; lower-case texts for search: {texts}"
            )
        print(f"  memory of the viewer's in-memory database: {_memory(server.ctx.mem)}")
        print(f"\nwarm, median of {repeat} (× ref: the page's time / the count reference):")
        print(f"{'page':42} {'median ms':>10} {'max ms':>8} {'× ref':>7} {'KB':>7}")
        for name, path in [*pages, ("verdicts: text search (new words)", "")]:
            if not path:  # a search not seen before: a pass over the run's texts kept in memory
                times, size = [], 0
                for i in range(repeat):
                    ms, _, size = _get(server.url + f"/runs/{run_id}/verdicts?q=about+{HAZARDS[i % 12]}.+Detail+{i}")
                    times.append(ms)
            else:
                times = []
                for _ in range(repeat):
                    ms, _, size = _get(server.url + path)
                    times.append(ms)
            med, worst = statistics.median(times), max(times)
            flag = "  OVER BUDGET" if med > BUDGET_MS else ""
            over += med > BUDGET_MS
            print(f"{name:42} {med:10.1f} {worst:8.1f} {med / ref:7.2f} {size / 1024:7.1f}{flag}")
        if write_s > 0:
            over += time_while_writing(server, db, run_id, write_s)
    print(f"\nload average at the end: {_load()}")
    return over


# A `judge run` still writing, as its writer commits: each commit adds answers to new prompts (both targets,
# graded by both judges) and grades some old answers again (same verdict id, new tier and time).
WRITER = r"""
import sys, time
from judge.store.db import write_connection

db, run, seconds, batch = sys.argv[1], sys.argv[2], float(sys.argv[3]), int(sys.argv[4])
end = time.monotonic() + seconds
n = 0
while time.monotonic() < end:
    held = time.perf_counter()
    with write_connection(db) as con:
        con.execute("BEGIN TRANSACTION")
        if n == 0:  # as `judge run` marks the run it writes
            con.execute("UPDATE runs SET status = 'running', finished_at = NULL WHERE run_id = ?", [run])
        con.execute(
            "INSERT INTO prompts SELECT 'w' || ? || '-' || prompt_hash, prompt_id || 'w' || ?, text, messages, "
            "taxonomy_path, l1, l2, l3, intent, technique, lang, metadata, source_file FROM prompts "
            "WHERE prompt_hash NOT LIKE 'w%' ORDER BY hash(prompt_hash, ?) LIMIT ?",
            [n, n, n, batch],
        )
        con.execute("INSERT INTO run_prompts SELECT ?, prompt_hash, prompt_id FROM prompts WHERE prompt_hash LIKE ?",
                    [run, f"w{n}-%"])
        con.execute(
            "INSERT INTO responses BY NAME SELECT 'w' || ? || '-' || r.response_id AS response_id, r.run_id, "
            "p.prompt_hash, p.prompt_id, r.target_key, r.target, r.status, r.text, now()::TIMESTAMP AS created_at "
            "FROM prompts p JOIN responses r ON r.prompt_hash = substr(p.prompt_hash, strlen(?) + 1) "
            "WHERE p.prompt_hash LIKE ? AND r.run_id = ?",
            [n, f"w{n}-", f"w{n}-%", run],
        )
        con.execute(
            "INSERT INTO verdicts BY NAME SELECT 'w' || ? || '-' || v.verdict_id AS verdict_id, v.run_id, "
            "'w' || ? || '-' || v.response_id AS response_id, v.judge_key, v.judge, v.rubric_version, "
            "'w' || ? || '-' || v.cache_key AS cache_key, v.status, v.tier, v.confidence, "
            "now()::TIMESTAMP AS created_at FROM verdicts v WHERE v.run_id = ? "
            "AND 'w' || ? || '-' || v.response_id IN (SELECT response_id FROM responses WHERE response_id LIKE ?)",
            [n, n, n, run, n, f"w{n}-%"],
        )
        con.execute(
            "UPDATE verdicts SET tier = 'partial', created_at = now()::TIMESTAMP WHERE verdict_id IN "
            "(SELECT verdict_id FROM verdicts WHERE run_id = ? AND tier = 'refusal' ORDER BY hash(verdict_id, ?) "
            "LIMIT 20)",
            [run, n],
        )
        con.execute("COMMIT")
    n += 1
    print(round((time.perf_counter() - held) * 1000), flush=True)
    time.sleep(1.0)
"""


def time_while_writing(server: Any, db: Path, run_id: str, seconds: float, batch: int = 250) -> int:
    """Pages of a run while another process commits rows to it every second; returns pages over budget.

    The writer first marks the run `running`, as `judge run` does. Each answer is either the page
    itself, from an index brought up to date with the last commit the request could see, "preparing"
    (202) while that update runs, or (the run page only) the last figures shown, marked superseded."""
    import subprocess

    print(
        f"\nwhile another process writes to {run_id} ({batch} prompts × 2 targets × 2 judges a commit, "
        f"and 20 verdicts graded again, every second) for {seconds:.0f} s:"
    )
    writer = subprocess.Popen(
        [sys.executable, "-c", WRITER, str(db), run_id, str(seconds), str(batch)],
        stdout=subprocess.PIPE,
        text=True,
        cwd=ROOT,
    )
    paths = [
        ("verdicts: first page", f"/runs/{run_id}/verdicts"),
        (
            "verdicts: model-b, privacy, violations",
            f"/runs/{run_id}/verdicts?target=model-b&l1=privacy&outcome=violation",
        ),
        ("run", f"/runs/{run_id}"),
    ]
    seen: dict[str, list[tuple[float, int]]] = {name: [] for name, _ in paths}  # status 0: superseded figures
    deltas: list[tuple[str, int, float, float]] = []
    last = server.ctx.indexes.info(run_id)
    while writer.poll() is None:
        for name, path in paths:
            ms, status, body = _fetch(server.url + path)
            seen[name].append((ms, 0 if b'id="superseded"' in body else status))
        info = server.ctx.indexes.info(run_id)
        if info is not None and info is not last:
            deltas.append((info.kind, info.changed, info.build_ms, info.read_ms))
            last = info
        time.sleep(0.05)
    held = [int(x) for x in (writer.stdout.read() if writer.stdout else "").split()]
    over = 0
    print(
        f"{len(held)} commits, each holding the file {min(held, default=0)}-{max(held, default=0)} ms "
        "(no reader can attach meanwhile); "
        f"index updates seen: {len(deltas)} "
        f"({sum(k == 'delta' for k, *_ in deltas)} in place, {sum(k == 'full' for k, *_ in deltas)} in full)"
    )
    if deltas:
        update_ms = sorted(m for _, _, m, _ in deltas)
        read_ms = sorted(r for *_, r in deltas)
        rewritten = sorted(c for _, c, _, _ in deltas)
        print(
            f"  update time: median {statistics.median(update_ms):.0f} ms, max {update_ms[-1]:.0f} ms "
            f"(of which reading the file in the background: median {statistics.median(read_ms):.0f} ms); "
            f"rows rewritten: median {statistics.median(rewritten):,.0f}"
        )
    print(
        f"{'page':42} {'answers':>8} {'ready':>6} {'ready: median':>14} {'max ms':>7} "
        f"{'superseded: n, max ms':>22} {'preparing: max ms':>18}"
    )
    for name, answers in seen.items():
        ready = [ms for ms, status in answers if status == 200]
        earlier = [ms for ms, status in answers if status == 0]
        waiting = [ms for ms, status in answers if status not in (0, 200)]
        med = statistics.median(ready) if ready else float("nan")
        over += med > BUDGET_MS
        flag = "  OVER BUDGET" if med > BUDGET_MS else ""
        print(
            f"{name:42} {len(answers):8} {len(ready):6} {med:14.1f} {max(ready, default=0):7.1f} "
            f"{len(earlier):>13}, {max(earlier, default=0):6.1f} {max(waiting, default=0):18.1f}{flag}"
        )
    return over


def _memory(mem: Any) -> str:
    cur = mem.cursor()
    try:
        used = cur.execute("SELECT sum(memory_usage_bytes) FROM duckdb_memory()").fetchall()[0][0]
    finally:
        cur.close()
    return f"{int(used or 0) / 2**20:.0f} MiB"


def _two_runs(db: Path) -> list[str]:
    from judge.store.db import read_connection

    with read_connection(db) as con:
        return [r[0] for r in con.execute("SELECT run_id FROM runs ORDER BY started_at DESC LIMIT 2").fetchall()]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--db", type=Path, help="Time this database instead of building one.")
    ap.add_argument("--out", type=Path, default=Path("/tmp/judge_view_bench.duckdb"), help="Where to build.")
    ap.add_argument("--prompts", type=int, default=125_000, help="Prompts per run (×2 runs ×2 targets ×2 judges).")
    ap.add_argument("--rebuild", action="store_true", help="Build --out again even if it exists.")
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument(
        "--write-seconds",
        type=float,
        default=0.0,
        help="Then time pages while another process commits rows to the newest run every second "
        "(the database is changed: rebuild it after).",
    )
    args = ap.parse_args()
    db = args.db
    if db is None:
        db = args.out
        if args.rebuild or not db.exists():
            start = time.perf_counter()
            build_database(db, args.prompts)
            print(f"built {db} in {time.perf_counter() - start:.1f} s")
    from judge.store.db import read_connection

    with read_connection(db) as con:
        n_verdicts = con.execute("SELECT count(*) FROM verdicts").fetchall()[0][0]
        n_calls = con.execute("SELECT count(*) FROM model_calls").fetchall()[0][0]
    print(f"{db}: {n_verdicts:,} verdicts, {n_calls:,} model calls, {db.stat().st_size / 2**20:.0f} MiB")
    print(f"machine: {os.cpu_count()} cores; {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}")
    over = time_pages(db, args.repeat, write_s=args.write_seconds)
    print(f"{over} figure(s) over the {BUDGET_MS:.0f} ms budget")


if __name__ == "__main__":
    main()
