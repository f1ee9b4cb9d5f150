"""Research per campaign: the analysed brief (keywords, claims, outline) and the sources it read."""

from __future__ import annotations

from typing import Any

import duckdb

from splants_dagster.warehouse.store import Warehouse, replace_rows


def research_json(store: Warehouse, campaign_id: str) -> str | None:
    """The campaign's research (JSON), or None before ``research_brief`` has run."""
    found = store.query("SELECT research_json FROM research_briefs WHERE campaign_id = ?", [campaign_id])
    return found[0]["research_json"] if found else None


def ok_sources(store: Warehouse, campaign_id: str) -> list[dict[str, Any]]:
    """Every source of the campaign that was read successfully, all columns."""
    return store.query("SELECT * FROM research_sources WHERE campaign_id = ? AND ok", [campaign_id])


def ok_source_texts(store: Warehouse, campaign_id: str) -> dict[str, str]:
    """``{ref: text}`` of the campaign's sources that were read successfully."""
    rows = store.query("SELECT ref, text FROM research_sources WHERE campaign_id = ? AND ok", [campaign_id])
    return {r["ref"]: r["text"] for r in rows}


def replace_research(
    conn: duckdb.DuckDBPyConnection, campaign_id: str, tables: dict[str, list[dict[str, Any]]]
) -> None:
    """The campaign's rows of each research table (``{table: rows}``), replacing what was there."""
    for table, rows in tables.items():
        replace_rows(conn, table, "campaign_id = ?", [campaign_id], rows)
