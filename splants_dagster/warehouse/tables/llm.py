"""The LLM call ledger: one row per call, offline and cache hits included."""

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
]

VIEWS = {
    "llm_calls": """
        SELECT call_id, campaign_id, asset, provider, model, prompt_tokens, completion_tokens,
               cached_tokens, cost_usd, cached, latency_ms, called_at,
               purpose, piece_id, tokens_estimated, status, error, strategy, run_id
        FROM core.llm_calls
    """,
}
