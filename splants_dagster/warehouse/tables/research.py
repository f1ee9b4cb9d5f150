"""Research outputs: ranked keywords, analysed sources, content gaps and the full research document.

Each source keeps the ``role`` the brief gave it (own | competitor | reference: what it may support).
Audience insights are a model's (or the offline provider's) view of the brief, not research: the
``research_audience`` view labels every one of them with ``basis`` (``assumed``).
"""

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
    "ALTER TABLE research_sources ADD COLUMN IF NOT EXISTS role VARCHAR DEFAULT 'reference'",
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
    "research_sources": """
        SELECT campaign_id, ref, coalesce(role, 'reference') AS role, kind, ok, title, word_count, top_terms,
               error
        FROM core.research_sources
    """,
    # one row per audience insight, each labelled with its basis (never presented as research)
    "research_audience": """
        SELECT campaign_id, kind, unnest(items) AS item, basis
        FROM (
            SELECT campaign_id,
                   coalesce(json_extract_string(research_json, '$.audience.basis'), 'assumed') AS basis,
                   unnest([
                       {'kind': 'segment', 'items': json_extract_string(research_json, '$.audience.segments[*]')},
                       {'kind': 'pain_point',
                        'items': json_extract_string(research_json, '$.audience.pain_points[*]')},
                       {'kind': 'motivation',
                        'items': json_extract_string(research_json, '$.audience.motivations[*]')},
                       {'kind': 'question', 'items': json_extract_string(research_json, '$.audience.questions[*]')}
                   ], recursive := true)
            FROM core.research_briefs
        )
    """,
}
