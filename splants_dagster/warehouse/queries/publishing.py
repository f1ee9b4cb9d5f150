"""Publishing reads: publications that need a person, totals by status, review decisions, the next slot,
the slots a person chose."""

from __future__ import annotations

import datetime as dt
from typing import Any

import duckdb

from splants_dagster.warehouse.store import Warehouse, scalar


def needing_review(store: Warehouse) -> list[dict[str, Any]]:
    """Publications and re-promotions whose outcome is unknown (a person must check the platform)."""
    return store.query(
        "SELECT piece_id, platform, publisher, last_error FROM publications WHERE needs_review"
        " UNION ALL SELECT piece_id, platform, publisher, 're-promotion: ' || coalesce(last_error, '')"
        " FROM boost_publications"
        " WHERE needs_review ORDER BY piece_id"
    )


def status_totals(store: Warehouse) -> list[dict[str, Any]]:
    """``status`` and ``n`` of every publication status."""
    return store.query("SELECT status, count(*) AS n FROM publications GROUP BY status ORDER BY status")


def latest_decisions(conn: duckdb.DuckDBPyConnection) -> dict[str, Any]:
    """``{piece_id: time of its latest review decision}``."""
    return dict(conn.execute("SELECT piece_id, max(decided_at) FROM review_decisions GROUP BY 1").fetchall())


def next_unpublished_slot(conn: duckdb.DuckDBPyConnection, now: dt.datetime) -> dt.datetime | None:
    """The earliest scheduled slot after ``now`` not yet published, or None."""
    return scalar(
        conn,
        "SELECT min(s.publish_at) FROM schedule s LEFT JOIN publications p "
        "ON p.piece_id = s.piece_id AND p.platform = s.platform "
        "WHERE s.publish_at > ? AND coalesce(p.status, 'pending') <> 'published'",
        [now],
    )


def manual_slots(conn: duckdb.DuckDBPyConnection, campaign_id: str) -> dict[str, tuple[str, dt.datetime]]:
    """``{piece_id: (platform, publish_at)}`` of the campaign's slots a person chose (the desk's reschedule
    writes ``slot_source = 'manual'``). Read in the write session that rebuilds the schedule, so a move made
    while the rebuild was planning is not lost."""
    rows = conn.execute(
        "SELECT piece_id, platform, publish_at FROM schedule"
        " WHERE campaign_id = ? AND slot_source = 'manual' AND publish_at IS NOT NULL",
        [campaign_id],
    ).fetchall()
    return {piece_id: (platform, at) for piece_id, platform, at in rows}
