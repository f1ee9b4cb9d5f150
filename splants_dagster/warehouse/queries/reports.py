"""Weekly and monthly reports: the record of each report sent, and whether a period has engagement to report."""

from __future__ import annotations

import datetime as dt
from typing import Any

import duckdb

from splants_dagster.warehouse.store import Warehouse, replace_rows


def replace_report(conn: duckdb.DuckDBPyConnection, row: dict[str, Any]) -> None:
    replace_rows(conn, "reports", "report_id = ?", [row["report_id"]], [row])


def has_engagement(store: Warehouse, start: dt.date, end: dt.date) -> bool:
    """Whether the analysts' snapshot has daily engagement between ``start`` and ``end`` (inclusive)."""
    if not store.paths.analytics_db.exists():
        return False
    rows = store.query(
        "SELECT count(*) AS n FROM analytics.engagement_daily WHERE date BETWEEN ? AND ?", [start, end]
    )
    return bool(rows[0]["n"])
