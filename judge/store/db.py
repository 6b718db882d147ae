"""Opening the DuckDB file: short-lived connections that wait politely for the other process.

DuckDB lets one process write a file at a time, and a reader excludes the writer. judge holds the
file only for short batched transactions (see writer.py) and every opener retries while the file
is locked. Within one process, connections are taken one at a time (a read-only and a read-write
connection to one file cannot coexist in a process). A path that is a folder, a file that is not a
DuckDB database, a file that cannot be written, or a schema newer than this judge is one clear
line (UserInputError), never a traceback, and is detected before anything is written.
"""

from __future__ import annotations

import os
import random
import re
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import duckdb

from judge.errors import UserInputError
from judge.store.migrations import NotAJudgeDatabase, SchemaTooNew, migrate, schema_version_of

DEFAULT_DB = "runs/judge.duckdb"
# how long a reader (judge sql, report, …) waits for a batch being written
LOCK_WAIT_S = float(os.environ.get("JUDGE_DB_LOCK_WAIT_S", "30"))
# how long `judge run` waits at the end for a database another process holds before exiting 6
BUSY_WAIT_S = float(os.environ.get("JUDGE_DB_BUSY_WAIT_S", "300"))
# DuckDB settings of every connection judge hands to a user's SQL: no file access outside the database
SANDBOX: dict[str, Any] = {
    "enable_external_access": False,
    "autoinstall_known_extensions": False,
    "autoload_known_extensions": False,
    "allow_community_extensions": False,
    "lock_configuration": True,
}

_IN_PROCESS = threading.RLock()
_DUCKDB_MAGIC = b"DUCK"


def default_db_path(explicit: str | Path | None = None) -> Path:
    if explicit:
        return Path(explicit)
    return Path(os.environ.get("JUDGE_DB") or DEFAULT_DB)


def is_lock_error(e: BaseException) -> bool:
    text = str(e).lower()
    return "could not set lock" in text or "conflicting lock" in text or "resource temporarily unavailable" in text


def lock_holder(e: BaseException) -> str | None:
    """The pid DuckDB names in a lock error ("Conflicting lock is held in … (PID 123)"), if any."""
    m = re.search(r"\(PID (\d+)\)", str(e))
    return m.group(1) if m else None


def check_database_file(path: Path, *, for_write: bool) -> None:
    """Refuse, before touching anything, a path that cannot be judge's database."""
    if path.is_dir():
        raise UserInputError("is a folder, not a database file; pass a file path with --db", file=path)
    if path.exists():
        try:
            with path.open("rb") as fh:
                head = fh.read(16)
        except OSError as e:
            raise UserInputError(f"cannot read the database file: {e.strerror}", file=path) from None
        if head[8:12] != _DUCKDB_MAGIC:
            raise UserInputError("is not a DuckDB database file (refusing to touch it)", file=path)
        if for_write and not os.access(path, os.W_OK):
            raise UserInputError("the database file is not writable", file=path)
    elif not for_write:
        raise UserInputError("database not found; run `judge run CONFIG` first or pass --db", file=path)
    if for_write:
        parent = _existing_parent(path)
        if not parent.is_dir():
            raise UserInputError(f"{parent} is not a folder", file=path)
        if not os.access(parent, os.W_OK | os.X_OK):
            raise UserInputError(
                f"the folder {parent} is not writable (judge keeps a journal beside the database)", file=path
            )


def _existing_parent(path: Path) -> Path:
    parent = path.absolute().parent
    while not parent.exists() and parent != parent.parent:
        parent = parent.parent
    return parent


def _user_error(e: duckdb.Error, path: Path) -> UserInputError | None:
    """A DuckDB error the user caused (bad file, permissions), as one line; None for anything else."""
    text = str(e)
    low = text.lower()
    if "not a valid duckdb database file" in low:
        return UserInputError("is not a DuckDB database file", file=path)
    if "permission denied" in low or "read-only file system" in low:
        return UserInputError("cannot open the database for writing (permission denied)", file=path)
    if "created with an older" in low or "newer version" in low or ("serialization" in low and "version" in low):
        first = text.splitlines()[0] if text else "incompatible storage version"
        return UserInputError(f"this DuckDB file cannot be opened by this judge: {first}", file=path)
    return None


def open_connection(
    path: Path,
    *,
    read_only: bool,
    wait_s: float = LOCK_WAIT_S,
    config: dict[str, Any] | None = None,
    on_wait: Callable[[str], None] | None = None,
) -> duckdb.DuckDBPyConnection:
    """Connect, retrying while another process holds the lock (up to wait_s; 0 = one attempt)."""
    start = time.monotonic()
    delay = 0.01
    told = False
    while True:
        try:
            return duckdb.connect(str(path), read_only=read_only, config=config or {})
        except (duckdb.IOException, duckdb.ConnectionException) as e:
            friendly = _user_error(e, path)
            if friendly is not None:
                raise friendly from None
            if not is_lock_error(e) or time.monotonic() - start >= wait_s:
                raise
            if on_wait is not None and not told and time.monotonic() - start > 1.0:
                holder = lock_holder(e)
                on_wait(
                    f"waiting for the database: another process{f' (pid {holder})' if holder else ''} "
                    f"is writing to it; giving up after {wait_s:.0f} s"
                )
                told = True
        time.sleep(delay * (0.5 + random.random()))
        delay = min(delay * 2, 0.2)


@contextmanager
def read_connection(
    path: str | Path,
    *,
    wait_s: float = LOCK_WAIT_S,
    sandbox: bool = False,
    on_wait: Callable[[str], None] | None = None,
) -> Iterator[duckdb.DuckDBPyConnection]:
    """A read-only connection to an existing judge database at a schema this judge knows.

    `sandbox=True` also turns off every file access outside the database (for user-written SQL).
    """
    path = Path(path)
    check_database_file(path, for_write=False)
    with _IN_PROCESS:
        con = open_connection(path, read_only=True, wait_s=wait_s, config=SANDBOX if sandbox else None, on_wait=on_wait)
        try:
            try:
                schema_version_of(con)
            except (SchemaTooNew, NotAJudgeDatabase) as e:
                raise UserInputError(str(e), file=path) from None
            yield con
        finally:
            con.close()


@contextmanager
def write_connection(
    path: str | Path, *, wait_s: float = LOCK_WAIT_S, migrated: bool = False
) -> Iterator[duckdb.DuckDBPyConnection]:
    """A read-write connection on a migrated database (created if missing).

    `migrated=True` skips the migration check, for a writer that already ran it when it opened.
    """
    path = Path(path)
    if not migrated:
        check_database_file(path, for_write=True)
        path.parent.mkdir(parents=True, exist_ok=True)
    with _IN_PROCESS:
        con = open_connection(path, read_only=False, wait_s=wait_s)
        try:
            if not migrated:
                try:
                    migrate(con)
                except (SchemaTooNew, NotAJudgeDatabase) as e:
                    raise UserInputError(str(e), file=path) from None
            yield con
        finally:
            con.close()


def fetch(con: duckdb.DuckDBPyConnection, sql: str, params: Sequence[Any] | None = None) -> list[tuple[Any, ...]]:
    """Run a query and fetch every row (duckdb 2 keeps a result pending until fully fetched)."""
    return con.execute(sql, params or []).fetchall()


def check_schema_not_newer(path: Path) -> None:
    """Refuse (one line, nothing changed) a database written by a newer judge, before writing to it."""
    if not path.exists():
        return
    with read_connection(path, wait_s=BUSY_WAIT_S):
        pass


def check_writable_database(path: Path) -> None:
    """Everything that can be checked about a database before a run writes to it (nothing is created)."""
    check_database_file(path, for_write=True)
    check_schema_not_newer(path)


def ensure_database(path: str | Path) -> None:
    """Create and migrate the database file if needed."""
    with write_connection(path):
        pass
