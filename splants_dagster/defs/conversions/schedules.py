"""Goal progress moves with the calendar even without new files: refresh goals once a day."""

import dagster as dg

from splants_dagster.defs.conversions.jobs import conversions_job

conversions_daily_schedule = dg.ScheduleDefinition(
    job=conversions_job,
    cron_schedule="15 6 * * *",
    execution_timezone="UTC",
    default_status=dg.DefaultScheduleStatus.RUNNING,
    description="Daily: import any conversion files not imported yet and refresh campaign goals.",
)
