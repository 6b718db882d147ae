"""Read prompt sets (JSONL) as PromptRow models, streaming, with one-line errors naming file, line and field.

`iter_prompt_sets` validates row by row and holds only the ids seen (for duplicates); a run reads
the files twice with it: once to validate everything before anything is written (`scan_prompt_sets`),
once to store and answer the rows in batches (judge.stages.load).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from pydantic import ValidationError

from judge.errors import UserInputError, pydantic_error_to_user_error
from judge.prompts.model import PromptRow

MAX_LINE_BYTES = 1_000_000  # a prompt line over 1 MB is almost certainly a broken file
MAX_DEPTH = 64  # objects and arrays nested deeper than this are refused (metadata is small and flat)
_BOM = b"\xef\xbb\xbf"
_SURROGATE = re.compile("[\ud800-\udfff]")


def _field_path(parts: list[str | int]) -> str:
    return ".".join(str(p) for p in parts) or "(line)"


def _check_value(obj: object, path: Path, lineno: int) -> None:
    """Refuse lone UTF-16 surrogates (JSON escapes like \\ud800 that no UTF-8 text can hold) and deep nesting."""
    stack: list[tuple[object, list[str | int]]] = [(obj, [])]
    while stack:
        value, where = stack.pop()
        if len(where) > MAX_DEPTH:
            raise UserInputError(
                f"nested more than {MAX_DEPTH} levels deep; expected small, flat values",
                file=path,
                line=lineno,
                field=_field_path(where[:3]) + "...",
            )
        if isinstance(value, str):
            if _SURROGATE.search(value):
                raise UserInputError(
                    "contains a lone UTF-16 surrogate (e.g. \\ud800); expected valid Unicode text",
                    file=path,
                    line=lineno,
                    field=_field_path(where),
                )
        elif isinstance(value, dict):
            for k, v in value.items():
                if _SURROGATE.search(k):
                    raise UserInputError(
                        "a key contains a lone UTF-16 surrogate; expected valid Unicode text",
                        file=path,
                        line=lineno,
                        field=_field_path(where),
                    )
                stack.append((v, [*where, k]))
        elif isinstance(value, list):
            stack.extend((v, [*where, i]) for i, v in enumerate(value))


def iter_jsonl_objects(path: Path) -> Iterator[tuple[int, dict[str, object]]]:
    """Yield (line number, object) for each non-blank line; raise UserInputError on bad lines."""
    for lineno, raw, text in iter_jsonl_lines(path):
        yield lineno, parse_object(raw, text, path, lineno)


def iter_prompt_rows(
    path: Path, start: int = 0, end: int | None = None, first_line: int = 1
) -> Iterator[tuple[int, PromptRow]]:
    """Yield (line number, validated row) for each prompt line, as iter_jsonl_objects + validated_row.

    A line that needs no guard is parsed and validated in one step by pydantic (JSON straight into
    the model); any line it refuses is read again the slow way, so the error names what is wrong in
    the same words as ever.
    """
    for lineno, raw, text in iter_jsonl_lines(path, start, end, first_line):
        if not _needs_guards(raw):
            try:
                yield lineno, PromptRow.model_validate_json(raw)
                continue
            except ValidationError:
                pass
        yield lineno, validated_row(parse_object(raw, text, path, lineno), path, lineno)


def _needs_guards(raw: bytes) -> bool:
    """Surrogate escapes or deep nesting: checked on the parsed object (cheap byte tests first)."""
    return b"\\ud" in raw or b"\\uD" in raw or raw.count(b"[") + raw.count(b"{") > MAX_DEPTH


def iter_jsonl_lines(
    path: Path, start: int = 0, end: int | None = None, first_line: int = 1
) -> Iterator[tuple[int, bytes, str]]:
    """(line number, bytes, text) of each non-blank line that passes the line-level checks.

    `start`/`end` read only the lines beginning in that byte range (start at a line's first byte,
    first_line its number), for validating one file in parallel parts (judge.prompts.parallel_scan).
    """
    try:
        fh = path.open("rb")
    except FileNotFoundError:
        raise UserInputError("file not found", file=path) from None
    except IsADirectoryError:
        raise UserInputError("expected a JSONL file, got a directory", file=path) from None
    with fh:
        if start:
            fh.seek(start)
        position = start
        for lineno, raw in enumerate(fh, start=first_line):
            if end is not None:
                if position >= end:
                    break
                position += len(raw)
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
            if text.strip():
                yield lineno, raw, text


def parse_object(raw: bytes, text: str, path: Path, lineno: int) -> dict[str, object]:
    """The line's JSON object, or the one-line error saying what is wrong with it."""
    try:
        obj = json.loads(text)
    except json.JSONDecodeError as e:
        raise UserInputError(
            f"invalid JSON: {e.msg} (column {e.colno}); expected one JSON object per line",
            file=path,
            line=lineno,
        ) from None
    except RecursionError:
        raise UserInputError(
            f"JSON nested too deeply; expected at most {MAX_DEPTH} levels", file=path, line=lineno
        ) from None
    if not isinstance(obj, dict):
        raise UserInputError(f"expected a JSON object, got {type(obj).__name__}", file=path, line=lineno)
    # cheap guards first: surrogates can only arrive as \\uXXXX escapes, depth needs brackets
    if _needs_guards(raw):
        _check_value(obj, path, lineno)
    return obj


def iter_prompt_sets(paths: Iterable[str | Path]) -> Iterator[tuple[Path, int, PromptRow]]:
    """(file, line, row) for every prompt of every file, validated; ids must be unique across files.

    Raises UserInputError (file:line, field) at the first bad line, and for a file without prompts.
    """
    origin: dict[str, tuple[Path, int]] = {}
    for p in paths:
        path = Path(p)
        found = False
        for lineno, row in iter_prompt_rows(path):
            problem = first_seen_error(origin, row.id, path, lineno)
            if problem is not None:
                raise problem
            origin[row.id] = (path, lineno)
            found = True
            yield path, lineno, row
        if not found:
            raise UserInputError(NO_PROMPTS, file=path)


NO_PROMPTS = "no prompts found; expected at least one JSON object line"


def validated_row(obj: dict[str, object], path: Path, lineno: int) -> PromptRow:
    """The line's object as a PromptRow, or the one-line error naming its field."""
    try:
        return PromptRow.model_validate(obj)
    except ValidationError as e:
        raise pydantic_error_to_user_error(e, file=path, line=lineno) from None


def first_seen_error(
    origin: dict[str, tuple[Path, int]], prompt_id: str, path: Path, lineno: int
) -> UserInputError | None:
    """The duplicate-id error if `prompt_id` was seen before (origin: id -> where it was first)."""
    first = origin.get(prompt_id)
    if first is None:
        return None
    same_file = first[0] == path
    return UserInputError(
        f"duplicate id {prompt_id!r} "
        + (f"(first on line {first[1]}); expected unique ids" if same_file else f"(also in {first[0]}); ")
        + ("" if same_file else "expected ids unique across prompt sets"),
        file=path,
        line=lineno,
        field="id",
    )


def load_prompt_file(path: str | Path) -> list[PromptRow]:
    return [row for _, _, row in iter_prompt_sets([path])]


def load_prompt_sets(paths: Iterable[str | Path]) -> list[PromptRow]:
    """Load several files into memory; ids must be unique across all of them."""
    return [row for _, _, row in iter_prompt_sets(paths)]


@dataclass
class PromptScan:
    """What a validating pass over the prompt files keeps: counts and hashes, not the rows."""

    paths: list[Path]
    count: int = 0
    content_hashes: list[str] = field(default_factory=list)  # sorted
    taxonomy_ids: dict[tuple[str, ...], list[str]] = field(default_factory=dict)  # path -> prompt ids
    stamps: list[tuple[int, int]] = field(default_factory=list)  # (size, mtime_ns) of each file when read


def stamp(path: Path) -> tuple[int, int]:
    st = path.stat()
    return st.st_size, st.st_mtime_ns


def scan_prompt_sets(paths: Iterable[str | Path]) -> PromptScan:
    """Validate every line of every file in one streaming pass (memory: ids and hashes only).

    A large set is validated by several processes at once (judge.prompts.parallel_scan), same result.
    """
    from judge.prompts.parallel_scan import scan_parallel

    files = [Path(p) for p in paths]
    parallel = scan_parallel(files)
    if parallel is not None:
        return parallel
    scan = PromptScan(files)
    for _, _, row in iter_prompt_sets(scan.paths):
        scan.count += 1
        scan.content_hashes.append(row.content_hash)
        scan.taxonomy_ids.setdefault(row.taxonomy, []).append(row.id)
    scan.content_hashes.sort()
    scan.stamps = [stamp(p) for p in scan.paths]
    return scan


def rescan_rows(scan: PromptScan) -> Iterator[PromptRow]:
    """The scanned rows again, for storing and answering; the files must not have changed meanwhile."""
    if [stamp(p) for p in scan.paths] != scan.stamps:
        changed = next(p for p, s in zip(scan.paths, scan.stamps, strict=True) if stamp(p) != s)
        raise UserInputError("the prompt file changed while the run was reading it; rerun", file=changed)
    for _, _, row in iter_prompt_sets(scan.paths):
        yield row
