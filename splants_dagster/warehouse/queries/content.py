"""Content pieces and their candidates: the campaign's originals, and the bodies QA compares against."""

from __future__ import annotations

from typing import Any

import duckdb

from splants_dagster.warehouse.store import Warehouse, replace_rows


def replace_suite(
    conn: duckdb.DuckDBPyConnection,
    campaign_id: str,
    pieces: list[dict[str, Any]],
    candidates: list[dict[str, Any]],
) -> None:
    """The campaign's original pieces and every candidate, replacing the last suite (its A/B variants,
    which QA owns, are kept)."""
    replace_rows(conn, "content_pieces", "campaign_id = ? AND variant_of IS NULL", [campaign_id], pieces)
    replace_rows(conn, "content_candidates", "campaign_id = ?", [campaign_id], candidates)


def original_pieces(store: Warehouse, campaign_id: str) -> list[dict[str, Any]]:
    """The campaign's original pieces (not A/B variants), all columns, by piece id."""
    return store.query(
        "SELECT * FROM content_pieces WHERE campaign_id = ? AND variant_of IS NULL ORDER BY piece_id",
        [campaign_id],
    )


def other_campaign_bodies(store: Warehouse, campaign_id: str) -> dict[str, str]:
    """``{piece_id: body}`` of every other campaign's original pieces (for the uniqueness check)."""
    rows = store.query(
        "SELECT piece_id, body FROM content_pieces WHERE campaign_id <> ? AND variant_of IS NULL",
        [campaign_id],
    )
    return {r["piece_id"]: r["body"] for r in rows}
