"""Engagement reads the sensors make on the analysts' snapshot: files loaded, detections after a cursor,
which platforms have real data. (The metric builds and rule inputs are in :mod:`splants_dagster.engagement.sql`.)"""

from __future__ import annotations

from typing import Any

from splants_dagster.warehouse.queries import snapshot_query
from splants_dagster.warehouse.store import Warehouse


def file_loads(store: Warehouse) -> dict[str, dict[str, Any]]:
    """``{source_file: load row}`` of the engagement files imported, with ``needs_build`` when its events
    were not built since it was loaded (empty without a snapshot)."""
    rows = snapshot_query(
        store,
        "SELECT source_file, mtime_ns, rows_loaded, min_date, max_date, "
        "events_built_at IS NULL OR events_built_at < loaded_at AS needs_build FROM engagement_file_loads",
    )
    return {r["source_file"]: r for r in rows or []}


def anomalies_after(store: Warehouse, seq: int, limit: int) -> list[dict[str, Any]] | None:
    """Anomalies recorded after ``seq``, oldest first (None without a snapshot)."""
    return snapshot_query(
        store,
        "SELECT anomaly_id, seq, date, piece_id, platform, rule, value, baseline, severity, "
        "coalesce(external, false) AS external, campaign_id, coalesce(is_demo, false) AS is_demo "
        "FROM anomalies WHERE seq > ? ORDER BY seq LIMIT ?",
        [seq, limit],
    )


def highlights_after(store: Warehouse, seq: int, limit: int) -> list[dict[str, Any]] | None:
    """Engagement highlights (winning pieces) recorded after ``seq``, oldest first (None without a snapshot)."""
    return snapshot_query(
        store,
        "SELECT highlight_id, seq, date, piece_id, platform, engagement_rate, threshold, "
        "coalesce(external, false) AS external, campaign_id, coalesce(is_demo, false) AS is_demo "
        "FROM engagement_highlights WHERE seq > ? ORDER BY seq LIMIT ?",
        [seq, limit],
    )


def real_platforms(store: Warehouse) -> set[str]:
    """Platforms with any real (not simulated) engagement."""
    rows = snapshot_query(
        store, "SELECT DISTINCT platform FROM engagement_metrics WHERE NOT coalesce(is_demo, false)"
    )
    return {r["platform"] for r in rows or []}


def metric_row_count(store: Warehouse) -> int | None:
    """How many daily metric rows there are (None without a snapshot)."""
    rows = snapshot_query(store, "SELECT count(*) AS n FROM engagement_metrics")
    return int(rows[0]["n"]) if rows else None
