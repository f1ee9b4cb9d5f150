"""The publishing schedule and the publication state machine (one row per piece × platform).

``publications.status``: pending → in_flight → published | failed (retried later) | dry_run.
The row is written before the remote call (in_flight, with its idempotency key) and after it.
"""

DDL = [
    """
    CREATE TABLE IF NOT EXISTS schedule (
        piece_id VARCHAR, campaign_id VARCHAR, platform VARCHAR, content_type VARCHAR,
        publish_at TIMESTAMPTZ, slot_source VARCHAR, slot_score DOUBLE, created_at TIMESTAMPTZ
    )
    """,
    """
    CREATE TABLE IF NOT EXISTS publications (
        piece_id VARCHAR, platform VARCHAR, campaign_id VARCHAR, idempotency_key VARCHAR PRIMARY KEY,
        status VARCHAR, publisher VARCHAR, remote_id VARCHAR, url VARCHAR, attempts INTEGER,
        last_error VARCHAR, next_attempt_at TIMESTAMPTZ, published_at TIMESTAMPTZ, updated_at TIMESTAMPTZ
    )
    """,
]

VIEWS = {
    "schedule": "SELECT piece_id, campaign_id, platform, publish_at, slot_source, content_type, slot_score FROM core.schedule",
    "publications": """
        SELECT piece_id, platform, status, remote_id, url, attempts, last_error, published_at,
               campaign_id, publisher, idempotency_key, updated_at
        FROM core.publications
    """,
}
