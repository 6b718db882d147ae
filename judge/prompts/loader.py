"""Load prompt sets (JSONL) into PromptRow models, with one-line errors naming file, line and field."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from pathlib import Path

from pydantic import ValidationError

from judge.errors import UserInputError, pydantic_error_to_user_error
from judge.prompts.model import PromptRow

MAX_LINE_BYTES = 1_000_000  # a prompt line over 1 MB is almost certainly a broken file
_BOM = b"\xef\xbb\xbf"


def iter_jsonl_objects(path: Path) -> Iterator[tuple[int, dict[str, object]]]:
    """Yield (line number, object) for each non-blank line; raise UserInputError on bad lines."""
    try:
        fh = path.open("rb")
    except FileNotFoundError:
        raise UserInputError("file not found", file=path) from None
    except IsADirectoryError:
        raise UserInputError("expected a JSONL file, got a directory", file=path) from None
    with fh:
        for lineno, raw in enumerate(fh, start=1):
            if lineno == 1 and raw.startswith(_BOM):
                raise UserInputError(
                    "file starts with a UTF-8 byte-order mark; expected plain UTF-8 JSONL (save without BOM)",
                    file=path,
                    line=1,
                )
            if len(raw) > MAX_LINE_BYTES:
                raise UserInputError(
                    f"line is {len(raw):,} bytes; expected at most {MAX_LINE_BYTES:,} bytes per prompt",
                    file=path,
                    line=lineno,
                )
            try:
                text = raw.decode("utf-8")
            except UnicodeDecodeError as e:
                raise UserInputError(
                    f"invalid UTF-8 at byte {e.start}; expected UTF-8 text", file=path, line=lineno
                ) from None
            if not text.strip():
                continue
            try:
                obj = json.loads(text)
            except json.JSONDecodeError as e:
                raise UserInputError(
                    f"invalid JSON: {e.msg} (column {e.colno}); expected one JSON object per line",
                    file=path,
                    line=lineno,
                ) from None
            if not isinstance(obj, dict):
                raise UserInputError(f"expected a JSON object, got {type(obj).__name__}", file=path, line=lineno)
            yield lineno, obj


def load_prompt_file(path: str | Path) -> list[PromptRow]:
    path = Path(path)
    rows: list[PromptRow] = []
    seen: dict[str, int] = {}
    for lineno, obj in iter_jsonl_objects(path):
        try:
            row = PromptRow.model_validate(obj)
        except ValidationError as e:
            raise pydantic_error_to_user_error(e, file=path, line=lineno) from None
        if row.id in seen:
            raise UserInputError(
                f"duplicate id {row.id!r} (first on line {seen[row.id]}); expected unique ids",
                file=path,
                line=lineno,
                field="id",
            )
        seen[row.id] = lineno
        rows.append(row)
    if not rows:
        raise UserInputError("no prompts found; expected at least one JSON object line", file=path)
    return rows


def load_prompt_sets(paths: Iterable[str | Path]) -> list[PromptRow]:
    """Load several files; ids must be unique across all of them."""
    rows: list[PromptRow] = []
    origin: dict[str, Path] = {}
    for p in paths:
        path = Path(p)
        for row in load_prompt_file(path):
            if row.id in origin:
                raise UserInputError(
                    f"duplicate id {row.id!r} (also in {origin[row.id]}); expected ids unique across prompt sets",
                    file=path,
                    field="id",
                )
            origin[row.id] = path
            rows.append(row)
    return rows
