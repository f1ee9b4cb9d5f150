"""Engagement at scale: 10 million events.

1. Generate ≥ 10 M hourly engagement events with the demo simulator (scaled up: ~1,400 posts a day over
   ~4 months) into a scratch warehouse.
2. Materialize ``engagement_metrics`` over the whole range (the real asset: Dagster step, DuckDB SQL,
   snapshot publish) in a subprocess, measuring wall time and peak RSS (VmHWM), and where the step's
   time goes (instrumented: write-session open, the metrics SQL, the other queries, session close with
   checkpoint and snapshot publish; the rest is Dagster); then time the SQL statement alone.
3. The same daily aggregation with plain pandas in a subprocess: read the raw events from where they
   live (the bulk database ``warehouse/events.duckdb``) into a DataFrame (the round trip the asset
   avoids) and ``groupby``; timed separately.
4. Materialize the monitoring for the last week, then time ticks of every engagement sensor against that
   history (the snapshot holds the metrics of all 10 M events; the raw events are not in it).

``python -m bench engagement`` prints the figures (ratios measured in this one run). Scratch data lives
in a temporary directory (``SPLANTS_BENCH_DIR`` keeps it, and reuses it when it holds the events).
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from collections.abc import Iterable
from pathlib import Path
from typing import cast

TARGET_EVENTS = 10_000_000
DAYS = 120
SCALE = 212.0  # ~10.0 M events over DAYS

COUNTERS = "impressions, reach, engagements, likes, comments, shares, clicks, opens, bounces"

METRICS_STEP = textwrap.dedent(
    """
    import datetime as dt, json, resource, sys, time
    import dagster as dg
    from splants_dagster.defs.engagement.assets import engagement_metrics
    from splants_dagster.defs.engagement.windows import range_tags
    from splants_dagster.defs.engagement.resources import EngagementResource
    from splants_dagster.defs.resources import WarehouseResource
    from splants_dagster.engagement import sql
    from splants_dagster.paths import DataPaths
    from splants_dagster.warehouse.store import Warehouse

    def hwm_mb():
        # VmHWM: this process's peak RSS (ru_maxrss would include the parent's at fork time)
        for line in open("/proc/self/status"):
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

    data_dir, start, end = sys.argv[1], dt.date.fromisoformat(sys.argv[2]), dt.date.fromisoformat(sys.argv[3])

    # instrumentation (bench only): time the write session's parts and the metrics SQL inside the step
    from contextlib import contextmanager
    parts = {"session_open_s": 0.0, "metrics_sql_s": 0.0, "session_body_s": 0.0, "session_close_s": 0.0,
             "publish_s": 0.0}
    original_write, original_publish, original_build = Warehouse.write, Warehouse._publish, sql.build_metrics

    @contextmanager
    def timed_write(self):
        t = time.perf_counter()
        with original_write(self) as conn:
            opened = time.perf_counter()
            parts["session_open_s"] += opened - t
            yield conn
            t = time.perf_counter()
            parts["session_body_s"] += t - opened
        parts["session_close_s"] += time.perf_counter() - t

    def timed_publish(self):
        t = time.perf_counter()
        original_publish(self)
        parts["publish_s"] += time.perf_counter() - t

    def timed_build(*args, **kwargs):
        t = time.perf_counter()
        rows = original_build(*args, **kwargs)
        parts["metrics_sql_s"] += time.perf_counter() - t
        return rows

    Warehouse.write, Warehouse._publish, sql.build_metrics = timed_write, timed_publish, timed_build
    resources = {"engagement": EngagementResource(), "warehouse": WarehouseResource(data_dir=data_dir)}
    # a deployment has its instance before any step runs: created (and its storage imported) off the clock
    instance = dg.DagsterInstance.ephemeral()
    before = hwm_mb()
    t0 = time.perf_counter()
    result = dg.materialize([engagement_metrics], resources=resources, instance=instance, tags=range_tags(start, end))
    step = time.perf_counter() - t0
    assert result.success
    peak = hwm_mb()
    Warehouse.write, Warehouse._publish, sql.build_metrics = original_write, original_publish, original_build
    partitions = len(result.asset_materializations_for_node("engagement_metrics"))
    # the hourly schedule's run: yesterday and today, incremental over the stored history
    t0 = time.perf_counter()
    hourly_result = dg.materialize(
        [engagement_metrics], resources=resources, instance=instance,
        tags=range_tags(end - dt.timedelta(days=1), end),
    )
    hourly = time.perf_counter() - t0
    assert hourly_result.success
    store = Warehouse(DataPaths.at(data_dir))
    with store.write() as conn:
        sql.session(conn, "1GB")
        t1 = time.perf_counter()
        rows = sql.build_metrics(conn, start, end)
        sql_only = time.perf_counter() - t1
        # like for like with the pandas groupby: the same plain aggregation, result materialized
        t2 = time.perf_counter()
        conn.execute(
            "CREATE TEMP TABLE plain AS SELECT event_date, coalesce(piece_id, external_id) AS piece_key, platform, "
            "sum(impressions) AS impressions, sum(reach) AS reach, sum(engagements) AS engagements, "
            "sum(likes) AS likes, sum(comments) AS comments, sum(shares) AS shares, sum(clicks) AS clicks, "
            "sum(opens) AS opens, sum(bounces) AS bounces FROM events.engagement_events "
            "WHERE NOT coalesce(cumulative, false) GROUP BY 1, 2, 3"
        )
        groupby_only = time.perf_counter() - t2
    print(json.dumps({"step_s": step, "sql_only_s": sql_only, "duckdb_groupby_s": groupby_only, "rows": rows,
                      "rss_before_mb": before, "peak_rss_mb": peak, "parts": parts, "partitions": partitions,
                      "hourly_step_s": hourly}))
    """
)

PANDAS_GROUPBY = textwrap.dedent(
    f"""
    import json, resource, sys, time
    import duckdb
    import pandas as pd

    t0 = time.perf_counter()
    conn = duckdb.connect(sys.argv[1], read_only=True)
    df = conn.execute(
        "SELECT event_date, coalesce(piece_id, external_id) AS piece_key, platform, {COUNTERS} "
        "FROM engagement_events WHERE NOT coalesce(cumulative, false)"
    ).df()
    conn.close()
    t1 = time.perf_counter()
    daily = df.groupby(["event_date", "piece_key", "platform"], sort=False)[
        [{", ".join(repr(c.strip()) for c in COUNTERS.split(","))}]
    ].sum(min_count=1)
    impressions = daily["impressions"].where(daily["impressions"] > 0)
    daily["engagement_rate"] = daily["engagements"] / impressions
    daily["click_through"] = daily["clicks"] / impressions
    daily["bounce_rate"] = daily["bounces"] / impressions
    t2 = time.perf_counter()
    hwm = next(int(line.split()[1]) for line in open("/proc/self/status") if line.startswith("VmHWM:"))
    print(json.dumps({{"load_s": t1 - t0, "groupby_s": t2 - t1, "rows": len(daily), "events": len(df),
                      "peak_rss_mb": hwm / 1024}}))
    """
)


def _subprocess(code: str, *args: str) -> dict:
    out = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, check=False)
    if out.returncode != 0:
        raise RuntimeError(f"bench subprocess failed:\n{out.stderr[-4000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def generate(data_dir: Path, start: dt.date, end: dt.date, until: dt.datetime) -> tuple[int, int, float]:
    """Simulated events for start..end into the scratch warehouse; returns (events, posts, seconds)."""
    from splants_dagster.engagement import sql
    from splants_dagster.engagement.events import POST_COLUMNS, rows_frame
    from splants_dagster.engagement.simulator import Simulator, post_row
    from splants_dagster.paths import DataPaths
    from splants_dagster.warehouse.store import Warehouse, insert_frame

    simulator = Simulator(seed=2026, scale=SCALE)
    store = Warehouse(DataPaths.at(data_dir))
    events = posts = 0
    t0 = time.perf_counter()
    with store.write() as conn:
        sql.session(conn, "1GB")
        for day, day_posts, frame in simulator.iter_history(start, end, until, until):
            if frame is not None:
                events += insert_frame(conn, "events.engagement_events", frame)
            if start <= day:
                posts += len(day_posts)
                insert_frame(
                    conn,
                    "engagement_posts",
                    rows_frame([post_row(p, until) for p in day_posts], POST_COLUMNS),
                )
    return events, posts, time.perf_counter() - t0


def _existing(data_dir: Path) -> tuple[dt.date, dt.date, int, int] | None:
    """(first day, last day, events, posts) of a kept scratch warehouse holding the target, else None.
    A warehouse of the older layout (events in ``core``) is migrated by its first write session."""
    from splants_dagster.paths import DataPaths
    from splants_dagster.warehouse.store import Warehouse, scalar

    if not (data_dir / "warehouse" / "splants.duckdb").exists():
        return None
    store = Warehouse(DataPaths.at(data_dir))
    with store.write():
        pass
    with store.read_bulk() as conn:
        first, last, events = conn.execute(
            "SELECT min(event_date), max(event_date), count(*) FROM events.engagement_events"
        ).fetchall()[0]
        posts = scalar(conn, "SELECT count(*) FROM engagement_posts")
    return (first, last, events, posts) if events >= TARGET_EVENTS else None


def sensor_ticks(data_dir: Path, repeats: int = 7) -> dict[str, dict[str, float]]:
    import dagster as dg

    from splants_dagster.defs.alerts.resources import AlertsResource
    from splants_dagster.defs.engagement.resources import EngagementResource
    from splants_dagster.defs.engagement.sensors import (
        engagement_anomaly_sensor,
        engagement_high_sensor,
        engagement_history_sensor,
        engagement_inbox_sensor,
    )
    from splants_dagster.defs.resources import ProjectResource, WarehouseResource

    resources = {
        "project": ProjectResource(data_dir=str(data_dir)),
        "warehouse": WarehouseResource(data_dir=str(data_dir)),
        "engagement": EngagementResource(),
        "alerts": AlertsResource(),
    }
    figures = {}
    with dg.instance_for_test() as instance:
        for sensor in (
            engagement_inbox_sensor,
            engagement_anomaly_sensor,
            engagement_high_sensor,
            engagement_history_sensor,
        ):
            needed = {k: v for k, v in resources.items() if k in sensor.required_resource_keys}
            times = []
            for _ in range(repeats):
                # a fresh cursor each time: the worst case, every anomaly/highlight is new
                context = dg.build_sensor_context(instance=instance, resources=needed)
                t0 = time.perf_counter()
                sensor(context)
                times.append(time.perf_counter() - t0)
            figures[sensor.name] = {
                "median_s": round(statistics.median(times), 4),
                "max_s": round(max(times), 4),
            }
    return figures


def run() -> dict:
    import dagster as dg

    from splants_dagster.defs.engagement.assets import engagement_monitoring
    from splants_dagster.defs.engagement.resources import EngagementResource
    from splants_dagster.defs.resources import WarehouseResource

    keep = os.environ.get("SPLANTS_BENCH_DIR")
    root = Path(keep) if keep else Path(tempfile.mkdtemp(prefix="splants-bench-engagement-"))
    data_dir = root / "data"
    reuse = _existing(data_dir) if keep else None
    if reuse is None and data_dir.exists():
        shutil.rmtree(data_dir)
    data_dir.mkdir(parents=True, exist_ok=True)
    now = dt.datetime.now(dt.UTC)
    end = now.date()
    start = end - dt.timedelta(days=DAYS - 1)
    try:
        if reuse:
            (start, end, events, posts), gen_s = reuse, 0.0
            print(f"reusing {events:,} events for {start}..{end} in {data_dir}", flush=True)
        else:
            print(f"generating ~{TARGET_EVENTS:,} simulated events for {start}..{end} ...", flush=True)
            events, posts, gen_s = generate(data_dir, start, end, now)
        warehouse_mb = (data_dir / "warehouse" / "splants.duckdb").stat().st_size / 2**20
        events_mb = (data_dir / "warehouse" / "events.duckdb").stat().st_size / 2**20
        print(
            f"  {events:,} events from {posts:,} posts in {gen_s:.0f}s (warehouse {warehouse_mb:.0f} MB,"
            f" raw events {events_mb:.0f} MB)",
            flush=True,
        )

        print("materializing engagement_metrics over the whole range (subprocess) ...", flush=True)
        sql_run = _subprocess(METRICS_STEP, str(data_dir), start.isoformat(), end.isoformat())
        print(f"  {sql_run}", flush=True)

        print("plain pandas: read the events and groupby (subprocess) ...", flush=True)
        pandas_run = _subprocess(PANDAS_GROUPBY, str(data_dir / "warehouse" / "events.duckdb"))
        print(f"  {pandas_run}", flush=True)

        print("monitoring for the last 7 days, then sensor ticks ...", flush=True)
        window = dg.PartitionKeyRange((end - dt.timedelta(days=6)).isoformat(), end.isoformat())
        logging.disable(logging.CRITICAL)  # the alerts of a 600-posts-a-day simulation are long
        try:
            t0 = time.perf_counter()
            list(  # a direct call of a generator asset: its events
                cast(
                    Iterable[object],
                    engagement_monitoring(
                        dg.build_asset_context(partition_key_range=window),
                        engagement=EngagementResource(),
                        warehouse=WarehouseResource(data_dir=str(data_dir)),
                    ),
                )
            )
            monitoring_s = time.perf_counter() - t0
            ticks = sensor_ticks(data_dir)
        finally:
            logging.disable(logging.NOTSET)
        print(f"  {ticks}", flush=True)
        snapshot_mb = (data_dir / "analytics.duckdb").stat().st_size / 2**20
    finally:
        if not keep:
            shutil.rmtree(root, ignore_errors=True)

    pandas_total = pandas_run["load_s"] + pandas_run["groupby_s"]
    step = sql_run["step_s"]
    worst_tick = max(t["max_s"] for t in ticks.values())
    parts = {k: round(v, 3) for k, v in sql_run["parts"].items()}
    in_sessions = parts["session_open_s"] + parts["session_body_s"] + parts["session_close_s"]
    return {
        "route": (f"reused the kept history in {data_dir}" if reuse else "generated a fresh history")
        + f": {start}..{end}; the run's clock is on {now.date()}"
        + ("" if end == now.date() else f" ({(now.date() - end).days} day(s) after the history ends)"),
        "events": events,
        "posts": posts,
        "days": DAYS,
        "metric_rows": sql_run["rows"],
        "generate_s": round(gen_s, 1),
        "warehouse_mb": round(warehouse_mb),
        "events_db_mb": round(events_mb),
        "snapshot_mb": round(snapshot_mb),
        "metrics_step_s": round(sql_run["step_s"], 2),
        "metrics_sql_only_s": round(sql_run["sql_only_s"], 2),
        # where the step's time goes: the write session (open: lock, attach, schema; body: the metrics SQL
        # and the metadata queries; close: audit row, checkpoint, snapshot publish) and Dagster (the rest:
        # run and step start, one materialization and check evaluation recorded per partition)
        "metrics_step_parts": {
            **parts,
            "dagster_and_other_s": round(step - in_sessions, 3),
            "partitions": sql_run["partitions"],
        },
        "metrics_step_peak_rss_mb": round(sql_run["peak_rss_mb"]),
        # the hourly run (yesterday and today, 2 partitions) against that history
        "metrics_hourly_step_s": round(sql_run["hourly_step_s"], 2),
        "metrics_step_rss_before_step_mb": round(sql_run["rss_before_mb"]),
        "pandas_load_s": round(pandas_run["load_s"], 2),
        "pandas_groupby_s": round(pandas_run["groupby_s"], 2),
        "pandas_peak_rss_mb": round(pandas_run["peak_rss_mb"]),
        "duckdb_plain_groupby_s": round(sql_run["duckdb_groupby_s"], 2),
        # headline: materializing the asset vs pandas reading the same events and grouping them
        "speedup_step_vs_pandas_load_and_groupby": round(pandas_total / step, 1),
        # pandas with the events already in memory (its groupby only) vs the whole asset step
        "speedup_step_vs_pandas_groupby_in_memory": round(pandas_run["groupby_s"] / step, 2),
        # like for like: the same plain aggregation in DuckDB vs pandas (both from/into memory tables)
        "speedup_duckdb_groupby_vs_pandas_groupby": round(
            pandas_run["groupby_s"] / sql_run["duckdb_groupby_s"], 1
        ),
        "monitoring_7_days_s": round(monitoring_s, 2),
        "sensor_ticks": ticks,
        "worst_sensor_tick_s": worst_tick,
        "targets": {
            "speedup_step_vs_pandas_load_and_groupby >= 10": pandas_total / step >= 10,
            "metrics_step_peak_rss_mb <= 1536": sql_run["peak_rss_mb"] <= 1536,
            "worst_sensor_tick_s <= 1": worst_tick <= 1.0,
        },
        "machine": {"cpus": os.cpu_count(), "python": sys.version.split()[0]},
    }
