"""What every page reads through: the run database (attached read-only per request), the run indexes and caches."""

from __future__ import annotations

import contextlib
import itertools
import os
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import duckdb

from judge.errors import UserInputError
from judge.store.db import LOCK_WAIT_S, check_database_file
from judge.store.migrations import NotAJudgeDatabase, SchemaTooNew, schema_version_of
from judge.view.index import Preparing, RunIndexes, lower_priority

T = TypeVar("T")
CACHE_SIZE = 32
# A file whose last change is this recent may change again within the file system's time granularity
# without its mtime moving: its stamp is not trusted for caching (the "racy git" rule).
RACY_S = 2.0


class LruCache:
    """A small thread-safe LRU of computed values (reports, search hits), keyed by what they depend on."""

    def __init__(self, size: int = CACHE_SIZE) -> None:
        self.size = size
        self._data: OrderedDict[Any, Any] = OrderedDict()
        self._lock = threading.Lock()
        self._key_locks: dict[Any, threading.Lock] = {}

    def get_or_compute(self, key: Any, compute: Callable[[], T]) -> T:
        with self._lock:
            if key in self._data:
                self._data.move_to_end(key)
                return self._data[key]
            key_lock = self._key_locks.setdefault(key, threading.Lock())
        with key_lock:  # one computation per key, others wait for it
            with self._lock:
                if key in self._data:
                    return self._data[key]
            value = compute()
            with self._lock:
                self._data[key] = value
                while len(self._data) > self.size:
                    self._data.popitem(last=False)
                self._key_locks.pop(key, None)
            return value


@dataclass
class _Job:
    started: float
    done: threading.Event = field(default_factory=threading.Event)
    value: Any = None
    error: BaseException | None = None


class Background:
    """Values computed once per key in a background thread (reports, labelling samples): a page waits for
    one at most wait_s, then raises Preparing; a failed computation is raised to its waiters and retried
    by the next request."""

    def __init__(self, size: int = CACHE_SIZE) -> None:
        self.size = size
        self._jobs: OrderedDict[Any, _Job] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: Any, compute: Callable[[], T], *, wait_s: float | None, run_id: str, what: str) -> T:
        with self._lock:
            job = self._jobs.get(key)
            if job is not None and job.done.is_set() and job.error is not None:
                job = None
            if job is None:
                job = _Job(time.monotonic())
                self._jobs[key] = job
                while len(self._jobs) > self.size:
                    self._jobs.popitem(last=False)
                threading.Thread(target=self._run, args=(job, compute), name="judge-view-compute", daemon=True).start()
            else:
                self._jobs.move_to_end(key)
        if not job.done.wait(wait_s):
            raise Preparing(run_id, what, None, job.started)
        if job.error is not None:
            raise job.error
        return job.value

    @staticmethod
    def _run(job: _Job, compute: Callable[[], Any]) -> None:
        lower_priority()
        try:
            job.value = compute()
        except BaseException as e:  # raised to the page that waits for it
            job.error = e
        finally:
            job.done.set()


class ReadWriteLock:
    """Many readers or one writer. In one process DuckDB cannot hold a file read-only and read-write at once
    (and POSIX file locks are per process), so the label write waits for every open read to close."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._readers = 0
        self._writing = False
        self._waiting_writers = 0

    @contextmanager
    def reading(self) -> Iterator[None]:
        with self._cond:
            self._cond.wait_for(lambda: not self._writing and not self._waiting_writers)
            self._readers += 1
        try:
            yield
        finally:
            with self._cond:
                self._readers -= 1
                self._cond.notify_all()

    @contextmanager
    def writing(self) -> Iterator[None]:
        with self._cond:
            self._waiting_writers += 1
            self._cond.wait_for(lambda: not self._writing and not self._readers)
            self._waiting_writers -= 1
            self._writing = True
        try:
            yield
        finally:
            with self._cond:
                self._writing = False
                self._cond.notify_all()


FileStamp = tuple[Any, ...]


def file_stamp(db_path: Path) -> tuple[FileStamp, float]:
    """(what changes whenever a transaction commits: the database file's and its WAL's identity, size and
    mtime; the newest mtime in seconds). A commit appends to the WAL or rewrites the file at a checkpoint."""
    parts: list[Any] = []
    newest = 0.0
    for p in (db_path, Path(str(db_path) + ".wal")):
        try:
            st = os.stat(p)
        except FileNotFoundError:
            parts.append(None)
            continue
        parts.append((st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns))
        newest = max(newest, st.st_mtime_ns / 1e9, st.st_ctime_ns / 1e9)
    return tuple(parts), newest


@dataclass
class ViewContext:
    """The viewer's state: the database path, whether labelling is on, indexes and caches.

    One in-memory DuckDB instance holds the run indexes; each request ATTACHes the run database
    read-only under its own name for the duration of the request only (about 5 ms, where a new
    connection costs 30–40 ms), so a running `judge run` can write between requests.
    """

    db_path: Path
    label: bool = False
    label_set: str = "default"
    annotator: str = "unknown"
    sample_n: int = 50
    seed: int = 0
    # how long a page waits for a run index (or report) being built before it answers "preparing"
    wait_s: float = 0.1
    indexes: RunIndexes = field(init=False)
    reports: LruCache = field(default_factory=LruCache)
    background: Background = field(default_factory=Background)
    # (run, judge) -> the newest run page shown for a run being written (its next report is computed
    # after every commit: meanwhile the page shows these figures, marked as from an earlier state)
    shown_run_pages: dict[tuple[str, str | None], Any] = field(default_factory=dict)
    lock: ReadWriteLock = field(default_factory=ReadWriteLock)
    closed: bool = False

    def __post_init__(self) -> None:
        self.mem = duckdb.connect(":memory:")
        self.mem.execute("SET enable_progress_bar = false")
        # background reads of the run database (index builds, reports, labelling samples) run in an instance
        # of their own limited to one thread, in threads of lower OS priority: a request always has a core
        self.bg = duckdb.connect(":memory:", config={"threads": 1})
        self.bg.execute("SET enable_progress_bar = false")
        self.indexes = RunIndexes(self.mem, self.read_background, self.file_stamp)
        self._open: set[duckdb.DuckDBPyConnection] = set()
        self._open_lock = threading.Lock()
        self._attach_lock = threading.Lock()  # attaching and detaching the run database, one at a time
        self._reads = 0  # reads open (requests and background work)
        self._attached: list[tuple[duckdb.DuckDBPyConnection, str]] = []  # to detach when no read is left
        self._aliases = itertools.count(1)
        self._checked: FileStamp | None = None  # file stamp at which the schema was last checked

    def close(self) -> None:
        """Stop: interrupt the queries still running (a build, a slow page), so the process exits at once."""
        self.closed = True
        with self._open_lock:
            for con in list(self._open):
                con.interrupt()
        self.indexes.stop()
        self.mem.interrupt()
        self.bg.interrupt()
        self.indexes.close()

    def file_stamp(self) -> tuple[FileStamp, bool]:
        """The database files' stamp, and whether it can be trusted to say "nothing changed since" later."""
        now = time.time()
        stamp, newest = file_stamp(self.db_path)
        return stamp, newest < now - RACY_S

    @contextmanager
    def read(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """A read-only view of the run database for one request (never kept between requests).

        The connection is a cursor of the in-memory instance whose default database is the run
        database, attached read-only under a name of its own and detached when the block ends.
        Unqualified names are the run database's; the indexes are `memory.scored` etc.
        """
        with self._read(self.mem) as cur:
            yield cur

    @contextmanager
    def read_background(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """As read(), in the background instance (one thread): for builds, reports and samples."""
        with self._read(self.bg) as cur:
            yield cur

    @contextmanager
    def _read(self, instance: duckdb.DuckDBPyConnection) -> Iterator[duckdb.DuckDBPyConnection]:
        if self.closed:
            raise RuntimeError("the viewer is stopping")
        check_database_file(self.db_path, for_write=False)
        alias = f"src{next(self._aliases)}"
        with self.lock.reading():
            cur = instance.cursor()
            try:
                with self._attach_lock:
                    self._reads += 1
                    self._attached.append((instance, alias))
                    _attach_read_only(cur, self.db_path, alias)
                cur.execute(f"USE {alias}")
                self._check_schema(cur)
                with self._open_lock:
                    self._open.add(cur)
                try:
                    yield cur
                finally:
                    with self._open_lock:
                        self._open.discard(cur)
            finally:
                with contextlib.suppress(duckdb.Error):
                    cur.execute("USE memory")
                cur.close()
                self._release()

    def _release(self) -> None:
        """End one read; the last one open detaches every read's attachment.

        The file's lock is a POSIX lock of the process: closing any handle of the file drops it for
        every handle, so a read detached while another is still reading would let a writer in under
        that read. Attachments are therefore closed together, when no read is left."""
        with self._attach_lock:
            self._reads -= 1
            if self._reads:
                return
            attached, self._attached = self._attached, []
            for instance, alias in attached:
                other = instance.cursor()
                try:
                    other.execute(f"DETACH DATABASE IF EXISTS {alias}")
                finally:
                    other.close()

    def _check_schema(self, cur: duckdb.DuckDBPyConnection) -> None:
        stamp, trusted = self.file_stamp()
        if stamp == self._checked:
            return
        try:
            schema_version_of(cur)
        except (SchemaTooNew, NotAJudgeDatabase) as e:
            raise UserInputError(str(e), file=self.db_path) from None
        self._checked = stamp if trusted else None

    @contextmanager
    def writing(self) -> Iterator[None]:
        """Around the viewer's only write (a gold label): no read of the file is open meanwhile."""
        with self.lock.writing():
            yield


def _attach_read_only(cur: duckdb.DuckDBPyConnection, path: Path, alias: str) -> None:
    """ATTACH the run database read-only, waiting while a writer holds it (as the store's readers do)."""
    deadline = time.monotonic() + LOCK_WAIT_S
    delay = 0.01
    literal = str(path).replace("'", "''")
    while True:
        try:
            cur.execute(f"ATTACH '{literal}' AS {alias} (READ_ONLY)")
            return
        except (duckdb.IOException, duckdb.ConnectionException, duckdb.BinderException) as e:
            text = str(e).lower()
            if not ("lock" in text or "conflicting" in text) or time.monotonic() > deadline:
                raise
        time.sleep(delay)
        delay = min(delay * 2, 0.25)
