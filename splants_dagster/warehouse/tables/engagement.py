"""Engagement: raw observations (daily partitions), quarantined bad rows, daily metrics per piece,
anomalies, high-engagement highlights, A/B results, boosts and the campaigns derived from winners.

Contract used by scheduling and the predictor: ``engagement_metrics`` has one row per
(piece_id, platform, date) with ``published_at`` (when the piece went out, if known) and
``engagement_rate``; ``external`` rows are posts not published by this system (e.g. history imported
from a Facebook Insights export, or the demo simulator's history posts); ``is_demo`` rows are simulated.
``engagement_posts`` describes every post that has metrics (text features for the predictor).

Raw observations (``engagement_events``, 10 M rows and more) and the staged rows of dropped files are not
part of the analyst contract: they live in the bulk database ``events`` (``warehouse/events.duckdb``,
attached in write sessions as ``events``; see ``warehouse/store.py``), so they are never copied into the
analysts' snapshot. Everything analysts read (metrics, quarantine, anomalies, A/B results) stays in ``core``.

Columns are only ever added here (``ALTER TABLE ... ADD COLUMN IF NOT EXISTS``), never renamed or dropped.
See docs/engagement.md for the meaning of every column.
"""

# The bulk database holding the raw rows; SQL names them ``events.<table>``.
EVENTS_DB = "events"

BULK_DDL = {
    EVENTS_DB: [
        # cumulative: the counters are running totals at observed_at (API snapshots, lifetime exports);
        # otherwise they are increments for the period ending at observed_at (simulator, per-day files).
        """
        CREATE TABLE IF NOT EXISTS engagement_events (
            event_date DATE, piece_id VARCHAR, external_id VARCHAR, platform VARCHAR, observed_at TIMESTAMPTZ,
            impressions BIGINT, reach BIGINT, engagements BIGINT, likes BIGINT, comments BIGINT,
            shares BIGINT, clicks BIGINT, opens BIGINT, bounces BIGINT, source VARCHAR, source_file VARCHAR,
            is_demo BOOLEAN, content_type VARCHAR, published_at TIMESTAMPTZ, loaded_at TIMESTAMPTZ,
            cumulative BOOLEAN, line INTEGER
        )
        """,
        # parsed, validated rows of each dropped file (replaced per file); engagement_events partitions
        # copy their dates from here in SQL, so a file is parsed once however often partitions are rebuilt
        """
        CREATE TABLE IF NOT EXISTS engagement_file_rows (
            event_date DATE, piece_id VARCHAR, external_id VARCHAR, platform VARCHAR, observed_at TIMESTAMPTZ,
            impressions BIGINT, reach BIGINT, engagements BIGINT, likes BIGINT, comments BIGINT,
            shares BIGINT, clicks BIGINT, opens BIGINT, bounces BIGINT, source VARCHAR, source_file VARCHAR,
            is_demo BOOLEAN, content_type VARCHAR, published_at TIMESTAMPTZ, loaded_at TIMESTAMPTZ,
            cumulative BOOLEAN, line INTEGER
        )
        """,
    ]
}

# Warehouses written before the bulk database kept these in ``core``: moved once, by write slice (the
# rows one write replaces: a day of a source, a file).
MOVED_TO_BULK = {
    "engagement_events": (EVENTS_DB, ("event_date", "source")),
    "engagement_file_rows": (EVENTS_DB, ("source_file",)),
}

DDL = [
    """
    CREATE TABLE IF NOT EXISTS engagement_quarantine (
        event_date DATE, source VARCHAR, source_file VARCHAR, line INTEGER, reason VARCHAR, raw VARCHAR,
        quarantined_at TIMESTAMPTZ
    )
    """,
    "ALTER TABLE engagement_quarantine ADD COLUMN IF NOT EXISTS preset VARCHAR",
    "ALTER TABLE engagement_quarantine ADD COLUMN IF NOT EXISTS reason_code VARCHAR",
    """
    CREATE TABLE IF NOT EXISTS engagement_file_loads (
        source_file VARCHAR PRIMARY KEY, preset VARCHAR, mtime_ns BIGINT, sha256 VARCHAR, rows_total BIGINT,
        rows_loaded BIGINT, rows_quarantined BIGINT, min_date DATE, max_date DATE, loaded_at TIMESTAMPTZ,
        events_built_at TIMESTAMPTZ
    )
    """,
    "ALTER TABLE engagement_file_loads ADD COLUMN IF NOT EXISTS error VARCHAR",
    # one row per post that has engagement: ours (piece_id) or external; features the predictor can use
    """
    CREATE TABLE IF NOT EXISTS engagement_posts (
        piece_id VARCHAR, platform VARCHAR, content_type VARCHAR, published_at TIMESTAMPTZ,
        external BOOLEAN, is_demo BOOLEAN, source VARCHAR, source_file VARCHAR, text VARCHAR,
        word_count INTEGER, hashtag_count INTEGER, has_question BOOLEAN, has_cta BOOLEAN,
        media_type VARCHAR, paid BOOLEAN, injected_anomaly VARCHAR, attributes JSON, updated_at TIMESTAMPTZ
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
    "ALTER TABLE engagement_metrics ADD COLUMN IF NOT EXISTS age_days INTEGER",
    "ALTER TABLE engagement_metrics ADD COLUMN IF NOT EXISTS opens BIGINT",
    "ALTER TABLE engagement_metrics ADD COLUMN IF NOT EXISTS bounces BIGINT",
    "ALTER TABLE engagement_metrics ADD COLUMN IF NOT EXISTS likes BIGINT",
    "ALTER TABLE engagement_metrics ADD COLUMN IF NOT EXISTS comments BIGINT",
    "ALTER TABLE engagement_metrics ADD COLUMN IF NOT EXISTS shares BIGINT",
    "ALTER TABLE engagement_metrics ADD COLUMN IF NOT EXISTS computed_at TIMESTAMPTZ",
    "ALTER TABLE engagement_metrics ADD COLUMN IF NOT EXISTS impressions_to_date BIGINT",
    "ALTER TABLE engagement_metrics ADD COLUMN IF NOT EXISTS engagements_to_date BIGINT",
    "ALTER TABLE engagement_metrics ADD COLUMN IF NOT EXISTS clicks_to_date BIGINT",
    "ALTER TABLE engagement_metrics ADD COLUMN IF NOT EXISTS bounces_to_date BIGINT",
    "ALTER TABLE engagement_metrics ADD COLUMN IF NOT EXISTS engagement_rate_to_date DOUBLE",
    "ALTER TABLE engagement_metrics ADD COLUMN IF NOT EXISTS bounce_rate_to_date DOUBLE",
    """
    CREATE TABLE IF NOT EXISTS anomalies (
        anomaly_id VARCHAR PRIMARY KEY, date DATE, piece_id VARCHAR, platform VARCHAR, rule VARCHAR,
        value DOUBLE, baseline DOUBLE, severity VARCHAR, detected_at TIMESTAMPTZ
    )
    """,
    # seq: increasing number assigned when an anomaly is first detected (kept on re-detection), the
    # anomaly sensor's cursor; score: value / baseline for ratio rules, the robust z for robust_z
    "ALTER TABLE anomalies ADD COLUMN IF NOT EXISTS seq BIGINT",
    "ALTER TABLE anomalies ADD COLUMN IF NOT EXISTS score DOUBLE",
    "ALTER TABLE anomalies ADD COLUMN IF NOT EXISTS threshold DOUBLE",
    "ALTER TABLE anomalies ADD COLUMN IF NOT EXISTS campaign_id VARCHAR",
    "ALTER TABLE anomalies ADD COLUMN IF NOT EXISTS external BOOLEAN",
    "ALTER TABLE anomalies ADD COLUMN IF NOT EXISTS is_demo BOOLEAN",
    "ALTER TABLE anomalies ADD COLUMN IF NOT EXISTS impressions BIGINT",
    "ALTER TABLE anomalies ADD COLUMN IF NOT EXISTS age_days INTEGER",
    """
    CREATE TABLE IF NOT EXISTS engagement_highlights (
        highlight_id VARCHAR PRIMARY KEY, seq BIGINT, date DATE, piece_id VARCHAR, platform VARCHAR,
        campaign_id VARCHAR, external BOOLEAN, is_demo BOOLEAN, engagement_rate DOUBLE, threshold DOUBLE,
        percentile DOUBLE, impressions BIGINT, sample_size BIGINT, detected_at TIMESTAMPTZ
    )
    """,
    """
    CREATE TABLE IF NOT EXISTS ab_results (
        variant_of VARCHAR, winner_piece_id VARCHAR, dimension VARCHAR, metric VARCHAR, p_value DOUBLE,
        lift DOUBLE, n_control BIGINT, n_variant BIGINT, significant BOOLEAN, decided_at TIMESTAMPTZ
    )
    """,
    "ALTER TABLE ab_results ADD COLUMN IF NOT EXISTS variant_piece_id VARCHAR",
    "ALTER TABLE ab_results ADD COLUMN IF NOT EXISTS campaign_id VARCHAR",
    "ALTER TABLE ab_results ADD COLUMN IF NOT EXISTS x_control BIGINT",
    "ALTER TABLE ab_results ADD COLUMN IF NOT EXISTS x_variant BIGINT",
    "ALTER TABLE ab_results ADD COLUMN IF NOT EXISTS rate_control DOUBLE",
    "ALTER TABLE ab_results ADD COLUMN IF NOT EXISTS rate_variant DOUBLE",
    "ALTER TABLE ab_results ADD COLUMN IF NOT EXISTS test VARCHAR",
    "ALTER TABLE ab_results ADD COLUMN IF NOT EXISTS alpha DOUBLE",
    "ALTER TABLE ab_results ADD COLUMN IF NOT EXISTS decision VARCHAR",
    # the test design (fixed_horizon: decided once, at the planned sample or the end of the window; see
    # engagement/abtest.py); NULL on rows written before designs were recorded
    "ALTER TABLE ab_results ADD COLUMN IF NOT EXISTS design VARCHAR",
    "ALTER TABLE ab_results ADD COLUMN IF NOT EXISTS planned_impressions BIGINT",
    "ALTER TABLE ab_results ADD COLUMN IF NOT EXISTS horizon_reached_by VARCHAR",
    # what the anomaly sensor's boost runs planned for an under-performing piece of ours
    """
    CREATE TABLE IF NOT EXISTS engagement_boosts (
        boost_id VARCHAR PRIMARY KEY, piece_id VARCHAR, campaign_id VARCHAR, platform VARCHAR,
        action VARCHAR, anomaly_ids VARCHAR[], rules VARCHAR[], planned_at TIMESTAMPTZ, slot_reason VARCHAR,
        boost_copy VARCHAR, status VARCHAR, run_id VARCHAR, created_at TIMESTAMPTZ
    )
    """,
    # status: planned (this table) → scheduled (publishing created its publication) → published
    "ALTER TABLE engagement_boosts ADD COLUMN IF NOT EXISTS publication_key VARCHAR",
    "ALTER TABLE engagement_boosts ADD COLUMN IF NOT EXISTS scheduled_at TIMESTAMPTZ",
    "ALTER TABLE engagement_boosts ADD COLUMN IF NOT EXISTS published_at TIMESTAMPTZ",
    "ALTER TABLE engagement_boosts ADD COLUMN IF NOT EXISTS url VARCHAR",
    "ALTER TABLE engagement_boosts ADD COLUMN IF NOT EXISTS publisher VARCHAR",
    # a boost's re-promotion in the publication state machine (publishing/state.py): the columns of
    # ``publications`` plus boost_id, one row per boost, keyed sha256(piece|platform|boost_id)
    """
    CREATE TABLE IF NOT EXISTS boost_publications (
        piece_id VARCHAR, platform VARCHAR, campaign_id VARCHAR, idempotency_key VARCHAR PRIMARY KEY,
        status VARCHAR, publisher VARCHAR, remote_id VARCHAR, url VARCHAR, attempts INTEGER,
        last_error VARCHAR, next_attempt_at TIMESTAMPTZ, published_at TIMESTAMPTZ, updated_at TIMESTAMPTZ,
        publish_at TIMESTAMPTZ, needs_review BOOLEAN DEFAULT false, outcome_unknown BOOLEAN DEFAULT false,
        progress JSON, fallback_reason VARCHAR, first_attempt_at TIMESTAMPTZ, in_flight_since TIMESTAMPTZ,
        run_id VARCHAR, dry_run_payload JSON, boost_id VARCHAR
    )
    """,
    # campaigns created from a winning piece ("create similar content")
    """
    CREATE TABLE IF NOT EXISTS campaign_lineage (
        child_campaign_id VARCHAR PRIMARY KEY, parent_campaign_id VARCHAR, parent_piece_id VARCHAR,
        platform VARCHAR, engagement_rate DOUBLE, threshold DOUBLE, highlight_id VARCHAR, brief_file VARCHAR,
        reason VARCHAR, run_id VARCHAR, created_at TIMESTAMPTZ
    )
    """,
]

VIEWS = {
    "engagement_daily": """
        SELECT date, piece_id, platform, content_type, campaign_id, impressions, engagements, clicks,
               engagement_rate, click_through, bounce_rate, baseline_engagement_rate, published_at,
               external, is_demo, reach, baseline_impressions, baseline_bounce_rate, age_days, opens,
               bounces, likes, comments, shares, impressions_to_date, engagements_to_date, clicks_to_date,
               bounces_to_date, engagement_rate_to_date, bounce_rate_to_date
        FROM core.engagement_metrics
    """,
    "engagement_quarantine": """
        SELECT event_date, source, source_file, line, reason, raw, quarantined_at, preset, reason_code
        FROM core.engagement_quarantine
    """,
    "anomalies": """
        SELECT anomaly_id, date, piece_id, platform, rule, value, baseline, severity, detected_at,
               score, threshold, campaign_id, external, is_demo, impressions, age_days, seq
        FROM core.anomalies
    """,
    "ab_results": """
        SELECT variant_of, winner_piece_id, dimension, metric, p_value, lift, n_control, n_variant, significant,
               decided_at, variant_piece_id, campaign_id, x_control, x_variant, rate_control, rate_variant,
               test, alpha, decision, design, planned_impressions, horizon_reached_by
        FROM core.ab_results
    """,
    "engagement_posts": """
        SELECT piece_id, platform, content_type, published_at, external, is_demo, source, text, word_count,
               hashtag_count, has_question, has_cta, media_type, paid, injected_anomaly, attributes
        FROM core.engagement_posts
    """,
    "engagement_highlights": """
        SELECT highlight_id, date, piece_id, platform, campaign_id, external, is_demo, engagement_rate,
               threshold, percentile, impressions, sample_size, detected_at
        FROM core.engagement_highlights
    """,
    "engagement_boosts": """
        SELECT boost_id, piece_id, campaign_id, platform, action, rules, planned_at, slot_reason, boost_copy,
               status, anomaly_ids, created_at, publication_key, scheduled_at, published_at, url, publisher
        FROM core.engagement_boosts
    """,
    "boost_publications": """
        SELECT boost_id, piece_id, platform, status, remote_id, url, attempts, last_error, published_at,
               campaign_id, publisher, idempotency_key, updated_at, needs_review, next_attempt_at, publish_at,
               fallback_reason
        FROM core.boost_publications
    """,
    "engagement_files": """
        SELECT source_file, preset, rows_total, rows_loaded, rows_quarantined, min_date, max_date, loaded_at,
               events_built_at, error
        FROM core.engagement_file_loads
    """,
    "campaign_lineage": """
        SELECT l.child_campaign_id, l.parent_campaign_id, l.parent_piece_id, l.platform, l.engagement_rate,
               l.threshold, l.created_at, c.status AS child_status, l.brief_file, l.reason
        FROM core.campaign_lineage l LEFT JOIN core.campaigns c ON c.campaign_id = l.child_campaign_id
    """,
}

# The scratch database one import spills a file's validated rows to while it streams through the file
# (engagement/imports.py), so memory stays bounded by a chunk; copied into the warehouse in SQL. Same
# columns as ``events.engagement_file_rows``, ``engagement_posts`` (plus ``seq``: first-seen order, to
# keep one post per id across chunks) and ``engagement_quarantine``.
FILE_SPILL_DDL = [
    """
    CREATE TABLE file_rows (
        event_date DATE, piece_id VARCHAR, external_id VARCHAR, platform VARCHAR, observed_at TIMESTAMPTZ,
        impressions BIGINT, reach BIGINT, engagements BIGINT, likes BIGINT, comments BIGINT,
        shares BIGINT, clicks BIGINT, opens BIGINT, bounces BIGINT, source VARCHAR, source_file VARCHAR,
        is_demo BOOLEAN, content_type VARCHAR, published_at TIMESTAMPTZ, loaded_at TIMESTAMPTZ,
        cumulative BOOLEAN, line INTEGER
    )
    """,
    """
    CREATE TABLE file_posts (
        piece_id VARCHAR, platform VARCHAR, content_type VARCHAR, published_at TIMESTAMPTZ,
        external BOOLEAN, is_demo BOOLEAN, source VARCHAR, source_file VARCHAR, text VARCHAR,
        word_count INTEGER, hashtag_count INTEGER, has_question BOOLEAN, has_cta BOOLEAN,
        media_type VARCHAR, paid BOOLEAN, injected_anomaly VARCHAR, attributes JSON, updated_at TIMESTAMPTZ,
        seq BIGINT
    )
    """,
    """
    CREATE TABLE file_quarantine (
        event_date DATE, source VARCHAR, source_file VARCHAR, line INTEGER, reason VARCHAR, raw VARCHAR,
        quarantined_at TIMESTAMPTZ, preset VARCHAR, reason_code VARCHAR
    )
    """,
]
