"""`judge view` over HTTP: paging and filters against SQL, the token, Host and CSRF rules, headers, escaping.

A real server (aiohttp on 127.0.0.1, a free port) over a database of two nightly runs built in
SQL by scripts/bench_view.py, with hostile texts in a few answers.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from html import unescape
from pathlib import Path
from typing import Any

import httpx
import pytest
from pipeline_helpers import ROOT, judge_cli, load_script, query

from judge.view.server import ViewServer

bench = load_script("bench_view")
# pages wait for an index build this long before answering "preparing" (that page: tests/test_view_scale.py)
WAIT_S = 120.0


@pytest.fixture(scope="module")
def db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("view") / "runs.duckdb"
    bench.build_database(path, 96, hostile=True)
    return path


@pytest.fixture(scope="module")
def runs(db: Path) -> tuple[str, str]:
    old, new = (r[0] for r in query(db, "SELECT run_id FROM runs ORDER BY started_at"))
    return old, new


@pytest.fixture(scope="module")
def server(db: Path) -> Iterator[ViewServer]:
    with ViewServer(db, label=True, annotator="tester", label_set="browser", sample_n=12, wait_s=WAIT_S) as s:
        yield s


def get(server: ViewServer, path: str, **kw: Any) -> httpx.Response:
    return httpx.get(server.url + path, follow_redirects=False, timeout=60, **kw)


def total_of(html: str) -> int:
    m = re.search(r'<b id="total">([\d,]+)</b>', html)
    assert m, "no row total on the page"
    return int(m.group(1).replace(",", ""))


def item_links(html: str) -> list[str]:
    return re.findall(r'class="item-link" href="/items/([0-9a-f]+)"', html)


def scored_count(db: Path, run_id: str, where: str = "true", params: list[Any] | None = None) -> int:
    return int(query(db, f"SELECT count(*) FROM scored WHERE run_id = ? AND {where}", [run_id, *(params or [])])[0][0])


# ---------------------------------------------------------------- pages and headers


def test_every_page_answers_with_strict_headers(server: ViewServer, runs: tuple[str, str], db: Path) -> None:
    old, new = runs
    rid = query(db, "SELECT response_id FROM responses WHERE run_id = ? AND status = 'ok' LIMIT 1", [new])[0][0]
    for path in (
        "/",
        f"/runs/{new}",
        f"/runs/{new}/verdicts",
        f"/items/{rid}",
        f"/compare?a={old}&b={new}",
        "/compare",
        f"/runs/{new}/agreement",
        f"/runs/{new}/label",
        "/static/view.js",
        "/static/view.css",
    ):
        resp = get(server, path)
        assert resp.status_code == 200, (path, resp.text[:300])
        csp = resp.headers["content-security-policy"]
        assert "script-src 'self'" in csp and "unsafe-inline" not in csp and "default-src 'none'" in csp
        assert resp.headers["x-content-type-options"] == "nosniff"
        assert resp.headers["x-frame-options"] == "DENY"
        if path.startswith("/static"):
            continue
        assert "<script>" not in resp.text and " style=" not in resp.text, path  # nothing inline
        assert '<script src="/static/view.js" defer></script>' in resp.text


def test_unknown_run_item_and_file_are_404(server: ViewServer) -> None:
    for path in ("/runs/no-such-run", "/items/nope", "/static/../../etc/passwd", "/static/other.js", "/nowhere"):
        resp = get(server, path)
        assert resp.status_code == 404, path
        assert "content-security-policy" in resp.headers
    assert "no run 'no-such-run' in this database" in unescape(get(server, "/runs/no-such-run").text)


# ---------------------------------------------------------------- the verdict table


def test_paging_covers_every_row_once_in_order(server: ViewServer, runs: tuple[str, str], db: Path) -> None:
    new = runs[1]
    expected = scored_count(db, new)
    first = get(server, f"/runs/{new}/verdicts?per=200").text
    assert total_of(first) == expected
    seen: list[str] = []
    pages = -(-expected // 200)
    for page in range(1, pages + 1):
        html = get(server, f"/runs/{new}/verdicts?per=200&page={page}").text
        seen += re.findall(r'<tr>\s*<td><a class="item-link" href="/items/([0-9a-f]+)">', html)
    assert len(seen) == expected
    # each (response, judge) row once: a response appears once per judge
    assert len(set(seen)) == expected // 2
    # a page past the end shows the last page
    last = get(server, f"/runs/{new}/verdicts?per=200&page=999999").text
    assert f"page {pages} of {pages}" in last
    ids = [
        r[0]
        for r in query(db, "SELECT prompt_id FROM scored WHERE run_id = ? ORDER BY prompt_id, target, judge", [new])
    ]
    shown = re.findall(r'class="item-link" href="/items/[0-9a-f]+">([^<]+)</a>', first)
    assert shown == ids[:200]


@pytest.mark.parametrize(
    ("qs", "where", "params"),
    [
        (
            "target=model-b&l1=privacy&outcome=violation",
            "target = ? AND l1 = ? AND outcome = 'violation'",
            ["model-b", "privacy"],
        ),
        ("judge=judge-y&tier=partial", "judge = ? AND tier = 'partial'", ["judge-y"]),
        ("intent=safe&outcome=over_deflection", "intent = 'safe' AND outcome = 'over_deflection'", []),
        ("technique=base64", "technique = 'base64'", []),
        ("status=blocked", "response_status = 'blocked'", []),
        ("status=unsure", "verdict_status = 'unsure'", []),
        ("status=error", "is_error AND response_status <> 'blocked' AND coalesce(verdict_status, '') <> 'unsure'", []),
        ("outcome=none", "outcome IS NULL", []),
        ("l2=topic_1&intent=unsafe", "l2 = 'topic_1' AND intent = 'unsafe'", []),
    ],
)
def test_filters_match_sql(
    server: ViewServer, runs: tuple[str, str], db: Path, qs: str, where: str, params: list[Any]
) -> None:
    new = runs[1]
    expected = scored_count(db, new, where, params)
    assert expected > 0, "the test database should have rows for every filter"
    assert total_of(get(server, f"/runs/{new}/verdicts?{qs}").text) == expected


def test_disagreement_and_agreement_cell_filters(server: ViewServer, runs: tuple[str, str], db: Path) -> None:
    new = runs[1]
    disagree = query(
        db,
        """SELECT count(*) FROM scored WHERE run_id = ? AND response_id IN (
               SELECT response_id FROM scored WHERE run_id = ? AND verdict_status = 'ok'
               GROUP BY response_id HAVING min(tier) <> max(tier))""",
        [new, new],
    )[0][0]
    assert disagree > 0
    assert total_of(get(server, f"/runs/{new}/verdicts?disagree=1").text) == disagree
    cell = query(
        db,
        "SELECT count(*) FROM judge_pairs WHERE run_id = ? AND judge_a = 'judge-x' AND tier_a = 'refusal' "
        "AND judge_b = 'judge-y' AND tier_b = 'partial'",
        [new],
    )[0][0]
    page = get(server, f"/runs/{new}/verdicts?judge=judge-x&tier=refusal&vs=judge-y&vs_tier=partial").text
    assert total_of(page) == cell
    agreement = get(server, f"/runs/{new}/agreement").text
    link = f"/runs/{new}/verdicts?judge=judge-x&amp;tier=refusal&amp;vs=judge-y&amp;vs_tier=partial"
    assert f'<a href="{link}">{cell}</a>' in agreement


def test_text_search_covers_prompts_and_responses(server: ViewServer, runs: tuple[str, str], db: Path) -> None:
    new = runs[1]
    needle = "about privacy."  # only in responses ("Detail 12 about privacy."), any case
    expected = scored_count(
        db, new, "response_id IN (SELECT response_id FROM responses WHERE contains(lower(text), ?))", [needle]
    )
    assert expected > 0
    assert total_of(get(server, f"/runs/{new}/verdicts?q=About+PRIVACY.").text) == expected
    # only in a prompt's text: that prompt's rows (2 targets x 2 judges)
    assert total_of(get(server, f"/runs/{new}/verdicts?q=(variant+19)").text) == 4
    # a prompt id finds that prompt's rows (2 targets x 2 judges)
    assert total_of(get(server, f"/runs/{new}/verdicts?q=P0000005").text) == 4
    assert total_of(get(server, f"/runs/{new}/verdicts?q=no+such+text+anywhere").text) == 0


def test_bad_filter_values_are_one_line_400s(server: ViewServer, runs: tuple[str, str]) -> None:
    new = runs[1]
    for qs, message in (
        ("tier=evil", "parameter 'tier': expected one of"),
        ("sort=drop+table", "parameter 'sort'"),
        ("page=-1", "parameter 'page'"),
        ("per=7", "parameter 'per'"),
        ("colour=red", "parameter 'colour': unknown parameter"),
        ("vs=judge-x", "'vs' and 'vs_tier' go together"),
        ("q=" + "x" * 201, "parameter 'q'"),
    ):
        resp = get(server, f"/runs/{new}/verdicts?{qs}")
        assert resp.status_code == 400, qs
        assert message in unescape(resp.text), (qs, resp.text)


def test_sorting_by_confidence_descending(server: ViewServer, runs: tuple[str, str], db: Path) -> None:
    new = runs[1]
    html = get(server, f"/runs/{new}/verdicts?sort=-confidence&status=ok").text
    shown = [float(x) for x in re.findall(r'<td class="n">(\d\.\d\d)</td>', html)]
    assert shown == sorted(shown, reverse=True) and len(shown) == 50
    top = query(db, "SELECT max(confidence) FROM scored WHERE run_id = ? AND verdict_status = 'ok'", [new])[0][0]
    assert shown[0] == pytest.approx(top)


# ---------------------------------------------------------------- hostile texts


def test_hostile_texts_are_escaped_and_controls_shown(server: ViewServer, runs: tuple[str, str], db: Path) -> None:
    new = runs[1]
    for text in bench.HOSTILE_TEXTS[:4]:
        rid = query(db, "SELECT response_id FROM responses WHERE text = ?", [text])[0][0]
        html = get(server, f"/items/{rid}").text
        assert "<script>window" not in html and "<img src=x" not in html and 'href="javascript:' not in html
        assert "<b onmouseover" not in html and "&lt;b onmouseover=alert(1)&gt;" in html
    rtl = query(db, "SELECT response_id FROM responses WHERE text LIKE 'RTL%'")[0][0]
    html = get(server, f"/items/{rtl}").text
    assert "\u202e" not in html and "⟦U+202E⟧" in html and "⟦U+200B⟧" in html
    huge = query(db, "SELECT response_id FROM responses WHERE length(text) = 200000")[0][0]
    html = get(server, f"/items/{huge}").text
    assert "Cut at 100,000 of 200,000 characters" in html
    table = get(server, f"/runs/{new}/verdicts?target=model-b&q=window.__pwned").text
    assert "&lt;script&gt;window.__pwned" in table and "<script>window" not in table
    assert "&lt;svg onload=" in table  # the hostile prompt, in its snippet


# ---------------------------------------------------------------- two runs


def test_compare_counts_flips_and_shows_the_gate(server: ViewServer, runs: tuple[str, str], db: Path) -> None:
    old, new = runs
    flips = query(
        db,
        """SELECT count(*) FROM scored a JOIN scored b ON a.target = b.target AND a.prompt_hash = b.prompt_hash
           AND a.judge = b.judge
           WHERE a.run_id = ? AND b.run_id = ? AND a.judge = 'judge-x' AND a.outcome IS DISTINCT FROM b.outcome""",
        [old, new],
    )[0][0]
    assert flips > 0
    html = get(server, f"/compare?a={old}&b={new}&judge=judge-x").text
    assert re.search(rf'<h3 id="flip-title">{flips} flipped item', html)
    assert "The nightly gate" in html and "violation_rate" in html and "per_hazard" in html
    privacy = query(
        db,
        """SELECT count(*) FROM scored a JOIN scored b ON a.target = b.target AND a.prompt_hash = b.prompt_hash
           AND a.judge = b.judge
           WHERE a.run_id = ? AND b.run_id = ? AND a.judge = 'judge-x' AND a.l1 = 'privacy'
             AND a.outcome IS DISTINCT FROM b.outcome""",
        [old, new],
    )[0][0]
    html = get(server, f"/compare?a={old}&b={new}&judge=judge-x&l1=privacy").text
    assert re.search(rf'<h3 id="flip-title">{privacy} flipped item', html)
    # default: the newest run against the previous run of the same name
    assert f"<code>{old}</code>" in get(server, "/compare").text


# ---------------------------------------------------------------- labelling: CSRF, writes


def _csrf(html: str) -> str:
    m = re.search(r'name="csrf" value="([^"]+)"', html)
    assert m
    return m.group(1)


def _current(html: str) -> str:
    m = re.search(r'name="response_id" value="([0-9a-f]+)"', html)
    assert m
    return m.group(1)


def test_label_requests_need_the_csrf_token_and_write_like_judge_label(
    server: ViewServer, runs: tuple[str, str], db: Path
) -> None:
    new = runs[1]
    page = get(server, f"/runs/{new}/label").text
    token, rid = _csrf(page), _current(page)
    url = f"/runs/{new}/label"
    for data, headers in (
        ({"response_id": rid, "tier": "refusal"}, {}),
        ({"response_id": rid, "tier": "refusal", "csrf": "forged"}, {}),
        ({"response_id": rid, "tier": "refusal", "csrf": token}, {"Origin": "http://evil.example"}),
    ):
        resp = httpx.post(server.url + url, data=data, headers=headers, follow_redirects=False, timeout=60)
        assert resp.status_code == 403
    assert query(db, "SELECT count(*) FROM gold_labels")[0][0] == 0
    bad = httpx.post(server.url + url, data={"response_id": rid, "tier": "maybe", "csrf": token}, timeout=60)
    assert bad.status_code == 400 and "field 'tier'" in unescape(bad.text)
    ok = httpx.post(
        server.url + url,
        data={"response_id": rid, "tier": "refusal", "csrf": token},
        headers={"Origin": server.url},
        follow_redirects=False,
        timeout=60,
    )
    assert ok.status_code == 303 and ok.headers["location"].startswith(f"/runs/{new}/label?pos=")
    rows = query(
        db,
        "SELECT label_set, item_key, response_id, tier, binary_label, annotator, source_file, note FROM gold_labels",
    )
    assert rows == [("browser", rid, rid, "refusal", "refuse", "tester", f"run:{new}", None)]
    # the labelled item is not offered again; the table's gold filter finds it
    assert _current(get(server, f"/runs/{new}/label").text) != rid
    assert total_of(get(server, f"/runs/{new}/verdicts?gold=1").text) == 2  # its two judges' rows
    assert "refusal" in get(server, f"/items/{rid}").text.split('id="gold"')[1]


def test_label_page_and_post_when_labelling_is_off(db: Path, runs: tuple[str, str]) -> None:
    with ViewServer(db, wait_s=WAIT_S) as s:
        assert 'id="label-off"' in get(s, f"/runs/{runs[1]}/label").text
        resp = httpx.post(s.url + f"/runs/{runs[1]}/label", data={"tier": "refusal"}, timeout=60)
        assert resp.status_code == 403


# ---------------------------------------------------------------- token and Host


def test_token_is_checked_on_every_request(db: Path) -> None:
    with ViewServer(db, host="127.0.0.1", token="s3cret-token", wait_s=WAIT_S) as s:
        for path in ("/", "/static/view.js", "/runs/latest", "/nowhere"):
            assert get(s, path).status_code == 401, path
        assert get(s, "/?token=wrong").status_code == 401
        first = get(s, "/?token=s3cret-token")
        assert first.status_code == 303 and first.headers["location"] == "/"
        cookie = first.headers["set-cookie"]
        assert "HttpOnly" in cookie and "SameSite=Strict" in cookie
        deep = get(s, "/runs/latest/verdicts?token=s3cret-token&target=model-b&q=a+b")
        assert deep.status_code == 303 and deep.headers["location"] == "/runs/latest/verdicts?target=model-b&q=a+b"
        assert get(s, "/", cookies={"judge_view_token": "s3cret-token"}).status_code == 200
        assert get(s, "/", headers={"Authorization": "Bearer s3cret-token"}).status_code == 200
        assert get(s, "/", cookies={"judge_view_token": "other"}).status_code == 401


def test_foreign_host_header_is_refused_without_a_token(server: ViewServer) -> None:
    assert get(server, "/", headers={"Host": "attacker.example"}).status_code == 421
    assert get(server, "/", headers={"Host": f"localhost:{server.port}"}).status_code == 200


def test_cli_refuses_a_public_address_without_a_token(db: Path) -> None:
    out = judge_cli(["view", "--db", str(db), "--host", "0.0.0.0", "--no-browser"], env={"JUDGE_VIEW_TOKEN": ""})
    assert out.returncode == 2
    assert out.stderr.count("\n") == 1 and "without --token" in out.stderr and "Traceback" not in out.stdout


def test_cli_serves_until_interrupted_and_leaves_the_database_free(db: Path, tmp_path: Path) -> None:
    env = {**os.environ, "LITELLM_LOCAL_MODEL_COST_MAP": "True"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "judge", "view", "--db", str(db), "--port", "0", "--no-browser"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        cwd=ROOT,
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        m = re.match(r"judge view: (http://127\.0\.0\.1:\d+/)  \(read-only; Ctrl-C to stop\)", line)
        assert m, line
        assert httpx.get(m.group(1), timeout=60).status_code == 200
        # between requests the viewer holds no connection: another process can write (once the background
        # warm-up that indexes the newest runs is done, as judge's own writer waits for any reader)
        writer = "import duckdb,sys; duckdb.connect(sys.argv[1]).execute('CHECKPOINT')"
        for _ in range(60):
            write = subprocess.run([sys.executable, "-c", writer, str(db)], capture_output=True, text=True, timeout=60)
            if write.returncode == 0 or "lock" not in write.stderr:
                break
            time.sleep(0.5)
        assert write.returncode == 0, write.stderr
    finally:
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=30)
    assert proc.returncode == 0 and "Traceback" not in err
    assert "stopped" in out


def test_missing_database_is_one_line(tmp_path: Path) -> None:
    out = judge_cli(["view", "--db", str(tmp_path / "none.duckdb"), "--no-browser"])
    assert out.returncode == 2 and "database not found" in out.stderr and "Traceback" not in out.stderr
