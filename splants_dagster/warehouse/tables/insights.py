"""Content insights: which pre-publication features went with higher relative engagement or conversion,
per brand and platform, with effect size, confidence interval, sample sizes and whether each is supported
(docs/insights.md). Rebuilt whole by the ``content_insights`` asset."""

DDL = [
    """
    CREATE TABLE IF NOT EXISTS content_insights (
        insight_id VARCHAR, brand VARCHAR, platform VARCHAR, metric VARCHAR, feature VARCHAR, level VARCHAR,
        direction VARCHAR, effect DOUBLE, ci_low DOUBLE, ci_high DOUBLE, multiplier DOUBLE,
        multiplier_low DOUBLE, multiplier_high DOUBLE, n_with INTEGER, n_without INTEGER, p_value DOUBLE,
        p_adjusted DOUBLE, supported BOOLEAN, demo BOOLEAN, sentence VARCHAR, computed_at TIMESTAMPTZ
    )
    """,
]

VIEWS = {
    "content_insights": """
        SELECT insight_id, brand, platform, metric, feature, level, direction, effect, ci_low, ci_high,
               multiplier, multiplier_low, multiplier_high, n_with, n_without, p_value, p_adjusted,
               supported, demo, sentence, computed_at
        FROM core.content_insights
    """,
}
