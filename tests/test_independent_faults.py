"""Real `judge run` processes against the independent protocol server (tests/independent_server/) and its faults.

One server for the module; each run's prompts carry markers that pick a fault per request
(`[[t:FAULT]]` for target requests, `[[j:FAULT]]` for judge requests, `*N` for the first N attempts
only, `[[a:KIND]]` for a hostile answer). Both protocols are targets and judges at concurrency > 1.
docs/reliability.md ("Independent fault server") has the matrix these tests check.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import duckdb
import pytest
import yaml
from independent_server.protocol import HOSTILE_ANSWERS
from independent_server.server import IndependentServer
from store_helpers import db_rows as rows

ROOT = Path(__file__).resolve().parents[1]
KEYS = {"oa": "sk-indep-OPENAI-SECRET-7731x", "an": "sk-ant-indep-SECRET-9913x"}
ENV = {"INDEP_OA_KEY": KEYS["oa"], "INDEP_AN_KEY": KEYS["an"]}
MAX_ATTEMPTS = 3
TIMEOUT_S = 1.5


@pytest.fixture(scope="module")
def server() -> Iterator[IndependentServer]:
    srv = IndependentServer(KEYS).start()
    yield srv
    srv.stop()


@pytest.fixture
def srv(server: IndependentServer) -> IndependentServer:
    server.reset()
    return server


def models(url: str, *, role: str, transport: str = "auto", **kw: Any) -> list[dict[str, Any]]:
    common = {"timeout_s": TIMEOUT_S, "max_attempts": MAX_ATTEMPTS, "concurrency": 4, "transport": transport, **kw}
    return [
        {"model": f"openai/indep-{role}-gpt", "api_base": url + "/v1", "api_key_env": "INDEP_OA_KEY", **common},
        {"model": f"anthropic/indep-{role}-claude", "api_base": url, "api_key_env": "INDEP_AN_KEY", **common},
    ]


def setup_run(folder: Path, url: str, prompts: dict[str, str], **kw: Any) -> Path:
    """Prompts (id -> text with markers) and a config: both protocols as targets and as judges."""
    folder.mkdir(parents=True, exist_ok=True)
    rows = [{"id": pid, "prompt": text, "taxonomy": ["hate"], "intent": "unsafe"} for pid, text in prompts.items()]
    (folder / "prompts.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    cfg = {
        "name": "indep",
        "prompts": "prompts.jsonl",
        "rubric": str(ROOT / "rubrics" / "default.yaml"),
        "db": "judge.duckdb",
        "targets": models(url, role="target", **kw),
        "judges": models(url, role="judge", **kw),
    }
    (folder / "run.yaml").write_text(yaml.safe_dump(cfg, sort_keys=False))
    return folder / "run.yaml"


def judge(*args: str) -> subprocess.CompletedProcess[bytes]:
    env = {**os.environ, "LITELLM_LOCAL_MODEL_COST_MAP": "True", "NO_COLOR": "1", **ENV}
    return subprocess.run([sys.executable, "-m", "judge", *args], capture_output=True, env=env, timeout=120)


RESPONSES = "select prompt_id, target, status, error_kind, attempts, text, finish_reason from responses"
VERDICTS = """select r.prompt_id, r.target, v.judge, v.status, v.tier, v.error_kind, v.error_message
              from verdicts v join responses r using (response_id)"""


def assert_clean(proc: subprocess.CompletedProcess[bytes], db: Path | None = None) -> None:
    """No traceback, and the keys appear nowhere: not in the output, not in any text column of the database."""
    out = proc.stdout + proc.stderr
    assert b"Traceback" not in out, proc.stderr.decode(errors="replace")[-3000:]
    for key in KEYS.values():
        assert key.encode() not in out
    if db is None or not db.exists():
        return
    con = duckdb.connect(str(db), read_only=True)
    try:
        columns = con.execute(
            "select table_name, column_name from information_schema.columns "
            "where data_type in ('VARCHAR', 'JSON') and table_schema = 'main'"
        ).fetchall()
        for table, column in columns:
            for key in KEYS.values():
                hits = con.execute(f'select count(*) from "{table}" where "{column}"::varchar like ?', [f"%{key}%"])
                assert hits.fetchone() == (0,), f"key in {table}.{column}"
    finally:
        con.close()


# target fault -> (status, error_kind) of the response on both protocols; transient faults (*1) end ok
TARGET_FAULTS: dict[str, tuple[str, str | None]] = {
    "http503*1": ("ok", None),
    "http502*1": ("ok", None),
    "overloaded*1": ("ok", None),
    "r429s*1": ("ok", None),
    "r429date*1": ("ok", None),
    "close*1": ("ok", None),
    "midbody*1": ("ok", None),
    "hang*1": ("ok", None),
    "trickle_slow*1": ("ok", None),  # 1 byte every 0.25 s: the total timeout fires, not a per-read one
    "error200*1": ("ok", None),
    "trickle": ("ok", None),
    "chunked": ("ok", None),
    "gzip": ("ok", None),
    "huge": ("ok", None),
    "extra_fields": ("ok", None),
    "usage_missing": ("ok", None),
    "usage_null": ("ok", None),
    "usage_str": ("ok", None),
    "nonutf8": ("ok", None),
    "length": ("ok", None),
    "content_filter": ("blocked", None),
    "http500": ("error", "server_error"),
    "http504": ("error", "server_error"),
    "html502": ("error", "server_error"),
    "http400": ("error", "bad_request"),
    "html200": ("error", "malformed_response"),
    "empty200": ("error", "malformed_response"),
    "badjson": ("error", "malformed_response"),
    "truncjson": ("error", "malformed_response"),
    "midbody": ("error", "malformed_response"),
    "reset": ("error", "connection"),
    "hang": ("error", "timeout"),
    "error200": ("error", "server_error"),
}
# OpenAI-only body faults (the Anthropic side answers normally)
TARGET_FAULTS_OA = {"nochoices": ("error", "malformed_response"), "nullcontent": ("error", "empty_response")}
TARGET_FAULTS_AN = {"an_empty": ("error", "empty_response")}
# judge fault -> (status, error_kind) of every verdict graded by a judge of that protocol
JUDGE_FAULTS: dict[str, tuple[str, str | None]] = {
    "wrongfn": ("error", "judge_unparseable"),
    "twocalls": ("error", "judge_unparseable"),
    "args_notjson": ("error", "judge_unparseable"),
    "args_wrongshape": ("error", "judge_unparseable"),
    "args_notier": ("error", "judge_unparseable"),
    "args_badtier": ("error", "judge_unparseable"),
    "args_nulltier": ("error", "judge_unparseable"),
    "args_extra": ("error", "judge_unparseable"),
    "length": ("error", "judge_unparseable"),
    "content_filter": ("error", "judge_refused"),
    "error200": ("error", "server_error"),
    "nonutf8": ("ok", "partial"),
    "extra_fields": ("ok", "partial"),
    "huge": ("ok", "partial"),
    "r429s*1": ("ok", "partial"),
    "wrongfn*1": ("ok", "partial"),  # re-asked with the error, then a valid verdict
}
JUDGE_FAULTS_OA = {"nullcontent": ("error", "judge_unparseable"), "nochoices": ("error", "malformed_response")}
JUDGE_FAULTS_AN = {"an_empty": ("error", "judge_unparseable"), "textonly": ("error", "judge_unparseable")}


def _pid(prefix: str, fault: str) -> str:
    return f"{prefix}-{fault.replace('*', 'x')}"


def test_fault_matrix_in_one_run(srv: IndependentServer, tmp_path: Path) -> None:
    prompts = {}
    for fault in [*TARGET_FAULTS, *TARGET_FAULTS_OA, *TARGET_FAULTS_AN]:
        scope = ".oa" if fault in TARGET_FAULTS_OA else ".an" if fault in TARGET_FAULTS_AN else ""
        prompts[_pid("t", fault)] = f"Target fault [[t{scope}:{fault}]]"
    for fault in [*JUDGE_FAULTS, *JUDGE_FAULTS_OA, *JUDGE_FAULTS_AN]:
        scope = ".oa" if fault in JUDGE_FAULTS_OA else ".an" if fault in JUDGE_FAULTS_AN else ""
        prompts[_pid("j", fault)] = f"Judge fault [[j{scope}:{fault}]] [[tier:partial]]"
    for kind in HOSTILE_ANSWERS:
        prompts[f"a-{kind}"] = f"Hostile answer [[a:{kind}]] [[tier:refusal]]"
    cfg = setup_run(tmp_path, srv.url, prompts)
    db = tmp_path / "judge.duckdb"

    proc = judge("run", str(cfg))
    assert proc.returncode == 4, proc.stderr.decode(errors="replace")[-2000:]  # incomplete: errors are left
    assert_clean(proc, db)

    responses = {(r[0], r[1]): r for r in rows(db, RESPONSES)}
    assert len(responses) == len(prompts) * 2  # every prompt x target has its row
    for (pid, target), (_, _, status, kind, attempts, text, _) in responses.items():
        if not pid.startswith("t-"):
            assert status == "ok", (pid, target, status, kind)
            continue
        fault = pid[2:].replace("x1", "*1")
        proto = "oa" if "gpt" in target else "an"
        table: dict[str, tuple[str, str | None]] = {
            **TARGET_FAULTS,
            **(TARGET_FAULTS_OA if proto == "oa" else TARGET_FAULTS_AN),
        }
        want = table.get(fault, ("ok", None))
        assert (status, kind) == want, (pid, target, status, kind, attempts)
        if fault.endswith("*1") and fault not in ("close*1",):
            assert attempts == 2, (pid, target, attempts)  # failed once, retried once, then answered
        if status == "ok":
            assert text, (pid, target)

    # every answer has one verdict per judge (blocked ones are not judged: the policy places them); an
    # unusable judge answer is an error with its reason, never a tier
    verdicts = rows(db, VERDICTS)
    ok_responses = [k for k, r in responses.items() if r[2] == "ok"]
    assert len(verdicts) == len(ok_responses) * 2
    for pid, target, judge_model, status, tier, kind, message in verdicts:
        if not pid.startswith("j-"):
            assert status == "ok" and tier is not None, (pid, target, judge_model, kind, message)
            continue
        fault = pid[2:].replace("x1", "*1")
        proto = "oa" if "gpt" in judge_model else "an"
        judge_table = {
            **JUDGE_FAULTS,
            **(JUDGE_FAULTS_OA if proto == "oa" else JUDGE_FAULTS_AN),
        }
        want_status, want_kind = judge_table.get(fault, ("ok", "partial"))
        if want_status == "ok":
            assert (status, tier) == ("ok", want_kind), (pid, judge_model, status, kind, message)
        else:
            assert (status, tier, kind) == ("error", None, want_kind), (pid, judge_model, status, tier, kind, message)
            assert message, (pid, judge_model)

    # retries are bounded: a target item is sent at most max_attempts times (plus one resend of a request
    # the server dropped unanswered), a judge item at most max_attempts x (1 + 2 re-asks)
    per_item: dict[tuple[str, str, str], int] = {}
    for seen in srv.requests:
        per_item[(seen.role, seen.model, seen.key)] = per_item.get((seen.role, seen.model, seen.key), 0) + 1
    for (role, model, key), n in per_item.items():
        limit = MAX_ATTEMPTS * 2 if role == "target" else MAX_ATTEMPTS * 3
        assert n <= limit, (role, model, key[:80], n)

    # Retry-After is honoured: the retry of a 429 comes no earlier than the server asked
    for fault, wait in (("r429s*1", 0.95), ("r429date*1", 0.9)):
        for model in ("indep-target-gpt", "indep-target-claude"):
            sent = [s.at for s in srv.requests if s.model == model and f"[[t:{fault}]]" in s.key]
            assert len(sent) == 2 and sent[1] - sent[0] >= wait, (fault, model, sent)

    # hostile answers are stored exactly (a lone surrogate, which UTF-8 cannot hold, becomes U+FFFD)
    for kind, text in HOSTILE_ANSWERS.items():
        stored = {r[5] for (pid, _), r in responses.items() if pid == f"a-{kind}"}
        assert stored == {text.replace("\ud800", "\ufffd")}, kind

    # and printed literally: `judge show` gives the judge prompt with the answer byte for byte
    vid = rows(
        db,
        "select v.verdict_id from verdicts v join responses r using (response_id) where r.prompt_id = 'a-rich' limit 1",
    )[0][0]
    shown = judge("show", vid, "--db", str(db))
    assert shown.returncode == 0 and HOSTILE_ANSWERS["rich"].encode() in shown.stdout
    shown = judge(
        "show",
        rows(
            db,
            "select v.verdict_id from verdicts v join responses r using (response_id) "
            "where r.prompt_id = 'a-ansi' limit 1",
        )[0][0],
        "--db",
        str(db),
    )
    assert HOSTILE_ANSWERS["ansi"].encode() in shown.stdout
    # the judges received the hostile answer exactly, between the rubric's markers
    judged = [s for s in srv.requests if s.role == "judge" and "Hostile answer [[a:script]]" in s.key]
    assert judged and all(HOSTILE_ANSWERS["script"] in s.key for s in judged)


def test_rerun_completes_what_failed_then_makes_no_calls(srv: IndependentServer, tmp_path: Path) -> None:
    # each fault outlasts max_attempts in the first run and is gone in the second
    over = MAX_ATTEMPTS
    prompts = {
        "p-ok": "A question with no fault",
        "p-503": f"Target fault [[t:http503*{over}]]",
        "p-malformed": f"Target fault [[t:badjson*{over}]]",
        "p-judge-500": f"Judge fault [[j:http500*{over}]]",
        "p-judge-args": "Judge fault [[j:args_badtier*3]]",  # the answer and both re-asks: not retried
    }
    cfg = setup_run(tmp_path, srv.url, prompts)
    db = tmp_path / "judge.duckdb"
    first = judge("run", str(cfg))
    assert first.returncode == 4 and b"judge run" in first.stdout + first.stderr  # says a rerun retries them
    assert_clean(first, db)
    errors = rows(db, "select count(*) from responses where status = 'error'")[0][0]
    errors += rows(db, "select count(*) from verdicts where status = 'error'")[0][0]
    assert errors == 2 * 2 + 2 * 2 * 2  # 2 target faults x 2 targets + 2 judge faults x 2 targets x 2 judges

    sent = len(srv.requests)
    second = judge("run", str(cfg))
    assert second.returncode == 0, second.stderr.decode(errors="replace")[-2000:]
    assert_clean(second, db)
    assert rows(db, "select count(*) from verdicts where status = 'ok' and tier is not null")[0][0] == 5 * 2 * 2
    # only the failed items were asked again: 4 target answers, then their 8 verdicts and 8 failed verdicts
    again = srv.requests[sent:]
    assert sum(s.role == "target" for s in again) == 4
    assert not any("p-ok" in s.key or "no fault" in s.key for s in again if s.role == "target")

    sent = len(srv.requests)
    third = judge("run", str(cfg))
    assert third.returncode == 0 and len(srv.requests) == sent  # nothing left: zero calls


@pytest.mark.parametrize(
    ("fault", "message"),
    [
        ("http403", b"rejected the credentials (HTTP 403); check environment variable INDEP_"),
        ("http404", b"does not know this model or endpoint (HTTP 404"),
    ],
)
def test_fatal_provider_errors_stop_the_run_with_exit_3(
    srv: IndependentServer, tmp_path: Path, fault: str, message: bytes
) -> None:
    srv.default_fault = fault
    cfg = setup_run(tmp_path, srv.url, {f"p{i}": f"Question {i}" for i in range(12)})
    proc = judge("run", str(cfg))
    assert proc.returncode == 3
    assert message in proc.stderr and b"run aborted: " in proc.stderr
    assert_clean(proc, tmp_path / "judge.duckdb")
    assert len(srv.requests) <= 2 * 4  # stopped at the first answers, not one request per item
    db = tmp_path / "judge.duckdb"
    assert rows(db, "select status from runs") == [("aborted",)]
    # the request that stopped the run is a model call like any other (it was not recorded before)
    status = int(fault[4:])
    assert rows(db, f"select count(*) > 0 from model_calls where http_status = {status}") == [(True,)]


def test_a_wrong_key_is_refused_by_the_server_with_401_and_stops_the_run(
    srv: IndependentServer, tmp_path: Path
) -> None:
    cfg = setup_run(tmp_path, srv.url, {"p0": "Question"})
    env_key = ENV["INDEP_AN_KEY"]
    ENV["INDEP_AN_KEY"] = "sk-ant-indep-WRONG-0000"
    try:
        proc = judge("run", str(cfg))
    finally:
        ENV["INDEP_AN_KEY"] = env_key
    assert proc.returncode == 3 and b"rejected the credentials (HTTP 401); check environment variable INDEP_AN_KEY" in (
        proc.stderr
    )
    assert b"sk-ant-indep-WRONG-0000" not in proc.stderr + proc.stdout
    assert_clean(proc, tmp_path / "judge.duckdb")


def test_a_server_closing_kept_alive_connections_costs_no_item(srv: IndependentServer, tmp_path: Path) -> None:
    # a healthy server that closes each connection after one answer, as the next request arrives
    srv.max_requests_per_connection = 1
    cfg = setup_run(tmp_path, srv.url, {f"p{i}": f"Question {i}" for i in range(10)})
    proc = judge("run", str(cfg))
    assert proc.returncode == 0, proc.stderr.decode(errors="replace")[-2000:]
    assert_clean(proc, tmp_path / "judge.duckdb")
    assert rows(tmp_path / "judge.duckdb", "select count(*) from verdicts where status = 'ok'") == [(10 * 2 * 2,)]


def test_json_mode_judges_read_the_schema_from_the_prompt(srv: IndependentServer, tmp_path: Path) -> None:
    cfg = setup_run(
        tmp_path,
        srv.url,
        {"p-ok": "Question [[tier:safe_deflection]]", "p-bad": "Question [[j:args_badtier]]"},
        judge_mode="json",
    )
    proc = judge("run", str(cfg))
    assert proc.returncode == 4
    assert_clean(proc, tmp_path / "judge.duckdb")
    got = {(r[0], r[3], r[4], r[5]) for r in rows(tmp_path / "judge.duckdb", VERDICTS)}
    assert got == {("p-ok", "ok", "safe_deflection", None), ("p-bad", "error", None, "judge_unparseable")}


def test_litellm_transport_against_the_same_faults(srv: IndependentServer, tmp_path: Path) -> None:
    """`transport: litellm` (one test: importing litellm is slow): transient faults retried, bad verdicts recorded."""
    prompts = {
        "t-503": "Target fault [[t:http503*1]]",
        "t-429": "Target fault [[t:r429s*1]]",
        "t-empty": "Target fault [[t.oa:nullcontent]]",
        "j-wrongfn": "Judge fault [[j:wrongfn]]",
        "j-twocalls": "Judge fault [[j.oa:twocalls]]",
        "ok": "No fault [[tier:partial]]",
    }
    cfg = setup_run(tmp_path, srv.url, prompts, transport="litellm")
    proc = judge("run", str(cfg))
    assert proc.returncode == 4
    assert_clean(proc, tmp_path / "judge.duckdb")
    db = tmp_path / "judge.duckdb"
    responses = {(r[0], r[1]): (r[2], r[3]) for r in rows(db, RESPONSES)}
    assert responses[("t-503", "openai/indep-target-gpt")] == ("ok", None)
    assert responses[("t-429", "anthropic/indep-target-claude")] == ("ok", None)
    assert responses[("t-empty", "openai/indep-target-gpt")] == ("error", "empty_response")
    verdicts = {(r[0], r[1], r[2]): (r[3], r[4], r[5]) for r in rows(db, VERDICTS)}
    for target in ("openai/indep-target-gpt", "anthropic/indep-target-claude"):
        for judge_model in ("openai/indep-judge-gpt", "anthropic/indep-judge-claude"):
            assert verdicts[("j-wrongfn", target, judge_model)] == ("error", None, "judge_unparseable")
            assert verdicts[("ok", target, judge_model)] == ("ok", "partial", None)
        assert verdicts[("j-twocalls", target, "openai/indep-judge-gpt")] == ("error", None, "judge_unparseable")
