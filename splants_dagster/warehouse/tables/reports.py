"""Weekly and monthly reports: one row per rendered report (the HTML and its JSON sidecar live under
``$SPLANTS_DATA_DIR/reports/<brand-slug>/``). The headline figures are copied here so the desk and
analysts can list reports without opening the files; see docs/reports.md."""

DDL = [
    """
    CREATE TABLE IF NOT EXISTS reports (
        report_id VARCHAR PRIMARY KEY, brand VARCHAR, brand_slug VARCHAR, kind VARCHAR, period VARCHAR,
        period_start DATE, period_end DATE, timezone VARCHAR, demo BOOLEAN, path VARCHAR,
        sidecar_path VARCHAR, sections VARCHAR[], publications INTEGER, posts INTEGER, impressions BIGINT,
        engagements BIGINT, engagement_rate DOUBLE, baseline_engagement_rate DOUBLE, anomalies INTEGER,
        ab_decided INTEGER, spend_usd DOUBLE, budget_usd DOUBLE, alert_channels VARCHAR,
        generated_at TIMESTAMPTZ, run_id VARCHAR
    )
    """,
]

VIEWS = {
    "reports": """
        SELECT report_id, brand, brand_slug, kind, period, period_start, period_end, timezone, demo, path,
               sidecar_path, sections, publications, posts, impressions, engagements, engagement_rate,
               baseline_engagement_rate, anomalies, ab_decided, spend_usd, budget_usd, alert_channels,
               generated_at, run_id
        FROM core.reports
    """,
}
