"""What the engagement assets, jobs and sensors share: the daily partitions and a few helpers."""

import datetime as dt
from typing import Any

import dagster as dg

from splants_dagster.engagement.events import FIRST_DATE
from splants_dagster.warehouse.store import Warehouse

# One partition per UTC day. Starts in 2014 because the bundled real Facebook export is from 2014;
# end_offset=1 makes today's (still growing) partition exist, so the hourly pull can write into it.
engagement_partitions = dg.DailyPartitionsDefinition(
    start_date=FIRST_DATE.isoformat(), end_offset=1, timezone="UTC"
)

RANGE_START_TAG = "dagster/asset_partition_range_start"
RANGE_END_TAG = "dagster/asset_partition_range_end"
SPARK = "▁▂▃▄▅▆▇█"


def date_window(context: dg.AssetExecutionContext) -> tuple[dt.date, dt.date]:
    """First and last day (inclusive) of the partition or partition range this run materializes."""
    keys = context.partition_key_range
    return dt.date.fromisoformat(keys.start), dt.date.fromisoformat(keys.end)


def range_tags(start: dt.date, end: dt.date) -> dict[str, str]:
    """Run tags asking for one run over a range of daily partitions (the single-run backfill form)."""
    first = max(start, FIRST_DATE)
    return {RANGE_START_TAG: first.isoformat(), RANGE_END_TAG: max(first, end).isoformat()}


def snapshot_rows(store: Warehouse, sql: str, params: list | None = None) -> list[dict[str, Any]] | None:
    """Rows from the analysts' snapshot, or None when there is none yet (fresh install: nothing to read,
    and a sensor must not wait for the write lock to build one)."""
    if not store.paths.analytics_db.exists():
        return None
    return store.query(sql, params or [])


def tick_result(requests: list[dg.RunRequest], cursor: str, skip: str) -> dg.SensorResult:
    """A sensor tick's runs to request, or ``skip`` (why there is none); the cursor advances either way."""
    if not requests:
        return dg.SensorResult(skip_reason=dg.SkipReason(skip), cursor=cursor)
    return dg.SensorResult(run_requests=requests, cursor=cursor)


def sparkline(values: list[float | None]) -> str:
    present = [v for v in values if v is not None]
    if not present:
        return ""
    low, high = min(present), max(present)
    span = (high - low) or 1.0
    return "".join(" " if v is None else SPARK[min(7, int((v - low) / span * 7.999))] for v in values)


def trend_markdown(trends: list[dict[str, Any]], days: int = 30) -> str:
    """Per platform: daily impressions and engagement rate as sparklines, latest vs baseline."""
    by_platform: dict[str, list[dict[str, Any]]] = {}
    for row in trends:
        by_platform.setdefault(row["platform"], []).append(row)
    if not by_platform:
        return "_(no metrics in range)_"
    lines = [
        f"Last {days} days of the range, one character per day (▁ low … █ high).",
        "",
        "| platform | impressions / day | engagement rate / day | latest rate | baseline rate |",
        "|---|---|---|---|---|",
    ]
    for platform, rows in sorted(by_platform.items()):
        rows = sorted(rows, key=lambda r: r["date"])[-days:]
        latest = rows[-1]
        base = latest.get("baseline_engagement_rate")
        rate = latest.get("engagement_rate")
        lines.append(
            f"| {platform} | `{sparkline([float(r['impressions'] or 0) for r in rows])}` "
            f"| `{sparkline([r['engagement_rate'] for r in rows])}` "
            f"| {'' if rate is None else f'{rate:.2%}'} | {'' if base is None else f'{base:.2%}'} |"
        )
    return "\n".join(lines)
