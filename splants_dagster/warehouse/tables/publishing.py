"""The publishing schedule, the publication state machine (one row per piece × platform) and webhooks.

``publications.status``: pending → in_flight → published | failed (retried at ``next_attempt_at``) |
dry_run. The row is written before the remote call (in_flight, with its idempotency key) and after it,
each time in its own short write session. ``needs_review`` marks an item a person must look at (outcome
unknown on a platform without a lookup, a refusal by the platform, too many attempts); it is never sent
again automatically. See docs/publishing.md.

``pending_review`` is a publication held before it reaches a real platform (never the outbox):
``held_reason`` says why (awaiting a person's approval, template/offline content, an A/B variant of a blog
post). ``review_decisions`` keeps every person's decision on a piece (approve | reject | edit), who took it,
when and why, and the SHA-256 of the text it was taken on: an approval only lets out that exact text.

``webhook_queue`` holds one row per (event, endpoint); ``webhook_deliveries`` logs every attempt. Webhook
URLs can carry secrets, so only a redacted reference (scheme, host and a short hash) is stored.
"""

DDL = [
    """
    CREATE TABLE IF NOT EXISTS schedule (
        piece_id VARCHAR, campaign_id VARCHAR, platform VARCHAR, content_type VARCHAR,
        publish_at TIMESTAMPTZ, slot_source VARCHAR, slot_score DOUBLE, created_at TIMESTAMPTZ
    )
    """,
    "ALTER TABLE schedule ADD COLUMN IF NOT EXISTS publish_at_local VARCHAR",
    "ALTER TABLE schedule ADD COLUMN IF NOT EXISTS exploration BOOLEAN",
    "ALTER TABLE schedule ADD COLUMN IF NOT EXISTS is_pillar BOOLEAN",
    "ALTER TABLE schedule ADD COLUMN IF NOT EXISTS variant_of VARCHAR",
    # A/B design of the slot: platform_split (email carrying its variants) | sequential | NULL
    "ALTER TABLE schedule ADD COLUMN IF NOT EXISTS ab_design VARCHAR",
    """
    CREATE TABLE IF NOT EXISTS publications (
        piece_id VARCHAR, platform VARCHAR, campaign_id VARCHAR, idempotency_key VARCHAR PRIMARY KEY,
        status VARCHAR, publisher VARCHAR, remote_id VARCHAR, url VARCHAR, attempts INTEGER,
        last_error VARCHAR, next_attempt_at TIMESTAMPTZ, published_at TIMESTAMPTZ, updated_at TIMESTAMPTZ
    )
    """,
    "ALTER TABLE publications ADD COLUMN IF NOT EXISTS publish_at TIMESTAMPTZ",
    "ALTER TABLE publications ADD COLUMN IF NOT EXISTS needs_review BOOLEAN DEFAULT false",
    "ALTER TABLE publications ADD COLUMN IF NOT EXISTS outcome_unknown BOOLEAN DEFAULT false",
    "ALTER TABLE publications ADD COLUMN IF NOT EXISTS progress JSON",
    "ALTER TABLE publications ADD COLUMN IF NOT EXISTS fallback_reason VARCHAR",
    "ALTER TABLE publications ADD COLUMN IF NOT EXISTS first_attempt_at TIMESTAMPTZ",
    "ALTER TABLE publications ADD COLUMN IF NOT EXISTS in_flight_since TIMESTAMPTZ",
    "ALTER TABLE publications ADD COLUMN IF NOT EXISTS run_id VARCHAR",
    "ALTER TABLE publications ADD COLUMN IF NOT EXISTS dry_run_payload JSON",
    "ALTER TABLE publications ADD COLUMN IF NOT EXISTS held_reason VARCHAR",
    # re-promotions (tables/engagement.py, created before this module) are held by the same gate
    "ALTER TABLE boost_publications ADD COLUMN IF NOT EXISTS held_reason VARCHAR",
    """
    CREATE TABLE IF NOT EXISTS review_decisions (
        decision_id VARCHAR PRIMARY KEY, piece_id VARCHAR, campaign_id VARCHAR, decision VARCHAR,
        decided_by VARCHAR, decided_at TIMESTAMPTZ, reason VARCHAR, text_sha256 VARCHAR,
        edited_text VARCHAR, qa_score DOUBLE, qa_passed BOOLEAN, qa_summary VARCHAR, source VARCHAR
    )
    """,
    """
    CREATE TABLE IF NOT EXISTS webhook_queue (
        event_id VARCHAR, url_ref VARCHAR, event_type VARCHAR, piece_id VARCHAR, platform VARCHAR,
        idempotency_key VARCHAR, payload VARCHAR, status VARCHAR, attempts INTEGER,
        next_attempt_at TIMESTAMPTZ, last_error VARCHAR, created_at TIMESTAMPTZ, delivered_at TIMESTAMPTZ,
        PRIMARY KEY (event_id, url_ref)
    )
    """,
    """
    CREATE TABLE IF NOT EXISTS webhook_deliveries (
        event_id VARCHAR, url_ref VARCHAR, event_type VARCHAR, attempt INTEGER, status_code INTEGER,
        ok BOOLEAN, error VARCHAR, duration_ms DOUBLE, attempted_at TIMESTAMPTZ
    )
    """,
]

VIEWS = {
    "schedule": """
        SELECT piece_id, campaign_id, platform, publish_at, slot_source, content_type, slot_score,
               publish_at_local, exploration, is_pillar, variant_of, ab_design
        FROM core.schedule
    """,
    "publications": """
        SELECT piece_id, platform, status, remote_id, url, attempts, last_error, published_at,
               campaign_id, publisher, idempotency_key, updated_at,
               needs_review, next_attempt_at, publish_at, fallback_reason, held_reason
        FROM core.publications
    """,
    "review_decisions": """
        SELECT decision_id, piece_id, campaign_id, decision, decided_by, decided_at, reason, text_sha256,
               edited_text, qa_score, qa_passed, qa_summary, source
        FROM core.review_decisions
    """,
    "webhook_deliveries": """
        SELECT event_id, url_ref, event_type, attempt, status_code, ok, error, duration_ms, attempted_at
        FROM core.webhook_deliveries
    """,
}
