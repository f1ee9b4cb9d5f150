"""The budget job: record the budget status (the active strategy and why), then the cost breakdown."""

import dagster as dg

# run tags the budget sensor sets: which thresholds it alerted on, through which channels
THRESHOLDS_TAG = "splants/budget_thresholds"
CHANNELS_TAG = "splants/alert_channels"
TRIGGER_TAG = "splants/trigger"

budget_job = dg.define_asset_job(
    "budget_job",
    selection=dg.AssetSelection.assets("budget_status", "cost_breakdown"),
    description="Evaluate the LLM budget (strategy, events) and refresh the cost breakdown.",
)
