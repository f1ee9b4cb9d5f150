"""The DuckDB warehouse and the analysts' snapshot.

DuckDB allows one writer process per file, and even a read-only connection from another process blocks a
writer. So runs never write the file analysts open:

- Writers use ``warehouse/splants.duckdb`` inside :meth:`Warehouse.write`, which holds an exclusive
  ``flock`` on ``warehouse/.write.lock`` (serialising writers from any process: Dagster steps, the CLI),
  applies the idempotent schema, ingests finished LLM call journals, and on success checkpoints and
  publishes a copy as ``analytics.duckdb`` with an atomic rename.
- Readers (analysts, sensors, notebooks) open ``analytics.duckdb`` read-only. Its public views are in the
  default schema, so they read as ``analytics.<view>``; the tables behind them are in schema ``core``. A reader holding the old file
  keeps a consistent view of the last completed write; the rename never disturbs it, and a reader never
  blocks a writer.
- Bulky raw tables that analysts do not read (raw engagement events) live in **bulk databases**: their
  own DuckDB files beside the warehouse (``warehouse/events.duckdb``), attached under a stable alias
  (``events``) in every write session, so that they are created, written and locked under the same write
  lock and never copied into the snapshot. A domain declares them in its ``tables/`` module (``BULK_DDL``,
  and ``MOVED_TO_BULK`` for tables older versions kept in ``core``, moved once). A transaction can write
  only one database: a step writing both commits the bulk part first (see docs/architecture.md).
  :meth:`Warehouse.read_bulk` reads them (under the write lock: for pipeline code and tests).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import os
import shutil
import socket
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import duckdb

from splants_dagster.llm.cache import ingest_cache_journals
from splants_dagster.llm.journal import idle_journals, read_journal
from splants_dagster.paths import DataPaths
from splants_dagster.warehouse import schema

if TYPE_CHECKING:
    import pandas as pd

Connect = Callable[[str], AbstractContextManager[duckdb.DuckDBPyConnection]]


class WarehouseBusy(TimeoutError):
    pass


@dataclass(frozen=True)
class BulkDatabase:
    """A DuckDB file in the warehouse folder for bulky raw tables, attached as ``alias`` in every write
    session (tables read as ``<alias>.<table>``) and never copied into the analysts' snapshot."""

    alias: str
    file_name: str


BULK_DATABASES: tuple[BulkDatabase, ...] = (BulkDatabase("events", "events.duckdb"),)


@contextmanager
def _plain_connect(database: str) -> Iterator[duckdb.DuckDBPyConnection]:
    conn = duckdb.connect(database)
    try:
        yield conn
    finally:
        conn.close()


class Warehouse:
    def __init__(
        self,
        paths: DataPaths,
        connect: Connect | None = None,
        lock_timeout_s: float = 900.0,
        bulk: Sequence[BulkDatabase] = BULK_DATABASES,
    ):
        self.paths = paths
        self._connect = connect or _plain_connect
        self.lock_timeout_s = lock_timeout_s
        self.bulk = tuple(bulk)

    def bulk_path(self, database: BulkDatabase) -> Path:
        return self.paths.warehouse_dir / database.file_name

    def _attach_bulk(self, conn: duckdb.DuckDBPyConnection, read_only: bool = False) -> None:
        mode = " (READ_ONLY)" if read_only else ""
        for database in self.bulk:
            conn.execute(
                f"ATTACH IF NOT EXISTS {_literal(self.bulk_path(database))} AS {database.alias}{mode}"
            )

    @property
    def lock_file(self):
        return self.paths.warehouse_dir / ".write.lock"

    @contextmanager
    def _exclusive(self) -> Iterator[None]:
        self.paths.warehouse_dir.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.lock_file, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            deadline = time.monotonic() + self.lock_timeout_s
            delay = 0.01
            while True:
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    if time.monotonic() > deadline:
                        raise WarehouseBusy(
                            f"another process has held the warehouse write lock for over {self.lock_timeout_s:.0f}s"
                            f" ({self.lock_file})"
                        ) from None
                    time.sleep(delay)
                    delay = min(0.5, delay * 2)
            yield
        finally:
            with contextlib.suppress(OSError):
                fcntl.flock(fd, fcntl.LOCK_UN)
            os.close(fd)

    @contextmanager
    def write(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """An exclusive read-write session; the analysts' snapshot is republished when it ends cleanly."""
        with self._exclusive():
            started = dt.datetime.now(dt.UTC)
            moved: list[str] = []
            try:
                with self._connect(str(self.paths.warehouse_db)) as conn:
                    # bulk files are attached (and created) only here, under the write lock
                    self._attach_bulk(conn)
                    apply_schema(conn)
                    apply_bulk_schema(conn, self.bulk)
                    moved = migrate_to_bulk(conn)
                    ingest_journals(conn, self.paths)
                    ingest_cache_journals(conn, self.paths.journal_dir)
                    yield conn
                    # every session leaves an audit row: who held the single-writer lock, and when
                    conn.execute(
                        "INSERT INTO write_sessions VALUES (?, ?, ?, ?)",
                        [socket.gethostname(), os.getpid(), started, dt.datetime.now(dt.UTC)],
                    )
                    conn.execute("CHECKPOINT")
            finally:
                if moved:
                    self._compact()
            self._publish()

    def _compact(self) -> None:
        """Rewrite the warehouse file after tables moved out of it: DuckDB reuses freed blocks but never
        shrinks a file, and the snapshot is a copy of the whole file. Runs under the write lock."""
        db = self.paths.warehouse_db
        tmp = db.with_name(f".{db.name}.{os.getpid()}.compact")
        tmp.unlink(missing_ok=True)
        conn = duckdb.connect()
        try:
            conn.execute(f"ATTACH {_literal(db)} AS source (READ_ONLY)")
            conn.execute(f"ATTACH {_literal(tmp)} AS compacted")
            conn.execute("COPY FROM DATABASE source TO compacted")
        finally:
            conn.close()
        os.replace(tmp, db)

    def _publish(self) -> None:
        target = self.paths.analytics_db
        tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
        shutil.copyfile(self.paths.warehouse_db, tmp)
        os.replace(tmp, target)

    @contextmanager
    def read(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """A read-only connection on the last published snapshot.

        The snapshot is (re)built first when there is none, or when it predates the code's schema (after an
        upgrade added tables or views); otherwise reading never takes the write lock.
        """
        if not self._snapshot_current():
            with self.write():
                pass
        conn = duckdb.connect(str(self.paths.analytics_db), read_only=True)
        try:
            conn.execute("USE core")
            yield conn
        finally:
            conn.close()

    @contextmanager
    def read_bulk(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """A read-only connection on the live warehouse with the bulk databases attached (raw rows such as
        ``events.engagement_events``), for pipeline code and tests. DuckDB lets no writer open a file that
        another process holds open, so this takes the write lock: it waits for writers and they wait for
        it. Keep it short; analysts read the snapshot (:meth:`read`)."""
        if not self._snapshot_current() or not all(self.bulk_path(b).exists() for b in self.bulk):
            with self.write():
                pass
        with self._exclusive():
            conn = duckdb.connect(str(self.paths.warehouse_db), read_only=True)
            try:
                self._attach_bulk(conn, read_only=True)
                conn.execute("USE core")
                yield conn
            finally:
                conn.close()

    def _snapshot_current(self) -> bool:
        if not self.paths.analytics_db.exists():
            return False
        try:
            conn = duckdb.connect(str(self.paths.analytics_db), read_only=True)
        except duckdb.Error:
            return False
        try:
            row = conn.execute("SELECT fingerprint FROM core.schema_info").fetchone()
        except duckdb.Error:
            return False
        finally:
            conn.close()
        return row is not None and row[0] == schema.fingerprint()

    def query(self, sql: str, params: Sequence[Any] | None = None) -> list[dict[str, Any]]:
        with self.read() as conn:
            return dict_rows(conn.execute(sql, params or []))


def apply_schema(conn: duckdb.DuckDBPyConnection) -> None:
    """Tables live in schema ``core``; the analyst views in ``main``, so that in ``analytics.duckdb``
    (whose catalog DuckDB names ``analytics``) they read as ``analytics.<view>``."""
    conn.execute("CREATE SCHEMA IF NOT EXISTS core")
    conn.execute("USE core")
    for stmt in schema.ddl():
        conn.execute(stmt)
    for name, sql in schema.views().items():
        conn.execute(f"CREATE OR REPLACE VIEW main.{name} AS {sql}")
    conn.execute("CREATE TABLE IF NOT EXISTS schema_info (fingerprint VARCHAR)")
    conn.execute("DELETE FROM schema_info")
    conn.execute("INSERT INTO schema_info VALUES (?)", [schema.fingerprint()])


def _literal(path: Path) -> str:
    return "'" + str(path).replace("'", "''") + "'"


def bulk_ddl() -> dict[str, list[str]]:
    """Each bulk database's DDL (alias -> statements), from the domains' ``BULK_DDL``."""
    merged: dict[str, list[str]] = {}
    for module in schema.domains():
        for alias, statements in getattr(module, "BULK_DDL", {}).items():
            merged.setdefault(alias, []).extend(statements)
    return merged


def moved_to_bulk() -> dict[str, tuple[str, tuple[str, ...]]]:
    """Tables older versions kept in ``core``: table -> (bulk alias, the columns of a write slice)."""
    merged: dict[str, tuple[str, tuple[str, ...]]] = {}
    for module in schema.domains():
        merged.update(getattr(module, "MOVED_TO_BULK", {}))
    return merged


def apply_bulk_schema(conn: duckdb.DuckDBPyConnection, bulk: Sequence[BulkDatabase]) -> None:
    """Runs each bulk database's idempotent DDL with that database as the default (tables in its ``main``)."""
    statements = bulk_ddl()
    unknown = sorted(set(statements) - {b.alias for b in bulk})
    if unknown:
        raise ValueError(f"BULK_DDL for bulk database(s) not attached: {', '.join(unknown)}")
    home = scalar(conn, "SELECT current_database()")
    try:
        for alias, ddl in statements.items():
            conn.execute(f"USE {alias}")
            for stmt in ddl:
                conn.execute(stmt)
    finally:
        conn.execute(f'USE "{home}".core')


def migrate_to_bulk(conn: duckdb.DuckDBPyConnection) -> list[str]:
    """Moves each table of ``MOVED_TO_BULK`` still in ``core`` (a warehouse written by an older version)
    into its bulk database, then drops it from ``core``; returns the tables moved.

    A transaction can write only one database, so this is two commits: the copy, then the drop. The copy
    first deletes the bulk table's rows of every write slice (e.g. day and source) present in ``core``, so
    when a crash between the two leaves the table in ``core``, the next session copies it again to the
    same result (nothing doubles), and slices written elsewhere are kept."""
    moved = []
    for table, (alias, keys) in moved_to_bulk().items():
        present = scalar(
            conn,
            "SELECT count(*) FROM duckdb_tables() WHERE database_name = current_database() "
            "AND schema_name = 'core' AND table_name = ?",
            [table],
        )
        if not present:
            continue
        target = f"{alias}.main.{table}"
        match = " AND ".join(f"{table}.{k} IS NOT DISTINCT FROM s.{k}" for k in keys)
        with transaction(conn):
            conn.execute(
                f"DELETE FROM {target} USING (SELECT DISTINCT {', '.join(keys)} FROM core.{table}) s WHERE {match}"
            )
            conn.execute(f"INSERT INTO {target} BY NAME SELECT * FROM core.{table}")
        conn.execute(f"DROP TABLE core.{table}")
        moved.append(table)
    return moved


LEDGER_COLUMNS = (
    "call_id",
    "campaign_id",
    "asset",
    "purpose",
    "piece_id",
    "provider",
    "model",
    "prompt_tokens",
    "completion_tokens",
    "cached_tokens",
    "tokens_estimated",
    "cost_usd",
    "cached",
    "latency_ms",
    "status",
    "error",
    "strategy",
    "run_id",
    "called_at",
    "attempt",
    "fallback_from",
    "cache_write_tokens",
)


def ingest_journals(conn: duckdb.DuckDBPyConnection, paths: DataPaths) -> int:
    """Move finished LLM call journals into ``llm_calls`` (idempotent on call_id); returns rows added."""
    added = 0
    for path in idle_journals(paths.journal_dir):
        records = read_journal(path)
        if records:
            before = scalar(conn, "SELECT count(*) FROM llm_calls")
            rows = [tuple(getattr(r, c) for c in LEDGER_COLUMNS) for r in records]
            placeholders = ", ".join("?" for _ in LEDGER_COLUMNS)
            conn.executemany(
                f"INSERT INTO llm_calls ({', '.join(LEDGER_COLUMNS)}) VALUES ({placeholders}) "
                "ON CONFLICT (call_id) DO NOTHING",
                rows,
            )
            added += scalar(conn, "SELECT count(*) FROM llm_calls") - before
        path.unlink(missing_ok=True)
    return added


def scalar(conn: duckdb.DuckDBPyConnection, sql: str, params: object = None) -> Any:
    """The first value of a query that always returns a row (``count(*)``, ``max(...)``)."""
    row = conn.execute(sql, params).fetchone()
    if row is None:
        raise LookupError(f"no row from: {sql[:80]}")
    return row[0]


def dict_rows(cur: duckdb.DuckDBPyConnection) -> list[dict[str, Any]]:
    """The rows of an executed query as dicts keyed by column name."""
    cols = [d[0] for d in cur.description]
    return [dict(zip(cols, r, strict=True)) for r in cur.fetchall()]


@contextmanager
def transaction(conn: duckdb.DuckDBPyConnection) -> Iterator[duckdb.DuckDBPyConnection]:
    """One transaction around the block: committed when it ends, rolled back when it raises."""
    conn.execute("BEGIN TRANSACTION")
    try:
        yield conn
        conn.execute("COMMIT")
    except Exception:
        conn.execute("ROLLBACK")
        raise


def insert_dicts(
    conn: duckdb.DuckDBPyConnection,
    table: str,
    rows: Sequence[dict[str, Any]],
    verb: str = "INSERT",
    tail: str = "",
) -> None:
    """``<verb> INTO table`` the rows (dicts with the first row's keys as columns), then ``tail`` (e.g. an
    ``ON CONFLICT`` clause); nothing when there is no row."""
    if not rows:
        return
    cols = list(rows[0].keys())
    quoted = ", ".join(f'"{c}"' for c in cols)
    conn.executemany(
        f"{verb} INTO {table} ({quoted}) VALUES ({', '.join('?' for _ in cols)}){tail}",
        [tuple(r[c] for c in cols) for r in rows],
    )


def insert_frame(conn: duckdb.DuckDBPyConnection, table: str, frame: pd.DataFrame | None) -> int:
    """Insert a DataFrame's columns into ``table`` (a ``core`` table, or ``<bulk db>.<table>``), cast to the
    table's column types (one SQL scan); returns the rows inserted."""
    if frame is None or not len(frame):
        return 0
    database, _, name = table.rpartition(".")
    types = dict(
        conn.execute(
            "SELECT column_name, data_type FROM duckdb_columns() "
            "WHERE database_name = coalesce(?, current_database()) AND schema_name = ? AND table_name = ?",
            [database or None, "main" if database else "core", name],
        ).fetchall()
    )
    cols = [c for c in frame.columns if c in types]
    view = f"_frame_{name}"
    conn.register(view, frame)
    try:
        select = ", ".join(f'CAST("{c}" AS {types[c]})' for c in cols)
        conn.execute(f"INSERT INTO {table} ({', '.join(cols)}) SELECT {select} FROM {view}")
    finally:
        conn.unregister(view)
    return len(frame)


def replace_rows(
    conn: duckdb.DuckDBPyConnection, table: str, where: str, params: Sequence[Any], rows: list[dict[str, Any]]
) -> int:
    """Idempotent partition write: delete the rows matching ``where``, insert ``rows``, in one transaction."""
    with transaction(conn):
        conn.execute(f"DELETE FROM {table} WHERE {where}", list(params))
        insert_dicts(conn, table, rows)
    return len(rows)


def replace_frame(
    conn: duckdb.DuckDBPyConnection, table: str, where: str, params: Sequence[Any], frame: pd.DataFrame | None
) -> int:
    """:func:`replace_rows` for a DataFrame: delete the rows matching ``where`` and insert ``frame`` (cast to
    the table's types) in one transaction."""
    with transaction(conn):
        conn.execute(f"DELETE FROM {table} WHERE {where}", list(params))
        return insert_frame(conn, table, frame)
