"""QA results per piece and check, findings, the QA decision per piece, and A/B variants.

Contract used by publishing: a piece is publishable when ``qa_status.status`` is ``approved`` or
``auto_fixed`` (human decisions in ``reviews/`` can turn ``flagged`` into ``approved`` or ``rejected``).
"""

DDL = [
    """
    CREATE TABLE IF NOT EXISTS qa_results (
        piece_id VARCHAR, campaign_id VARCHAR, "check" VARCHAR, score DOUBLE, passed BOOLEAN,
        findings_count INTEGER, round INTEGER, checked_at TIMESTAMPTZ
    )
    """,
    """
    CREATE TABLE IF NOT EXISTS qa_findings (
        piece_id VARCHAR, campaign_id VARCHAR, "check" VARCHAR, excerpt VARCHAR, message VARCHAR,
        suggestion VARCHAR, severity VARCHAR, round INTEGER
    )
    """,
    """
    CREATE TABLE IF NOT EXISTS qa_status (
        piece_id VARCHAR PRIMARY KEY, campaign_id VARCHAR, qa_score DOUBLE, status VARCHAR,
        rounds INTEGER, fixes VARCHAR[], decided_by VARCHAR, decided_at TIMESTAMPTZ, note VARCHAR
    )
    """,
    """
    CREATE TABLE IF NOT EXISTS variants (
        piece_id VARCHAR PRIMARY KEY, campaign_id VARCHAR, variant_of VARCHAR, dimension VARCHAR,
        created_at TIMESTAMPTZ
    )
    """,
]

VIEWS = {
    "qa_results": 'SELECT piece_id, "check", score, passed, findings_count, campaign_id, round FROM core.qa_results',
    "qa_findings": 'SELECT piece_id, "check", excerpt, message, suggestion, campaign_id, severity, round FROM core.qa_findings',
    "qa_status": "SELECT piece_id, qa_score, status, rounds, campaign_id, fixes, decided_by, decided_at FROM core.qa_status",
    "variants": "SELECT piece_id, variant_of, dimension, campaign_id, created_at FROM core.variants",
}
