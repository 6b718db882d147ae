"""Per-run verdict indexes kept in an in-memory DuckDB, so table pages page and aggregate in milliseconds.

The viewer never holds the run database open between requests (a running `judge run` must be able
to write). Instead, the first time a run is shown, its rows of the store's own `scored` view (the
one place where outcomes are computed) are copied, without their texts, into a table `scored` of
an in-memory DuckDB, plus a `disagree` flag per response. Filtering, sorting, paging, facets,
agreement matrices and the nightly gate's numbers (which read a table named `scored`) then run
there. Texts are read from the run database for the rows of a page only.

An index is rebuilt when its run changed: the stamp is the run's status and the count and newest
timestamp of its responses and verdicts (one short scan). While a run is still being written, an
index up to LIVE_MAX_AGE_S seconds old is used as is, and the pages say "as of" when.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import duckdb

from judge.store.db import LOCK_WAIT_S
from judge.view.sql import fetch_all

LIVE_MAX_AGE_S = 15.0
MAX_RUNS = 4  # indexes kept; the least recently used one is dropped beyond this
MAX_SEARCHES = 64

INDEX_COLUMNS = (
    "run_id, response_id, prompt_hash, prompt_id, taxonomy_path, l1, l2, intent, technique, target, judge, "
    "response_status, response_error_kind, verdict_id, verdict_status, verdict_error_kind, tier, confidence, "
    "outcome, is_error, is_unsure, is_violation, is_over_deflection, is_acceptable"
)

# Sorting strings of a whole run for a deep page is slow: each sortable text column gets an integer rank
# at build time (its position among the run's few distinct values; NULL stays NULL so NULLs sort last
# both ways), and `seq` is the default order and the tie-break.
SORT_COLUMNS = ("target", "judge", "l1", "intent", "tier", "outcome", "technique")

_STAMP_SQL = """
SELECT (SELECT status FROM runs WHERE run_id = $run),
       (SELECT count(*) FROM responses WHERE run_id = $run),
       (SELECT max(created_at) FROM responses WHERE run_id = $run),
       (SELECT count(*) FROM verdicts WHERE run_id = $run),
       (SELECT max(created_at) FROM verdicts WHERE run_id = $run),
       (SELECT count(*) FROM run_models WHERE run_id = $run)
"""


@dataclass(frozen=True)
class IndexInfo:
    run_id: str
    stamp: tuple[Any, ...]
    built_at: float  # time.monotonic()
    as_of: datetime  # wall clock of the build
    rows: int
    build_ms: float

    @property
    def running(self) -> bool:
        return self.stamp[0] == "running"


def run_stamp(con: duckdb.DuckDBPyConnection, run_id: str) -> tuple[Any, ...]:
    """What changes whenever a run's responses or verdicts do (status, counts, newest write)."""
    return tuple(fetch_all(con, _STAMP_SQL, {"run": run_id})[0])


class RunIndexes:
    """The in-memory database of per-run indexes, shared by the viewer's request threads."""

    def __init__(self, db_path: Path) -> None:
        self.db_path = db_path
        self.mem = duckdb.connect(":memory:")
        self.mem.execute("SET enable_progress_bar = false")
        self._build_lock = threading.Lock()
        self._info: dict[str, IndexInfo] = {}
        self._used: dict[str, float] = {}
        self._created = False
        self._searches: OrderedDict[tuple[Any, ...], int] = OrderedDict()
        self._next_qkey = 1
        self._derived: OrderedDict[tuple[Any, ...], int] = OrderedDict()
        self._derived_lock = threading.Lock()
        self.mem.execute("CREATE TABLE hits (qkey INTEGER, response_id VARCHAR)")

    def cursor(self) -> duckdb.DuckDBPyConnection:
        """A connection for one request thread (DuckDB connections are not shared between threads)."""
        return self.mem.cursor()

    def info(self, run_id: str) -> IndexInfo | None:
        return self._info.get(run_id)

    def ensure(self, con: duckdb.DuckDBPyConnection, run_id: str) -> IndexInfo:
        """The run's index, built or rebuilt if the run changed (con: an open read connection)."""
        current = self._info.get(run_id)
        if current is not None and current.running and time.monotonic() - current.built_at < LIVE_MAX_AGE_S:
            self._used[run_id] = time.monotonic()
            return current
        stamp = run_stamp(con, run_id)
        if current is not None and current.stamp == stamp:
            self._used[run_id] = time.monotonic()
            return current
        with self._build_lock:
            current = self._info.get(run_id)
            if current is not None and current.stamp == stamp:
                return current
            info = self._build(run_id, stamp)
            self._info[run_id] = info
            self._used[run_id] = time.monotonic()
            self._evict()
            return info

    def _build(self, run_id: str, stamp: tuple[Any, ...]) -> IndexInfo:
        start = time.perf_counter()
        cur = self.mem.cursor()
        try:
            _attach_read_only(cur, self.db_path, "src")
            try:
                cur.execute(
                    f"CREATE OR REPLACE TEMP TABLE stage AS SELECT {INDEX_COLUMNS}, false AS disagree "
                    "FROM src.scored WHERE run_id = ?",
                    [run_id],
                )
            finally:
                cur.execute("DETACH src")
            cur.execute(
                """UPDATE stage SET disagree = true WHERE response_id IN (
                       SELECT response_id FROM stage WHERE verdict_status = 'ok'
                       GROUP BY response_id HAVING min(tier) <> max(tier))"""
            )
            _rank(cur)
            if not self._created:
                cur.execute("CREATE TABLE IF NOT EXISTS scored AS SELECT * FROM ranked LIMIT 0")
                self._created = True
            cur.execute("BEGIN TRANSACTION")
            cur.execute("DELETE FROM scored WHERE run_id = ?", [run_id])
            cur.execute("INSERT INTO scored SELECT * FROM ranked")
            cur.execute("COMMIT")
            cur.execute("DROP TABLE stage")
            cur.execute("DROP TABLE ranked")
            rows = int(fetch_all(cur, "SELECT count(*) FROM scored WHERE run_id = ?", [run_id])[0][0])
        finally:
            cur.close()
        return IndexInfo(run_id, stamp, time.monotonic(), datetime.now(), rows, (time.perf_counter() - start) * 1000)

    def search(self, info: IndexInfo, text: str) -> int:
        """Key (in table `hits`) of the run's responses whose prompt or response contains `text` (any case).

        The scan runs inside DuckDB over the run database; the matching ids go straight into the
        in-memory table, and are kept for the run's current stamp (MAX_SEARCHES searches).
        """
        key = (info.run_id, info.stamp, text)
        with self._build_lock:
            if key in self._searches:
                self._searches.move_to_end(key)
                return self._searches[key]
            qkey = self._next_qkey
            self._next_qkey += 1
            cur = self.mem.cursor()
            try:
                _attach_read_only(cur, self.db_path, "src")
                try:
                    cur.execute(
                        """INSERT INTO hits
                           SELECT $qkey, r.response_id FROM src.responses r
                           JOIN src.prompts p ON p.prompt_hash = r.prompt_hash
                           WHERE r.run_id = $run AND (contains(lower(coalesce(r.text, '')), $needle)
                                 OR contains(lower(p.text), $needle)
                                 OR contains(lower(coalesce(p.messages::VARCHAR, '')), $needle)
                                 OR p.prompt_id = $exact OR r.response_id = $exact)""",
                        {"qkey": qkey, "run": info.run_id, "needle": text.lower(), "exact": text},
                    )
                finally:
                    cur.execute("DETACH src")
                self._searches[key] = qkey
                while len(self._searches) > MAX_SEARCHES:
                    _, old = self._searches.popitem(last=False)
                    cur.execute("DELETE FROM hits WHERE qkey = ?", [old])
            finally:
                cur.close()
            return qkey

    def derived(self, name: str, key: tuple[Any, ...], select_sql: str, params: dict[str, Any]) -> int:
        """Rows of `select_sql` (over the indexes) kept in table `name` under an integer `dkey`, once per key.

        For results that several pages slice (e.g. two runs' flipped items): computed once, then
        filtered and paged in milliseconds. At most MAX_SEARCHES keys per table are kept.
        """
        full = (name, *key)
        with self._derived_lock:
            if full in self._derived:
                self._derived.move_to_end(full)
                return self._derived[full]
            dkey = self._next_qkey
            self._next_qkey += 1
            cur = self.mem.cursor()
            try:
                create = f"CREATE TABLE IF NOT EXISTS {name} AS SELECT 0 AS dkey, * FROM ({select_sql}) LIMIT 0"
                cur.execute(create, params)
                cur.execute(f"INSERT INTO {name} SELECT {dkey} AS dkey, * FROM ({select_sql})", params)
                self._derived[full] = dkey
                kept = [k for k in self._derived if k[0] == name]
                if len(kept) > MAX_SEARCHES:
                    old = self._derived.pop(kept[0])
                    cur.execute(f"DELETE FROM {name} WHERE dkey = ?", [old])
            finally:
                cur.close()
            return dkey

    def _evict(self) -> None:
        while len(self._info) > MAX_RUNS:
            oldest = min(self._used, key=lambda r: self._used[r])
            self.mem.execute("DELETE FROM scored WHERE run_id = ?", [oldest])
            self._info.pop(oldest, None)
            self._used.pop(oldest, None)


def _rank(cur: duckdb.DuckDBPyConnection) -> None:
    """Table `ranked`: `stage` plus seq (the default order), pkey (target, prompt, judge) and ord_* ranks."""
    distinct = fetch_all(
        cur,
        "SELECT "
        + ", ".join(f"list(DISTINCT {c} ORDER BY {c}) FILTER ({c} IS NOT NULL)" for c in SORT_COLUMNS)
        + " FROM stage",
    )[0]
    ranks = ", ".join(f"list_position(${c}, {c}) AS ord_{c}" for c in SORT_COLUMNS)
    cur.execute(
        f"""CREATE OR REPLACE TEMP TABLE ranked AS
            SELECT *, row_number() OVER (ORDER BY prompt_id, target, judge, response_id) AS seq,
                   hash(target, prompt_hash, judge) AS pkey, {ranks}
            FROM stage""",
        {c: list(values or []) for c, values in zip(SORT_COLUMNS, distinct, strict=True)},
    )


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
