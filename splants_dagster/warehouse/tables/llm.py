"""The LLM call ledger (one row per call, offline and cache hits included) and the response cache."""

DDL = [
    """
    CREATE TABLE IF NOT EXISTS llm_calls (
        call_id VARCHAR PRIMARY KEY,
        campaign_id VARCHAR,
        asset VARCHAR,
        purpose VARCHAR,
        piece_id VARCHAR,
        provider VARCHAR,
        model VARCHAR,
        prompt_tokens BIGINT,
        completion_tokens BIGINT,
        cached_tokens BIGINT,
        tokens_estimated BOOLEAN,
        cost_usd DOUBLE,
        cached BOOLEAN,
        latency_ms DOUBLE,
        status VARCHAR,
        error VARCHAR,
        strategy VARCHAR,
        run_id VARCHAR,
        called_at TIMESTAMPTZ
    )
    """,
    "ALTER TABLE llm_calls ADD COLUMN IF NOT EXISTS attempt INTEGER",
    "ALTER TABLE llm_calls ADD COLUMN IF NOT EXISTS fallback_from VARCHAR",
    "ALTER TABLE llm_calls ADD COLUMN IF NOT EXISTS cache_write_tokens BIGINT",
    # Accepted replies by (provider, model, prompt, parameters): a re-run of an unchanged campaign is served
    # from here at zero cost. Written from cache journals (llm/cache.py), never during generation.
    """
    CREATE TABLE IF NOT EXISTS llm_cache (
        cache_key VARCHAR PRIMARY KEY,
        provider VARCHAR,
        model VARCHAR,
        purpose VARCHAR,
        piece_id VARCHAR,
        campaign_id VARCHAR,
        text VARCHAR,
        finish_reason VARCHAR,
        prompt_tokens BIGINT,
        completion_tokens BIGINT,
        cached_tokens BIGINT,
        cost_usd DOUBLE,
        source_call_id VARCHAR,
        created_at TIMESTAMPTZ
    )
    """,
]

VIEWS = {
    "llm_calls": """
        SELECT call_id, campaign_id, asset, provider, model, prompt_tokens, completion_tokens,
               cached_tokens, cost_usd, cached, latency_ms, called_at,
               purpose, piece_id, tokens_estimated, status, error, strategy, run_id,
               attempt, fallback_from, cache_write_tokens
        FROM core.llm_calls
    """,
    "llm_cache_entries": """
        SELECT cache_key, provider, model, purpose, piece_id, campaign_id, prompt_tokens, completion_tokens,
               cached_tokens, cost_usd AS original_cost_usd, source_call_id, created_at
        FROM core.llm_cache
    """,
}
