"""Every command prints stored and user text literally, and its tables stay readable at 80 columns.

A run whose prompt ids, taxonomy paths, target and judge labels, responses and label-set names
hold Rich markup (`[/red]`, `[bold]`), emoji codes (`:x:`) and ANSI escapes goes through every
printing command; the text must come out as typed (escapes made visible), never crash the output.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from pipeline_helpers import ROOT
from typer.testing import CliRunner, Result

from judge.cli import build_app
from judge.cli.output import Col, console, literal, print_table
from judge.errors import UserInputError
from judge.pipeline import execute, plan_run

HOSTILE = "[/red] [bold]x :x: \x1b[31mred\x1b[0m"
SHOWN = "[/red] [bold]x :x: \\x1b[31mred\\x1b[0m"  # what a terminal must show
SQL_ALL_COLUMNS = (
    "select s.prompt_id, s.l1, s.target, s.judge, r.text from scored s join responses r using (response_id) "
    "order by s.prompt_id limit 3"
)
runner = CliRunner()


def invoke(*args: str, stdin: str | None = None) -> Result:
    result = runner.invoke(build_app(), list(args), input=stdin, env={"COLUMNS": "300"})  # no folding
    if isinstance(result.exception, UserInputError):
        raise result.exception
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    return result


def assert_literal(output: str, *expected: str) -> None:
    assert "\x1b" not in output, "a raw escape reached the terminal"
    flat = re.sub(r"\s+", "", output)
    for text in expected:
        assert re.sub(r"\s+", "", text) in flat, f"{text!r} not printed literally:\n{output}"


@pytest.fixture(scope="module")
def hostile_run(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, Path]]:
    tmp = tmp_path_factory.mktemp("hostile")
    prompts = [
        {"id": f"p{i}{HOSTILE}", "prompt": f"question {i} {HOSTILE}", "taxonomy": [f"t[/x]:x:{i % 2}"], "intent": it}
        for i, it in enumerate(["safe", "unsafe", "adversarial", "unsafe"])
    ]
    prompts[2]["technique"] = "role_play"
    recs = [{"id": p["id"], "response": f"Sure. Step 1: {HOSTILE}"} for p in prompts]
    (tmp / "p.jsonl").write_text("".join(json.dumps(p) + "\n" for p in prompts))
    (tmp / "rec.jsonl").write_text("".join(json.dumps(r) + "\n" for r in recs))
    cfg = {
        "name": "hostile",
        "prompts": "p.jsonl",
        "rubric": str(ROOT / "rubrics" / "default.yaml"),
        "db": "h.duckdb",
        "targets": [{"model": "replay/t", "label": f"t{HOSTILE}", "recordings": "rec.jsonl"}],
        "judges": [{"model": "builtin/rules", "label": f"j{HOSTILE}"}, {"model": "builtin/judge"}],
    }
    (tmp / "run.yaml").write_text(yaml.safe_dump(cfg))
    execute(plan_run(tmp / "run.yaml"))
    yield tmp, tmp / "h.duckdb"


def test_run_summary_prints_labels_literally(hostile_run: tuple[Path, Path]) -> None:
    tmp, _ = hostile_run
    out = invoke("run", str(tmp / "run.yaml"))
    assert out.exit_code == 0, out.output
    assert_literal(out.output, f"t{SHOWN}", f"j{SHOWN}")


def test_sql_table_prints_every_column_literally(hostile_run: tuple[Path, Path]) -> None:
    _, db = hostile_run
    out = invoke(
        "sql",
        "--db",
        str(db),
        SQL_ALL_COLUMNS,
    )
    assert out.exit_code == 0
    assert_literal(out.output, f"p0{SHOWN}", "t[/x]:x:0", f"t{SHOWN}", f"Sure. Step 1: {SHOWN}")


def test_compare_runs_label_and_gold_list_print_literally(hostile_run: tuple[Path, Path]) -> None:
    _, db = hostile_run
    compared = invoke("compare", "latest", "--db", str(db))
    assert compared.exit_code == 0
    assert_literal(compared.output, f"j{SHOWN}")
    listed = invoke("runs", "--db", str(db))
    assert_literal(listed.output, f"t{SHOWN}", f"j{SHOWN}")
    labelled = invoke("label", "latest", "--db", str(db), "--n", "2", "--label-set", "s[/red]:x:", stdin="1\nq\n")
    assert labelled.exit_code == 0
    assert_literal(labelled.output, "s[/red]:x:", f"Sure. Step 1: {SHOWN}", "saved full_instructions")
    gold = invoke("gold", "list", "--db", str(db))
    assert_literal(gold.output, "s[/red]:x:")


def test_prompts_check_prints_ids_and_paths_literally(hostile_run: tuple[Path, Path]) -> None:
    tmp, _ = hostile_run
    out = invoke("prompts", "check", str(tmp / "p.jsonl"))
    assert out.exit_code == 0, out.output  # paths outside the taxonomy are warnings
    assert_literal(out.output, "t[/x]:x:0", f"p1{SHOWN}")


def test_literal_keeps_text_and_shows_control_characters() -> None:
    assert literal("a [b] :x: é\n\tz") == "a [b] :x: é\n\tz"
    assert literal("\x1b[2J\r\x07\u202e") == "\\x1b[2J\\x0d\\x07\\u202e"


@pytest.mark.parametrize("width", [80, 60])
def test_tables_keep_headers_whole_or_stack(width: int, capsys: pytest.CaptureFixture[str]) -> None:
    cols = [Col("target"), Col("judge"), Col("n", "number"), Col("violation", "number"), Col("over-defl.", "number")]
    cols += [Col("F/P/R/D", "number"), Col("blocked", "number"), Col("errors", "number")]
    row = ["openai/gpt-4o-mini-2024-07-18", "anthropic/claude-3-5-haiku", "286", "12.5%\n20/160", "3.1%\n4/126"]
    print_table(console(width=width), cols, [[*row, "20/30/200/36", "0", "0"]], title="run x")
    out = capsys.readouterr().out
    assert max(len(line) for line in out.splitlines()) <= width
    for header in ("violation", "over-defl.", "F/P/R/D", "blocked", "errors"):
        assert header in out  # never cut into fragments


def test_run_summary_at_80_columns_in_a_pipe(hostile_run: tuple[Path, Path]) -> None:
    from pipeline_helpers import judge_cli

    tmp, _ = hostile_run
    proc = judge_cli(["run", str(tmp / "run.yaml")], env={"COLUMNS": "80"})
    assert proc.returncode == 0, proc.stderr
    assert max(len(line) for line in proc.stdout.splitlines()) <= 80 or "violation" in proc.stdout
    for header in ("violation", "over-defl.", "F/P/R/D"):
        assert header in proc.stdout
    assert "\r" not in proc.stderr and "━" not in proc.stderr  # no live bars in a pipe: plain lines
    assert "generate:" in proc.stderr or "judge:" in proc.stderr


def test_empty_or_comment_only_query_is_one_line_exit_2(hostile_run: tuple[Path, Path], tmp_path: Path) -> None:
    from pipeline_helpers import judge_cli

    _, db = hostile_run
    (tmp_path / "q.sql").write_text("-- only a comment\n/* and another */\n")
    for args in (["sql", ""], ["sql", "   "], ["sql", "--file", str(tmp_path / "q.sql")], ["sql", "/* x */"]):
        proc = judge_cli([*args, "--db", str(db)])
        assert proc.returncode == 2, proc.stderr
        assert len(proc.stderr.strip().splitlines()) == 1 and "empty" in proc.stderr
        assert "Traceback" not in proc.stderr
    assert "q.sql" in judge_cli(["sql", "--file", str(tmp_path / "q.sql"), "--db", str(db)]).stderr


def test_help_and_version_import_nothing_heavy() -> None:
    """`judge --help` / `--version` must start fast (scripts/bench_startup.py): no duckdb, pydantic or rich."""
    import subprocess
    import sys

    heavy = ("duckdb", "pydantic", "rich", "yaml", "judge.store", "judge.prompts", "judge.config", "litellm")
    for flag in ("--help", "--version"):
        code = (
            f"import sys; sys.argv = ['judge', '{flag}']\n"
            "import judge.cli\n"
            "try:\n    judge.cli.main()\nexcept SystemExit:\n    pass\n"
            f"print(sorted(m for m in {heavy!r} if m in sys.modules), file=sys.stderr)"
        )
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
        assert out.stderr.strip().splitlines()[-1] == "[]", (flag, out.stderr)
        assert ("Usage: judge" if flag == "--help" else "judge ") in out.stdout
