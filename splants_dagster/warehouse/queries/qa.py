"""QA per campaign: the stored decisions, originals and variants QA reuses, and its one-transaction write."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any

import duckdb

from splants_dagster.warehouse.queries import content, research
from splants_dagster.warehouse.queries.campaigns import set_status
from splants_dagster.warehouse.store import Warehouse, insert_dicts, transaction

if TYPE_CHECKING:
    from splants_dagster.campaigns.briefs import BrandProfile, CampaignBrief
    from splants_dagster.qa.campaign import CampaignInputs, CampaignQA
    from splants_dagster.qa.reviews import ReviewEntry

# the columns of content_pieces that auto-fix may change on an original
TEXT_COLUMNS = (
    "title",
    "body",
    "rendered",
    "seo_title",
    "meta_description",
    "subject",
    "preheader",
    "cta",
    "hashtags",
    "word_count",
    "char_count",
    "flesch_reading_ease",
    "adjustments",
)

# tables QA keeps per campaign, one row per piece
_BY_PIECE = ("qa_status", "qa_originals", "variants", "qa_reviews")


def rows_by_piece(store: Warehouse, table: str, campaign_id: str) -> dict[str, dict[str, Any]]:
    """``{piece_id: row}`` of the campaign in one of QA's per-piece tables (``qa_status``, ``qa_originals``,
    ``variants``, ``qa_reviews``)."""
    if table not in _BY_PIECE:
        raise ValueError(f"not a per-piece QA table: {table!r} (one of {', '.join(_BY_PIECE)})")
    return {
        r["piece_id"]: r for r in store.query(f"SELECT * FROM {table} WHERE campaign_id = ?", [campaign_id])
    }


def campaign_inputs(
    store: Warehouse,
    campaign_id: str,
    pieces: list[dict[str, Any]],
    *,
    brief: CampaignBrief,
    brand: BrandProfile,
    reviews: dict[str, ReviewEntry],
    review_file: str,
) -> CampaignInputs:
    """What QA of the campaign's original ``pieces`` reads from the warehouse: its research and sources,
    the originals and variants QA stored last time (reused while unchanged), other campaigns' bodies (for
    uniqueness) and the reviews already applied."""
    # imported here: QA's engine (and the research model) are heavy, and the publishing code that only
    # counts decisions through this module should not load them
    from splants_dagster.qa.campaign import CampaignInputs
    from splants_dagster.research.analysis import Research

    found = research.research_json(store, campaign_id)
    source_rows = research.ok_sources(store, campaign_id)
    return CampaignInputs(
        campaign_id=campaign_id,
        brief=brief,
        brand=brand,
        research=Research.from_json(found) if found is not None else None,
        sources={r["ref"]: r["text"] for r in source_rows},
        pieces=pieces,
        stored_originals=rows_by_piece(store, "qa_originals", campaign_id),
        stored_variants=rows_by_piece(store, "variants", campaign_id),
        earlier=content.other_campaign_bodies(store, campaign_id),
        reviews=reviews,
        previous_reviews=rows_by_piece(store, "qa_reviews", campaign_id),
        review_file=review_file,
        source_roles={r["ref"]: r.get("role") or "reference" for r in source_rows},
        now=dt.datetime.now(dt.UTC),
    )


def decision_count(store: Warehouse, campaign_id: str) -> int:
    """How many of the campaign's pieces have a QA decision (0: ``qa_report`` has not run)."""
    return int(
        store.query("SELECT count(*) AS n FROM qa_status WHERE campaign_id = ?", [campaign_id])[0]["n"]
    )


def _replace(conn: duckdb.DuckDBPyConnection, table: str, where: str, params: list, rows: list[dict]) -> None:
    conn.execute(f"DELETE FROM {table} WHERE {where}", params)
    insert_dicts(conn, table, rows)


def write_campaign_qa(
    store: Warehouse, result: CampaignQA, previous_status: dict[str, dict[str, Any]]
) -> None:
    """Everything one QA run decided, in one transaction: fixed originals updated in place, variants, results,
    findings, claims, statuses, originals, reviews replaced; the campaign's status set (``qa_review`` when a
    piece is flagged, else ``qa_passed``)."""
    cid = result.campaign_id
    where = "campaign_id = ?"
    variant_rows = [p.row for p in result.pieces.values() if p.is_variant]
    flagged = any(p.status == "flagged" for p in result.pieces.values())
    with store.write() as conn, transaction(conn):
        for p in result.pieces.values():
            if not p.is_variant and p.changed:
                conn.execute(
                    f"UPDATE content_pieces SET {', '.join(f'{c} = ?' for c in TEXT_COLUMNS)} WHERE piece_id = ?",
                    [*(p.row[c] for c in TEXT_COLUMNS), p.piece_id],
                )
        _replace(conn, "content_pieces", f"{where} AND variant_of IS NOT NULL", [cid], variant_rows)
        _replace(conn, "qa_results", where, [cid], result.results_rows())
        _replace(conn, "qa_findings", where, [cid], result.findings_rows())
        _replace(conn, "qa_claims", where, [cid], result.claims_rows())
        _replace(conn, "qa_status", where, [cid], result.status_rows(previous_status))
        _replace(conn, "variants", where, [cid], result.variant_rows())
        _replace(conn, "qa_originals", where, [cid], result.original_rows())
        _replace(conn, "qa_reviews", where, [cid], result.review_rows)
        set_status(conn, cid, "qa_review" if flagged else "qa_passed")


def piece_record(conn: duckdb.DuckDBPyConnection, piece_id: str) -> dict[str, list[dict[str, Any]]]:
    """One piece's final QA and its review history, as the desk's piece page and ``splants review show``
    display them: ``checks`` (by check), ``findings`` (errors first, then by check and position),
    ``claims`` (unsupported first) and ``decisions`` (oldest first)."""
    from splants_dagster.warehouse.store import dict_rows

    def rows(sql: str) -> list[dict[str, Any]]:
        return dict_rows(conn.execute(sql, [piece_id]))

    return {
        "checks": rows(
            'SELECT "check", score, passed FROM qa_results WHERE piece_id = ? AND is_final ORDER BY "check"'
        ),
        "findings": rows(
            'SELECT "check", severity, message, excerpt, suggestion, field, span_start, span_end FROM qa_findings'
            " WHERE piece_id = ? AND is_final ORDER BY severity = 'error' DESC, \"check\", span_start"
        ),
        "claims": rows(
            "SELECT claim_text, kind, supported, support_ref, status FROM qa_claims WHERE piece_id = ? AND is_final"
            " ORDER BY supported, claim_text"
        ),
        "decisions": rows("SELECT * FROM review_decisions WHERE piece_id = ? ORDER BY decided_at"),
    }
