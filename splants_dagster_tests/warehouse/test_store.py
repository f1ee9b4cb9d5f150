"""The warehouse and the analysts' snapshot: single writer, atomic publish, readers never in the way."""

import subprocess
import sys
import threading
import time

import duckdb
import pytest

from splants_dagster.warehouse.store import Warehouse, WarehouseBusy, replace_rows


def test_views_read_as_analytics_dot_view_for_any_client(store, paths):
    with store.write() as conn:
        conn.execute(
            "INSERT INTO campaigns (campaign_id, topic, status) VALUES ('c1', 'Topic here', 'registered')"
        )
    conn = duckdb.connect(str(paths.analytics_db), read_only=True)
    try:
        assert conn.execute("SELECT campaign_id, status FROM analytics.campaigns").fetchall() == [
            ("c1", "registered")
        ]
        views = {
            r[0] for r in conn.execute("SELECT view_name FROM duckdb_views() WHERE NOT internal").fetchall()
        }
        assert {"campaigns", "research_keywords", "content", "llm_calls"} <= views
    finally:
        conn.close()


def test_replace_rows_is_idempotent_and_atomic(store):
    rows = [
        {"campaign_id": "c1", "keyword": k, "score": 1.0, "source": "brief", "rank": i}
        for i, k in enumerate("ab")
    ]
    with store.write() as conn:
        replace_rows(conn, "research_keywords", "campaign_id = ?", ["c1"], rows)
        replace_rows(conn, "research_keywords", "campaign_id = ?", ["c1"], rows)
        replace_rows(
            conn,
            "research_keywords",
            "campaign_id = ?",
            ["c2"],
            rows[:1] and [{**rows[0], "campaign_id": "c2"}],
        )
        with pytest.raises(duckdb.Error):
            replace_rows(
                conn, "research_keywords", "campaign_id = ?", ["c1"], [{"campaign_id": "c1", "nope": 1}]
            )
    counts = store.query("SELECT campaign_id, count(*) n FROM research_keywords GROUP BY 1 ORDER BY 1")
    assert counts == [{"campaign_id": "c1", "n": 2}, {"campaign_id": "c2", "n": 1}]


def test_failed_session_does_not_publish(store, paths):
    with store.write() as conn:
        conn.execute("INSERT INTO campaigns (campaign_id, topic) VALUES ('c1', 'Topic one')")
    with pytest.raises(RuntimeError), store.write() as conn:
        conn.execute("INSERT INTO campaigns (campaign_id, topic) VALUES ('c2', 'Topic two')")
        raise RuntimeError("boom")
    assert [r["campaign_id"] for r in store.query("SELECT campaign_id FROM analytics.campaigns")] == ["c1"]


def test_second_writer_waits_for_the_first(paths):
    first, second = Warehouse(paths), Warehouse(paths, lock_timeout_s=10)
    order = []
    with first.write():
        t = threading.Thread(target=lambda: (second.write().__enter__(), order.append("second")))
        t.start()
        time.sleep(0.3)
        order.append("first-done")
    t.join(5)
    assert order == ["first-done", "second"]


def test_writer_gives_up_with_clear_error(paths):
    holder, waiter = Warehouse(paths), Warehouse(paths, lock_timeout_s=0.2)
    with holder.write(), pytest.raises(WarehouseBusy, match="write lock"), waiter.write():
        pass


def test_analyst_in_another_process_never_blocks_writes(store, paths):
    with store.write() as conn:
        conn.execute("INSERT INTO campaigns (campaign_id, topic) VALUES ('c1', 'Topic one')")
    reader = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import duckdb, sys, time\n"
            f"c = duckdb.connect({str(paths.analytics_db)!r}, read_only=True)\n"
            "print(c.execute('select count(*) from analytics.campaigns').fetchone()[0], flush=True)\n"
            "sys.stdin.readline()\n"
            "print(c.execute('select count(*) from analytics.campaigns').fetchone()[0], flush=True)\n",
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert reader.stdout.readline().strip() == "1"
        for i in range(2, 5):
            with store.write() as conn:
                conn.execute(
                    "INSERT INTO campaigns (campaign_id, topic) VALUES (?, 'Another topic')", [f"c{i}"]
                )
        reader.stdin.write("\n")
        reader.stdin.flush()
        # the open connection keeps a consistent view of the state it opened
        assert reader.stdout.readline().strip() == "1"
    finally:
        reader.wait(10)
    assert store.query("SELECT count(*) n FROM analytics.campaigns")[0]["n"] == 4


def test_snapshot_rebuilt_when_schema_changes(store, paths):
    with store.write():
        pass
    conn = duckdb.connect(str(paths.analytics_db))
    conn.execute("UPDATE core.schema_info SET fingerprint = 'old'")
    conn.execute("DROP VIEW main.content")
    conn.close()
    assert store.query("SELECT count(*) n FROM analytics.content")[0]["n"] == 0
