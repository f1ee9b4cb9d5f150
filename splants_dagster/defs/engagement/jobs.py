"""Jobs over the engagement assets (sensors and schedules request these)."""

import dagster as dg

engagement_job = dg.define_asset_job(
    "engagement_job",
    selection=dg.AssetSelection.assets(
        "engagement_events", "engagement_metrics", "engagement_anomalies", "engagement_highlights"
    ),
    description="Events → metrics → anomalies and highlights for a day or a range of days (one run).",
)

engagement_import_job = dg.define_asset_job(
    "engagement_import_job",
    selection=dg.AssetSelection.assets("engagement_file_imports"),
    description="Parse and validate dropped engagement files (bad rows quarantined).",
)

ab_test_job = dg.define_asset_job(
    "ab_test_job",
    selection=dg.AssetSelection.assets("ab_test_results"),
    description="Significance test of every A/B variant against its control; records winners.",
)

engagement_boost_job = dg.define_asset_job(
    "engagement_boost_job",
    selection=dg.AssetSelection.assets("engagement_boosts"),
    description="Plan a re-promotion of under-performing pieces (requested by the anomaly sensor).",
)

similar_content_job = dg.define_asset_job(
    "similar_content_job",
    selection=dg.AssetSelection.assets("similar_campaign_briefs"),
    description="Derive a new campaign brief from a winning piece (requested by the high-engagement sensor).",
)
