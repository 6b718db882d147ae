"""Crash-safe writes that never stall model calls and never drop a finished row.

Every finished row is appended to the journal (journal.py) the moment it exists, with one
os.write. A writer thread commits sealed journal segments to DuckDB in short transactions, each a
set-based upsert per table read straight from the segment files (ingest.py); only after the
commit are those files deleted. So:

- the journal is the source of truth until DuckDB has committed: a failed or refused write keeps
  every row in the journal and is retried; nothing is ever taken out of it before a commit;
- the event loop never waits for DuckDB: `add` appends to a file, `maybe_flush` hands a segment
  to the thread; a reader holding the database only delays the commits;
- at the end of a run the writer waits for the database (saying so, with the holder's pid) up to
  JUDGE_DB_BUSY_WAIT_S, then raises DatabaseBusy (exit code 6), leaving the journal for the next
  run, which replays it before anything else;
- a kill -9 at any moment loses nothing that reached the journal (a torn last line is ignored).
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import duckdb

from judge.errors import DatabaseBusy, UserInputError
from judge.providers.base import utcnow
from judge.store import crashpoints
from judge.store.db import (
    BUSY_WAIT_S,
    check_database_file,
    check_schema_not_newer,
    is_lock_error,
    lock_holder,
    write_connection,
)
from judge.store.ingest import TABLES, foreign_run_rows, load_file
from judge.store.journal import (
    JOURNAL_VERSION,
    READABLE_VERSIONS,
    FoundSegment,
    JournalRefused,
    Segment,
    drop_torn_tail,
    find_segments,
    header_value_columns,
    journal_dir,
    new_token,
    set_aside,
    set_aside_segment,
    token_hash,
)
from judge.store.rows import ROW_TYPES, JournalTokenRow, StoreRow

__all__ = ["TABLES", "StoreWriter", "WriterLock"]

# how long flush() waits for a commit by default (a stage boundary); the run's end waits longer (drain)
FLUSH_WAIT_S = float(os.environ.get("JUDGE_FLUSH_WAIT_S", "5"))
# the longest a batch waits to be committed when commits are slow (a large database, a loaded machine)
MAX_INTERVAL_S = 10.0
HOLD_STRETCH = 40  # the interval between commits is at least 40x the last commit's hold on the file
# typed rows are journaled as arrays in this column order (every segment's header records it)
VALUE_COLUMNS = {table: list(cls.columns()) for table, cls in ROW_TYPES.items()}
# where a typed row's key is among its values
_KEY_AT = {
    table: tuple(VALUE_COLUMNS[table].index(k) for k in TABLES[table][0]) for table in VALUE_COLUMNS if table in TABLES
}


def _stderr(message: str) -> None:
    print(f"judge: {message}", file=sys.stderr, flush=True)


class WriterLock:
    """One writing judge process per database file (readers are not blocked by this lock)."""

    def __init__(self, db_path: Path) -> None:
        self.path = db_path.with_name(db_path.name + ".writer.lock")
        self._fd: int | None = None

    def acquire(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 64, 0).decode(errors="replace").strip() or "?"
            os.close(fd)
            raise UserInputError(
                f"another judge process (pid {holder}) is writing to this database; wait for it to finish",
                file=self.path.with_name(self.path.name.removesuffix(".writer.lock")),
            ) from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, str(os.getpid()).encode(), 0)
        self._fd = fd

    def release(self) -> None:
        if self._fd is not None:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None


class StoreWriter:
    """Journal rows at once; commit them to DuckDB from a writer thread in short batches."""

    def __init__(
        self,
        db_path: str | Path,
        *,
        flush_every_s: float | None = None,
        flush_every_n: int = 100_000,
        busy_wait_s: float | None = None,
        notify: Callable[[str], None] | None = None,
    ) -> None:
        self.db_path = Path(db_path)
        self.journal_path = journal_dir(self.db_path)
        self.flush_every_s = (
            float(os.environ.get("JUDGE_FLUSH_EVERY_S", "1.0")) if flush_every_s is None else flush_every_s
        )
        self.flush_every_n = flush_every_n
        self.busy_wait_s = (
            float(os.environ.get("JUDGE_DB_BUSY_WAIT_S", BUSY_WAIT_S)) if busy_wait_s is None else busy_wait_s
        )
        self.notify = notify or _stderr
        self._lock = WriterLock(self.db_path)
        self._token = new_token()
        self._opened_at = utcnow()
        self.run_id: str | None = None
        self._seq = 0
        self._seg: Segment | None = None
        self._last_seal = time.monotonic()
        # shared with the writer thread, under _cv
        self._cv = threading.Condition()
        self._queue: list[Segment] = []  # sealed, not yet committed, in order
        self._committed_seq = 0
        self._stopping = False
        self._error: BaseException | None = None  # the last failure that was not a lock
        self._busy_holder: str | None = None
        self._busy_since: float | None = None
        self._hold_s = 0.0  # how long the last commit held the database
        self._thread: threading.Thread | None = None
        self._busy_raised = False
        self._busy_told = False
        self.flushes = 0
        self.hold_total_s = 0.0  # time the writer held the database file, for the reader figures
        # where that time went (seconds): "connect", "load <table>", "COMMIT", "close" (scripts/bench_storage.py)
        self.hold_parts: dict[str, float] = {}
        self.rows_replayed = 0

    # --- lifecycle -----------------------------------------------------------------------------
    def open(self) -> StoreWriter:
        check_database_file(self.db_path, for_write=True)  # a folder, a foreign file: one line, nothing written
        check_schema_not_newer(self.db_path)
        self._lock.acquire()
        try:
            self._open_database()
            self.journal_path.mkdir(mode=0o700, exist_ok=True)
        except BaseException:
            self._lock.release()
            raise
        self._thread = threading.Thread(target=self._run_thread, name="judge-store-writer", daemon=True)
        self._thread.start()
        return self

    def _open_database(self) -> None:
        """Migrate, replay what an earlier process left in the journal, and register this writer's token."""
        deadline = time.monotonic() + self.busy_wait_s
        told = False
        while True:
            try:
                with write_connection(self.db_path, wait_s=0) as con:
                    self.rows_replayed = self._recover(con)
                    con.execute(
                        "INSERT INTO journal_tokens VALUES (?, NULL, ?, ?, NULL)",
                        [token_hash(self._token), os.getpid(), self._opened_at],
                    )
                return
            except duckdb.Error as e:
                if not is_lock_error(e):
                    raise
                holder = lock_holder(e)
                if time.monotonic() >= deadline:
                    raise DatabaseBusy(
                        f"the database stayed locked by another process{_pid(holder)} for {self.busy_wait_s:.0f} s; "
                        "nothing was started (JUDGE_DB_BUSY_WAIT_S sets the wait)"
                    ) from None
                if not told:
                    self.notify(
                        f"waiting for the database: another process{_pid(holder)} holds it "
                        f"(waiting up to {self.busy_wait_s:.0f} s, JUDGE_DB_BUSY_WAIT_S)"
                    )
                    told = True
                time.sleep(0.1)

    def bind_run(self, run_id: str) -> None:
        """Bind this writer's journal to a run: later segments name it, and the database records it."""
        self.run_id = run_id
        if self._seg is not None and self._seg.header.get("run_id") != run_id:
            self._seal()
        self.add("journal_tokens", self._token_row(closed=False), journal=False)

    def _token_row(self, *, closed: bool) -> dict[str, Any]:
        return JournalTokenRow(
            token_sha256=token_hash(self._token),
            run_id=self.run_id,
            pid=os.getpid(),
            opened_at=self._opened_at,
            closed_at=utcnow() if closed else None,
        ).as_row()

    def drain(self, wait_s: float | None = None) -> None:
        """Commit everything journaled so far, waiting for a busy database up to busy_wait_s.

        Raises DatabaseBusy when the database stayed locked (the journal keeps every row), or the
        error of a write that failed for another reason (the journal keeps every row too).
        """
        wait = self.busy_wait_s if wait_s is None else wait_s
        deadline = time.monotonic() + wait
        told = False
        while True:
            if self.flush(wait_s=min(max(0.0, deadline - time.monotonic()), 1.0)):
                if told:
                    self.notify("the database is free again: everything is written")
                return
            with self._cv:
                busy, holder = self._busy_since is not None, self._busy_holder
                pending = sum(s.rows for s in self._queue)
            if busy and not told:
                self.notify(
                    f"waiting for the database: another process{_pid(holder)} holds it; {pending} finished "
                    f"row(s) are safe in the journal; waiting up to {wait:.0f} s (JUDGE_DB_BUSY_WAIT_S)"
                )
                told = True
            if time.monotonic() >= deadline:
                break
        self._busy_raised = True
        raise DatabaseBusy(
            f"the database stayed locked by another process{_pid(holder)}; {pending} finished row(s) are kept "
            f"in the journal {self.journal_path} and the next `judge run` writes them first"
        )

    def close(self, *, wait: bool = True) -> None:
        """Commit what is left and stop; if the database cannot be written, keep the journal.

        wait=False (an error or an interrupt is propagating) gives the database a moment only.
        """
        try:
            if self._thread is not None and not self._busy_raised:
                self.add("journal_tokens", self._token_row(closed=True), journal=False)
                if wait:
                    self.drain()
                elif not self.flush(wait_s=min(2.0, self.busy_wait_s)):
                    self.notify(f"finished work not yet written is kept in the journal {self.journal_path}")
        finally:
            self._stop_thread()
            if self._seg is not None:
                self._seg.seal()
                self._queue.append(self._seg)
                self._seg = None
            if not self._queue:
                with contextlib.suppress(OSError):
                    self.journal_path.rmdir()  # empty: everything reached the database
            self._lock.release()

    def __enter__(self) -> StoreWriter:
        return self.open()

    def __exit__(self, exc_type: object, *exc: object) -> None:
        if exc_type is None:
            self.close()
            return
        try:
            self.close(wait=False)  # the original error propagates; nothing is taken out of the journal
        except Exception as err:
            self.notify(f"could not write the last rows ({type(err).__name__}); they are kept in the journal")

    # --- writing ----------------------------------------------------------------------------------
    def add(self, table: str, row: dict[str, Any], *, journal: bool = True) -> None:
        """Journal a row given as a dict (every row goes through the journal: it is also the staging area).

        `journal=False` marks bookkeeping rows (the run header) that callers could rebuild; they are
        journaled too, but the `after_journal` crash point counts finished work only.
        """
        key_cols, _ = TABLES[table]
        seg = self._seg
        if seg is not None and table in seg.value_tables:
            self._seal()  # one kind of file per table in a segment keeps the table's rows in order
            seg = None
        if seg is None:
            seg = self._new_segment()
        key = row.get(key_cols[0]) if len(key_cols) == 1 else tuple(row.get(k) for k in key_cols)
        seg.append(table, key, row)
        if journal:
            crashpoints.reached("after_journal")

    def add_row(self, row: StoreRow) -> None:
        """Journal a finished typed row: its values as one JSON array (the stages' rows take this path)."""
        table = row.TABLE
        seg = self._seg or self._new_segment()
        if table in seg.columns:  # this segment already holds the table's rows as objects: stay in order
            self.add(table, row.as_row())
            return
        values = row.values()
        at = _KEY_AT[table]
        seg.append_values(table, values[at[0]] if len(at) == 1 else tuple(values[i] for i in at), values)
        crashpoints.reached("after_journal")

    def maybe_flush(self) -> bool:
        """Hand the current segment to the writer thread if a batch is due and the thread is idle."""
        seg = self._seg
        if seg is None:
            return False
        now = time.monotonic()
        # the database stays free >= ~97.5 % of the time, and rows wait at most MAX_INTERVAL_S
        interval = max(self.flush_every_s, min(HOLD_STRETCH * self._hold_s, MAX_INTERVAL_S))
        if seg.rows < self.flush_every_n and now - self._last_seal < interval:
            return False
        if self._queue:  # the thread is still writing (or waiting for the lock): let this segment grow
            return False
        self._seal()
        return True

    def flush(self, wait_s: float | None = None) -> bool:
        """Commit everything journaled so far, waiting up to wait_s for the commit.

        Returns True once committed, False if the database is still locked (the rows stay in the
        journal and are written when it frees). A write that failed for another reason is raised.
        The default wait is short (FLUSH_WAIT_S): callers go on and the thread keeps trying.
        """
        if self._seg is not None:
            self._seal()
        with self._cv:
            target = self._seq if not self._queue else self._queue[-1].seq
            deadline = time.monotonic() + (min(FLUSH_WAIT_S, self.busy_wait_s) if wait_s is None else wait_s)
            while self._queue and self._committed_seq < target and self._thread is not None:
                if self._error is not None and not is_lock_error(self._error):
                    break
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                self._cv.wait(min(left, 0.5))
            done = not self._queue or self._committed_seq >= target
        if not done:
            self._raise_if_failed()
        return done

    def write_now(self, table: str, rows: list[dict[str, Any]]) -> bool:
        """Journal rows and commit them with everything before them (bookkeeping rows such as the run header)."""
        for row in rows:
            self.add(table, row)
        return self.flush()

    def pending_rows(self, table: str) -> list[dict[str, Any]]:
        """Rows of `table` journaled but not committed yet (as JSON values).

        Read these *before* querying the database: a segment committed in between is then seen twice
        (harmless) rather than not at all.
        """
        with self._cv:
            segs = list(self._queue)
        if self._seg is not None:
            segs.append(self._seg)
        out: list[dict[str, Any]] = []
        for seg in segs:
            out += seg.read_rows(table)
        return out

    @property
    def busy_holder(self) -> str | None:
        return self._busy_holder

    # --- segments ---------------------------------------------------------------------------------
    def _new_segment(self) -> Segment:
        self._seq += 1
        header = {
            "journal": JOURNAL_VERSION,
            "token": self._token,
            "run_id": self.run_id,
            "pid": os.getpid(),
            "values": VALUE_COLUMNS,
        }
        self._seg = Segment.create(self.journal_path, self._seq, header)
        return self._seg

    def _seal(self) -> None:
        seg, self._seg = self._seg, None
        if seg is None:
            return
        seg.seal()
        self._last_seal = time.monotonic()
        with self._cv:
            self._queue.append(seg)
            self._cv.notify_all()

    def _raise_if_failed(self) -> None:
        err = self._error
        if err is not None and not is_lock_error(err):
            raise err

    # --- the writer thread ------------------------------------------------------------------------
    def _run_thread(self) -> None:
        backoff = 0.005
        while True:
            with self._cv:
                while not self._queue and not self._stopping:
                    self._cv.wait()
                if self._stopping:
                    return
                batch = list(self._queue)
            try:
                self._commit(batch)
            except BaseException as e:  # kept in the journal, retried; the caller decides when to give up
                with self._cv:
                    self._error = e
                    if isinstance(e, duckdb.Error) and is_lock_error(e):
                        self._busy_holder = lock_holder(e) or self._busy_holder
                        if self._busy_since is None:
                            self._busy_since = time.monotonic()
                    self._cv.notify_all()
                    self._cv.wait(backoff * (0.5 + _jitter()))
                    # a failed attempt on a locked file costs nothing to readers: retry often, to slip
                    # in between readers that come and go; other failures back off to 2 s
                    backoff = min(backoff * 2, 0.05 if is_lock_error(e) else 2.0)
                self._tell_if_long_busy()
                continue
            backoff = 0.005
            for seg in batch:
                seg.delete()
            with self._cv:
                del self._queue[: len(batch)]
                self._committed_seq = batch[-1].seq
                self._error = None
                self._busy_since = None
                self.flushes += 1
                self._cv.notify_all()

    def _commit(self, batch: list[Segment]) -> None:
        started = time.monotonic()
        parts = self.hold_parts
        with write_connection(self.db_path, wait_s=0, migrated=True) as con:
            mark = time.monotonic()
            parts["connect"] = parts.get("connect", 0.0) + mark - started
            con.execute("BEGIN TRANSACTION")
            try:
                types: dict[str, dict[str, str]] = {}
                for seg in batch:
                    for table in TABLES:  # parents before children
                        if table in seg.columns:
                            load_file(
                                con,
                                table,
                                seg.table_path(table),
                                seg.columns[table],
                                dedupe=table in seg.has_duplicates,
                                types_cache=types,
                            )
                        elif table in seg.value_tables:
                            load_file(
                                con,
                                table,
                                seg.values_path(table),
                                None,
                                dedupe=table in seg.has_duplicates,
                                types_cache=types,
                                values_columns=seg.value_columns(table),
                            )
                        else:
                            continue
                        now = time.monotonic()
                        parts["load " + table] = parts.get("load " + table, 0.0) + now - mark
                        mark = now
                crashpoints.reached("before_commit")
                con.execute("COMMIT")
                crashpoints.reached("after_commit")
                now = time.monotonic()
                parts["COMMIT"] = parts.get("COMMIT", 0.0) + now - mark
                mark = now
            except BaseException:
                con.execute("ROLLBACK")
                raise
        self._hold_s = time.monotonic() - started  # the file is held from connect to close
        parts["close"] = parts.get("close", 0.0) + started + self._hold_s - mark
        self.hold_total_s += self._hold_s

    def _tell_if_long_busy(self) -> None:
        since = self._busy_since
        if since is not None and not self._busy_told and time.monotonic() - since > 10:
            self._busy_told = True
            self.notify(
                f"the database is held by another process{_pid(self._busy_holder)}; finished work is kept in the "
                "journal and written as soon as it is free (model calls go on)"
            )

    def _stop_thread(self) -> None:
        if self._thread is None:
            return
        with self._cv:
            self._stopping = True
            self._cv.notify_all()
        self._thread.join()
        self._thread = None

    # --- recovery ---------------------------------------------------------------------------------
    def recover(self) -> int:
        """Replay what an earlier process left in the journal (open() does this). Returns rows replayed."""
        with write_connection(self.db_path) as con:
            return self._recover(con)

    def _recover(self, con: duckdb.DuckDBPyConnection) -> int:
        path = self.journal_path
        if not path.exists() and not path.is_symlink():
            return 0
        if path.is_symlink() or not path.is_dir():
            kept = set_aside(path)
            self.notify(
                f"refused {path}: not a journal this judge wrote (kept aside as {kept.name}; nothing was replayed)"
            )
            return 0
        segments, strays = find_segments(path)
        for stray in strays:
            kept = set_aside(stray)
            self.notify(f"refused {stray}: not a journal segment (kept aside as {kept.name})")
        replayed = 0
        closed_tokens: set[str] = set()
        for seg in segments:
            try:
                token_sha = self._check_segment(con, seg)
            except JournalRefused as why:
                kept = set_aside_segment(path, seg)
                self.notify(f"refused journal segment {seg.seq:06d}: {why} (kept aside in {kept})")
                continue
            con.execute("BEGIN TRANSACTION")
            try:
                for table in TABLES:
                    file = seg.tables.get(table)
                    if file is not None:
                        drop_torn_tail(file)
                        columns = _columns_in(con, file)
                        if columns:
                            load_file(con, table, file, columns, dedupe=True)
                            replayed += _line_count(file)
                    file = seg.values.get(table)
                    if file is not None:
                        drop_torn_tail(file)
                        load_file(
                            con, table, file, None, dedupe=True, values_columns=header_value_columns(seg.header, table)
                        )
                        replayed += _line_count(file)
                con.execute("COMMIT")
            except BaseException:
                con.execute("ROLLBACK")
                raise
            for p in [seg.head_path, *seg.files()]:
                p.unlink(missing_ok=True)
            closed_tokens.add(token_sha)
        for sha in closed_tokens:
            con.execute("UPDATE journal_tokens SET closed_at = ? WHERE token_sha256 = ?", [utcnow(), sha])
        if replayed:
            self.notify(f"replayed {replayed} finished row(s) left in the journal by an earlier run")
        return replayed

    def _check_segment(self, con: duckdb.DuckDBPyConnection, seg: FoundSegment) -> str:
        """The token hash of a segment this database issued; JournalRefused for anything else."""
        head = seg.header
        if head is None or head.get("journal") not in READABLE_VERSIONS or not isinstance(head.get("token"), str):
            raise JournalRefused("no valid journal header")
        unknown = sorted((set(seg.tables) | set(seg.values)) - set(TABLES))
        if unknown:
            raise JournalRefused(f"unknown table {unknown[0]!r}")
        for table in seg.values:
            header_value_columns(seg.header, table)  # a file of arrays needs its column list in the header
        sha = token_hash(head["token"])
        row = con.execute("SELECT run_id, closed_at FROM journal_tokens WHERE token_sha256 = ?", [sha]).fetchall()
        if not row:
            raise JournalRefused("its token was not issued by this database")
        bound_run, closed_at = row[0]
        if closed_at is not None:
            raise JournalRefused("its token was already closed (the journal was written and committed before)")
        run_id = head.get("run_id")
        if bound_run is not None and run_id is not None and run_id != bound_run:
            raise JournalRefused(f"it names run {run_id!r} but its token belongs to run {bound_run!r}")
        check_run = run_id if run_id is not None else bound_run
        if check_run is not None:
            files: list[tuple[str, Path, list[str] | None]] = [(t, f, None) for t, f in seg.tables.items()]
            files += [(t, f, header_value_columns(seg.header, t)) for t, f in seg.values.items()]
            for table, file, value_columns in files:
                drop_torn_tail(file)
                if foreign_run_rows(con, table, file, check_run, values_columns=value_columns):
                    raise JournalRefused(f"its {table} rows belong to another run than {check_run!r}")
        return sha


def _columns_in(con: duckdb.DuckDBPyConnection, file: Path) -> set[str] | None:
    """The keys used in a journal file (so rows replace only the columns they carry)."""
    if file.stat().st_size == 0:
        return set()
    rows = con.execute(
        "SELECT DISTINCT unnest(json_keys(json)) FROM read_json_objects("
        + "'"
        + str(file).replace("'", "''")
        + "', format = 'newline_delimited')"
    ).fetchall()
    return {str(r[0]) for r in rows}


def _line_count(file: Path) -> int:
    with file.open("rb") as fh:
        return sum(1 for _ in fh)


def _pid(holder: str | None) -> str:
    return f" (pid {holder})" if holder else ""


def _jitter() -> float:
    return (time.monotonic_ns() % 1000) / 1000
