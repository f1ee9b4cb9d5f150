"""The insights job (``splants demo`` runs it after the demo's engagement; the weekly cron refreshes it)."""

import dagster as dg

insights_job = dg.define_asset_job(
    "insights_job",
    selection=dg.AssetSelection.assets("content_insights"),
    description="Re-learn which content features went with higher engagement or conversion.",
)
