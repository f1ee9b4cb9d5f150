"""The conversions job (the inbox sensor, the daily schedule and ``splants conversions import`` request it)."""

import dagster as dg

conversions_job = dg.define_asset_job(
    "conversions_job",
    selection=dg.AssetSelection.assets("conversion_file_imports", "campaign_goals"),
    description="Import dropped conversion files (bad rows quarantined), then refresh campaign goals and progress.",
)
