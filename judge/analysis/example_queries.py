"""The documented example queries (example_queries.sql): parsed once, run by the tests, shown in docs/schema.md."""

from __future__ import annotations

import re
from dataclasses import dataclass
from importlib import resources


@dataclass(frozen=True)
class ExampleQuery:
    name: str
    title: str
    description: str
    sql: str


def parse_example_queries(text: str) -> list[ExampleQuery]:
    """Split the example file on `-- name:` lines; `-- title:` and further comments describe it."""
    out: list[ExampleQuery] = []
    blocks = re.split(r"^-- name:\s*", text, flags=re.MULTILINE)[1:]
    for block in blocks:
        lines = block.rstrip().splitlines()
        name = lines[0].strip()
        title = ""
        notes: list[str] = []
        sql_lines: list[str] = []
        for line in lines[1:]:
            if not sql_lines and line.startswith("--"):
                body = line[2:].strip()
                if body.startswith("title:"):
                    title = body.removeprefix("title:").strip()
                else:
                    notes.append(body)
            else:
                sql_lines.append(line)
        sql = "\n".join(sql_lines).strip()
        if not re.fullmatch(r"[a-z0-9_]+", name) or not title or not sql:
            raise ValueError(f"example query {name!r}: needs a snake_case name, a title and SQL")
        out.append(ExampleQuery(name, title, " ".join(notes).strip(), sql))
    return out


def load_example_queries() -> list[ExampleQuery]:
    text = resources.files("judge.analysis").joinpath("example_queries.sql").read_text("utf-8")
    return parse_example_queries(text)
