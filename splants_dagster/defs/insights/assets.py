"""``content_insights``: what past posts say works, per platform, for the next campaign's prompts
(logic in ``splants_dagster/insights/``; docs/insights.md)."""

from typing import Any

import dagster as dg

from splants_dagster.defs.resources import ProjectResource, WarehouseResource
from splants_dagster.display import md_table

GROUP = "learning"
# Mondays 04:30 UTC: after the week's engagement has settled (and the predictor's retraining at 04:00)
WEEKLY_CRON = "30 4 * * 1"
DEMO_NOTE = (
    "**Demo insights**: learned from simulated engagement (the demo simulator, `is_demo = true`), "
    "labelled `demo = true`. They shape demo campaigns only; a real campaign never sees them."
)


@dg.asset(
    group_name=GROUP,
    kinds={"python", "duckdb"},
    deps=["engagement_metrics"],
    pool="duckdb_write",
    automation_condition=dg.AutomationCondition.on_cron(WEEKLY_CRON, "UTC"),
)
def content_insights(
    context: dg.AssetExecutionContext, project: ProjectResource, warehouse: WarehouseResource
) -> dg.MaterializeResult:
    """Per platform, which pre-publication features (question, call-to-action position, hashtags, emoji,
    length band, time slot, tone, content type) went with higher relative engagement (the rate against
    the platform's trailing median) or conversions per click: effect, 95% CI, sample sizes and whether
    it is supported. Stored in ``core.content_insights`` (view ``analytics.content_insights``); the
    supported ones shape the next campaign's prompts and the offline writer."""
    # imported here: insights pull in pandas, scipy and the predictor, which loading the code location
    # should not pay for
    from splants_dagster.insights import data

    store = warehouse.store()
    brand = project.brand()
    insights, posts = data.build_insights(store, brand.name, brand.timezone)
    with store.write() as conn:
        data.write_insights(conn, insights)
    rows = [i.row() for i in insights]
    supported = [r for r in rows if r["supported"]]
    demo = sum(1 for r in rows if r["demo"])
    context.log.info(f"content_insights: {len(rows)} tested from {posts} posts, {len(supported)} supported")
    for r in supported:
        r["ci"] = f"{r['ci_low']:+.2f}..{r['ci_high']:+.2f}"
    metadata: dict[str, Any] = {
        "posts": dg.MetadataValue.int(posts),
        "tested": dg.MetadataValue.int(len(rows)),
        "supported": dg.MetadataValue.int(len(supported)),
        "unsupported": dg.MetadataValue.int(len(rows) - len(supported)),
        "demo_rows": dg.MetadataValue.int(demo),
        "supported_insights": dg.MetadataValue.md(
            md_table(
                sorted(supported, key=lambda r: (r["platform"], -abs(r["effect"]))),
                [
                    "platform",
                    "metric",
                    "feature",
                    "level",
                    "effect",
                    "ci",
                    "n_with",
                    "n_without",
                    "demo",
                    "sentence",
                ],
            )
        ),
    }
    if demo:
        metadata["simulated"] = dg.MetadataValue.md(DEMO_NOTE)
    return dg.MaterializeResult(metadata=metadata)
