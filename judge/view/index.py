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

import contextlib
import itertools
import os
import shutil
import tempfile
import threading
import time
import weakref
from collections import OrderedDict
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path
from typing import Any

import duckdb

from judge.view.sql import fetch_all

MAX_RUNS = 4  # indexes kept; the least recently used one is dropped beyond this
MAX_SEARCHES = 64
# A run's answer and prompt texts are kept in memory in lower case for text search, up to this size (bytes of
# UTF-8); a bigger run is searched by a scan of the run database.
TEXT_COPY_MAX_BYTES = 1 << 30
# The default order (prompt, target, judge, response) is one integer per row, `okey`: multiples of ORDER_GAP at a
# full build; the rows a delta rewrites (whole prompts) take values between the neighbouring prompts' rows.
ORDER_GAP = 1 << 20
BACKGROUND_NICE = 10  # how much lower the OS priority of background work is

INDEX_COLUMNS = (
    "run_id, response_id, prompt_hash, prompt_id, taxonomy_path, l1, l2, intent, technique, target, judge, "
    "response_status, response_error_kind, verdict_id, verdict_status, verdict_error_kind, tier, confidence, "
    "outcome, is_error, is_unsure, is_violation, is_over_deflection, is_acceptable"
)

# Sorting strings of a whole run for a deep page is slow: each sortable text column gets an integer rank
# at build time (its position among the run's few distinct values; NULL stays NULL so NULLs sort last
# both ways); `okey` is the default order and the tie-break; `seq` is a row's unique key.
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
_RUBRICS_SQL = "SELECT judge, rubric_version FROM judge_rubrics WHERE run_id = ? ORDER BY judge, rubric_version"

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


class NeedsFull(Exception):
    """The rows a run added cannot be applied to its index in place: build it again in full."""


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
    kind: str = "full"  # how this state was reached: "full" (every row copied) or "delta" (rows added since)
    changed: int = 0  # rows copied by this build (all of them for a full build)
    sort_values: dict[str, list[Any]] = field(default_factory=dict)  # each sort column's values, in rank order
    rubrics: tuple[tuple[Any, ...], ...] = ()  # (judge, rubric version) the rows are scored under
    responses: int = 0  # distinct responses in the index
    verdicts: int = 0  # verdict ids in the index
    outside: tuple[int, int] = (0, 0)  # the run's responses and verdicts the index does not hold (stamp - index)
    next_seq: int = 1
    text_bytes: int | None = None  # lower-case texts kept for search; None: searches scan the run database
    read_ms: float = 0.0  # of build_ms: reading the run database (in the background instance)

    @property
    def running(self) -> bool:
        return self.stamp[0] == "running"


def lower_priority() -> None:
    """Give the calling thread a lower OS priority (nice +10), so requests keep a core while it works.

    For background threads only (index builds, reports, labelling samples): Linux cannot raise a
    thread's priority back without privileges. Elsewhere it does nothing."""
    with contextlib.suppress(AttributeError, OSError):
        tid = threading.get_native_id()
        os.setpriority(os.PRIO_PROCESS, tid, min(19, os.getpriority(os.PRIO_PROCESS, tid) + BACKGROUND_NICE))


def run_stamp(con: duckdb.DuckDBPyConnection, run_id: str) -> tuple[Any, ...]:
    """What changes whenever a run's rows do (status, counts, newest write, models, policy)."""
    return tuple(fetch_all(con, _STAMP_SQL, {"run": run_id})[0])


@dataclass
class _Build:
    run_id: str
    fstamp: Any  # the database files' stamp when it was asked for
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
    """The in-memory database of per-run indexes, shared by the viewer's request threads.

    reader: a read of the run database for background work (the viewer's one-thread instance)."""

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
        self._scratch: Path | None = None  # a directory of this viewer's own, made at the first build
        self._scratch_no = itertools.count(1)
        self.mem.execute("CREATE TABLE hits (qkey INTEGER, response_id VARCHAR)")
        self.mem.execute("CREATE TABLE texts (run_id VARCHAR, response_id VARCHAR, lt VARCHAR)")
        self.mem.execute(
            "CREATE TABLE ptexts (run_id VARCHAR, prompt_hash VARCHAR, prompt_id VARCHAR, lt VARCHAR, lm VARCHAR)"
        )

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

    def close(self) -> None:
        """Remove the scratch directory (after stop())."""
        if self._scratch is not None:
            shutil.rmtree(self._scratch, ignore_errors=True)

    def _scratch_file(self) -> Path:
        with self._lock:
            if self._scratch is None:
                self._scratch = Path(tempfile.mkdtemp(prefix="judge-view-", dir=_scratch_parent()))
                # removed by close(), or when the indexes are dropped or the process exits
                weakref.finalize(self, shutil.rmtree, self._scratch, True)
        return self._scratch / f"build{next(self._scratch_no)}.duckdb"

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

    def known_stamp(self, run_id: str) -> tuple[Any, ...] | None:
        """The run's stamp if it is known for the database files as they are now (no read)."""
        fstamp, _ = self._file_stamp()
        known = self._stamps.get(run_id)
        return known[1] if known is not None and known[0] == fstamp else None

    def ensure(self, con: duckdb.DuckDBPyConnection, run_id: str, wait_s: float | None = None) -> IndexInfo:
        """The run's index at its current stamp (con: an open read connection).

        A missing or outdated index is built (or brought up to date) in the background; this waits for
        it at most wait_s (None: as long as it takes) and then raises Preparing. A run with no index yet
        needs no read at all to answer "preparing": its stamp is read by the build.
        """
        for _ in range(5):  # a run being written may move on while its index is built: catch up a few times
            current = self._info.get(run_id)
            if current is not None and current.stamp == self.stamp(con, run_id):
                self._used[run_id] = time.monotonic()
                return current
            build = self._start(run_id)
            if not build.done.wait(wait_s):
                raise Preparing(run_id, "the index", build.progress(), build.started)
            if build.error is not None:
                raise build.error
        raise Preparing(run_id, "the index", None, time.monotonic())

    def _start(self, run_id: str) -> _Build:
        """The run's build in progress, or a new one (a failed build is shown until the files change)."""
        fstamp, _ = self._file_stamp()
        with self._lock:
            build = self._builds.get(run_id)
            if build is not None and (not build.done.is_set() or (build.error is not None and build.fstamp == fstamp)):
                return build
            build = _Build(run_id, fstamp, time.monotonic())
            self._builds[run_id] = build
        threading.Thread(target=self._run_build, args=(build,), name=f"judge-view-index-{run_id}", daemon=True).start()
        return build

    def _run_build(self, build: _Build) -> None:
        lower_priority()
        try:
            if self._stopped:
                raise RuntimeError("the viewer is stopping")
            with self._one_build:  # (evicting inside: a run is never dropped while a delta is applied to it)
                if self._stopped:  # stopped while waiting for the build before it
                    raise RuntimeError("the viewer is stopping")
                info = self._refresh(build)
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

    def _refresh(self, build: _Build) -> IndexInfo:
        """Bring the run's index to the run's current stamp: the rows added since its last stamp when it has
        one (a delta), else (or when the delta cannot be applied) every row of the run.

        The run database is read in the background instance (one thread, lower priority) into a scratch
        file; the in-memory index is then updated from that file in one transaction."""
        run_id = build.run_id
        old = self._info.get(run_id)
        for delta_allowed in (True, False):
            start = time.perf_counter()
            scratch = self._scratch_file()
            try:
                with self._reader() as con:
                    build.cursor = con
                    try:
                        stamp = run_stamp(con, run_id)  # the rows copied are those of this stamp
                        rubrics = tuple(tuple(r) for r in fetch_all(con, _RUBRICS_SQL, [run_id]))
                        if old is not None and old.stamp == stamp and old.rubrics == rubrics:
                            return old
                        usable = delta_allowed and old is not None and _delta_possible(old, stamp, rubrics)
                        delta = old if usable else None
                        _copy_rows(con, scratch, run_id, delta)
                    finally:
                        build.cursor = None
                read_ms = (time.perf_counter() - start) * 1000
                if delta is not None:
                    info = self._apply_delta(delta, scratch, stamp, start)
                else:
                    info = self._apply_full(run_id, scratch, stamp, rubrics, start)
                return replace(info, read_ms=read_ms)
            except NeedsFull:
                continue
            finally:
                for path in (scratch, Path(str(scratch) + ".wal")):
                    path.unlink(missing_ok=True)
        raise AssertionError("a full build cannot need a full build")

    # ------------------------------------------------------------------ building in the index

    def _attach(self, cur: duckdb.DuckDBPyConnection, scratch: Path) -> str:
        alias = f"scratch{next(self._scratch_no)}"
        cur.execute(f"ATTACH '{_literal(scratch)}' AS {alias} (READ_ONLY)")
        return alias

    def _apply_full(
        self, run_id: str, scratch: Path, stamp: tuple[Any, ...], rubrics: tuple[tuple[Any, ...], ...], start: float
    ) -> IndexInfo:
        cur = self.cursor()
        scr = self._attach(cur, scratch)
        try:
            cur.execute(f"CREATE OR REPLACE TEMP TABLE stage AS {_with_disagree(scr + '.copied')}")
            values = {c: v for c, v in zip(SORT_COLUMNS, _distinct(cur, "stage"), strict=True)}
            cur.execute(_ranked_sql("stage"), values)
            cur.execute(
                f"""CREATE OR REPLACE TEMP TABLE ranked AS
                    SELECT *, row_number() OVER (ORDER BY {_DEFAULT_ORDER}) AS seq, seq * {ORDER_GAP} AS okey
                    FROM ranked0"""
            )
            facets = _facets(cur, values)
            agreement = _agreement(cur, "ranked")
            responses, verdicts, rows, next_seq = _counts(cur, "ranked")
            text_bytes = _text_bytes(cur, scr)
            keep_texts = text_bytes is not None and text_bytes <= TEXT_COPY_MAX_BYTES
            with self._mem_write:
                if not self._created:
                    cur.execute("CREATE TABLE IF NOT EXISTS scored AS SELECT * FROM ranked LIMIT 0")
                    self._created = True
                cur.execute("BEGIN TRANSACTION")
                for table in ("scored", "texts", "ptexts"):
                    cur.execute(f"DELETE FROM {table} WHERE run_id = ?", [run_id])
                cur.execute("INSERT INTO scored BY NAME SELECT * FROM ranked")
                if keep_texts:
                    cur.execute(f"INSERT INTO texts SELECT $run, response_id, lt FROM {scr}.texts", {"run": run_id})
                    cur.execute(
                        f"INSERT INTO ptexts SELECT $run, prompt_hash, prompt_id, lt, lm FROM {scr}.ptexts",
                        {"run": run_id},
                    )
                cur.execute("COMMIT")
            for table in ("stage", "ranked0", "ranked"):
                cur.execute(f"DROP TABLE {table}")
        finally:
            _detach(cur, scr)
        return IndexInfo(
            run_id,
            stamp,
            time.monotonic(),
            datetime.now(),
            rows,
            (time.perf_counter() - start) * 1000,
            facets,
            agreement,
            kind="full",
            changed=rows,
            sort_values=values,
            rubrics=rubrics,
            responses=responses,
            verdicts=verdicts,
            outside=(int(stamp[1]) - responses, int(stamp[3]) - verdicts),
            next_seq=next_seq,
            text_bytes=text_bytes if keep_texts else None,
        )

    def _apply_delta(self, old: IndexInfo, scratch: Path, stamp: tuple[Any, ...], start: float) -> IndexInfo:
        """Replace the rows of the responses written since old.stamp; NeedsFull when that cannot be exact."""
        run_id = old.run_id
        cur = self.cursor()
        scr = self._attach(cur, scratch)
        try:
            cur.execute(f"CREATE OR REPLACE TEMP TABLE d_stage AS {_with_disagree(scr + '.copied')}")
            new_values = _distinct(cur, "d_stage")
            for c, values in zip(SORT_COLUMNS, new_values, strict=True):
                if set(values) - set(old.sort_values.get(c, [])):
                    raise NeedsFull(f"a new value of {c}")  # the ranks of every row would change
            params = {"run": run_id}
            affected = f"(SELECT response_id FROM {scr}.affected)"
            cur.execute(_ranked_sql("d_stage"), old.sort_values)
            self._place(cur, run_id, old.next_seq)
            removed = fetch_all(
                cur,
                f"""SELECT count(DISTINCT response_id), count(verdict_id), count(*) FROM scored
                    WHERE run_id = $run AND response_id IN {affected}""",
                params,
            )[0]
            responses_in, verdicts_in, rows_in, _ = _counts(cur, "ranked")
            responses = old.responses - int(removed[0]) + responses_in
            verdicts = old.verdicts - int(removed[1]) + verdicts_in
            if (responses, verdicts) != (int(stamp[1]) - old.outside[0], int(stamp[3]) - old.outside[1]):
                # a row written with an older time than the index's newest, or a row deleted
                raise NeedsFull("the counts after the delta differ from the run's")
            agreement = dict(old.agreement)
            cur.execute(
                "CREATE OR REPLACE TEMP TABLE d_old AS "
                f"SELECT * FROM scored WHERE run_id = $run AND response_id IN {affected}",
                params,
            )
            for key, n in _agreement(cur, "d_old").items():
                agreement[key] = agreement.get(key, 0) - n
            for key, n in _agreement(cur, "ranked").items():
                agreement[key] = agreement.get(key, 0) + n
            agreement = {k: n for k, n in agreement.items() if n}
            facets = dict(old.facets)
            l2 = fetch_all(cur, "SELECT DISTINCT l2 FROM ranked WHERE l2 IS NOT NULL")
            facets["l2"] = sorted({*facets.get("l2", []), *(str(v) for (v,) in l2)})
            with self._mem_write:
                cur.execute("BEGIN TRANSACTION")
                cur.execute(f"DELETE FROM scored WHERE run_id = $run AND response_id IN {affected}", params)
                cur.execute("INSERT INTO scored BY NAME SELECT * FROM ranked")
                if old.text_bytes is not None:
                    cur.execute(f"DELETE FROM texts WHERE run_id = $run AND response_id IN {affected}", params)
                    cur.execute(f"INSERT INTO texts SELECT $run, response_id, lt FROM {scr}.texts", params)
                    cur.execute(
                        f"""INSERT INTO ptexts SELECT $run, prompt_hash, prompt_id, lt, lm FROM {scr}.ptexts
                            WHERE prompt_hash NOT IN (SELECT prompt_hash FROM ptexts WHERE run_id = $run)""",
                        params,
                    )
                cur.execute("COMMIT")
            rows = int(fetch_all(cur, "SELECT count(*) FROM scored WHERE run_id = ?", [run_id])[0][0])
            text_bytes = old.text_bytes
            if text_bytes is not None:
                text_bytes += _text_bytes(cur, scr) or 0  # an upper bound: replaced texts are counted again
            for table in ("d_stage", "d_old", "ranked0", "ranked"):
                cur.execute(f"DROP TABLE IF EXISTS {table}")
        finally:
            _detach(cur, scr)
        return replace(
            old,
            stamp=stamp,
            built_at=time.monotonic(),
            as_of=datetime.now(),
            rows=rows,
            build_ms=(time.perf_counter() - start) * 1000,
            facets=facets,
            agreement=agreement,
            kind="delta",
            changed=rows_in,
            responses=responses,
            verdicts=verdicts,
            next_seq=old.next_seq + rows_in,
            text_bytes=text_bytes,
        )

    def _place(self, cur: duckdb.DuckDBPyConnection, run_id: str, next_seq: int) -> None:
        """Table `ranked`: the delta's rows (`ranked0`, whole prompts) with their order keys, spread evenly
        between the rows of the neighbouring prompts the delta does not rewrite; NeedsFull when there is
        no room left (a full build spaces them again)."""
        cur.execute(
            f"""CREATE OR REPLACE TEMP TABLE ranked AS
                WITH known AS (SELECT prompt_id || chr(1) || prompt_hash AS pk, min(okey) AS first, max(okey) AS last
                               FROM scored WHERE run_id = $run AND prompt_hash NOT IN (SELECT prompt_hash FROM ranked0)
                               GROUP BY ALL),
                     rows AS (SELECT *, prompt_id || chr(1) || prompt_hash AS pk FROM ranked0),
                     prev AS (SELECT r.*, k.last AS lo FROM rows r ASOF LEFT JOIN known k ON r.pk >= k.pk),
                     around AS (SELECT p.*, k.first AS hi FROM prev p ASOF LEFT JOIN known k ON p.pk <= k.pk),
                     placed AS (SELECT *, row_number() OVER (PARTITION BY lo, hi ORDER BY {_DEFAULT_ORDER}) AS rn,
                                       count(*) OVER (PARTITION BY lo, hi) AS n FROM around),
                     bounds AS (SELECT *, coalesce(lo, coalesce(hi, 0) - $gap * (n + 1)) AS lo2,
                                          coalesce(hi, coalesce(lo, 0) + $gap * (n + 1)) AS hi2 FROM placed)
                SELECT * EXCLUDE (pk, lo, hi, rn, n, lo2, hi2),
                       $next_seq - 1 + row_number() OVER () AS seq,
                       (lo2 + (hi2 - lo2) * rn // (n + 1))::BIGINT AS okey,
                       okey > lo2 AND okey < hi2 AS fits
                FROM bounds""",
            {"run": run_id, "gap": ORDER_GAP, "next_seq": next_seq},
        )
        bad = fetch_all(cur, "SELECT count(*) FILTER (WHERE NOT fits), count(*) - count(DISTINCT okey) FROM ranked")[0]
        if bad[0] or bad[1]:
            raise NeedsFull("no room left between two prompts")
        cur.execute("ALTER TABLE ranked DROP COLUMN fits")

    # ------------------------------------------------------------------ searches and derived tables

    def search(self, con: duckdb.DuckDBPyConnection, info: IndexInfo, text: str) -> int:
        """Key (in table `hits`) of the run's responses whose prompt or response contains `text` (any case),
        or whose response id or prompt id is `text`.

        Searched in the lower-case copy of the run's texts kept with its index (a scan of the run
        database when the run's texts were too big to keep: scan_search); the matching ids are kept
        for the run's current stamp (MAX_SEARCHES searches).
        """
        key = (info.run_id, info.stamp, text)
        with self._lock:
            if key in self._searches:
                self._searches.move_to_end(key)
                return self._searches[key]
            qkey = self._next_qkey
            self._next_qkey += 1
        cur = self.cursor()
        try:
            if info.text_bytes is None:
                scan_search(cur, str(fetch_all(con, "SELECT current_database()")[0][0]), info.run_id, text, qkey)
            else:
                memory_search(cur, info.run_id, text, qkey)
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
                cur = self.mem.cursor()
                try:
                    for table in ("scored", "texts", "ptexts"):
                        cur.execute(f"DELETE FROM {table} WHERE run_id = ?", [oldest])
                finally:
                    cur.close()
            self._info.pop(oldest, None)
            self._used.pop(oldest, None)

    def building(self) -> Iterator[str]:
        return iter(list(self._builds))


# ---------------------------------------------------------------- text search


def memory_search(cur: duckdb.DuckDBPyConnection, run_id: str, text: str, qkey: int) -> None:
    """Add to `hits` the run's responses matching `text`, from the index's lower-case texts."""
    params = {"qkey": qkey, "run": run_id, "needle": text.lower(), "exact": text}
    cur.execute(
        """INSERT INTO hits SELECT $qkey, response_id FROM texts
           WHERE run_id = $run AND (contains(lt, $needle) OR response_id = $exact)""",
        params,
    )
    cur.execute(
        """INSERT INTO hits
           SELECT DISTINCT $qkey, s.response_id FROM scored s
           WHERE s.run_id = $run AND s.prompt_hash IN (
               SELECT prompt_hash FROM ptexts
               WHERE run_id = $run AND (contains(lt, $needle) OR contains(lm, $needle) OR prompt_id = $exact))""",
        params,
    )


def scan_search(cur: duckdb.DuckDBPyConnection, alias: str, run_id: str, text: str, qkey: int) -> None:
    """Add to `hits` the run's responses matching `text`, by a scan of the run database (attached as alias):
    the run's answers, then the prompts (shared by runs) matched to the run's answers in the index."""
    params = {"qkey": qkey, "run": run_id, "needle": text.lower(), "exact": text}
    cur.execute(
        f"""INSERT INTO hits
            SELECT $qkey, response_id FROM {alias}.responses
            WHERE run_id = $run AND (contains(lower(coalesce(text, '')), $needle) OR response_id = $exact)""",
        params,
    )
    cur.execute(
        f"""INSERT INTO hits
            SELECT DISTINCT $qkey, s.response_id FROM scored s
            WHERE s.run_id = $run AND s.prompt_hash IN (
                SELECT prompt_hash FROM {alias}.prompts
                WHERE contains(lower(text), $needle)
                      OR contains(lower(coalesce(messages::VARCHAR, '')), $needle) OR prompt_id = $exact)""",
        params,
    )


# ---------------------------------------------------------------- building blocks


SCRATCH_SHM_MIN_FREE = 2 << 30  # /dev/shm is used for scratch files only with this much free (containers: 64 MiB)


def _scratch_parent() -> str | None:
    """Scratch files go to /dev/shm (memory) when it is writable and roomy, else the system's temporary
    directory."""
    shm = Path("/dev/shm")
    try:
        st = os.statvfs(shm)
    except OSError:
        return None
    roomy = st.f_bavail * st.f_frsize >= SCRATCH_SHM_MIN_FREE
    return str(shm) if roomy and os.access(shm, os.W_OK) else None


def _literal(path: Path) -> str:
    return str(path).replace("'", "''")


def _detach(cur: duckdb.DuckDBPyConnection, alias: str) -> None:
    try:
        cur.execute(f"DETACH DATABASE IF EXISTS {alias}")
    finally:
        cur.close()


def _delta_possible(old: IndexInfo, stamp: tuple[Any, ...], rubrics: tuple[tuple[Any, ...], ...]) -> bool:
    """Whether the rows written since old.stamp can be applied to the index: same models, policy and
    rubric versions (else every row's outcome may change), no fewer rows, and a newest write to start from."""
    return (
        old.rubrics == rubrics
        and old.stamp[5:] == stamp[5:]
        and int(stamp[1]) >= int(old.stamp[1])
        and int(stamp[3]) >= int(old.stamp[3])
        and old.stamp[2] is not None
    )


def _copy_rows(con: duckdb.DuckDBPyConnection, scratch: Path, run_id: str, old: IndexInfo | None) -> None:
    """Copy into the scratch file the run's rows of `scored` (all of them, or, with old, those of the responses
    written since old.stamp: table `affected`) and their lower-case texts. con: a background read."""
    scr = f"scr_{scratch.stem}"
    con.execute(f"ATTACH '{_literal(scratch)}' AS {scr}")
    params: dict[str, Any] = {"run": run_id}
    try:
        if old is None:
            only = ""
        else:
            # every response to a prompt that has a row written at or after the index's newest write (a re-graded
            # verdict gets a new time): whole prompts, so their rows' order is laid out again
            con.execute(
                f"""CREATE TABLE {scr}.affected AS
                    SELECT response_id FROM responses WHERE run_id = $run AND prompt_hash IN (
                        SELECT prompt_hash FROM responses WHERE run_id = $run AND created_at >= $rmax
                        UNION
                        SELECT r.prompt_hash FROM responses r JOIN verdicts v USING (response_id)
                        WHERE v.run_id = $run AND ($vmax IS NULL OR v.created_at >= $vmax))""",
                {**params, "rmax": old.stamp[2], "vmax": old.stamp[4]},
            )
            only = f" AND response_id IN (SELECT response_id FROM {scr}.affected)"
        if old is None:
            con.execute(f"CREATE TABLE {scr}.copied AS SELECT {INDEX_COLUMNS} FROM scored WHERE run_id = $run", params)
        else:
            _scored_of_affected(con, scr, run_id)
        if old is None or old.text_bytes is not None:
            con.execute(
                f"""CREATE TABLE {scr}.texts AS SELECT response_id, lower(coalesce(text, '')) AS lt
                    FROM responses WHERE run_id = $run{only}""",
                params,
            )
            con.execute(
                f"""CREATE TABLE {scr}.ptexts AS
                    SELECT prompt_hash, prompt_id, lower(coalesce(text, '')) AS lt,
                           lower(coalesce(messages::VARCHAR, '')) AS lm
                    FROM prompts WHERE prompt_hash IN (SELECT prompt_hash FROM {scr}.copied)"""
            )
    finally:
        con.execute(f"DETACH {scr}")


# The store's views a delta evaluates over the affected rows only (in this order: each reads the one before).
_DELTA_VIEWS = ("policy_outcomes", "graded", "scored")


def _scored_of_affected(con: duckdb.DuckDBPyConnection, scr: str, run_id: str) -> None:
    """Table {scr}.copied: the run's `scored` rows of the responses in {scr}.affected.

    The store's own view definitions (read from the run database's catalog: the one place outcomes are
    computed) are created in the scratch database over copies of just the rows they read: the affected
    responses, their verdicts and prompts, the policy, and the run's `judge_rubrics` as they are (a delta
    is applied only while they are unchanged). The view over the whole database joins every verdict
    (a second at 1M verdicts); this reads a few thousand rows."""
    src = str(fetch_all(con, "SELECT current_database()")[0][0])
    params = {"run": run_id}
    con.execute(
        f"""CREATE TABLE {scr}.responses AS SELECT * FROM responses
            WHERE run_id = $run AND response_id IN (SELECT response_id FROM {scr}.affected)""",
        params,
    )
    con.execute(
        f"""CREATE TABLE {scr}.verdicts AS SELECT * FROM verdicts
            WHERE run_id = $run AND response_id IN (SELECT response_id FROM {scr}.responses)""",
        params,
    )
    con.execute(
        f"""CREATE TABLE {scr}.prompts AS SELECT * FROM prompts
            WHERE prompt_hash IN (SELECT prompt_hash FROM {scr}.responses)"""
    )
    con.execute(f"CREATE TABLE {scr}.policy_rules AS SELECT * FROM policy_rules")
    con.execute(f"CREATE TABLE {scr}.judge_rubrics AS SELECT * FROM judge_rubrics WHERE run_id = $run", params)
    con.execute(f"USE {scr}")
    try:
        for view in _DELTA_VIEWS:
            rows = fetch_all(
                con, "SELECT sql FROM duckdb_views() WHERE database_name = ? AND view_name = ?", [src, view]
            )
            if len(rows) != 1 or not str(rows[0][0]).startswith(f"CREATE VIEW {view} AS "):
                raise NeedsFull(f"view {view} not found as expected")
            con.execute(str(rows[0][0]))
        con.execute(f"CREATE TABLE copied AS SELECT {INDEX_COLUMNS} FROM scored WHERE run_id = $run", params)
    finally:
        con.execute(f"USE {src}")


def _with_disagree(table: str) -> str:
    """`table`'s rows with `disagree`: the response's judges gave it different tiers."""
    return f"""SELECT c.*, d.response_id IS NOT NULL AS disagree FROM {table} c
               LEFT JOIN (SELECT response_id FROM {table} WHERE verdict_status = 'ok'
                          GROUP BY response_id HAVING min(tier) <> max(tier)) d USING (response_id)"""


def _distinct(cur: duckdb.DuckDBPyConnection, table: str) -> list[list[Any]]:
    """Each sort column's distinct values in `table`, in order."""
    row = fetch_all(
        cur,
        "SELECT "
        + ", ".join(f"list(DISTINCT {c} ORDER BY {c}) FILTER ({c} IS NOT NULL)" for c in SORT_COLUMNS)
        + f" FROM {table}",
    )[0]
    return [list(v or []) for v in row]


_DEFAULT_ORDER = "prompt_id, prompt_hash, ord_target, ord_judge, response_id"


def _ranked_sql(stage: str) -> str:
    """Table `ranked0`: `stage` with pkey (target, prompt, judge) and the ord_* ranks (parameters: each sort
    column's values in order)."""
    ranks = ", ".join(f"list_position(${c}, {c}) AS ord_{c}" for c in SORT_COLUMNS)
    return f"""CREATE OR REPLACE TEMP TABLE ranked0 AS
        SELECT s.*, hash(s.target, s.prompt_hash, s.judge) AS pkey, {ranks} FROM {stage} s"""


def _facets(cur: duckdb.DuckDBPyConnection, values: dict[str, list[Any]]) -> dict[str, list[str]]:
    return {
        c: [str(v) for (v,) in fetch_all(cur, f"SELECT DISTINCT {c} FROM ranked WHERE {c} IS NOT NULL ORDER BY 1")]
        if c not in SORT_COLUMNS
        else [str(v) for v in values[c]]
        for c in FACET_COLUMNS
    }


def _agreement(cur: duckdb.DuckDBPyConnection, table: str) -> dict[tuple[str, str, str, str], int]:
    """(judge_a, judge_b, tier_a, tier_b) -> responses of `table` both judges graded (judge_a < judge_b)."""
    return {
        (str(ja), str(jb), str(ta), str(tb)): int(n)
        for ja, jb, ta, tb, n in fetch_all(
            cur,
            f"""SELECT a.judge, b.judge, a.tier, b.tier, count(*)
                FROM {table} a JOIN {table} b ON b.response_id = a.response_id AND a.judge < b.judge
                WHERE a.verdict_status = 'ok' AND b.verdict_status = 'ok'
                  AND a.response_status = 'ok' AND b.response_status = 'ok'
                GROUP BY ALL""",
        )
    }


def _counts(cur: duckdb.DuckDBPyConnection, table: str) -> tuple[int, int, int, int]:
    """(distinct responses, verdict ids, rows, the next free seq) of `table`."""
    r = fetch_all(cur, f"SELECT count(DISTINCT response_id), count(verdict_id), count(*), max(seq) FROM {table}")[0]
    return int(r[0]), int(r[1]), int(r[2]), int(r[3] or 0) + 1


def _text_bytes(cur: duckdb.DuckDBPyConnection, scr: str) -> int | None:
    """Bytes of the lower-case texts copied into the scratch file (None when none were copied)."""
    have = fetch_all(
        cur, "SELECT count(*) FROM duckdb_tables() WHERE database_name = ? AND table_name = 'texts'", [scr]
    )[0][0]
    if not have:
        return None
    r = fetch_all(
        cur,
        f"""SELECT (SELECT coalesce(sum(strlen(lt)), 0) FROM {scr}.texts)
                 + (SELECT coalesce(sum(strlen(lt) + strlen(lm)), 0) FROM {scr}.ptexts)""",
    )[0][0]
    return int(r)
