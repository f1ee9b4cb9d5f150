"""`splants demo`'s weekly report: the last complete week, built from simulated engagement when the
install has none of its own (the simulator's ``auto`` mode decides, so real data is never mixed with
demo data), and labelled DEMO when it is."""

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import dagster as dg

from splants_dagster.defs.engagement.windows import range_tags
from splants_dagster.defs.reports.partitions import BRAND_TIMEZONE
from splants_dagster.paths import DataPaths
from splants_dagster.reports.periods import last_complete
from splants_dagster.warehouse.queries import reports as report_queries
from splants_dagster.warehouse.store import Warehouse

BASELINE_DAYS = 28  # engagement baselines look back this far, so the week's metrics need it first

# run(job, label, **execute_in_process kwargs) -> the run's result (the CLI passes its progress runner)
Runner = Callable[..., Any]


@dataclass(frozen=True)
class DemoReport:
    ok: bool
    message: str
    path: Path | None = None


def _has_engagement(store: Warehouse, start: dt.date, end: dt.date) -> bool:
    return report_queries.has_engagement(store, start, end)


def demo_weekly_report(
    resolve_job: Callable[[str], dg.JobDefinition],
    run: Runner,
    data_dir: Path | None = None,
    today: dt.date | None = None,
) -> DemoReport:
    """Engagement for the week (and its baseline days) when there is none yet, then the weekly report.
    ``resolve_job(name)`` gives a job with its resources (``splants_dagster.definitions.resolve_job_def``)."""
    paths = DataPaths.at(data_dir)
    today = today or dt.datetime.now(ZoneInfo(BRAND_TIMEZONE)).date()
    week = last_complete("weekly", today)
    store = Warehouse(paths)
    if not _has_engagement(store, week.start, week.end):
        result = run(
            resolve_job("engagement_job"),
            f"engagement {week.start - dt.timedelta(days=BASELINE_DAYS)}..{today}",
            tags={
                **range_tags(week.start - dt.timedelta(days=BASELINE_DAYS), today),
                "splants/trigger": "splants demo",
            },
            raise_on_error=False,
        )
        if not result.success:
            return DemoReport(False, f"weekly report: the engagement run {result.run_id} failed")
    result = run(
        resolve_job("weekly_report_job"),
        f"weekly report {week.label}",
        partition_key=week.start.isoformat(),
        tags={"splants/trigger": "splants demo"},
        raise_on_error=False,
    )
    if not result.success:
        return DemoReport(False, f"weekly report {week.label}: run {result.run_id} failed")
    (materialization,) = result.asset_materializations_for_node("weekly_report")
    path = Path(str(materialization.metadata["path"].value))
    demo = " (DEMO: simulated engagement)" if materialization.metadata["demo"].value else ""
    return DemoReport(True, f"Weekly report {week.label}{demo}: {path}", path)
