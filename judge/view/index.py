"""Per-run verdict indexes kept in an in-memory DuckDB, so table pages page and aggregate in milliseconds.

The viewer never holds the run database open between requests (a running `judge run` must be able
to write). Instead, the first time a run is shown, its rows of the store's own `scored` view (the
one place where outcomes are computed) are copied, without their texts, into a table `scored` of
an in-memory DuckDB, with integer sort ranks, a `disagree` flag per response, the facets and the
judge-agreement counts. Filtering, sorting, paging, facets, agreement matrices and the nightly
gate's numbers (which read a table named `scored`) then run there. Texts are read from the run
database for the rows of a page only.

Builds run in a background thread; a page waits for one at most `wait_s` and otherwise answers a
"preparing" page (raise Preparing) that reloads itself. An index is used only while its run's
stamp is unchanged: status, count and newest write of its responses and verdicts, its models and
the policy. The stamp is read again whenever the database files changed (file_stamp); a changed
run is rebuilt, so a page never shows rows older than the last commit it could see.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import duckdb

from judge.view.sql import fetch_all

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
FACET_COLUMNS = ("target", "judge", "l1", "l2", "technique")

_STAMP_SQL = """
SELECT (SELECT status FROM runs WHERE run_id = $run),
       (SELECT count(*) FROM responses WHERE run_id = $run),
       (SELECT max(created_at) FROM responses WHERE run_id = $run),
       (SELECT count(*) FROM verdicts WHERE run_id = $run),
       (SELECT max(created_at) FROM verdicts WHERE run_id = $run),
       (SELECT string_agg(m::VARCHAR, ',' ORDER BY m.model_key, m.role) FROM run_models m WHERE m.run_id = $run),
       (SELECT count(*) FROM policy_rules)
"""

Reader = Callable[[], AbstractContextManager[duckdb.DuckDBPyConnection]]
FileStamper = Callable[[], tuple[Any, bool]]


class Preparing(Exception):
    """A page needs an index (or a report) that is still being built: answer a page that reloads itself."""

    def __init__(self, run_id: str, what: str, progress: float | None, started: float) -> None:
        super().__init__(f"preparing {what} of run {run_id}")
        self.run_id = run_id
        self.what = what
        self.progress = progress  # percent, when known
        self.elapsed_s = time.monotonic() - started


@dataclass(frozen=True)
class IndexInfo:
    run_id: str
    stamp: tuple[Any, ...]
    built_at: float  # time.monotonic()
    as_of: datetime  # wall clock of the build
    rows: int
    build_ms: float
    facets: dict[str, list[str]] = field(default_factory=dict)
    # (judge_a, judge_b, tier_a, tier_b) -> responses both graded with a tier (judge_a < judge_b)
    agreement: dict[tuple[str, str, str, str], int] = field(default_factory=dict)

    @property
    def running(self) -> bool:
        return self.stamp[0] == "running"


def run_stamp(con: duckdb.DuckDBPyConnection, run_id: str) -> tuple[Any, ...]:
    """What changes whenever a run's rows do (status, counts, newest write, models, policy)."""
    return tuple(fetch_all(con, _STAMP_SQL, {"run": run_id})[0])


@dataclass
class _Build:
    run_id: str
    stamp: tuple[Any, ...]
    started: float
    done: threading.Event = field(default_factory=threading.Event)
    cursor: duckdb.DuckDBPyConnection | None = None
    error: BaseException | None = None

    def progress(self) -> float | None:
        cur = self.cursor
        if cur is None:
            return None
        try:
            p = float(cur.query_progress())
        except duckdb.Error:
            return None
        return p if p >= 0 else None


class RunIndexes:
    """The in-memory database of per-run indexes, shared by the viewer's request threads."""

    def __init__(self, mem: duckdb.DuckDBPyConnection, reader: Reader, file_stamp: FileStamper) -> None:
        self.mem = mem
        self._reader = reader
        self._file_stamp = file_stamp
        self._lock = threading.Lock()
        self._mem_write = threading.Lock()  # one writer of the shared tables at a time
        self._one_build = threading.Lock()  # builds run one at a time: pages keep some CPU meanwhile
        self._info: dict[str, IndexInfo] = {}
        self._used: dict[str, float] = {}
        self._stamps: dict[str, tuple[Any, tuple[Any, ...]]] = {}  # run -> (file stamp, run stamp)
        self._builds: dict[str, _Build] = {}
        self._created = False
        self._stopped = False
        self._searches: OrderedDict[tuple[Any, ...], int] = OrderedDict()
        self._next_qkey = 1
        self._derived: OrderedDict[tuple[Any, ...], int] = OrderedDict()
        self._derived_lock = threading.Lock()
        self.mem.execute("CREATE TABLE hits (qkey INTEGER, response_id VARCHAR)")

    def cursor(self) -> duckdb.DuckDBPyConnection:
        """A connection for one request thread (DuckDB connections are not shared between threads)."""
        cur = self.mem.cursor()
        cur.execute("USE memory")
        return cur

    def info(self, run_id: str) -> IndexInfo | None:
        return self._info.get(run_id)

    def stop(self) -> None:
        self._stopped = True
        for b in list(self._builds.values()):
            if b.cursor is not None:
                b.cursor.interrupt()

    # ------------------------------------------------------------------ freshness

    def stamp(self, con: duckdb.DuckDBPyConnection, run_id: str) -> tuple[Any, ...]:
        """The run's stamp; read from the database only when its files changed since it was last read."""
        fstamp, trusted = self._file_stamp()
        known = self._stamps.get(run_id)
        if known is not None and known[0] == fstamp:
            return known[1]
        stamp = run_stamp(con, run_id)
        if trusted:
            self._stamps[run_id] = (fstamp, stamp)
        else:
            self._stamps.pop(run_id, None)
        return stamp

    def ensure(self, con: duckdb.DuckDBPyConnection, run_id: str, wait_s: float | None = None) -> IndexInfo:
        """The run's index at its current stamp (con: an open read connection).

        A missing or outdated index is built in the background; this waits for it at most wait_s
        (None: as long as it takes) and then raises Preparing.
        """
        for _ in range(5):  # a run being written may move on while its index is built: catch up a few times
            stamp = self.stamp(con, run_id)
            current = self._info.get(run_id)
            if current is not None and current.stamp == stamp:
                self._used[run_id] = time.monotonic()
                return current
            build = self._start(run_id, stamp)
            if not build.done.wait(wait_s):
                raise Preparing(run_id, "the index", build.progress(), build.started)
            if build.error is not None:
                raise build.error
        raise Preparing(run_id, "the index", None, time.monotonic())

    def _start(self, run_id: str, stamp: tuple[Any, ...]) -> _Build:
        with self._lock:
            build = self._builds.get(run_id)
            if build is not None and build.stamp == stamp and (not build.done.is_set() or build.error is None):
                return build
            build = _Build(run_id, stamp, time.monotonic())
            self._builds[run_id] = build
        threading.Thread(target=self._run_build, args=(build,), name=f"judge-view-index-{run_id}", daemon=True).start()
        return build

    def _run_build(self, build: _Build) -> None:
        try:
            if self._stopped:
                raise RuntimeError("the viewer is stopping")
            with self._one_build, self._reader() as con:
                if self._stopped:  # stopped while waiting for the build before it
                    raise RuntimeError("the viewer is stopping")
                alias = str(fetch_all(con, "SELECT current_database()")[0][0])
                stamp = run_stamp(con, build.run_id)  # the rows copied are those of this stamp
                info = self._build(build, alias, stamp)
            with self._lock:
                old = self._info.get(build.run_id)
                if old is None or old.built_at <= info.built_at:
                    self._info[build.run_id] = info
                self._used[build.run_id] = time.monotonic()
                self._evict()
        except BaseException as e:  # shown by the page that waits for it
            build.error = e
        finally:
            build.done.set()
            with self._lock:
                if self._builds.get(build.run_id) is build and build.error is None:
                    del self._builds[build.run_id]

    def _build(self, build: _Build, alias: str, stamp: tuple[Any, ...]) -> IndexInfo:
        start = time.perf_counter()
        run_id = build.run_id
        cur = self.cursor()
        cur.execute("SET enable_progress_bar = true")
        cur.execute("SET enable_progress_bar_print = false")
        build.cursor = cur
        try:
            cur.execute(
                f"CREATE OR REPLACE TEMP TABLE copied AS SELECT {INDEX_COLUMNS} FROM {alias}.scored WHERE run_id = ?",
                [run_id],
            )
            cur.execute(
                """CREATE OR REPLACE TEMP TABLE stage AS
                   SELECT c.*, d.response_id IS NOT NULL AS disagree FROM copied c
                   LEFT JOIN (SELECT response_id FROM copied WHERE verdict_status = 'ok'
                              GROUP BY response_id HAVING min(tier) <> max(tier)) d USING (response_id)"""
            )
            cur.execute("DROP TABLE copied")
            distinct = _rank(cur)
            facets = {
                c: [str(v) for v in fetch_all(cur, f"SELECT DISTINCT {c} FROM ranked WHERE {c} IS NOT NULL ORDER BY 1")]
                if c not in SORT_COLUMNS
                else [str(v) for v in distinct[c]]
                for c in FACET_COLUMNS
            }
            agreement = {
                (str(ja), str(jb), str(ta), str(tb)): int(n)
                for ja, jb, ta, tb, n in fetch_all(
                    cur,
                    """SELECT a.judge, b.judge, a.tier, b.tier, count(*)
                       FROM ranked a JOIN ranked b ON b.response_id = a.response_id AND a.judge < b.judge
                       WHERE a.verdict_status = 'ok' AND b.verdict_status = 'ok'
                         AND a.response_status = 'ok' AND b.response_status = 'ok'
                       GROUP BY ALL""",
                )
            }
            with self._mem_write:
                if not self._created:
                    cur.execute("CREATE TABLE IF NOT EXISTS scored AS SELECT * FROM ranked LIMIT 0")
                    self._created = True
                cur.execute("BEGIN TRANSACTION")
                cur.execute("DELETE FROM scored WHERE run_id = ?", [run_id])
                cur.execute("INSERT INTO scored SELECT * FROM ranked")
                cur.execute("COMMIT")
            rows = fetch_all(cur, "SELECT count(*) FROM ranked")[0][0]
            cur.execute("DROP TABLE stage")
            cur.execute("DROP TABLE ranked")
        finally:
            build.cursor = None
            cur.close()
        return IndexInfo(
            run_id,
            stamp,
            time.monotonic(),
            datetime.now(),
            int(rows),
            (time.perf_counter() - start) * 1000,
            facets,
            agreement,
        )

    # ------------------------------------------------------------------ searches and derived tables

    def search(self, con: duckdb.DuckDBPyConnection, info: IndexInfo, text: str) -> int:
        """Key (in table `hits`) of the run's responses whose prompt or response contains `text` (any case).

        The scan runs inside DuckDB over the run database (con: the request's read); the matching
        ids go straight into the in-memory table, and are kept for the run's current stamp
        (MAX_SEARCHES searches).
        """
        key = (info.run_id, info.stamp, text)
        with self._lock:
            if key in self._searches:
                self._searches.move_to_end(key)
                return self._searches[key]
            qkey = self._next_qkey
            self._next_qkey += 1
        alias = str(fetch_all(con, "SELECT current_database()")[0][0])
        cur = self.cursor()
        try:
            # the run's answers, then the prompts (shared by the runs) matched to the run's answers in the index:
            # two scans without a join in the run database
            cur.execute(
                f"""INSERT INTO hits
                    SELECT $qkey, response_id FROM {alias}.responses
                    WHERE run_id = $run AND (contains(lower(coalesce(text, '')), $needle) OR response_id = $exact)""",
                {"qkey": qkey, "run": info.run_id, "needle": text.lower(), "exact": text},
            )
            cur.execute(
                f"""INSERT INTO hits
                    SELECT DISTINCT $qkey, s.response_id FROM scored s
                    WHERE s.run_id = $run AND s.prompt_hash IN (
                        SELECT prompt_hash FROM {alias}.prompts
                        WHERE contains(lower(text), $needle)
                              OR contains(lower(coalesce(messages::VARCHAR, '')), $needle) OR prompt_id = $exact)""",
                {"qkey": qkey, "run": info.run_id, "needle": text.lower(), "exact": text},
            )
            with self._lock:
                self._searches[key] = qkey
                old = None
                if len(self._searches) > MAX_SEARCHES:
                    _, old = self._searches.popitem(last=False)
            if old is not None:
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
            cur = self.cursor()
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
            with self._mem_write:
                self.mem.cursor().execute("DELETE FROM scored WHERE run_id = ?", [oldest])
            self._info.pop(oldest, None)
            self._used.pop(oldest, None)

    def building(self) -> Iterator[str]:
        return iter(list(self._builds))


def _rank(cur: duckdb.DuckDBPyConnection) -> dict[str, list[Any]]:
    """Table `ranked`: `stage` plus seq (the default order), pkey (target, prompt, judge) and ord_* ranks.

    Returns each sort column's distinct values in order."""
    distinct = fetch_all(
        cur,
        "SELECT "
        + ", ".join(f"list(DISTINCT {c} ORDER BY {c}) FILTER ({c} IS NOT NULL)" for c in SORT_COLUMNS)
        + " FROM stage",
    )[0]
    values = {c: list(v or []) for c, v in zip(SORT_COLUMNS, distinct, strict=True)}
    ranks = ", ".join(f"list_position(${c}, {c}) AS ord_{c}" for c in SORT_COLUMNS)
    cur.execute(
        f"""CREATE OR REPLACE TEMP TABLE ranked AS
            SELECT *, row_number() OVER (ORDER BY prompt_id, ord_target, ord_judge, response_id) AS seq
            FROM (SELECT *, hash(target, prompt_hash, judge) AS pkey, {ranks} FROM stage)""",
        values,
    )
    return values
