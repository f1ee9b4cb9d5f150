"""The performance model's tables: the training set, model runs, predictions; and what tells a retrain is due."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any

import duckdb

from splants_dagster.warehouse.queries import snapshot_query
from splants_dagster.warehouse.store import Warehouse, replace_frame, replace_rows

if TYPE_CHECKING:
    import pandas as pd


def replace_training_set(conn: duckdb.DuckDBPyConnection, rows: pd.DataFrame) -> None:
    replace_frame(conn, "ml_training_set", "true", [], rows)


def replace_model_run(conn: duckdb.DuckDBPyConnection, model_version: str, row: dict[str, Any]) -> None:
    replace_rows(conn, "ml_model_runs", "model_version = ?", [model_version], [row])


def replace_predictions(
    conn: duckdb.DuckDBPyConnection, campaign_id: str, pieces: pd.DataFrame, slots: pd.DataFrame
) -> None:
    """The campaign's piece and slot predictions (empty frames clear them)."""
    replace_frame(conn, "ml_predictions", "campaign_id = ?", [campaign_id], pieces)
    replace_frame(conn, "ml_slot_predictions", "campaign_id = ?", [campaign_id], slots)


def training_set_extent(store: Warehouse) -> dict[str, Any] | None:
    """``through`` (newest publish time) and ``n`` (rows) of the stored training set (None without a snapshot)."""
    rows = snapshot_query(store, "SELECT max(published_at) AS through, count(*) AS n FROM ml_training_set")
    return rows[0] if rows is not None else None


def final_outcomes_since(
    store: Warehouse, final_before: dt.datetime, since: dt.datetime | None
) -> dict[str, Any]:
    """``n`` (pieces) and ``newest`` (publish time) of the posts published after ``since`` (all when None)
    whose outcome is final (published by ``final_before``). Simulated posts count only while there is no
    real engagement (the training set ignores them). Empty figures without a snapshot."""
    rows = snapshot_query(
        store,
        "SELECT count(DISTINCT piece_id) AS n, max(published_at) AS newest FROM engagement_metrics "
        "WHERE published_at IS NOT NULL AND engagement_rate IS NOT NULL AND published_at <= ? "
        "AND (CAST(? AS TIMESTAMPTZ) IS NULL OR published_at > ?) "
        "AND (NOT coalesce(is_demo, false) "
        "     OR NOT EXISTS (SELECT 1 FROM engagement_metrics WHERE NOT coalesce(is_demo, false)))",
        [final_before, since, since],
    )
    return rows[0] if rows else {"n": 0, "newest": None}
