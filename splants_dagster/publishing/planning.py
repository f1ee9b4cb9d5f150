"""What ``publishing_schedule`` reads and writes around the scheduler (``scheduling.py``): a campaign's
publishable pieces, the slots already fixed (a piece sent, in flight or waiting for review keeps its
time; other campaigns' slots share the channels, so they count for spacing and caps), the engagement
history and the predictor's slot preferences; then the schedule rows and their pending publications.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import duckdb

from splants_dagster.briefs import CampaignBrief
from splants_dagster.publishing import state
from splants_dagster.scheduling import ScheduleItem, Slot
from splants_dagster.warehouse.store import Warehouse, replace_rows

# one row per post; simulated (is_demo) history is used only while the account has no real history
HISTORY_SQL = """
    WITH posts AS (
        SELECT piece_id, platform, min(published_at) AS published_at, avg(engagement_rate) AS engagement_rate,
               bool_or(coalesce(is_demo, false)) AS is_demo
        FROM engagement_metrics
        WHERE published_at IS NOT NULL AND engagement_rate IS NOT NULL
        GROUP BY piece_id, platform
    )
    SELECT platform, published_at, engagement_rate, is_demo FROM posts
    WHERE NOT is_demo OR NOT EXISTS (SELECT 1 FROM posts WHERE NOT is_demo)
"""
# pieces whose time is no longer ours to choose
STARTED_SQL = """
    SELECT p.piece_id, p.platform, c.content_type, c.is_pillar, c.variant_of,
           coalesce(s.publish_at, p.published_at, p.publish_at) AS at, s.slot_source
    FROM publications p
    LEFT JOIN schedule s ON s.piece_id = p.piece_id AND s.platform = p.platform
    LEFT JOIN content_pieces c ON c.piece_id = p.piece_id
    WHERE p.campaign_id = ? AND (p.status IN ('published', 'in_flight') OR coalesce(p.attempts, 0) > 0
          OR coalesce(p.needs_review, false))
"""
WINDOW_PAD = dt.timedelta(days=3)


@dataclass
class ScheduleInputs:
    """Everything :func:`scheduling.build_schedule` takes from the warehouse for one campaign."""

    items: list[ScheduleItem]
    others: set[str]  # piece ids of other campaigns' slots (fixed, not written back)
    history: list[dict[str, Any]]
    preferences: dict[str, dict[tuple[int, int], float]] = field(default_factory=dict)

    @property
    def own(self) -> set[str]:
        return {i.piece_id for i in self.items} - self.others


def load_inputs(store: Warehouse, campaign_id: str, brief: CampaignBrief) -> ScheduleInputs:
    pieces = store.query(
        f"""SELECT c.piece_id, c.platform, c.content_type, c.is_pillar, c.variant_of
            FROM content_pieces c WHERE c.campaign_id = ? AND {state.publishable_sql("c")}
            ORDER BY c.piece_id""",
        [campaign_id],
    )
    if brief.variants == 0:
        pieces = [p for p in pieces if p["variant_of"] is None]
    started = [r for r in store.query(STARTED_SQL, [campaign_id]) if r["at"] is not None]
    started_ids = {r["piece_id"] for r in started}
    others = store.query(
        "SELECT piece_id, platform, publish_at FROM schedule WHERE campaign_id <> ? AND publish_at BETWEEN ? AND ?",
        [
            campaign_id,
            dt.datetime.combine(brief.start_date, dt.time(0), tzinfo=dt.UTC) - WINDOW_PAD,
            dt.datetime.combine(brief.end_date, dt.time(0), tzinfo=dt.UTC) + WINDOW_PAD,
        ],
    )
    items = [
        ScheduleItem(
            r["piece_id"],
            r["platform"],
            r["content_type"] or "",
            bool(r["is_pillar"]),
            r["variant_of"],
            fixed_at=r["at"],
            fixed_source=r["slot_source"],
        )
        for r in started
    ]
    items += [
        ScheduleItem(p["piece_id"], p["platform"], p["content_type"], bool(p["is_pillar"]), p["variant_of"])
        for p in pieces
        if p["piece_id"] not in started_ids
    ]
    items += [ScheduleItem(o["piece_id"], o["platform"], fixed_at=o["publish_at"]) for o in others]
    # the performance model's view of each piece at each weekday × hour breaks ties between equally good
    # slots (no rows when there is no active model)
    preferences: dict[str, dict[tuple[int, int], float]] = {}
    for r in store.query(
        "SELECT piece_id, weekday, hour, predicted_relative FROM ml_slot_predictions WHERE campaign_id = ?",
        [campaign_id],
    ):
        preferences.setdefault(r["piece_id"], {})[(r["weekday"], r["hour"])] = r["predicted_relative"]
    return ScheduleInputs(items, {o["piece_id"] for o in others}, store.query(HISTORY_SQL), preferences)


def schedule_rows(slots: Iterable[Slot], campaign_id: str, now: dt.datetime) -> list[dict[str, Any]]:
    return [
        {
            "piece_id": s.piece_id,
            "campaign_id": campaign_id,
            "platform": s.platform,
            "content_type": s.content_type,
            "publish_at": s.publish_at,
            "slot_source": s.slot_source,
            "slot_score": s.slot_score,
            "created_at": now,
            "publish_at_local": s.local.isoformat(),
            "exploration": s.exploration,
            "is_pillar": s.is_pillar,
            "variant_of": s.variant_of,
        }
        for s in slots
    ]


def write_schedule(
    conn: duckdb.DuckDBPyConnection, campaign_id: str, rows: list[dict[str, Any]], now: dt.datetime
) -> int:
    """The campaign's schedule becomes ``rows``; each scheduled piece gets a pending publication, and a
    pending (or dry-run) one no longer scheduled is dropped. Returns the publications added."""
    replace_rows(conn, "schedule", "campaign_id = ?", [campaign_id], rows)
    added = state.ensure_pending(conn, rows, now)
    conn.execute(
        "DELETE FROM publications WHERE campaign_id = ? AND status IN ('pending', 'dry_run')"
        " AND NOT list_contains(?, piece_id)",
        [campaign_id, [r["piece_id"] for r in rows]],
    )
    return added


def history_note(history: list[Mapping[str, Any]]) -> str:
    if not history:
        return "no history: prior only"
    if all(h["is_demo"] for h in history):
        return f"{len(history)} posts of SIMULATED demo history (no real history yet)"
    return f"{len(history)} posts in the engagement history"


def learning_rows(grids: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Per platform: how much history its slot grid learned from, or that it uses the prior only."""
    return [
        {
            "platform": p,
            "history_posts": g.posts,
            "mode": "learned" if g.learned else "prior only",
            "note": g.note,
        }
        for p, g in sorted(grids.items())
    ]
