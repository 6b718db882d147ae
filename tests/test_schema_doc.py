"""docs/schema.md is generated from the database: regenerating it must give the committed file."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest
from pipeline_helpers import load_script

from judge.analysis.example_queries import load_example_queries, parse_example_queries
from judge.store.migrations import migrate

ROOT = Path(__file__).resolve().parents[1]


gen = load_script("gen_schema_doc")


def test_committed_doc_is_up_to_date() -> None:
    committed = (ROOT / "docs" / "schema.md").read_text(encoding="utf-8")
    assert gen.generate() == committed, "docs/schema.md is stale: run python scripts/gen_schema_doc.py"


def test_doc_covers_every_table_view_and_column() -> None:
    text = gen.generate()
    con = duckdb.connect()
    migrate(con)
    tables = [r[0] for r in con.execute("SELECT table_name FROM duckdb_tables() WHERE NOT internal").fetchall()]
    views = [r[0] for r in con.execute("SELECT view_name FROM duckdb_views() WHERE NOT internal").fetchall()]
    assert {"runs", "responses", "verdicts", "model_calls"} <= set(tables)
    assert {"metrics", "technique_metrics", "judge_pairs", "call_stats", "run_overview", "latest_run"} <= set(views)
    for name in tables + views:
        assert f"\n### {name}\n" in text, name
    for table, column, dtype in con.execute(
        "SELECT table_name, column_name, data_type FROM duckdb_columns() WHERE NOT internal"
    ).fetchall():
        assert f"| `{column}` | {dtype} |" in text, (table, column)
    # the metrics views carry descriptions
    for view in ("metrics", "technique_metrics", "judge_pairs", "calls", "call_stats", "run_overview"):
        section = text.split(f"\n### {view}\n", 1)[1].split("\n###", 1)[0]
        assert section.strip().splitlines()[0].strip(), view
    assert "| `wilson_low(k, n, z)` |" in text


def test_ten_example_queries_in_the_doc() -> None:
    queries = load_example_queries()
    assert len(queries) == 10 and len({q.name for q in queries}) == 10
    text = gen.generate()
    for n, q in enumerate(queries, start=1):
        assert f"### {n}. {q.title}" in text and q.sql in text


def test_check_mode(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "schema.md"
    assert gen.main(["--output", str(out)]) == 0
    assert gen.main(["--check", "--output", str(out)]) == 0
    out.write_text(out.read_text() + "edited by hand\n")
    assert gen.main(["--check", "--output", str(out)]) == 1
    assert "stale" in capsys.readouterr().err


def test_parse_rejects_malformed_blocks() -> None:
    assert [q.name for q in parse_example_queries("-- name: a\n-- title: A\n-- note\nSELECT 1;\n")] == ["a"]
    with pytest.raises(ValueError):
        parse_example_queries("-- name: no_title\nSELECT 1;\n")
    with pytest.raises(ValueError):
        parse_example_queries("-- name: Bad Name\n-- title: x\nSELECT 1;\n")
