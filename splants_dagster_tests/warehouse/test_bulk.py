"""Bulk databases: raw engagement events live in warehouse/events.duckdb, attached in write sessions under
the same single-writer lock, and never copied into the analysts' snapshot."""

import datetime as dt
import shutil
import subprocess
import sys
import time

import duckdb
import pytest

from splants_dagster.warehouse.store import Warehouse, WarehouseBusy

DAY = dt.date(2026, 11, 20)
OLD_EVENTS_DDL = """
    CREATE TABLE core.engagement_events (
        event_date DATE, piece_id VARCHAR, external_id VARCHAR, platform VARCHAR, observed_at TIMESTAMPTZ,
        impressions BIGINT, reach BIGINT, engagements BIGINT, likes BIGINT, comments BIGINT, shares BIGINT,
        clicks BIGINT, opens BIGINT, bounces BIGINT, source VARCHAR, source_file VARCHAR, is_demo BOOLEAN,
        content_type VARCHAR, published_at TIMESTAMPTZ, loaded_at TIMESTAMPTZ
    )
"""


def _event_sql(n: int, day: dt.date, source: str, table: str = "events.engagement_events") -> str:
    return (
        f"INSERT INTO {table} (event_date, external_id, platform, impressions, engagements, source) "
        f"SELECT DATE '{day}', 'twitter:' || md5(i::VARCHAR), 'twitter', hash(i) % 100000, i % 7, '{source}' "
        f"FROM range({n}) t(i)"
    )


def _tables(path) -> set[tuple[str, str]]:
    conn = duckdb.connect(str(path), read_only=True)
    try:
        return {
            (s, t) for s, t in conn.execute("SELECT schema_name, table_name FROM duckdb_tables()").fetchall()
        }
    finally:
        conn.close()


def test_events_are_written_to_the_bulk_file_and_left_out_of_the_snapshot(store, paths):
    with store.write() as conn:
        conn.execute(_event_sql(1000, DAY, "simulator"))
        conn.execute(
            "INSERT INTO engagement_metrics (date, piece_id, platform, impressions, engagements, engagement_rate)"
            " VALUES (?, 'twitter:1', 'twitter', 100, 3, 0.03)",
            [DAY],
        )
    assert (paths.warehouse_dir / "events.duckdb").exists()
    assert ("main", "engagement_events") in _tables(paths.warehouse_dir / "events.duckdb")
    snapshot = _tables(paths.analytics_db)
    assert not {t for _, t in snapshot} & {"engagement_events", "engagement_file_rows"}
    assert ("core", "engagement_metrics") in snapshot
    # the analysts' contract reads as before
    daily = store.query("SELECT piece_id, impressions FROM analytics.engagement_daily")
    assert daily == [{"piece_id": "twitter:1", "impressions": 100}]
    for view in ("engagement_quarantine", "anomalies", "ab_results"):
        assert store.query(f"SELECT count(*) AS n FROM analytics.{view}")[0]["n"] == 0
    # pipeline code reads the raw rows under the lock
    with store.read_bulk() as conn:
        assert conn.execute("SELECT count(*) FROM events.engagement_events").fetchone()[0] == 1000
        assert conn.execute("SELECT count(*) FROM engagement_metrics").fetchone()[0] == 1


def test_a_failed_session_publishes_nothing_and_bulk_writes_are_their_own_transaction(store, paths):
    with store.write() as conn:
        conn.execute(_event_sql(10, DAY, "simulator"))
    with pytest.raises(duckdb.TransactionException, match="single attached database"), store.write() as conn:
        conn.execute("BEGIN TRANSACTION")
        conn.execute(_event_sql(10, DAY, "file:x"))
        conn.execute("INSERT INTO campaigns (campaign_id, topic) VALUES ('c1', 'Topic one')")
    with store.read_bulk() as conn:
        assert conn.execute("SELECT count(*) FROM events.engagement_events").fetchone()[0] == 10
        assert conn.execute("SELECT count(*) FROM campaigns").fetchone()[0] == 0


def _old_warehouse(store, paths, rows: int) -> None:
    """A warehouse as versions before the bulk database left it: raw events in ``core``."""
    with store.write():
        pass
    (paths.warehouse_dir / "events.duckdb").unlink()
    conn = duckdb.connect(str(paths.warehouse_db))
    try:
        conn.execute(OLD_EVENTS_DDL)
        conn.execute(_event_sql(rows, DAY, "simulator", "core.engagement_events"))
        conn.execute(_event_sql(rows, DAY + dt.timedelta(days=1), "simulator", "core.engagement_events"))
        conn.execute(
            "CREATE TABLE core.engagement_file_rows AS SELECT *, NULL::BOOLEAN AS cumulative, "
            "NULL::INTEGER AS line FROM core.engagement_events LIMIT 5"
        )
        conn.execute("UPDATE core.engagement_file_rows SET source_file = 'daily.csv'")
        conn.execute("UPDATE core.schema_info SET fingerprint = 'before-bulk'")
    finally:
        conn.close()
    shutil.copyfile(paths.warehouse_db, paths.analytics_db)  # its snapshot, events included


def test_an_old_warehouse_is_migrated_once_and_compacted(store, paths):
    _old_warehouse(store, paths, 100_000)
    size_before = paths.warehouse_db.stat().st_size
    # reading goes through a write session first (the schema changed): that migrates
    assert store.query("SELECT count(*) AS n FROM analytics.engagement_daily")[0]["n"] == 0
    assert paths.warehouse_db.stat().st_size < size_before
    assert not {t for _, t in _tables(paths.warehouse_db)} & {"engagement_events", "engagement_file_rows"}
    assert not {t for _, t in _tables(paths.analytics_db)} & {"engagement_events", "engagement_file_rows"}
    count = "SELECT count(*) FROM events.engagement_events"
    with store.read_bulk() as conn:
        assert conn.execute(count).fetchone()[0] == 200_000
        assert conn.execute("SELECT count(*) FROM events.engagement_file_rows").fetchone()[0] == 5
        # older rows lack the newer columns: NULL
        assert (
            conn.execute("SELECT count(*) FROM events.engagement_events WHERE cumulative IS NULL").fetchone()[
                0
            ]
            == 200_000
        )
    with store.write():
        pass
    with store.read_bulk() as conn:
        assert conn.execute(count).fetchone()[0] == 200_000


def test_migration_interrupted_between_copy_and_drop_does_not_double(store, paths):
    _old_warehouse(store, paths, 50)
    # the copy committed (and a later write added another slice), the drop did not happen
    conn = duckdb.connect(str(paths.warehouse_dir / "events.duckdb"))
    try:
        conn.execute(f"ATTACH '{paths.warehouse_db}' AS old (READ_ONLY)")
        conn.execute(
            "CREATE TABLE engagement_events AS SELECT *, NULL::BOOLEAN AS cumulative, NULL::INTEGER AS line"
            " FROM old.core.engagement_events"
        )
        conn.execute(_event_sql(7, DAY + dt.timedelta(days=2), "file:daily.csv", "engagement_events"))
    finally:
        conn.close()
    with store.write():
        pass
    with store.read_bulk() as conn:
        by_day = conn.execute(
            "SELECT event_date, count(*) FROM events.engagement_events GROUP BY 1 ORDER BY 1"
        ).fetchall()
    assert by_day == [(DAY, 50), (DAY + dt.timedelta(days=1), 50), (DAY + dt.timedelta(days=2), 7)]


WRITER = """
import sys, time
from splants_dagster.paths import DataPaths
from splants_dagster.warehouse.store import Warehouse
store = Warehouse(DataPaths.at(sys.argv[1]), lock_timeout_s=float(sys.argv[2]))
t0 = time.monotonic()
with store.write() as conn:
    waited = time.monotonic() - t0
    conn.execute("INSERT INTO events.engagement_events (event_date, source, impressions) "
                 "VALUES (DATE '2026-11-21', 'second-writer', 1)")
print(f"{waited:.2f}", flush=True)
"""


def test_a_second_writer_process_waits_for_the_lock_that_covers_the_events_file(store, paths):
    with store.write() as conn:
        conn.execute(_event_sql(3, DAY, "first-writer"))
        second = subprocess.Popen(
            [sys.executable, "-c", WRITER, str(paths.root), "30"], stdout=subprocess.PIPE, text=True
        )
        time.sleep(1.5)
        assert second.poll() is None  # waiting for the lock, not failing on DuckDB's file lock
        conn.execute(_event_sql(3, DAY, "first-writer-again"))
    out, _ = second.communicate(timeout=60)
    assert second.returncode == 0 and float(out.strip()) >= 1.0
    with store.read_bulk() as conn:
        sources = dict(
            conn.execute("SELECT source, count(*) FROM events.engagement_events GROUP BY 1").fetchall()
        )
    assert sources == {"first-writer": 3, "first-writer-again": 3, "second-writer": 1}


def test_bulk_reads_wait_for_the_writer_too(paths):
    holder, reader = Warehouse(paths), Warehouse(paths, lock_timeout_s=0.2)
    with holder.write():
        pass
    with holder.write(), pytest.raises(WarehouseBusy, match="write lock"), reader.read_bulk():
        pass
