"""What insights read from and write to the warehouse: the posts with outcomes (the predictor's
training rows, so the trailing baseline is the predictor's), conversions per click where conversions
have been imported, and the stored insights a campaign's content suite may use. No Dagster imports."""

from __future__ import annotations

from typing import Any

import duckdb
import pandas as pd

from splants_dagster.insights.analysis import COLUMNS, Insight, compute_insights
from splants_dagster.insights.guidance import usable
from splants_dagster.ml.data import build_training_data
from splants_dagster.warehouse.store import Warehouse, replace_rows

# conversions per click of each piece (analytics.piece_conversions: the conversions import's view)
CONVERSIONS_SQL = """
SELECT piece_id, conversions / clicks AS conversion_rate, is_demo
FROM main.piece_conversions
WHERE clicks > 0
"""


def conversion_outcomes(store: Warehouse) -> pd.DataFrame | None:
    """Conversions per click per piece, or None when this install has no conversions view."""
    try:
        with store.read() as conn:
            return conn.execute(CONVERSIONS_SQL).df()
    except duckdb.CatalogException:
        return None


def build_insights(
    store: Warehouse, brand: str, tz: str, *, now: pd.Timestamp | None = None, window: int = 20
) -> tuple[list[Insight], int]:
    """The insights from every post with a final outcome, and how many posts that was."""
    posts = build_training_data(store, tz, window=window).rows
    found = compute_insights(posts, brand, conversions=conversion_outcomes(store), now=now)
    return found, len(posts)


def write_insights(conn: duckdb.DuckDBPyConnection, insights: list[Insight]) -> int:
    """Replace every stored insight (each run re-learns from the whole history)."""
    return replace_rows(conn, "content_insights", "true", [], [i.row() for i in insights])


def stored_insights(store: Warehouse) -> list[dict[str, Any]]:
    with store.read() as conn:
        frame = conn.execute(f"SELECT {', '.join(COLUMNS)} FROM content_insights").df()
    return [{str(k): v for k, v in row.items()} for row in frame.to_dict("records")]


def campaign_insights(store: Warehouse, *, demo_campaign: bool) -> list[dict[str, Any]]:
    """The supported insights this campaign may use (a real campaign: none learned from demo data)."""
    return usable(stored_insights(store), demo_campaign=demo_campaign)
