"""Engagement schedules: the hourly pull (yesterday and today, one run) and the A/B evaluation."""

import datetime as dt

import dagster as dg

from splants_dagster.defs.engagement.jobs import ab_test_job, engagement_job
from splants_dagster.defs.engagement.windows import range_tags


@dg.schedule(
    job=engagement_job,
    cron_schedule="20 * * * *",
    execution_timezone="UTC",
    default_status=dg.DefaultScheduleStatus.RUNNING,
    description="Hourly: API snapshots and simulated hours for today, yesterday finalised; metrics and "
    "anomalies follow in the same run.",
)
def engagement_hourly_schedule(context: dg.ScheduleEvaluationContext) -> dg.RunRequest:
    when = context.scheduled_execution_time.astimezone(dt.UTC)
    today = when.date()
    return dg.RunRequest(
        run_key=f"hourly:{when.isoformat()}",
        tags={
            **range_tags(today - dt.timedelta(days=1), today),
            "splants/trigger": "engagement_hourly_schedule",
        },
    )


ab_test_schedule = dg.ScheduleDefinition(
    name="ab_test_schedule",
    job=ab_test_job,
    cron_schedule="40 */6 * * *",
    execution_timezone="UTC",
    default_status=dg.DefaultScheduleStatus.RUNNING,
    description="Every 6 hours: A/B significance tests over the latest metrics.",
)
