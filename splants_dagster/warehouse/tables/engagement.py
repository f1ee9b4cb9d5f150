"""Engagement: raw observations (daily partitions), quarantined bad rows, daily metrics per piece,
anomalies and A/B results.

Contract used by scheduling and the predictor: ``engagement_metrics`` has one row per
(piece_id, platform, date) with ``published_at`` (when the piece went out, if known) and
``engagement_rate``; ``external`` rows are posts not published by this system (e.g. history imported
from a Facebook Insights export).
"""

DDL = [
    """
    CREATE TABLE IF NOT EXISTS engagement_events (
        event_date DATE, piece_id VARCHAR, external_id VARCHAR, platform VARCHAR, observed_at TIMESTAMPTZ,
        impressions BIGINT, reach BIGINT, engagements BIGINT, likes BIGINT, comments BIGINT, shares BIGINT,
        clicks BIGINT, opens BIGINT, bounces BIGINT, source VARCHAR, source_file VARCHAR, is_demo BOOLEAN,
        content_type VARCHAR, published_at TIMESTAMPTZ, loaded_at TIMESTAMPTZ
    )
    """,
    """
    CREATE TABLE IF NOT EXISTS engagement_quarantine (
        event_date DATE, source VARCHAR, source_file VARCHAR, line INTEGER, reason VARCHAR, raw VARCHAR,
        quarantined_at TIMESTAMPTZ
    )
    """,
    """
    CREATE TABLE IF NOT EXISTS engagement_metrics (
        date DATE, piece_id VARCHAR, platform VARCHAR, content_type VARCHAR, campaign_id VARCHAR,
        published_at TIMESTAMPTZ, external BOOLEAN, is_demo BOOLEAN, impressions BIGINT, reach BIGINT,
        engagements BIGINT, clicks BIGINT, engagement_rate DOUBLE, click_through DOUBLE, bounce_rate DOUBLE,
        baseline_engagement_rate DOUBLE, baseline_impressions DOUBLE, baseline_bounce_rate DOUBLE
    )
    """,
    """
    CREATE TABLE IF NOT EXISTS anomalies (
        anomaly_id VARCHAR PRIMARY KEY, date DATE, piece_id VARCHAR, platform VARCHAR, rule VARCHAR,
        value DOUBLE, baseline DOUBLE, severity VARCHAR, detected_at TIMESTAMPTZ
    )
    """,
    """
    CREATE TABLE IF NOT EXISTS ab_results (
        variant_of VARCHAR, winner_piece_id VARCHAR, dimension VARCHAR, metric VARCHAR, p_value DOUBLE,
        lift DOUBLE, n_control BIGINT, n_variant BIGINT, significant BOOLEAN, decided_at TIMESTAMPTZ
    )
    """,
]

VIEWS = {
    "engagement_daily": """
        SELECT date, piece_id, platform, content_type, campaign_id, impressions, engagements, clicks,
               engagement_rate, click_through, bounce_rate, baseline_engagement_rate, published_at,
               external, is_demo, reach
        FROM core.engagement_metrics
    """,
    "engagement_quarantine": """
        SELECT event_date, source, source_file, line, reason, raw, quarantined_at FROM core.engagement_quarantine
    """,
    "anomalies": "SELECT anomaly_id, date, piece_id, platform, rule, value, baseline, severity, detected_at FROM core.anomalies",
    "ab_results": """
        SELECT variant_of, winner_piece_id, dimension, metric, p_value, lift, n_control, n_variant, significant,
               decided_at
        FROM core.ab_results
    """,
}
