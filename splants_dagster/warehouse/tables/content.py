"""Content pieces (the chosen candidate of each slot) and every candidate with its scores."""

DDL = [
    """
    CREATE TABLE IF NOT EXISTS content_pieces (
        piece_id VARCHAR PRIMARY KEY,
        campaign_id VARCHAR NOT NULL,
        platform VARCHAR,
        content_type VARCHAR,
        is_pillar BOOLEAN,
        title VARCHAR,
        body VARCHAR,
        rendered VARCHAR,
        seo_title VARCHAR,
        meta_description VARCHAR,
        subject VARCHAR,
        preheader VARCHAR,
        cta VARCHAR,
        hashtags VARCHAR[],
        word_count INTEGER,
        char_count INTEGER,
        quality_score DOUBLE,
        seo_score DOUBLE,
        readability_score DOUBLE,
        uniqueness_score DOUBLE,
        predicted_score DOUBLE,
        total_score DOUBLE,
        score_components VARCHAR,
        flesch_reading_ease DOUBLE,
        candidate_strategy VARCHAR,
        provider VARCHAR,
        model VARCHAR,
        generation_strategy VARCHAR,
        adjustments VARCHAR[],
        variant_of VARCHAR,
        variant_dimension VARCHAR,
        created_at TIMESTAMPTZ
    )
    """,
    # the supported insights the piece's prompt and the offline writer were given (docs/insights.md)
    "ALTER TABLE content_pieces ADD COLUMN IF NOT EXISTS insights_applied JSON",
    """
    CREATE TABLE IF NOT EXISTS content_candidates (
        piece_id VARCHAR,
        campaign_id VARCHAR,
        strategy VARCHAR,
        provider VARCHAR,
        model VARCHAR,
        chosen BOOLEAN,
        total_score DOUBLE,
        quality_score DOUBLE,
        seo_score DOUBLE,
        readability_score DOUBLE,
        uniqueness_score DOUBLE,
        predicted_score DOUBLE,
        score_components VARCHAR,
        title VARCHAR,
        body VARCHAR,
        details JSON,
        created_at TIMESTAMPTZ
    )
    """,
]

VIEWS = {
    "content": """
        SELECT piece_id, campaign_id, platform, content_type, title, body, word_count, char_count,
               hashtags, quality_score, seo_score, readability_score, total_score, model, created_at,
               is_pillar, uniqueness_score, predicted_score, score_components, candidate_strategy,
               provider, generation_strategy, variant_of, variant_dimension, generation_reason,
               insights_applied
        FROM core.content_pieces
    """,
}
