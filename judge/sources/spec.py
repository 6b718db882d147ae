"""`source:` in a run config: grade answers another tool produced instead of generating them.

    source:
      kind: inspect                     # inspect | promptfoo | table
      files: [logs/refusal_check.eval]  # relative to the config file
      map: map.yaml                     # optional mapping file (see judge.sources.mapping)
      score_map: ["P=fail"]             # optional, as --score-map
      columns: {prompt: question, response: answer, model: model}   # table only (as the --options)

The files are imported (or the identical earlier import is found) when the run starts; the run's judges
then grade the imported answers like generated ones: resumable, reusing verdicts, within budgets, gated.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator


class TableColumns(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    prompt: str
    response: str
    model: str | None = None
    target: str | None = None
    id: str | None = None
    taxonomy: str | None = None
    intent: str | None = None
    technique: str | None = None
    meta: tuple[str, ...] = ()
    scores: tuple[str, ...] = ()


class SourceSpec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    kind: Literal["inspect", "promptfoo", "table"]
    files: tuple[str, ...] = Field(min_length=1)
    map: str | None = None
    score_map: tuple[str, ...] = ()
    columns: TableColumns | None = None

    @model_validator(mode="before")
    @classmethod
    def _one_file(cls, data: Any) -> Any:
        if isinstance(data, dict) and isinstance(data.get("files"), str):
            return {**data, "files": [data["files"]]}
        return data

    @model_validator(mode="after")
    def _columns_for_tables(self) -> SourceSpec:
        if self.kind == "table" and self.columns is None:
            raise ValueError("a table source needs 'columns' (at least prompt and response)")
        if self.kind != "table" and self.columns is not None:
            raise ValueError("'columns' is only for table sources")
        if self.kind == "table" and len(self.files) != 1:
            raise ValueError("a table source takes one file")
        return self

    def resolved(self, base: Path) -> SourceSpec:
        """The spec with file paths resolved against the config's folder."""

        def res(p: str) -> str:
            path = Path(p).expanduser()
            return str(path if path.is_absolute() else (base / path).resolve())

        return self.model_copy(
            update={"files": tuple(res(f) for f in self.files), "map": res(self.map) if self.map else None}
        )


def plan_source(spec: SourceSpec, *, name: str, rubric_path: Path, taxonomy_path: Path | None) -> Any:
    """Read and validate the source's files (UserInputError on bad input); nothing is written."""
    from judge.sources.importer import prepare_import
    from judge.sources.table import Columns

    columns = Columns(**spec.columns.model_dump()) if spec.columns is not None else None
    return prepare_import(
        spec.kind,
        [Path(f) for f in spec.files],
        name=name,
        rubric_path=rubric_path,
        map_path=Path(spec.map) if spec.map else None,
        taxonomy_path=taxonomy_path,
        columns=columns,
        score_map=spec.score_map,
    )


def write_source(db_path: Path, plan: Any) -> tuple[str, bool]:
    """(run id, imported now): the run holding the source's answers, the identical earlier import's or a new one."""
    from judge.sources.ingest import write_import

    out = write_import(db_path, plan)
    return out.run_id, out.added
