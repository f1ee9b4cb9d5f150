"""Campaign registration: the stored brief, the campaign's status, and the brief files last checked."""

from __future__ import annotations

import datetime as dt
from typing import Any

import duckdb

from splants_dagster.warehouse.store import Warehouse, replace_rows


def brief_json(store: Warehouse, campaign_id: str) -> str | None:
    """The brief as ``campaign_brief`` stored it (JSON), or None when the campaign is not registered."""
    rows = store.query("SELECT brief_json FROM campaigns WHERE campaign_id = ?", [campaign_id])
    return rows[0]["brief_json"] if rows else None


def set_status(conn: duckdb.DuckDBPyConnection, campaign_id: str, status: str) -> None:
    conn.execute(
        "UPDATE campaigns SET status = ?, updated_at = ? WHERE campaign_id = ?",
        [status, dt.datetime.now(dt.UTC), campaign_id],
    )


def registered_at(conn: duckdb.DuckDBPyConnection, campaign_id: str) -> dt.datetime | None:
    """When the campaign was first registered, or None for a new one."""
    first = conn.execute(
        "SELECT registered_at FROM campaigns WHERE campaign_id = ?", [campaign_id]
    ).fetchone()
    return first[0] if first else None


def replace_campaign(conn: duckdb.DuckDBPyConnection, campaign_id: str, row: dict[str, Any]) -> None:
    replace_rows(conn, "campaigns", "campaign_id = ?", [campaign_id], [row])


def replace_brief_files(conn: duckdb.DuckDBPyConnection, rows: list[dict[str, Any]]) -> None:
    """All brief files as just checked (files no longer there drop out)."""
    replace_rows(conn, "brief_files", "true", [], rows)
