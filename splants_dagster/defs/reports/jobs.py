"""One job per report kind (the schedules and `splants demo` request these); each is partitioned like
its asset (weekly or monthly, in the brand's timezone)."""

import dagster as dg

weekly_report_job = dg.define_asset_job(
    "weekly_report_job",
    selection=dg.AssetSelection.assets("weekly_report"),
    description="Render the weekly report of one ISO week (partition: the week's Monday).",
)

monthly_report_job = dg.define_asset_job(
    "monthly_report_job",
    selection=dg.AssetSelection.assets("monthly_report"),
    description="Render the monthly report of one calendar month (partition: the month's first day).",
)
