"""Reports go out on Monday at 08:00 (the week just ended) and on the 1st at 08:00 (the month just
ended), in the brand's timezone, DST included (Dagster evaluates the cron in ``execution_timezone``)."""

import datetime as dt
from zoneinfo import ZoneInfo

import dagster as dg

from splants_dagster.defs.reports.jobs import monthly_report_job, weekly_report_job
from splants_dagster.defs.reports.partitions import BRAND_TIMEZONE
from splants_dagster.reports.periods import last_complete


def report_request(kind: str, context: dg.ScheduleEvaluationContext, timezone: str) -> dg.RunRequest:
    """The run for the period that ended before the tick (brand-local date); one run per period."""
    when = context.scheduled_execution_time or dt.datetime.now(dt.UTC)
    period = last_complete(kind, when.astimezone(ZoneInfo(timezone)).date())
    return dg.RunRequest(
        run_key=f"{kind}:{period.label}",
        partition_key=period.start.isoformat(),
        tags={"splants/trigger": f"{kind}_report_schedule", "splants/report_period": period.label},
    )


@dg.schedule(
    job=weekly_report_job,
    cron_schedule="0 8 * * 1",
    execution_timezone=BRAND_TIMEZONE,
    default_status=dg.DefaultScheduleStatus.RUNNING,
    description="Mondays 08:00 brand time: the report of the ISO week that just ended.",
)
def weekly_report_schedule(context: dg.ScheduleEvaluationContext) -> dg.RunRequest:
    return report_request("weekly", context, BRAND_TIMEZONE)


@dg.schedule(
    job=monthly_report_job,
    cron_schedule="0 8 1 * *",
    execution_timezone=BRAND_TIMEZONE,
    default_status=dg.DefaultScheduleStatus.RUNNING,
    description="The 1st of the month, 08:00 brand time: the report of the month that just ended.",
)
def monthly_report_schedule(context: dg.ScheduleEvaluationContext) -> dg.RunRequest:
    return report_request("monthly", context, BRAND_TIMEZONE)
