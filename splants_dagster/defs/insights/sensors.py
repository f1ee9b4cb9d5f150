"""Runs ``content_insights``'s automation condition (weekly on_cron), running by default; without it
Dagster would put the asset under a default automation sensor that starts stopped."""

import dagster as dg

insights_automation_sensor = dg.AutomationConditionSensorDefinition(
    "insights_automation_sensor",
    target=dg.AssetSelection.assets("content_insights"),
    default_status=dg.DefaultSensorStatus.RUNNING,
    minimum_interval_seconds=60,
    description="Weekly content insights (on_cron, Mondays 04:30 UTC).",
)
