"""`judge regrade`: grade a stored run's responses with another judge or rubric, without generating.

The judge is added to the run's judges (run_models, role judge). Verdicts are stored under the
rubric version used: the run's own rubric by default, or a new rubric (`--rubric FILE`), whose
rubric and policy rows are stored too. The `graded`/`scored` views read verdicts under the run's
rubric version only; verdicts under another version are read with `judge compare --rubric-version`.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from judge.config import ModelSpec
from judge.errors import UserInputError, pydantic_error_to_user_error
from judge.rubric import load_rubric
from judge.stages.progress import NullProgress, ProgressSink
from judge.store.audit import stored_rubric
from judge.store.db import read_connection
from judge.store.runs import judge_names_of_key, judge_verdict_counts, other_judge_keys_named, resolve_run, run_row
from judge.yaml_files import load_yaml_mapping


@dataclass(frozen=True)
class RegradeOutcome:
    run_id: str
    judge: str
    judge_key: str
    rubric_version: str
    new_rubric: bool
    verdicts: int
    errors: int
    graded_now: int


def build_spec(
    model: str | None,
    *,
    judge_config: Path | None = None,
    api_base: str | None = None,
    api_key_env: str | None = None,
    label: str | None = None,
) -> ModelSpec:
    """A judge ModelSpec from the options; `--judge-config` is a YAML/JSON mapping of ModelSpec fields."""
    data: dict[str, Any] = {}
    if judge_config is not None:
        _, loaded = load_yaml_mapping(
            judge_config, what="judge config", expected="a mapping of judge fields (model, api_base, params, ...)"
        )
        data.update(loaded)
    for key, value in (("model", model), ("api_base", api_base), ("api_key_env", api_key_env), ("label", label)):
        if value is not None:
            data[key] = value
    if "model" not in data:
        raise UserInputError("give the judge model with --judge (or 'model' in --judge-config)", field="judge")
    try:
        spec = ModelSpec.model_validate(data)
    except ValidationError as e:
        if judge_config is not None:
            raise pydantic_error_to_user_error(e, file=judge_config) from None
        err = pydantic_error_to_user_error(e, file="")
        raise UserInputError(err.message, field=err.field) from None
    from judge.stages.setup import check_keys

    check_keys([("api-key-env", spec)])
    return spec


def regrade(
    db_path: Path,
    run_ref: str,
    spec: ModelSpec,
    *,
    rubric_path: Path | None = None,
    progress: ProgressSink | None = None,
) -> RegradeOutcome:
    from judge.providers.registry import resolve_judge
    from judge.stages.context import RunContext
    from judge.stages.grade import grade_stage
    from judge.stages.setup import write_rubric, write_run_models
    from judge.store.writer import StoreWriter

    judge = resolve_judge(spec)
    with read_connection(db_path) as con:
        run_id = resolve_run(con, run_ref)
        run = run_row(con, run_id)
        run_version = str(run.get("rubric_version") or "")
        rubric = load_rubric(rubric_path) if rubric_path is not None else stored_rubric(con, run_version)
        if other_judge_keys_named(con, run_id, spec.name, spec.key):
            raise UserInputError(
                f"run {run_id} already has a different judge named {spec.name!r}; set --label", field="label"
            )
        same = judge_names_of_key(con, run_id, spec.key)
        if same and same[0] != spec.name:
            raise UserInputError(
                f"this judge is already in run {run_id} as {same[0]!r} (same model and settings); "
                f"use --label {same[0]!r} or change its settings",
                field="label",
            )
    new_rubric = rubric.version != run_version
    with StoreWriter(db_path) as writer:
        writer.bind_run(run_id)
        if rubric_path is not None:
            write_rubric(writer, rubric, rubric_path)
        write_run_models(writer, run_id, "judge", [judge], rubric.version)
        writer.flush()
        ctx = RunContext(run_id, rubric, writer, progress or NullProgress())
        graded_now = asyncio.run(grade_stage(ctx, [judge]))
        writer.flush()
    after = _count(db_path, run_id, spec.key, rubric.version)
    return RegradeOutcome(run_id, spec.name, spec.key, rubric.version, new_rubric, after[0], after[1], graded_now)


def _count(db_path: Path, run_id: str, key: str, version: str) -> tuple[int, int]:
    with read_connection(db_path) as con:
        return judge_verdict_counts(con, run_id, key, version)


def describe_outcome(out: RegradeOutcome) -> str:
    """One line for the terminal: what was graded now, under which rubric, and how to read it."""
    where = f"rubric {out.rubric_version}" + (
        f" (new: read it with `judge compare --rubric-version {out.rubric_version}`)"
        if out.new_rubric
        else " (the run's)"
    )
    now = (
        f"graded {out.graded_now} response(s) now"
        if out.graded_now
        else "had nothing left to grade (every response already has its verdict)"
    )
    return f"run {out.run_id}: judge {out.judge} {now}; {out.verdicts} verdict(s) under {where}, {out.errors} error(s)"
