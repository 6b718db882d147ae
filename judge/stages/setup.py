"""Run setup shared by `judge run` and `judge regrade`: key checks, rubric and policy rows, the run's models."""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from judge.config import ModelSpec
from judge.errors import UserInputError
from judge.rubric import Rubric
from judge.store.rows import model_row, policy_rows, rubric_row, run_model_row
from judge.store.writer import StoreWriter


def check_keys(specs: Iterable[tuple[str, ModelSpec]], *, file: str | Path | None = None) -> None:
    """Each (field, spec): the environment variable named by api_key_env must be set."""
    for field, spec in specs:
        if spec.api_key_env and not os.environ.get(spec.api_key_env):
            raise UserInputError(
                f"environment variable {spec.api_key_env} is not set (needed by {spec.model})", file=file, field=field
            )


def write_rubric(writer: StoreWriter, rubric: Rubric, path: Path) -> None:
    """The rubric file as used (content and version) and its policy rules."""
    writer.add("rubrics", rubric_row(rubric, str(path), path.read_text(encoding="utf-8")), journal=False)
    for row in policy_rows(rubric):
        writer.add("policy_rules", row, journal=False)


def write_run_models(
    writer: StoreWriter, run_id: str, role: str, models: Iterable[Any], rubric_version: str | None = None
) -> None:
    """The models (targets or judges) of a run: their settings and their place in the run (a judge's row
    names the rubric version it grades under)."""
    for m in models:
        writer.add("models", model_row(m.spec, m.offline), journal=False)
        version = rubric_version if role == "judge" else None
        writer.add("run_models", run_model_row(run_id, m.spec, role, version), journal=False)
