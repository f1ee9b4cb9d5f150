"""Research outputs: ranked keywords, analysed sources, content gaps and the full research document."""

DDL = [
    """
    CREATE TABLE IF NOT EXISTS research_briefs (
        campaign_id VARCHAR PRIMARY KEY,
        research_json JSON,
        llm_used VARCHAR,
        sources_total INTEGER,
        sources_ok INTEGER,
        notes VARCHAR[],
        created_at TIMESTAMPTZ
    )
    """,
    """
    CREATE TABLE IF NOT EXISTS research_keywords (
        campaign_id VARCHAR, keyword VARCHAR, score DOUBLE, source VARCHAR, rank INTEGER
    )
    """,
    """
    CREATE TABLE IF NOT EXISTS research_sources (
        campaign_id VARCHAR, ref VARCHAR, kind VARCHAR, ok BOOLEAN, title VARCHAR, headings VARCHAR[],
        word_count INTEGER, top_terms VARCHAR[], error VARCHAR, text VARCHAR
    )
    """,
    """
    CREATE TABLE IF NOT EXISTS research_gaps (
        campaign_id VARCHAR, direction VARCHAR, kind VARCHAR, item VARCHAR, detail VARCHAR
    )
    """,
]

VIEWS = {
    "research_keywords": """
        SELECT campaign_id, keyword, score, source, rank FROM core.research_keywords
    """,
}
