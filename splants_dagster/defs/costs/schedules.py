"""A daily budget evaluation (the budget sensor also requests one on every threshold or strategy change),
so analytics.budget_status has a row per day and the cost breakdown stays current."""

import dagster as dg

from splants_dagster.defs.costs.jobs import budget_job

budget_daily_schedule = dg.ScheduleDefinition(
    name="budget_daily_schedule",
    job=budget_job,
    cron_schedule="5 0 * * *",
    execution_timezone="UTC",
    default_status=dg.DefaultScheduleStatus.RUNNING,
    description="Records the day's budget status and refreshes the cost breakdown, shortly after midnight UTC.",
)
