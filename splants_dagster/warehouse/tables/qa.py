"""QA results per piece and check, findings, the QA decision per piece, and A/B variants.

Contract used by publishing: a piece is publishable when ``qa_status.status`` is ``approved`` or
``auto_fixed`` (human decisions in ``reviews/`` can turn ``flagged`` into ``approved`` or ``rejected``).

``qa_claims`` lists every checkable claim the factual check found in every round (supported or not, and
what supports it), so an analyst can audit each claim a piece makes (``analytics.claims``).

``qa_results`` and ``qa_findings`` keep every round (0 = the text as generated, 1-2 = after auto-fix
rounds); ``is_final`` marks the round the decision was taken on. ``qa_originals`` keeps the text QA
started from, so a re-run re-checks the generated text rather than its own fixes; ``qa_reviews`` records
each human decision of the review file and the text it was given for.
"""

DDL = [
    """
    CREATE TABLE IF NOT EXISTS qa_results (
        piece_id VARCHAR, campaign_id VARCHAR, "check" VARCHAR, score DOUBLE, passed BOOLEAN,
        findings_count INTEGER, round INTEGER, checked_at TIMESTAMPTZ
    )
    """,
    "ALTER TABLE qa_results ADD COLUMN IF NOT EXISTS is_final BOOLEAN",
    "ALTER TABLE qa_results ADD COLUMN IF NOT EXISTS errors_count INTEGER",
    """
    CREATE TABLE IF NOT EXISTS qa_findings (
        piece_id VARCHAR, campaign_id VARCHAR, "check" VARCHAR, excerpt VARCHAR, message VARCHAR,
        suggestion VARCHAR, severity VARCHAR, round INTEGER
    )
    """,
    "ALTER TABLE qa_findings ADD COLUMN IF NOT EXISTS code VARCHAR",
    "ALTER TABLE qa_findings ADD COLUMN IF NOT EXISTS field VARCHAR",
    "ALTER TABLE qa_findings ADD COLUMN IF NOT EXISTS span_start INTEGER",
    "ALTER TABLE qa_findings ADD COLUMN IF NOT EXISTS span_end INTEGER",
    "ALTER TABLE qa_findings ADD COLUMN IF NOT EXISTS is_final BOOLEAN",
    """
    CREATE TABLE IF NOT EXISTS qa_claims (
        piece_id VARCHAR, campaign_id VARCHAR, claim_text VARCHAR, kind VARCHAR, supported BOOLEAN,
        support_ref VARCHAR, status VARCHAR, "check" VARCHAR, field VARCHAR, span_start INTEGER,
        span_end INTEGER, round INTEGER, is_final BOOLEAN
    )
    """,
    """
    CREATE TABLE IF NOT EXISTS qa_status (
        piece_id VARCHAR PRIMARY KEY, campaign_id VARCHAR, qa_score DOUBLE, status VARCHAR,
        rounds INTEGER, fixes VARCHAR[], decided_by VARCHAR, decided_at TIMESTAMPTZ, note VARCHAR
    )
    """,
    "ALTER TABLE qa_status ADD COLUMN IF NOT EXISTS automated_status VARCHAR",
    "ALTER TABLE qa_status ADD COLUMN IF NOT EXISTS initial_score DOUBLE",
    "ALTER TABLE qa_status ADD COLUMN IF NOT EXISTS failing_checks VARCHAR[]",
    "ALTER TABLE qa_status ADD COLUMN IF NOT EXISTS variant_of VARCHAR",
    "ALTER TABLE qa_status ADD COLUMN IF NOT EXISTS text_hash VARCHAR",
    "ALTER TABLE qa_status ADD COLUMN IF NOT EXISTS checked_at TIMESTAMPTZ",
    """
    CREATE TABLE IF NOT EXISTS variants (
        piece_id VARCHAR PRIMARY KEY, campaign_id VARCHAR, variant_of VARCHAR, dimension VARCHAR,
        created_at TIMESTAMPTZ
    )
    """,
    "ALTER TABLE variants ADD COLUMN IF NOT EXISTS variant_index INTEGER",
    "ALTER TABLE variants ADD COLUMN IF NOT EXISTS hint VARCHAR",
    "ALTER TABLE variants ADD COLUMN IF NOT EXISTS source_hash VARCHAR",
    "ALTER TABLE variants ADD COLUMN IF NOT EXISTS draft_json VARCHAR",
    "ALTER TABLE variants ADD COLUMN IF NOT EXISTS provider VARCHAR",
    "ALTER TABLE variants ADD COLUMN IF NOT EXISTS model VARCHAR",
    """
    CREATE TABLE IF NOT EXISTS qa_originals (
        piece_id VARCHAR PRIMARY KEY, campaign_id VARCHAR, original_json VARCHAR, adjustments VARCHAR[],
        original_hash VARCHAR, final_hash VARCHAR, updated_at TIMESTAMPTZ
    )
    """,
    """
    CREATE TABLE IF NOT EXISTS qa_reviews (
        piece_id VARCHAR, campaign_id VARCHAR, decision VARCHAR, reviewer VARCHAR, note VARCHAR,
        entry_hash VARCHAR, text_hash VARCHAR, outcome VARCHAR, review_file VARCHAR,
        first_seen_at TIMESTAMPTZ, applied_at TIMESTAMPTZ
    )
    """,
]

VIEWS = {
    "qa_results": 'SELECT piece_id, "check", score, passed, findings_count, campaign_id, round, is_final, '
    "errors_count, checked_at FROM core.qa_results",
    "qa_findings": 'SELECT piece_id, "check", excerpt, message, suggestion, campaign_id, severity, round, '
    "code, field, span_start, span_end, is_final FROM core.qa_findings",
    "claims": 'SELECT piece_id, claim_text, kind, supported, support_ref, "check", campaign_id, status, field, '
    "span_start, span_end, round, is_final FROM core.qa_claims",
    "qa_status": "SELECT piece_id, qa_score, status, rounds, campaign_id, fixes, decided_by, decided_at, "
    "note, automated_status, initial_score, failing_checks, variant_of FROM core.qa_status",
    "variants": "SELECT piece_id, variant_of, dimension, campaign_id, created_at, variant_index, hint "
    "FROM core.variants",
    "qa_reviews": "SELECT piece_id, campaign_id, decision, reviewer, note, outcome, review_file, "
    "first_seen_at, applied_at FROM core.qa_reviews",
}
