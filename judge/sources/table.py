"""Tables of answers (CSV, JSONL, Parquet) as imported records, through a column mapping.

`--prompt` and `--response` name the required columns; `--model` (the answering model per row), `--id`,
`--taxonomy`, `--intent`, `--technique`, `--meta` (extra columns kept as metadata) and `--score` (a column
holding another grader's verdict: pass/fail, 1/0, or a tier name) are optional. A prompt cell holding a JSON
list of {role, content} messages is a chat. Parquet is read through DuckDB (no extra dependency).
"""

from __future__ import annotations

import csv
import hashlib
import json
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from judge.errors import UserInputError
from judge.sources.items import ExternalScore, RawItem, SourceFile, Tick, chat_messages

FORMATS = {".csv": "csv", ".jsonl": "jsonl", ".ndjson": "jsonl", ".parquet": "parquet", ".pq": "parquet"}


@dataclass(frozen=True)
class Columns:
    prompt: str
    response: str
    model: str | None = None
    id: str | None = None
    taxonomy: str | None = None
    intent: str | None = None
    technique: str | None = None
    meta: tuple[str, ...] = ()
    scores: tuple[str, ...] = ()
    target: str | None = None  # the model name when there is no --model column

    def used(self) -> list[tuple[str, str]]:
        named = [("prompt", self.prompt), ("response", self.response)]
        for opt in ("model", "id", "taxonomy", "intent", "technique"):
            if getattr(self, opt):
                named.append((opt, getattr(self, opt)))
        named += [("meta", c) for c in self.meta] + [("score", c) for c in self.scores]
        return named


@dataclass
class _Rows:
    columns: list[str]
    rows: Iterator[tuple[str, dict[str, Any]]]  # (where, row)
    typed: bool  # values keep their types (JSONL, Parquet); CSV cells are all strings
    extra: dict[str, Any] = field(default_factory=dict)


def read_table(path: Path, cols: Columns, tick: Tick | None = None) -> SourceFile:
    fmt = FORMATS.get(path.suffix.lower())
    if fmt is None:
        raise UserInputError(f"unknown table format {path.suffix!r}; expected .csv, .jsonl or .parquet", file=path)
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise UserInputError("file not found", file=path) from None
    except OSError as e:
        raise UserInputError(f"cannot read: {e.strerror}", file=path) from None
    table = _csv(path, raw) if fmt == "csv" else _jsonl(path, raw) if fmt == "jsonl" else _parquet(path)
    rows = list(table.rows)
    if not rows:
        raise UserInputError("the table has no rows", file=path)
    columns = table.columns if fmt == "csv" else sorted({k for _, r in rows for k in r})
    for option, col in cols.used():
        if col not in columns:
            raise UserInputError(
                f"no column {col!r} (given as --{option}); columns: {', '.join(columns[:20])}", file=path
            )
    _check_response_column(path, rows, cols.response, typed=table.typed)
    target = cols.target or path.stem
    items = []
    for where, row in rows:
        items.append(_item(path, where, row, cols, target))
        if tick:
            tick(1)
    return SourceFile(
        "table", path, hashlib.sha256(raw).hexdigest(), str(path.resolve()), path.stem, items, {"format": fmt}
    )


def _is_number(value: Any) -> bool:
    if isinstance(value, bool):
        return False
    if isinstance(value, int | float):
        return True
    try:
        float(str(value))
    except ValueError:
        return False
    return True


def _check_response_column(path: Path, rows: list[tuple[str, dict[str, Any]]], col: str, *, typed: bool) -> None:
    """Answers are text: a typed number, or a CSV column whose every cell is a number, is a mapping mistake."""
    if typed:
        for where, row in rows:
            value = row.get(col)
            if value is not None and not isinstance(value, str):
                raise UserInputError(
                    f"{where}: column {col!r} holds {type(value).__name__} {value!r}, not an answer text "
                    "(is --response the right column?)",
                    file=path,
                )
        return
    cells = [row.get(col) for _, row in rows if (row.get(col) or "").strip()]
    if cells and all(_is_number(c) for c in cells):
        raise UserInputError(
            f"column {col!r} holds only numbers (e.g. {cells[0]!r}), not answer texts "
            "(is --response the right column?)",
            file=path,
        )


def _csv(path: Path, raw: bytes) -> _Rows:
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        raise UserInputError(f"invalid UTF-8 at byte {e.start}; expected UTF-8 text", file=path) from None
    csv.field_size_limit(min(sys.maxsize, 2**31 - 1))
    reader = csv.DictReader(text.splitlines(keepends=True))
    try:
        header = list(reader.fieldnames or [])
    except csv.Error as e:
        raise UserInputError(f"invalid CSV: {e}", file=path, line=1) from None
    if not header:
        raise UserInputError("CSV file has no header row", file=path, line=1)

    def rows() -> Iterator[tuple[str, dict[str, Any]]]:
        try:
            for rec in reader:
                if rec.get(None) or any(v is None for v in rec.values()):
                    raise UserInputError(
                        f"row does not have {len(header)} cells like the header", file=path, line=reader.line_num
                    )
                if all(not (v or "").strip() for v in rec.values()):
                    continue
                yield f"line {reader.line_num}", dict(rec)
        except csv.Error as e:
            raise UserInputError(f"invalid CSV: {e}", file=path, line=reader.line_num) from None

    return _Rows(header, rows(), typed=False)


def _jsonl(path: Path, raw: bytes) -> _Rows:
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        raise UserInputError(f"invalid UTF-8 at byte {e.start}", file=path) from None
    out = []
    for n, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            rec = json.loads(line)
        except json.JSONDecodeError as e:
            raise UserInputError(f"not valid JSON ({e.msg})", file=path, line=n) from None
        if not isinstance(rec, dict):
            raise UserInputError("expected a JSON object per line", file=path, line=n)
        out.append((f"line {n}", rec))
    return _Rows([], iter(out), typed=True)


def _parquet(path: Path) -> _Rows:
    import duckdb

    try:
        con = duckdb.connect()
        try:
            cur = con.execute("SELECT * FROM read_parquet(?)", [str(path)])
            names = [d[0] for d in cur.description or []]
            data = cur.fetchall()
        finally:
            con.close()
    except duckdb.Error as e:
        raise UserInputError(f"not a readable Parquet file: {str(e).splitlines()[0]}", file=path) from None
    return _Rows(names, ((f"row {n}", dict(zip(names, r, strict=True))) for n, r in enumerate(data, 1)), typed=True)


def _prompt(path: Path, where: str, value: Any) -> tuple[str | None, list[dict[str, str]] | None]:
    if isinstance(value, list):
        return None, chat_messages(value, file=path, where=where)
    if value is None or not str(value).strip():
        raise UserInputError(f"{where}: the prompt is empty", file=path)
    text = str(value)
    if text.lstrip().startswith("[{"):
        try:
            parsed = json.loads(text)
        except json.JSONDecodeError:
            return text, None
        if isinstance(parsed, list) and all(isinstance(m, dict) and "role" in m for m in parsed):
            return None, chat_messages(parsed, file=path, where=where)
    return text, None


def _item(path: Path, where: str, row: dict[str, Any], cols: Columns, target: str) -> RawItem:
    prompt, messages = _prompt(path, where, row.get(cols.prompt))
    if cols.id:
        pid = str(row.get(cols.id) or "").strip()
        if not pid:
            raise UserInputError(f"{where}: empty id in column {cols.id!r}", file=path)
    else:
        basis = prompt if prompt is not None else json.dumps(messages, sort_keys=True, ensure_ascii=False)
        pid = "p-" + hashlib.sha256(basis.encode("utf-8", "surrogatepass")).hexdigest()[:12]
    model = str(row.get(cols.model) or "").strip() if cols.model else target
    if not model:
        raise UserInputError(f"{where}: empty model in column {cols.model!r}", file=path)
    answer = row.get(cols.response)
    named = (("taxonomy", cols.taxonomy), ("intent", cols.intent), ("technique", cols.technique))
    fields = {**row, **{name: row.get(col) for name, col in named if col}}  # a mapping file may name any column
    metadata = {c: row.get(c) for c in cols.meta}
    return RawItem(
        where=where,
        prompt_id=pid,
        prompt=prompt,
        messages=messages,
        metadata=metadata,
        target=model,
        target_model=model,
        text=None if answer is None else str(answer),
        error=f"no answer in column {cols.response!r}" if answer is None else None,
        scores=[ExternalScore(f"table:{c}", row.get(c) if row.get(c) != "" else None) for c in cols.scores]
        if answer is not None
        else [],
        fields=fields,
    )
