"""What the cost policy and reports read from the LLM call ledger (``core.llm_calls``) and the budget
tables. Every figure is real usage × prices as recorded per call: nothing here estimates a cost.

Functions take an open DuckDB connection with ``USE core`` (a write session, or a read session on the
analysts' snapshot) so callers choose freshness and locking.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

import duckdb

from splants_dagster.costs.config import BudgetConfig
from splants_dagster.costs.policy import BudgetStatus, compute_status, month_start
from splants_dagster.llm.pricing import ModelsConfig
from splants_dagster.warehouse.store import dict_rows, scalar

UTC_DAY = "CAST(timezone('UTC', called_at) AS DATE)"


def rows(conn: duckdb.DuckDBPyConnection, sql: str, params: Sequence[Any] = ()) -> list[dict[str, Any]]:
    return dict_rows(conn.execute(sql, list(params)))


def daily_spend(conn: duckdb.DuckDBPyConnection, since: dt.datetime) -> dict[dt.date, float]:
    """USD per UTC day of calls made at or after ``since``."""
    found = conn.execute(
        f"SELECT {UTC_DAY} AS day, sum(coalesce(cost_usd, 0)) FROM llm_calls WHERE called_at >= ? GROUP BY day",
        [since],
    ).fetchall()
    return {day: float(usd) for day, usd in found}


def month_status(conn: duckdb.DuckDBPyConnection, now: dt.datetime, config: BudgetConfig) -> BudgetStatus:
    """This month's budget status at ``now``, from the ledger's spend per UTC day."""
    daily = daily_spend(conn, month_start(now))
    return compute_status(daily, now, config.monthly_budget_usd, config.rate_window_days)


def spend_since(conn: duckdb.DuckDBPyConnection, after_seq: int) -> tuple[int, dict[dt.date, float]]:
    """Ledger rows ingested after ``after_seq`` (``ledger_seq`` grows with every ingested row): the new
    highest sequence number and their USD per UTC day. Reads only the new rows."""
    found = conn.execute(
        f"SELECT {UTC_DAY} AS day, sum(coalesce(cost_usd, 0)), max(ledger_seq) FROM llm_calls "
        "WHERE ledger_seq > ? GROUP BY day",
        [after_seq],
    ).fetchall()
    top = max((int(s) for _, _, s in found), default=after_seq)
    return top, {day: float(usd) for day, usd, _ in found}


def campaign_spend(conn: duckdb.DuckDBPyConnection, campaign_id: str) -> float:
    return float(
        scalar(conn, "SELECT coalesce(sum(cost_usd), 0) FROM llm_calls WHERE campaign_id = ?", [campaign_id])
    )


def latest_status(conn: duckdb.DuckDBPyConnection, month: str | None = None) -> dict[str, Any] | None:
    """The last recorded budget status (of ``month`` if given)."""
    where, params = ("WHERE month = ?", [month]) if month else ("", [])
    found = rows(conn, f"SELECT * FROM budget_status {where} ORDER BY as_of DESC, rowid DESC LIMIT 1", params)
    return found[0] if found else None


def alerted_thresholds(conn: duckdb.DuckDBPyConnection, month: str, budget_usd: float) -> set[str]:
    found = conn.execute(
        "SELECT threshold FROM budget_events WHERE month = ? AND budget_usd = ? AND alerted",
        [month, budget_usd],
    ).fetchall()
    return {t for (t,) in found}


def recorded_thresholds(conn: duckdb.DuckDBPyConnection, month: str, budget_usd: float) -> set[str]:
    found = conn.execute(
        "SELECT threshold FROM budget_events WHERE month = ? AND budget_usd = ?", [month, budget_usd]
    ).fetchall()
    return {t for (t,) in found}


# ------------------------------------------------------------------------------------------ breakdowns


def cost_by_campaign(conn: duckdb.DuckDBPyConnection) -> list[dict[str, Any]]:
    return rows(
        conn,
        """
        WITH spend AS (
            SELECT campaign_id, count(*) AS calls, sum(cost_usd) AS cost_usd,
                   count(*) FILTER (WHERE cached) AS cache_hits
            FROM llm_calls WHERE campaign_id IS NOT NULL GROUP BY campaign_id
        ), made AS (
            SELECT campaign_id, count(*) AS pieces FROM content_pieces GROUP BY campaign_id
        )
        SELECT s.campaign_id, s.calls, round(s.cost_usd, 6) AS cost_usd, s.cache_hits,
               coalesce(m.pieces, 0) AS pieces,
               CASE WHEN coalesce(m.pieces, 0) > 0 THEN round(s.cost_usd / m.pieces, 6) END AS cost_per_piece
        FROM spend s LEFT JOIN made m USING (campaign_id)
        ORDER BY s.cost_usd DESC, s.campaign_id
        """,
    )


def cost_by_content_type(conn: duckdb.DuckDBPyConnection) -> list[dict[str, Any]]:
    return rows(
        conn,
        """
        WITH per_piece AS (
            SELECT piece_id, sum(cost_usd) AS cost_usd, count(*) AS calls FROM llm_calls
            WHERE piece_id IS NOT NULL GROUP BY piece_id
        )
        SELECT p.content_type, count(*) AS pieces, sum(coalesce(c.calls, 0)) AS calls,
               round(sum(coalesce(c.cost_usd, 0)), 6) AS cost_usd,
               round(avg(coalesce(c.cost_usd, 0)), 6) AS cost_per_piece
        FROM content_pieces p LEFT JOIN per_piece c USING (piece_id)
        GROUP BY p.content_type ORDER BY cost_usd DESC, p.content_type
        """,
    )


def cost_by_model(conn: duckdb.DuckDBPyConnection) -> list[dict[str, Any]]:
    return rows(
        conn,
        """
        SELECT provider, model, count(*) AS calls,
               sum(coalesce(prompt_tokens, 0) + coalesce(completion_tokens, 0)) AS tokens,
               sum(coalesce(cached_tokens, 0)) AS cached_tokens,
               round(sum(coalesce(cost_usd, 0)), 6) AS cost_usd,
               count(*) FILTER (WHERE cached) AS cache_hits,
               count(*) FILTER (WHERE status <> 'ok') AS failed_attempts
        FROM llm_calls GROUP BY provider, model ORDER BY cost_usd DESC, provider, model
        """,
    )


def costliest_pieces(conn: duckdb.DuckDBPyConnection, limit: int = 15) -> list[dict[str, Any]]:
    return rows(
        conn,
        """
        SELECT l.piece_id, any_value(l.campaign_id) AS campaign_id, any_value(p.content_type) AS content_type,
               count(*) AS calls, round(sum(coalesce(l.cost_usd, 0)), 6) AS cost_usd,
               string_agg(DISTINCT l.model, ', ') AS models
        FROM llm_calls l LEFT JOIN content_pieces p USING (piece_id)
        WHERE l.piece_id IS NOT NULL GROUP BY l.piece_id ORDER BY cost_usd DESC, l.piece_id LIMIT ?
        """,
        [limit],
    )


def response_cache_savings(conn: duckdb.DuckDBPyConnection) -> float:
    """What the replies served from the response cache cost when they were first generated (the cache
    entry keeps the original call's cost); the latest entry per piece, purpose and model is used."""
    found = scalar(
        conn,
        """
        WITH entry AS (
            SELECT campaign_id, piece_id, purpose, provider, model, arg_max(cost_usd, created_at) AS cost_usd
            FROM llm_cache GROUP BY ALL
        )
        SELECT coalesce(sum(e.cost_usd), 0) FROM llm_calls l JOIN entry e
          ON l.provider = e.provider AND l.model = e.model AND l.purpose = e.purpose
         AND l.campaign_id IS NOT DISTINCT FROM e.campaign_id AND l.piece_id IS NOT DISTINCT FROM e.piece_id
        WHERE l.cached
        """,
    )
    return float(found)


def prompt_cache_savings(conn: duckdb.DuckDBPyConnection, models: ModelsConfig) -> float:
    """Prompt-cache reads billed at the cached rate instead of the input rate."""
    total = 0.0
    for model, cached in conn.execute(
        "SELECT model, sum(cached_tokens) FROM llm_calls WHERE NOT cached AND cached_tokens > 0 GROUP BY model"
    ).fetchall():
        price = models.price_of(model)
        if price is not None and price.cached_input is not None:
            total += cached * (price.input - price.cached_input) / 1_000_000
    return total


def batch_savings(conn: duckdb.DuckDBPyConnection, price_factor: float) -> float:
    """Batch calls are billed at ``price_factor`` × the price; what the same calls would have cost more."""
    found = scalar(
        conn, "SELECT coalesce(sum(l.cost_usd), 0) FROM llm_calls l JOIN llm_batch_calls b USING (call_id)"
    )
    return float(found) * (1 / price_factor - 1)
