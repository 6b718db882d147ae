"""What every page reads through: the run database (short read-only connections), the run indexes and caches."""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import duckdb

from judge.store.db import read_connection
from judge.view.index import RunIndexes

T = TypeVar("T")
CACHE_SIZE = 32


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


@dataclass
class ViewContext:
    """The viewer's state: the database path, whether labelling is on, indexes and caches."""

    db_path: Path
    label: bool = False
    label_set: str = "default"
    annotator: str = "unknown"
    sample_n: int = 50
    seed: int = 0
    indexes: RunIndexes = field(init=False)
    reports: LruCache = field(default_factory=LruCache)
    searches: LruCache = field(default_factory=lambda: LruCache(64))
    samples: LruCache = field(default_factory=lambda: LruCache(8))
    lock: ReadWriteLock = field(default_factory=ReadWriteLock)
    closed: bool = False

    def __post_init__(self) -> None:
        self.indexes = RunIndexes(self.db_path)
        self._open: set[duckdb.DuckDBPyConnection] = set()
        self._open_lock = threading.Lock()

    def close(self) -> None:
        """Stop: interrupt the queries still running (a warm-up, a slow page), so the process exits at once."""
        self.closed = True
        with self._open_lock:
            for con in list(self._open):
                con.interrupt()
        self.indexes.mem.interrupt()

    @contextmanager
    def read(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """A short read-only connection to the run database (never kept between requests).

        Index builds and searches (which ATTACH the file) happen inside it, so they are readers too.
        """
        if self.closed:
            raise RuntimeError("the viewer is stopping")
        with self.lock.reading(), read_connection(self.db_path) as con:
            with self._open_lock:
                self._open.add(con)
            try:
                yield con
            finally:
                with self._open_lock:
                    self._open.discard(con)

    @contextmanager
    def writing(self) -> Iterator[None]:
        """Around the viewer's only write (a gold label): no read of the file is open meanwhile."""
        with self.lock.writing():
            yield
