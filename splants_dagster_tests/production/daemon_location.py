"""Code location for the daemon-restart test: the real project plus a schedule that ticks every minute."""

import dagster as dg

from splants_dagster import definitions as project
from splants_dagster.defs.campaigns.jobs import campaign_catalog_job

every_minute = dg.ScheduleDefinition(
    name="every_minute_catalog",
    cron_schedule="* * * * *",
    job=campaign_catalog_job,
    default_status=dg.DefaultScheduleStatus.RUNNING,
)

# import the module, not its @dg.definitions function: a loader would pick that object instead of `defs`
defs = dg.Definitions.merge(project.defs(), dg.Definitions(schedules=[every_minute]))
