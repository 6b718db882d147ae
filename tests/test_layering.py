"""The layering rule: only judge/store/ and the named read models run SQL (README, "Layout").

The pipeline (stages, pipeline.py, sources, compare's writers, nightly's command, the CLI) reads and
writes the database only through named functions of judge/store/. The read models below query the
public views (`scored`, `metrics`, ...) for reports, comparisons and pages and may keep their SQL.
A module elsewhere that calls `.execute(` / `.executemany(` / `.sql(` / `duckdb.connect(`, imports
`fetch` from judge.store.db, or holds a SQL statement in a string fails this test, naming the file
and line.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "judge"

# Paths (relative to the repo; a trailing slash is a whole package) that may run SQL, and why.
ALLOWED: dict[str, str] = {
    "judge/store/": "the store: migrations, writes, and every read the pipeline makes",
    "judge/analysis/": "read model: metrics, grades, reports and exports over the public views",
    "judge/view/": "read model: the web viewer's run indexes and page data over the public views",
    "judge/compare/agreement.py": "read model: a run's verdicts for judge agreement",
    "judge/nightly/numbers.py": "read model: the rates a nightly gate compares",
    "judge/judging/cascade_stats.py": "read model: cascade and abstention statistics of a run",
    "judge/sources/table.py": "reads a user's Parquet file with an in-memory DuckDB, never the store",
}

SQL_METHODS = {"execute", "executemany", "sql"}
SQL_TEXT = re.compile(
    r"\bSELECT\b|\bINSERT\s+(OR\s+\w+\s+)?INTO\b|\bDELETE\s+FROM\b|\bUPDATE\s+\w+\s+SET\b"
    r"|\bCREATE\s+(OR\s+REPLACE\s+)?(TABLE|VIEW|MACRO)\b|\bCOPY\b.*\bTO\b"
)


def _allowed(rel: str) -> bool:
    return any(rel.startswith(p) if p.endswith("/") else rel == p for p in ALLOWED)


def _docstrings(tree: ast.Module) -> set[int]:
    """ids of the string nodes that are module, class or function docstrings."""
    out: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef) and node.body:
            first = node.body[0]
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant):
                out.add(id(first.value))
    return out


def _use(node: ast.AST, docs: set[int]) -> str | None:
    """What SQL use the node is, if any."""
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr in SQL_METHODS:
        return f".{node.func.attr}("
    if isinstance(node, ast.Call) and ast.unparse(node.func) == "duckdb.connect":
        return "duckdb.connect( (open databases through judge.store.db)"
    if isinstance(node, ast.ImportFrom) and node.module == "judge.store.db":
        return "imports judge.store.db.fetch" if any(a.name == "fetch" for a in node.names) else None
    if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docs:
        return f"SQL text {node.value.strip()[:50]!r}" if SQL_TEXT.search(node.value) else None
    return None


def sql_uses(path: Path) -> list[str]:
    """'line: what' for every place the module runs or holds SQL."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    docs = _docstrings(tree)
    found = [(node.lineno, use) for node in ast.walk(tree) if (use := _use(node, docs)) is not None]
    return [f"{line}: {what}" for line, what in sorted(found)]


def test_only_the_store_and_the_read_models_run_sql() -> None:
    offenders = []
    for path in sorted(PACKAGE.rglob("*.py")):
        rel = path.relative_to(ROOT).as_posix()
        if not _allowed(rel):
            offenders += [f"{rel}:{use}" for use in sql_uses(path)]
    assert not offenders, "SQL outside judge/store/ and the read models (add a store function):\n" + "\n".join(
        offenders
    )


def test_every_allowed_path_exists() -> None:
    """A stale entry would silently widen the rule for whatever takes its name later."""
    missing = [p for p in ALLOWED if not (ROOT / p).exists()]
    assert not missing, missing


def test_the_check_sees_sql(tmp_path: Path) -> None:
    """Each kind of use is caught, and prose, docstrings and a `select` in a user hint are not."""
    module = tmp_path / "m.py"
    module.write_text(
        '"""Reads SELECT-free prose."""\n'
        "from judge.store.db import fetch, read_connection\n"
        "def f(con, duckdb):\n"
        '    """Docstring: SELECT x FROM y."""\n'
        '    con.execute("PRAGMA x")\n'
        '    q = f"SELECT a FROM {t}"\n'
        '    hint = "try: judge sql \\"select tier from scored\\""\n'
        '    con.sql("INSERT INTO t VALUES (1)")\n'
        "    duckdb.connect()\n",
        encoding="utf-8",
    )
    uses = sql_uses(module)
    assert [u.split(":")[0] for u in uses] == ["2", "5", "6", "8", "8", "9"], uses
