"""Validate a large prompt set on every core: each file cut into line-aligned byte ranges, one process each.

The validating pass over the prompt files must finish before a run sends anything (a bad last line
exits 2 with nothing paid for), so for a 100 MB file it is most of the time to the first call. Each
range is parsed, validated and hashed in a forked process exactly as `iter_prompt_sets` would; the
parts come back in order and are merged: the same counts, hashes and taxonomy ids, and at a bad
input the same one-line error (the earliest in file order, duplicate ids across parts included).
Small files, one usable core, or a process that already runs other threads (forking those is not
safe) take the serial path.
"""

from __future__ import annotations

import itertools
import multiprocessing
import os
import threading
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from judge.errors import UserInputError
from judge.prompts.loader import NO_PROMPTS, PromptScan, first_seen_error, iter_prompt_rows, stamp

PARALLEL_MIN_BYTES = 16 * 1024 * 1024  # below this the processes cost more than they save
PART_MIN_BYTES = 4 * 1024 * 1024
_BLOCK = 1 << 20


@dataclass
class PartScan:
    """What one byte range of a file held: its rows' hashes, taxonomy ids, ids, or its first error."""

    count: int = 0
    hashes: list[str] = field(default_factory=list)
    taxonomy_ids: dict[tuple[str, ...], list[str]] = field(default_factory=dict)
    ids: list[tuple[str, int]] = field(default_factory=list)  # (id, line) in file order
    error: tuple[str, int | None, str | None] | None = None  # (message, line, field)


def usable_cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def scan_part(path: str, start: int, end: int | None, first_line: int) -> PartScan:
    """Validate the lines beginning in [start, end) (run in a worker process)."""
    part = PartScan()
    file = Path(path)
    try:
        for lineno, row in iter_prompt_rows(file, start, end, first_line):
            part.count += 1
            part.hashes.append(row.content_hash)
            part.taxonomy_ids.setdefault(row.taxonomy, []).append(row.id)
            part.ids.append((row.id, lineno))
    except UserInputError as e:
        part.error = (e.message, e.line, e.field)
    return part


def line_aligned_parts(path: Path, n: int) -> list[tuple[int, int | None, int]]:
    """(start byte, end byte or None, number of the first line) of up to n ranges that cut at line starts."""
    size = path.stat().st_size
    bounds = [0]
    with path.open("rb") as fh:
        for k in range(1, n):
            fh.seek(size * k // n)
            fh.readline()  # on to the next line start
            pos = fh.tell()
            if bounds[-1] < pos < size:
                bounds.append(pos)
        first_lines = [1]
        fh.seek(0)
        for lo, hi in itertools.pairwise(bounds):
            newlines, left = 0, hi - lo
            while left > 0:
                block = fh.read(min(_BLOCK, left))
                newlines += block.count(b"\n")
                left -= len(block)
            first_lines.append(first_lines[-1] + newlines)
    ends: list[int | None] = [*bounds[1:], None]
    return list(zip(bounds, ends, first_lines, strict=True))


def scan_parallel(
    paths: list[Path], *, min_bytes: int | None = None, workers: int | None = None, any_thread: bool = False
) -> PromptScan | None:
    """The scan of `paths` computed by several processes, or None when the serial path is the better one.

    `JUDGE_PARALLEL_SCAN_MIN_BYTES` overrides the size from which it is used (16 MiB).
    """
    if min_bytes is None:
        min_bytes = int(os.environ.get("JUDGE_PARALLEL_SCAN_MIN_BYTES", PARALLEL_MIN_BYTES))
    workers = workers or usable_cores()
    try:
        sizes = [p.stat().st_size for p in paths]
    except OSError:
        return None  # a missing file: the serial path says so, in its words
    if workers < 2 or sum(sizes) < min_bytes or not all(p.is_file() for p in paths):
        return None
    if "fork" not in multiprocessing.get_all_start_methods():
        return None
    if threading.active_count() > 1 and not any_thread:
        return None
    jobs = [
        (path, part)
        for path, size in zip(paths, sizes, strict=True)
        for part in line_aligned_parts(path, max(1, min(workers, size // PART_MIN_BYTES or 1)))
    ]
    scan = PromptScan(list(paths))
    with ProcessPoolExecutor(max_workers=workers - 1, mp_context=multiprocessing.get_context("fork")) as pool:
        futures: list[Future[PartScan] | None] = [None] + [
            pool.submit(scan_part, str(path), *part) for path, part in jobs[1:]
        ]
        first = scan_part(str(jobs[0][0]), *jobs[0][1])  # this process takes the first part itself
        parts = [first] + [f.result() for f in futures[1:] if f is not None]
    _merge(scan, [(path, part) for (path, _), part in zip(jobs, parts, strict=True)])
    scan.content_hashes.sort()
    scan.stamps = [stamp(p) for p in scan.paths]
    return scan


def _merge(scan: PromptScan, parts: list[tuple[Path, PartScan]]) -> None:
    """Add the parts in file order, raising the error the serial pass would raise first."""
    origin: dict[str, tuple[Path, int]] = {}
    current: Path | None = None
    rows_in_current = 0
    for path, part in parts:
        if path != current:
            if current is not None and rows_in_current == 0:
                raise _no_prompts(current)
            current, rows_in_current = path, 0
        _add_ids(origin, part, path)
        if part.error is not None:
            message, line, where = part.error
            raise UserInputError(message, file=path, line=line, field=where)
        rows_in_current += part.count
        scan.count += part.count
        scan.content_hashes += part.hashes
        for taxonomy, ids in part.taxonomy_ids.items():
            scan.taxonomy_ids.setdefault(taxonomy, []).extend(ids)
    if current is not None and rows_in_current == 0:
        raise _no_prompts(current)


def _add_ids(origin: dict[str, tuple[Path, int]], part: PartScan, path: Path) -> None:
    """Record the part's ids, raising the duplicate-id error of the first id seen before (in file order)."""
    ids = dict.fromkeys(prompt_id for prompt_id, _ in part.ids)
    if len(ids) == len(part.ids) and origin.keys().isdisjoint(ids):  # the usual case, in C
        origin.update((prompt_id, (path, lineno)) for prompt_id, lineno in part.ids)
        return
    for prompt_id, lineno in part.ids:
        problem = first_seen_error(origin, prompt_id, path, lineno)
        if problem is not None:
            raise problem
        origin[prompt_id] = (path, lineno)


def _no_prompts(path: Path) -> UserInputError:
    return UserInputError(NO_PROMPTS, file=path)
