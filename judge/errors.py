"""User-facing errors (one clear line, no traceback) and the exit codes of `judge run`."""

from __future__ import annotations

from enum import IntEnum
from pathlib import Path
from typing import Any


class ExitCode(IntEnum):
    """What `judge run` exits with (README "Exit codes"; `judge nightly` keeps its own 0/1/2/3)."""

    COMPLETE = 0  # every item answered and judged
    BAD_INPUT = 2  # a config, rubric or prompt file is wrong: nothing was written
    PROVIDER_FATAL = 3  # the provider rejected the credentials or the model: the run was aborted
    INCOMPLETE = 4  # the run ended with items in error: rerun to retry them
    BUDGET_STOP = 5  # max_calls / max_cost_usd stopped the run: rerun to continue
    DATABASE_BUSY = 6  # the database stayed locked: finished work is kept in the journal for the next run
    INTERRUPTED = 130  # Ctrl-C or SIGTERM: recorded as stopped, rerun to continue


EXIT_CODE_HELP = (
    "Exit codes: 0 complete; 2 bad input (nothing written); 3 fatal provider error (credentials, "
    "unknown model); 4 incomplete (items ended in error, rerun to retry); 5 stopped by a budget "
    "(rerun to continue); 6 database busy (finished work kept in the journal for the next run); "
    "130 interrupted (Ctrl-C/SIGTERM)."
)


def run_exit_code(status: str, reason: str | None) -> ExitCode:
    """The exit code for a run's final status (runs.status) and reason."""
    if status == "complete":
        return ExitCode.COMPLETE
    if status == "incomplete":
        return ExitCode.INCOMPLETE
    if status == "aborted":
        return ExitCode.PROVIDER_FATAL
    if status == "stopped" and reason == "interrupted":
        return ExitCode.INTERRUPTED
    if status == "stopped":
        return ExitCode.BUDGET_STOP
    if status == "busy":
        return ExitCode.DATABASE_BUSY
    return ExitCode.INCOMPLETE


class UserInputError(Exception):
    """Bad input from the user: a malformed prompt file, rubric, config or argument.

    The message names the file, the line (where there is one), the field and what was expected.
    """

    exit_code = ExitCode.BAD_INPUT

    def __init__(
        self,
        message: str,
        *,
        file: str | Path | None = None,
        line: int | None = None,
        field: str | None = None,
    ) -> None:
        self.file = str(file) if file is not None else None
        self.line = line
        self.field = field
        self.message = message
        super().__init__(self.one_line())

    def one_line(self) -> str:
        where = ""
        if self.file:
            where = self.file
            if self.line is not None:
                where += f":{self.line}"
            where += ": "
        field = f"field '{self.field}': " if self.field else ""
        text = f"{where}{field}{self.message}"
        return " ".join(text.split())


class RunAborted(Exception):
    """The run cannot go on (e.g. the provider rejected the credentials). Exit code 3."""

    exit_code = ExitCode.PROVIDER_FATAL


class DatabaseBusy(Exception):
    """The database stayed locked by another process; finished work stays in the journal. Exit code 6."""

    exit_code = ExitCode.DATABASE_BUSY


def first_error(exc: object) -> Any:
    """The error to report from a pydantic ValidationError (one line, one problem).

    A misspelt key shows up as both "unknown field" and "missing": the unknown one says more.
    """
    from pydantic import ValidationError

    assert isinstance(exc, ValidationError)
    errors = exc.errors()
    return next((e for e in errors if e.get("type") == "extra_forbidden"), errors[0])


def pydantic_error_to_user_error(
    exc: object, *, file: str | Path, line: int | None = None, prefix: str = ""
) -> UserInputError:
    """Turn the first error of a pydantic ValidationError into a UserInputError."""
    from pydantic import ValidationError

    assert isinstance(exc, ValidationError)
    err = first_error(exc)
    loc = ".".join(str(p) for p in err.get("loc", ()) if p != "__root__")
    field = f"{prefix}{loc}" if loc else (prefix.rstrip(".") or None)
    kind = err.get("type", "")
    msg = err.get("msg", "invalid value")
    if kind == "extra_forbidden":
        msg = "unknown field (not allowed here)"
    elif kind == "missing":
        msg = "required field is missing"
    inp = err.get("input")
    if kind not in ("missing", "extra_forbidden") and isinstance(inp, str | int | float) and len(str(inp)) < 60:
        msg = f"{msg} (got {inp!r})"
    return UserInputError(msg, file=file, line=line, field=field or None)
