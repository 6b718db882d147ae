"""A recognisable key must never reach DuckDB, logs, reports or error messages."""

from __future__ import annotations

from pathlib import Path

import duckdb
from pipeline_helpers import anthropic_model, judge_cli, openai_model, write_config, write_prompts

from judge.secrets import redact, register_secret

CANARY_OPENAI = "sk-canary-OPENAI-7f3b9c1d2e4a5b6c"
CANARY_ANTHROPIC = "sk-ant-canary-ANTHROPIC-9a8b7c6d5e4f"
CANARIES = (CANARY_OPENAI, CANARY_ANTHROPIC, "7f3b9c1d2e4a5b6c", "9a8b7c6d5e4f")


def _all_text_in_db(db: Path) -> str:
    con = duckdb.connect(str(db), read_only=True)
    chunks = []
    try:
        tables = con.execute("select table_name from information_schema.tables where table_schema = 'main'").fetchall()
        for (table,) in tables:
            cols = con.execute(
                "select column_name from information_schema.columns where table_name = ? "
                "and data_type in ('VARCHAR', 'JSON')",
                [table],
            ).fetchall()
            for (col,) in cols:
                rows = con.execute(f'select "{col}"::VARCHAR from "{table}"').fetchall()
                chunks.extend(str(r[0]) for r in rows if r[0] is not None)
    finally:
        con.close()
    assert chunks
    return "\n".join(chunks)


def test_keys_never_stored_logged_or_reported(tmp_path: Path, fake_server) -> None:  # type: ignore[no-untyped-def]
    fake_server.set_config(
        {
            "models": {
                "gpt-s": {"role": "target", "require_key": CANARY_OPENAI, "faults": {"server_error": 0.3}},
                "claude-s": {"role": "target", "require_key": CANARY_ANTHROPIC},
                "judge-s": {"role": "judge", "require_key": CANARY_OPENAI, "faults": {"bad_schema": 0.8}},
                "judge-locked": {"role": "judge", "require_key": "sk-some-other-key-000000"},
            }
        }
    )
    url = fake_server.url
    write_prompts(tmp_path, 12)
    cfg = write_config(
        tmp_path,
        url,
        targets=[openai_model(url, "gpt-s", max_attempts=1), anthropic_model(url, "claude-s")],
        judges=[openai_model(url, "judge-s"), {"model": "builtin/judge"}],
    )
    env = {"FAKE_OPENAI_KEY": CANARY_OPENAI, "FAKE_ANTHROPIC_KEY": CANARY_ANTHROPIC}
    db = tmp_path / "judge.duckdb"
    outputs = []
    run = judge_cli(["run", str(cfg)], env=env)
    assert run.returncode in (0, 4), run.stderr  # 4: some items ended in error (the faults above)
    outputs.append(run.stdout + run.stderr)
    for fmt in ("md", "json", "html"):
        out = tmp_path / f"report.{fmt}"
        rep = judge_cli(["report", "latest", "--db", str(db), "--format", fmt, "-o", str(out)], env=env)
        assert rep.returncode == 0, rep.stderr
        outputs.append(rep.stdout + rep.stderr + out.read_text())
    comp = judge_cli(["compare", "latest", "--db", str(db), "--format", "json"], env=env)
    outputs.append(comp.stdout + comp.stderr)
    sql = judge_cli(["sql", "--db", str(db), "select * from model_calls", "--format", "json"], env=env)
    outputs.append(sql.stdout + sql.stderr)
    # a judge that rejects the key: the run stops with a message naming the variable, not the key
    bad_cfg = write_config(
        tmp_path, url, targets=[openai_model(url, "gpt-s")], judges=[openai_model(url, "judge-locked")], name="locked"
    )
    locked = judge_cli(["run", str(bad_cfg), "--new"], env=env)
    assert locked.returncode == 3 and "FAKE_OPENAI_KEY" in locked.stderr
    outputs.append(locked.stdout + locked.stderr)

    # the run really exercised error paths whose messages could have carried the key
    text = _all_text_in_db(db)
    assert "server_error" in text and "judge_unparseable" in text
    files = [p for p in tmp_path.rglob("*") if p.is_file() and p.suffix != ".duckdb"]
    everything = "\n".join([text, *outputs, *(p.read_bytes().decode("utf-8", "replace") for p in files)])
    for canary in CANARIES:
        assert canary not in everything


def test_redact_removes_registered_values_and_key_shapes() -> None:
    register_secret("my-very-private-token-123")
    text = redact(
        "Authorization: Bearer abcdefghijklmnop123 x-api-key: sk-ant-api03-XYZXYZXYZXYZ "
        "key=my-very-private-token-123 and sk-proj-1234567890abcdef"
    )
    assert text is not None
    for secret in (
        "abcdefghijklmnop123",
        "sk-ant-api03-XYZXYZXYZXYZ",
        "my-very-private-token-123",
        "sk-proj-1234567890abcdef",
    ):
        assert secret not in text
    assert "[REDACTED]" in text
