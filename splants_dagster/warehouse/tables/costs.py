"""Cost control: the budget status history (the active strategy and why), budget events, provider
batches, and the analysts' cost views. See docs/costs.md."""

DDL = [
    # Ingestion order of the ledger: every row gets the next number when a journal is ingested, so the
    # budget sensor reads only rows it has not seen (calls are journaled before they are ingested, so their
    # called_at does not grow with ingestion).
    "CREATE SEQUENCE IF NOT EXISTS llm_calls_ledger_seq",
    "ALTER TABLE llm_calls ADD COLUMN IF NOT EXISTS ledger_seq BIGINT DEFAULT nextval('core.llm_calls_ledger_seq')",
    # Why each piece was generated the way it was (next to content_pieces.generation_strategy).
    "ALTER TABLE content_pieces ADD COLUMN IF NOT EXISTS generation_reason VARCHAR",
    # One row per evaluation of the budget: the latest row is the active strategy generation reads.
    """
    CREATE TABLE IF NOT EXISTS budget_status (
        as_of TIMESTAMPTZ NOT NULL,
        month VARCHAR NOT NULL,
        budget_usd DOUBLE,
        spent_usd DOUBLE,
        today_usd DOUBLE,
        rate_usd_per_day DOUBLE,
        forecast_usd DOUBLE,
        remaining_pct DOUBLE,
        days_until_exhausted DOUBLE,
        strategy VARCHAR,
        reason VARCHAR,
        source VARCHAR,
        exhausted BOOLEAN,
        pause_noncritical BOOLEAN,
        templates_only BOOLEAN,
        trigger VARCHAR,
        run_id VARCHAR
    )
    """,
    # budget.warning events: one per threshold (50/80/95/100 % spent, forecast over budget) per month and
    # budget amount.
    """
    CREATE TABLE IF NOT EXISTS budget_events (
        month VARCHAR NOT NULL,
        budget_usd DOUBLE NOT NULL,
        threshold VARCHAR NOT NULL,
        kind VARCHAR,
        severity VARCHAR,
        recorded_at TIMESTAMPTZ,
        spent_usd DOUBLE,
        forecast_usd DOUBLE,
        remaining_pct DOUBLE,
        strategy VARCHAR,
        reason VARCHAR,
        alerted BOOLEAN,
        alert_channels VARCHAR,
        run_id VARCHAR,
        PRIMARY KEY (month, budget_usd, threshold)
    )
    """,
    """
    CREATE TABLE IF NOT EXISTS llm_batches (
        batch_id VARCHAR PRIMARY KEY,
        provider VARCHAR,
        model VARCHAR,
        campaign_id VARCHAR,
        asset VARCHAR,
        strategy VARCHAR,
        status VARCHAR,
        provider_status VARCHAR,
        requests INTEGER,
        succeeded INTEGER,
        rejected INTEGER,
        failed INTEGER,
        cost_usd DOUBLE,
        submitted_at TIMESTAMPTZ,
        submitted_run_id VARCHAR,
        ended_at TIMESTAMPTZ,
        collected_at TIMESTAMPTZ,
        collected_run_id VARCHAR,
        error VARCHAR,
        items JSON
    )
    """,
    """
    CREATE TABLE IF NOT EXISTS llm_batch_calls (
        batch_id VARCHAR,
        custom_id VARCHAR,
        call_id VARCHAR,
        campaign_id VARCHAR,
        piece_id VARCHAR,
        purpose VARCHAR,
        status VARCHAR,
        PRIMARY KEY (batch_id, custom_id)
    )
    """,
]

VIEWS = {
    # analyst contract: (date, provider, model, calls, tokens, cost_usd, cache_hits)
    "cost_daily": """
        SELECT CAST(timezone('UTC', called_at) AS DATE) AS date, provider, model,
               count(*) AS calls,
               sum(coalesce(prompt_tokens, 0) + coalesce(completion_tokens, 0)) AS tokens,
               round(sum(coalesce(cost_usd, 0)), 8) AS cost_usd,
               count(*) FILTER (WHERE cached) AS cache_hits,
               count(*) FILTER (WHERE status <> 'ok') AS failed_attempts,
               sum(coalesce(cached_tokens, 0)) AS cached_tokens
        FROM core.llm_calls GROUP BY ALL
    """,
    # analyst contract: (as_of, month, spent_usd, forecast_usd, budget_usd, remaining_pct, strategy)
    "budget_status": """
        SELECT as_of, month, spent_usd, forecast_usd, budget_usd, remaining_pct, strategy,
               reason, source, today_usd, rate_usd_per_day, days_until_exhausted, exhausted,
               pause_noncritical, templates_only, trigger, run_id
        FROM core.budget_status
    """,
    "budget_events": """
        SELECT month, threshold, kind, severity, recorded_at, budget_usd, spent_usd, forecast_usd,
               remaining_pct, strategy, reason, alerted, alert_channels, run_id
        FROM core.budget_events
    """,
    "llm_batches": """
        SELECT batch_id, provider, model, campaign_id, strategy, status, provider_status, requests,
               succeeded, rejected, failed, cost_usd, submitted_at, ended_at, collected_at, error
        FROM core.llm_batches
    """,
    "cost_per_piece": """
        SELECT l.piece_id, any_value(l.campaign_id) AS campaign_id, any_value(p.platform) AS platform,
               any_value(p.content_type) AS content_type, count(*) AS calls,
               round(sum(coalesce(l.cost_usd, 0)), 8) AS cost_usd,
               count(*) FILTER (WHERE l.cached) AS cache_hits,
               count(b.call_id) AS batch_calls
        FROM core.llm_calls l
        LEFT JOIN core.content_pieces p ON p.piece_id = l.piece_id
        LEFT JOIN core.llm_batch_calls b ON b.call_id = l.call_id
        WHERE l.piece_id IS NOT NULL
        GROUP BY l.piece_id
    """,
}
