"""The open events people are alerted about: pieces flagged by QA, publications held for review or with an
unknown outcome."""

from __future__ import annotations

# (kind, query) per event kind, on the analysts' snapshot; a piece flagged again with the same
# text is the same event; a publication is one event per status episode
EVENT_QUERIES: tuple[tuple[str, str], ...] = (
    (
        "flagged",
        "SELECT piece_id, campaign_id, qa_score, coalesce(text_hash, '') AS text_hash, "
        "coalesce(CAST(decided_at AS VARCHAR), '') AS decided_at "
        "FROM qa_status WHERE status = 'flagged' ORDER BY campaign_id, piece_id",
    ),
    (
        "pending_review",
        "SELECT idempotency_key, piece_id, platform, campaign_id "
        "FROM publications WHERE status = 'pending_review' ORDER BY campaign_id, piece_id",
    ),
    (
        "review_required",
        "SELECT idempotency_key, piece_id, platform, campaign_id, status "
        "FROM publications WHERE coalesce(needs_review, false) ORDER BY campaign_id, piece_id",
    ),
)
