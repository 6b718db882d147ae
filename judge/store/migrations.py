"""Numbered schema migrations, recorded in the database's `schema_migrations` table.

Each migration is a file `sql/NNN_name.sql` in this package, applied in order, once, in its own
transaction; the versions applied are recorded, so a database knows exactly which it has. Add a
new file with a new number; never edit one that has shipped.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from importlib import resources

import duckdb

_NAME = re.compile(r"^(\d{3})_([a-z0-9_]+)\.sql$")


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    sql: str


@cache
def all_migrations() -> tuple[Migration, ...]:
    found = []
    for entry in resources.files("judge.store").joinpath("sql").iterdir():
        m = _NAME.match(entry.name)
        if m:
            found.append(Migration(int(m.group(1)), m.group(2).replace("_", " "), entry.read_text("utf-8")))
    found.sort(key=lambda mig: mig.version)
    versions = [mig.version for mig in found]
    if len(set(versions)) != len(versions):
        raise RuntimeError(f"two migrations share a number: {versions}")
    return tuple(found)


class SchemaTooNew(Exception):
    """The database was written by a newer judge (a migration this one does not know)."""


class NotAJudgeDatabase(Exception):
    """A DuckDB file with tables of its own but no schema_migrations: not one of judge's databases."""


def schema_version_of(con: duckdb.DuckDBPyConnection) -> int:
    """The database's schema version, read-only; raises SchemaTooNew or NotAJudgeDatabase."""
    tables = {
        r[0]
        for r in con.execute(
            "SELECT table_name FROM duckdb_tables() WHERE database_name = current_database()"
        ).fetchall()
    }
    if "schema_migrations" not in tables:
        if tables:
            raise NotAJudgeDatabase("is a DuckDB file but not a judge database (it has no schema_migrations table)")
        return 0
    have = con.execute("SELECT coalesce(max(version), 0) FROM schema_migrations").fetchall()[0][0]
    if have > latest_version():
        raise SchemaTooNew(_too_new(have))
    return int(have)


def _too_new(have: int) -> str:
    return (
        f"database schema version {have} is newer than this judge knows ({latest_version()}); "
        "upgrade judge to use this database (nothing was changed)"
    )


def applied_versions(con: duckdb.DuckDBPyConnection) -> set[int]:
    con.execute(
        "CREATE TABLE IF NOT EXISTS schema_migrations "
        "(version INTEGER PRIMARY KEY, name VARCHAR NOT NULL, applied_at TIMESTAMP NOT NULL)"
    )
    return {int(r[0]) for r in con.execute("SELECT version FROM schema_migrations").fetchall()}


def migrate(con: duckdb.DuckDBPyConnection) -> list[int]:
    """Apply pending migrations, each in its own transaction. Returns the versions applied."""
    schema_version_of(con)  # refuses a newer schema or a foreign database before creating anything
    applied = applied_versions(con)
    pending = [m for m in all_migrations() if m.version not in applied]
    for m in pending:
        con.execute("BEGIN TRANSACTION")
        try:
            con.execute(m.sql)
            con.execute("INSERT INTO schema_migrations VALUES (?, ?, now()::TIMESTAMP)", [m.version, m.name])
            con.execute("COMMIT")
        except Exception:
            con.execute("ROLLBACK")
            raise
    return [m.version for m in pending]


def latest_version() -> int:
    return all_migrations()[-1].version


# kept for readers of the module: the ordered list
MIGRATIONS = all_migrations()
