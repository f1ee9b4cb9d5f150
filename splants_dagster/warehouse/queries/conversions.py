"""Conversions and goals: the files imported, and goal progress as ``analytics.goal_progress`` computes it."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from splants_dagster.warehouse.queries import snapshot_query
from splants_dagster.warehouse.store import Warehouse


def goal_progress(store: Warehouse, columns: Sequence[str]) -> list[dict[str, Any]]:
    """``columns`` (and ``is_demo``) of every campaign's goal progress, ordered by the first column."""
    return store.query(f"SELECT {', '.join(columns)}, is_demo FROM analytics.goal_progress ORDER BY 1")


def measured_goal_progress(store: Warehouse) -> list[dict[str, Any]] | None:
    """Progress of every goal with a metric, with its window, pace and ``source_warning``, from the
    analysts' snapshot (None when there is none yet)."""
    return snapshot_query(
        store,
        "SELECT campaign_id, metric, target, actual, pace, forecast, elapsed_fraction, window_start, window_end, "
        "days_elapsed, window_days, status, is_demo, source_warning FROM analytics.goal_progress "
        "WHERE metric IS NOT NULL",
    )


def loaded_file_versions(store: Warehouse) -> dict[str, int]:
    """``{source_file: mtime_ns}`` of the conversion files already imported (empty without a snapshot)."""
    rows = snapshot_query(store, "SELECT source_file, mtime_ns FROM conversion_file_loads") or []
    return {r["source_file"]: r["mtime_ns"] for r in rows}
