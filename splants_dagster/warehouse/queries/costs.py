"""LLM spend: budget threshold events, spend per month and in total, the ledger's position, batches waiting.

(The cost breakdowns the UI shows are in :mod:`splants_dagster.costs.ledger`.)"""

from __future__ import annotations

import datetime as dt
from typing import Any

import duckdb

from splants_dagster.warehouse.store import Warehouse, dict_rows, insert_dicts

_EVENT_SQL = """
INSERT INTO budget_events (month, budget_usd, threshold, kind, severity, recorded_at, spent_usd, forecast_usd,
                           remaining_pct, strategy, reason, alerted, alert_channels, run_id)
VALUES (?, ?, ?, 'budget.warning', ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
ON CONFLICT (month, budget_usd, threshold) DO UPDATE SET
    alerted = budget_events.alerted OR excluded.alerted,
    alert_channels = coalesce(excluded.alert_channels, budget_events.alert_channels)
"""


def record_budget_event(
    conn: duckdb.DuckDBPyConnection,
    *,
    month: str,
    budget_usd: float | None,
    threshold: str,
    severity: str,
    recorded_at: dt.datetime,
    spent_usd: float | None,
    forecast_usd: float | None,
    remaining_pct: float | None,
    strategy: str,
    reason: str,
    alerted: bool,
    alert_channels: str | None,
    run_id: str,
) -> None:
    """A budget threshold crossed this month (once per month, budget and threshold; a later alert of the
    same crossing only marks it alerted and keeps the first channels list unless a new one is given)."""
    conn.execute(
        _EVENT_SQL,
        [
            month,
            budget_usd,
            threshold,
            severity,
            recorded_at,
            spent_usd,
            forecast_usd,
            remaining_pct,
            strategy,
            reason,
            alerted,
            alert_channels,
            run_id,
        ],
    )


def month_events(conn: duckdb.DuckDBPyConnection, month: str) -> list[dict[str, Any]]:
    """The month's threshold events, oldest first."""
    return dict_rows(
        conn.execute(
            "SELECT threshold, severity, recorded_at, spent_usd, forecast_usd, strategy, alerted, alert_channels "
            "FROM budget_events WHERE month = ? ORDER BY recorded_at, threshold",
            [month],
        )
    )


def monthly_spend(conn: duckdb.DuckDBPyConnection, months: int = 12) -> list[dict[str, Any]]:
    """Cost and call count per UTC month, newest first, the last ``months`` months with calls."""
    return dict_rows(
        conn.execute(
            "SELECT strftime(timezone('UTC', called_at), '%Y-%m') AS month, round(sum(cost_usd), 4) AS cost_usd, "
            "count(*) AS calls FROM llm_calls GROUP BY month ORDER BY month DESC LIMIT ?",
            [months],
        )
    )


def spend_totals(conn: duckdb.DuckDBPyConnection) -> tuple[Any, Any, int]:
    """All-time LLM spend, the part spent on content pieces, and the number of pieces."""
    row = conn.execute(
        "SELECT coalesce(sum(cost_usd), 0), coalesce(sum(cost_usd) FILTER (WHERE piece_id IS NOT NULL), 0), "
        "(SELECT count(*) FROM content_pieces) FROM llm_calls"
    ).fetchone()
    return (row[0], row[1], row[2]) if row else (0, 0, 0)


def last_ledger_seq(conn: duckdb.DuckDBPyConnection) -> int:
    """The ledger sequence number of the newest LLM call (0 when there is none)."""
    row = conn.execute("SELECT coalesce(max(ledger_seq), 0) FROM llm_calls").fetchone()
    return int((row or (0,))[0])


def waiting_batches(store: Warehouse, limit: int) -> list[dict[str, Any]]:
    """Provider batches submitted and not yet collected, oldest first (at most ``limit``)."""
    return store.query(
        "SELECT batch_id, provider, campaign_id FROM llm_batches WHERE status = 'submitted' "
        "ORDER BY submitted_at LIMIT ?",
        [limit],
    )


def record_status(conn: duckdb.DuckDBPyConnection, row: dict[str, Any]) -> None:
    """One evaluation of the month's budget (``budget_status`` keeps every one)."""
    insert_dicts(conn, "budget_status", [row])
