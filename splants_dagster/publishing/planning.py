"""What ``publishing_schedule`` reads and writes around the scheduler (``scheduling.py``): a campaign's
publishable pieces, the slots already fixed (a piece sent, in flight or waiting for review keeps its
time; other campaigns' slots share the channels, so they count for spacing and caps), the slots a person
chose in the desk (``slot_source = 'manual'``, kept while the rules allow them), the engagement history
and the predictor's slot preferences; then the schedule rows and their pending publications.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo

import duckdb

from splants_dagster.campaigns.briefs import CampaignBrief
from splants_dagster.publishing import state
from splants_dagster.publishing.scheduling import MANUAL, ScheduleItem, ScheduleResult, Slot
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
    # A/B design per scheduled piece (platform_split | sequential); pieces not listed are ordinary
    designs: dict[str, str] = field(default_factory=dict)
    # variants not scheduled as publications of their own (see :func:`ab_plan`)
    alternates: list[dict[str, Any]] = field(default_factory=list)
    # manual slots of pieces that are no longer scheduled (``piece``, ``platform``, ``manual_at``, ``why``)
    manual_dropped: list[dict[str, Any]] = field(default_factory=list)

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
    pieces, designs, alternates = ab_plan(pieces, brief.sequential_test)
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
    for r in started:  # a version already out keeps its design (older schedules had none)
        if r["piece_id"] not in designs and (r["variant_of"] or r["piece_id"]) in designs:
            designs[r["piece_id"]] = "sequential"
    return ScheduleInputs(
        items,
        {o["piece_id"] for o in others},
        store.query(HISTORY_SQL),
        preferences,
        designs,
        [a for a in alternates if a["piece_id"] not in started_ids],
    )


def with_manual(inputs: ScheduleInputs, manual: Mapping[str, tuple[str, dt.datetime]]) -> ScheduleInputs:
    """``inputs`` with the slots a person chose (``{piece_id: (platform, publish_at)}``, the campaign's
    ``manual`` schedule rows): each piece still to place keeps its slot as ``manual_at`` (the scheduler
    checks it against the rules); a piece already out keeps its time anyway. A manual slot of a piece no
    longer scheduled (not publishable any more, or now an A/B alternate) is listed in ``manual_dropped``."""
    own = inputs.own
    items = []
    placing: set[str] = set()
    for item in inputs.items:
        found = manual.get(item.piece_id)
        if item.piece_id in own and item.fixed_at is None and found and found[0] == item.platform:
            item = dataclasses.replace(item, manual_at=found[1])
            placing.add(item.piece_id)
        items.append(item)
    out = {i.piece_id for i in inputs.items if i.fixed_at is not None}
    alternates = {a["piece_id"]: a["kept_as"] for a in inputs.alternates}
    dropped = [
        {
            "piece": pid,
            "platform": platform,
            "manual_at": at,
            "why": f"it is now an A/B {alternates[pid]}"
            if pid in alternates
            else "it is no longer publishable (QA or a person rejected it, or it is gone)",
        }
        for pid, (platform, at) in sorted(manual.items())
        if pid not in placing and pid not in out
    ]
    return dataclasses.replace(inputs, items=items, manual_dropped=dropped)


def manual_outcomes(
    result: ScheduleResult, inputs: ScheduleInputs, timezone: str
) -> tuple[int, list[dict[str, Any]]]:
    """How many manual slots the schedule kept, and one row per manual slot it did not keep: ``piece``,
    ``manual_slot`` (brand clock), ``rule`` (why not) and ``now`` (its new slot, or why it has none)."""
    zone = ZoneInfo(timezone)
    own = inputs.own
    slots = {s.piece_id: s for s in result.slots}
    unscheduled = {i.piece_id: why for i, why in result.unscheduled}
    kept = sum(1 for s in result.slots if s.piece_id in own and s.slot_source == MANUAL and not s.fixed)

    def local(at: Any) -> str:
        return f"{at.astimezone(zone):%Y-%m-%d %H:%M}"

    rows = []
    for item, why in result.manual_replaced:
        new = slots.get(item.piece_id)
        now = local(new.publish_at) if new else f"unscheduled: {unscheduled.get(item.piece_id, '')}"
        rows.append({"piece": item.piece_id, "manual_slot": local(item.manual_at), "rule": why, "now": now})
    for d in inputs.manual_dropped:
        rows.append(
            {
                "piece": d["piece"],
                "manual_slot": local(d["manual_at"]),
                "rule": d["why"],
                "now": "not scheduled",
            }
        )
    return kept, rows


def manual_warnings(rows: Iterable[Mapping[str, Any]]) -> list[str]:
    """One log line per manual slot not kept, naming the piece, the old slot, the rule and the new slot."""
    return [
        f"manual slot not kept: {r['piece']} was moved by a person to {r['manual_slot']}, but {r['rule']};"
        f" now {r['now']}"
        for r in rows
    ]


def ab_plan(
    pieces: list[dict[str, Any]], sequential_test: bool
) -> tuple[list[dict[str, Any]], dict[str, str], list[dict[str, Any]]]:
    """Which versions of a piece become publications. A/B variants are published only where the
    platform splits the audience itself: an email piece is ONE publication carrying its variants
    (``platform_split``: a Mailchimp variate campaign, a HubSpot A/B email). A blog or social variant is
    kept as an alternate (never a second post to the same audience), unless the brief opts into
    ``sequential_test``: then each version is scheduled in turn, on different days (``sequential``).

    Returns the pieces to schedule, the design per scheduled piece, and the alternates."""
    publishable = {p["piece_id"] for p in pieces}
    with_variants = {p["variant_of"] for p in pieces if p["variant_of"] in publishable}
    keep: list[dict[str, Any]] = []
    designs: dict[str, str] = {}
    alternates: list[dict[str, Any]] = []
    for p in pieces:
        pid, control = p["piece_id"], p["variant_of"]
        split = p["platform"] == "email"
        if control is None:
            keep.append(p)
            if pid in with_variants and (split or sequential_test):
                designs[pid] = "platform_split" if split else "sequential"
            continue
        if control not in publishable:  # no control to test against: nothing to publish
            alternates.append({**_alt(p), "kept_as": "alternate (its original is not publishable)"})
        elif split:
            alternates.append({**_alt(p), "kept_as": "platform_split (sent inside its original's A/B email)"})
        elif sequential_test:
            keep.append(p)
            designs[pid] = "sequential"
        else:
            alternates.append(
                {**_alt(p), "kept_as": "alternate (not published: no audience split on this channel)"}
            )
    return keep, designs, alternates


def _alt(p: dict[str, Any]) -> dict[str, Any]:
    return {"piece_id": p["piece_id"], "platform": p["platform"], "variant_of": p["variant_of"]}


def schedule_rows(
    slots: Iterable[Slot], campaign_id: str, now: dt.datetime, designs: Mapping[str, str] | None = None
) -> list[dict[str, Any]]:
    designs = designs or {}
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
            "ab_design": designs.get(s.piece_id),
        }
        for s in slots
    ]


def write_schedule(
    conn: duckdb.DuckDBPyConnection, campaign_id: str, rows: list[dict[str, Any]], now: dt.datetime
) -> int:
    """The campaign's schedule becomes ``rows``; each scheduled piece gets a pending publication, and one
    no longer scheduled that nothing was sent for (pending, dry run, held before any call) is dropped. Returns the publications added."""
    replace_rows(conn, "schedule", "campaign_id = ?", [campaign_id], rows)
    added = state.ensure_pending(conn, rows, now)
    conn.execute(
        "DELETE FROM publications WHERE campaign_id = ? AND NOT list_contains(?, piece_id)"
        " AND (status IN ('pending', 'dry_run')"
        # held before any call (e.g. an A/B variant an older schedule gave a slot of its own)
        " OR (status IN ('pending_review', 'held') AND coalesce(attempts, 0) = 0"
        " AND NOT coalesce(needs_review, false)))",
        [campaign_id, [r["piece_id"] for r in rows]],
    )
    return added


def history_note(history: Sequence[Mapping[str, Any]]) -> str:
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
