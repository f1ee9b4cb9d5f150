"""Campaign briefs as registered, and every brief file with its validation result."""

DDL = [
    """
    CREATE TABLE IF NOT EXISTS campaigns (
        campaign_id VARCHAR PRIMARY KEY,
        topic VARCHAR NOT NULL,
        goal VARCHAR,
        audience VARCHAR,
        tone VARCHAR,
        platforms VARCHAR[],
        content_types VARCHAR[],
        keywords VARCHAR[],
        start_date DATE,
        duration_days INTEGER,
        brief_file VARCHAR,
        brief_sha256 VARCHAR,
        brief_json JSON,
        status VARCHAR,
        registered_at TIMESTAMPTZ,
        updated_at TIMESTAMPTZ
    )
    """,
    """
    CREATE TABLE IF NOT EXISTS brief_files (
        file VARCHAR PRIMARY KEY,
        campaign_id VARCHAR,
        sha256 VARCHAR,
        valid BOOLEAN,
        errors JSON,
        checked_at TIMESTAMPTZ
    )
    """,
]

VIEWS = {
    "campaigns": """
        SELECT campaign_id, topic, platforms, start_date, duration_days, status,
               goal, audience, tone, content_types, keywords, updated_at
        FROM core.campaigns
    """,
}
