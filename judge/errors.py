"""User-facing errors: one clear line, exit code 2, no traceback."""

from __future__ import annotations

from pathlib import Path
from typing import Any


class UserInputError(Exception):
    """Bad input from the user: a malformed prompt file, rubric, config or argument.

    The message names the file, the line (where there is one), the field and what was expected.
    """

    exit_code = 2

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

    exit_code = 3


class DatabaseBusy(Exception):
    """The database stayed locked by another process; finished work stays in the journal. Exit code 6."""

    exit_code = 6


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
