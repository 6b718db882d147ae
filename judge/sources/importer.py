"""`judge import`: read the files of one source, map them to prompt rows, write them as one new run."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from judge.errors import UserInputError
from judge.sources.ingest import ImportOutcome, ImportPlan, plan_import, write_import
from judge.sources.items import SourceFile, Tick
from judge.sources.mapping import PromptMapper, load_mapping
from judge.sources.scores import parse_score_map
from judge.sources.table import Columns

# (stage, total or None) -> a function advancing that stage's bar
Progress = Callable[[str, int | None], Tick]
KINDS = ("inspect", "promptfoo", "table")


def default_rubric_path() -> Path:
    """rubrics/default.yaml under the cwd, else the copy in the source tree."""
    local = Path("rubrics") / "default.yaml"
    return local if local.is_file() else Path(__file__).resolve().parents[2] / "rubrics" / "default.yaml"


def _read(kind: str, path: Path, columns: Columns | None, tick: Tick | None) -> SourceFile:
    if kind == "inspect":
        from judge.sources.inspect import read_inspect

        return read_inspect(path, tick)
    if kind == "promptfoo":
        from judge.sources.promptfoo import read_promptfoo

        return read_promptfoo(path, tick)
    from judge.sources.table import read_table

    assert columns is not None
    return read_table(path, columns, tick)


def _file_hash(path: Path | None) -> str | None:
    return hashlib.sha256(path.read_bytes()).hexdigest()[:16] if path is not None and path.is_file() else None


def prepare_import(
    kind: str,
    paths: Sequence[Path],
    *,
    name: str | None = None,
    rubric_path: Path | None = None,
    map_path: Path | None = None,
    taxonomy_path: Path | None = None,
    columns: Columns | None = None,
    score_map: Sequence[str] = (),
    progress: Progress | None = None,
) -> ImportPlan:
    """Read and validate everything (UserInputError on bad input); nothing is written."""
    from judge.prompts.taxonomy import default_taxonomy_path, load_taxonomy
    from judge.rubric import load_rubric

    if kind not in KINDS:
        raise UserInputError(f"unknown source {kind!r}; expected one of {', '.join(KINDS)}", field="source")
    if not paths:
        raise UserInputError("give at least one file to import", field="FILE")
    rubric_path = rubric_path or default_rubric_path()
    rubric = load_rubric(rubric_path)
    tax_path = taxonomy_path or default_taxonomy_path()
    taxonomy = load_taxonomy(tax_path)
    mapping = load_mapping(map_path, taxonomy) if map_path is not None else None
    scores = parse_score_map(score_map)
    read_tick = progress("read", None) if progress else None
    files = [_read(kind, Path(p), columns, read_tick) for p in paths]
    mapper = PromptMapper(mapping, taxonomy, file=files[0].path)
    options: dict[str, Any] = {
        "map": str(map_path) if map_path else None,
        "map_sha": _file_hash(map_path),
        "taxonomy": str(tax_path),
        "taxonomy_sha": _file_hash(tax_path),
        "score_map": list(score_map),
    }
    if columns is not None:
        options["columns"] = {k: v for k, v in vars(columns).items() if v not in (None, ())}
    return plan_import(
        kind, files, mapper, rubric, rubric_path, name=name, options=options, score_map=scores, taxonomy_path=tax_path
    )


def import_files(
    kind: str,
    paths: Sequence[Path],
    db_path: Path,
    *,
    progress: Progress | None = None,
    **options: Any,
) -> ImportOutcome:
    """Validate everything first (UserInputError, nothing written), then write one run in one transaction."""
    plan = prepare_import(kind, paths, progress=progress, **options)
    write_tick = progress("write", len(plan.rows)) if progress else None
    return write_import(db_path, plan, write_tick)
