"""When each approved piece goes out (``publishing_schedule``, per campaign) and the publishing step
(``publications``) that sends what is due. Domain logic: ``splants_dagster/scheduling.py`` and
``splants_dagster/publishing/``."""

import datetime as dt
from collections import Counter

import dagster as dg
from pydantic import Field

from splants_dagster.defs.campaigns.common import set_status, stored_brief
from splants_dagster.defs.partitions import CAMPAIGN_SCOPE, campaign_partitions
from splants_dagster.defs.publishing.resources import PublishingResource
from splants_dagster.defs.resources import ProjectResource, WarehouseResource
from splants_dagster.publishing import state
from splants_dagster.report import md_table
from splants_dagster.scheduling import (
    ScheduleItem,
    SchedulePolicy,
    build_schedule,
    calendar_markdown,
    rule_violations,
)
from splants_dagster.warehouse.store import replace_rows

SCHEDULE_CHECKS = [
    dg.AssetCheckSpec(
        "pieces_scheduled",
        asset="publishing_schedule",
        description="Every publishable piece (and variant) has a slot inside the campaign window.",
    ),
    dg.AssetCheckSpec(
        "spacing_caps_pillar_first",
        asset="publishing_schedule",
        description="No two posts on one channel closer than its minimum gap, daily caps held, pillar first.",
    ),
]

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


@dg.asset(
    group_name="publishing",
    kinds={"python", "duckdb"},
    partitions_def=campaign_partitions,
    deps=["content_suite", "qa_report", "content_predictions"],
    pool="duckdb_write",
    tags=CAMPAIGN_SCOPE,
    check_specs=SCHEDULE_CHECKS,
)
def publishing_schedule(
    context: dg.AssetExecutionContext, project: ProjectResource, warehouse: WarehouseResource
) -> dg.MaterializeResult:
    """A publish time for every approved piece (and its A/B variants) inside the campaign window, in the
    brand's timezone: best slots learned from the account's engagement history where there is enough,
    the SPLANTS prior otherwise; spacing and daily caps per channel (across campaigns); pillar first.
    Pieces already sent keep their time."""
    campaign_id = context.partition_key
    store = warehouse.store()
    brief = stored_brief(store, campaign_id)
    brand = project.brand()
    decided = store.query("SELECT count(*) AS n FROM qa_status WHERE campaign_id = ?", [campaign_id])[0]["n"]
    if not decided:
        raise dg.Failure(f"campaign {campaign_id!r} has no QA decisions yet: materialize qa_report first")
    pieces = store.query(
        f"""SELECT c.piece_id, c.platform, c.content_type, c.is_pillar, c.variant_of
            FROM content_pieces c WHERE c.campaign_id = ? AND {state.publishable_sql("c")}
            ORDER BY c.piece_id""",
        [campaign_id],
    )
    if brief.variants == 0:
        pieces = [p for p in pieces if p["variant_of"] is None]
    started = store.query(
        """SELECT p.piece_id, p.platform, c.content_type, c.is_pillar, c.variant_of,
                  coalesce(s.publish_at, p.published_at, p.publish_at) AS at, s.slot_source
           FROM publications p
           LEFT JOIN schedule s ON s.piece_id = p.piece_id AND s.platform = p.platform
           LEFT JOIN content_pieces c ON c.piece_id = p.piece_id
           WHERE p.campaign_id = ? AND (p.status IN ('published', 'in_flight') OR coalesce(p.attempts, 0) > 0
                 OR coalesce(p.needs_review, false))""",
        [campaign_id],
    )
    started_ids = {r["piece_id"] for r in started if r["at"] is not None}
    # other campaigns' slots share the channels: they count for spacing and caps (never for pillar-first)
    window_pad = dt.timedelta(days=3)
    others = store.query(
        "SELECT piece_id, platform, publish_at FROM schedule WHERE campaign_id <> ? AND publish_at BETWEEN ? AND ?",
        [
            campaign_id,
            dt.datetime.combine(brief.start_date, dt.time(0), tzinfo=dt.UTC) - window_pad,
            dt.datetime.combine(brief.end_date, dt.time(0), tzinfo=dt.UTC) + window_pad,
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
        if r["at"] is not None
    ]
    items += [
        ScheduleItem(p["piece_id"], p["platform"], p["content_type"], bool(p["is_pillar"]), p["variant_of"])
        for p in pieces
        if p["piece_id"] not in started_ids
    ]
    items += [ScheduleItem(o["piece_id"], o["platform"], fixed_at=o["publish_at"]) for o in others]
    history = store.query(HISTORY_SQL)
    # the performance model's view of each piece at each weekday × hour breaks ties between equally good
    # slots (no rows when there is no active model)
    preferences: dict[str, dict[tuple[int, int], float]] = {}
    for r in store.query(
        "SELECT piece_id, weekday, hour, predicted_relative FROM ml_slot_predictions WHERE campaign_id = ?",
        [campaign_id],
    ):
        preferences.setdefault(r["piece_id"], {})[(r["weekday"], r["hour"])] = r["predicted_relative"]
    policy = SchedulePolicy()
    result = build_schedule(
        items,
        brief.start_date,
        brief.duration_days,
        brand.timezone,
        history,
        policy,
        seed=campaign_id,
        preferences=preferences,
    )
    own = {i.piece_id for i in items} - {o["piece_id"] for o in others}
    slots = [s for s in result.slots if s.piece_id in own]
    now = dt.datetime.now(dt.UTC)
    rows = [
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
    with store.write() as conn:
        replace_rows(conn, "schedule", "campaign_id = ?", [campaign_id], rows)
        added = state.ensure_pending(conn, rows, now)
        scheduled = [r["piece_id"] for r in rows]
        conn.execute(
            "DELETE FROM publications WHERE campaign_id = ? AND status IN ('pending', 'dry_run')"
            " AND NOT list_contains(?, piece_id)",
            [campaign_id, scheduled],
        )
        set_status(conn, campaign_id, "scheduled")

    unscheduled = [
        {"piece": i.piece_id, "problem": why} for i, why in result.unscheduled if i.piece_id in own
    ]
    violations = rule_violations(result.slots, policy)
    sources = Counter(s.slot_source for s in slots)
    per_platform = Counter(s.platform for s in slots)
    learning = [
        {
            "platform": p,
            "history_posts": g.posts,
            "mode": "learned" if g.learned else "prior only",
            "note": g.note,
        }
        for p, g in sorted(result.grids.items())
    ]
    if not history:
        history_note = "no history: prior only"
    elif all(h["is_demo"] for h in history):
        history_note = f"{len(history)} posts of SIMULATED demo history (no real history yet)"
    else:
        history_note = f"{len(history)} posts in the engagement history"
    context.log.info(
        f"{len(rows)} slots for {campaign_id} ({sources.get('learned', 0)} learned, {sources.get('prior', 0)} prior);"
        f" {len(unscheduled)} unscheduled; {history_note}"
    )
    return dg.MaterializeResult(
        metadata={
            "scheduled": dg.MetadataValue.int(len(rows)),
            "unscheduled": dg.MetadataValue.int(len(unscheduled)),
            "learned_slots": dg.MetadataValue.int(sources.get("learned", 0)),
            "prior_slots": dg.MetadataValue.int(sources.get("prior", 0)),
            "exploration_slots": dg.MetadataValue.int(sum(1 for s in slots if s.exploration)),
            "predicted_tie_breaks": dg.MetadataValue.int(sum(1 for s in slots if s.tie_break)),
            "history_posts": dg.MetadataValue.int(len(history)),
            "history": history_note,
            "slot_notes": dg.MetadataValue.md("\n".join(f"- {n}" for n in result.notes)),
            "slot_learning": dg.MetadataValue.md(
                md_table(learning, ["platform", "history_posts", "mode", "note"])
            ),
            "per_platform": dg.MetadataValue.json(dict(per_platform)),
            "new_pending_publications": dg.MetadataValue.int(added),
            "timezone": brand.timezone,
            "window": f"{brief.start_date} to {brief.end_date} (exclusive), {brand.timezone}",
            "first_slot": slots[0].local.isoformat() if slots else "",
            "last_slot": slots[-1].local.isoformat() if slots else "",
            "calendar": dg.MetadataValue.md(calendar_markdown(slots)),
        },
        check_results=[
            dg.AssetCheckResult(
                check_name="pieces_scheduled",
                passed=not unscheduled,
                severity=dg.AssetCheckSeverity.WARN,
                metadata={"unscheduled": dg.MetadataValue.md(md_table(unscheduled, ["piece", "problem"]))},
            ),
            dg.AssetCheckResult(
                check_name="spacing_caps_pillar_first",
                passed=not violations,
                metadata={"problems": dg.MetadataValue.md(md_table(violations, ["piece", "problem"]))},
            ),
        ],
    )


class PublishConfig(dg.Config):
    campaign: str | None = Field(default=None, description="only this campaign id")
    now: bool = Field(default=False, description="treat every approved, unpublished item as due")
    dry_run: bool = Field(default=False, description="record and log what would be sent; send nothing")


def _logger(context: dg.AssetExecutionContext):
    def log(level: str, message: str) -> None:
        getattr(context.log, level if level in ("info", "warning", "error", "debug") else "info")(message)

    return log


@dg.asset(
    group_name="publishing",
    kinds={"python", "duckdb"},
    deps=["publishing_schedule"],
    # not duckdb_write: the step holds no warehouse session during network calls (each state change is
    # its own short write session), and its own pool keeps publishers to one at a time
    pool="publishing",
    check_specs=[
        dg.AssetCheckSpec(
            "no_items_need_review",
            asset="publications",
            description="No publication is waiting for a person (unknown outcome, refusal, too many attempts).",
        )
    ],
)
def publications(
    context: dg.AssetExecutionContext,
    config: PublishConfig,
    project: ProjectResource,
    warehouse: WarehouseResource,
    publishing: PublishingResource,
) -> dg.MaterializeResult:
    """Publishes every due, approved item through its platform's publisher (the outbox when a platform has
    no credentials), exactly once where the platform allows a lookup and at most once everywhere; a 429 or
    5xx delays only that item. Also delivers queued ``content.published`` webhooks."""
    store = warehouse.store()
    brand = project.brand()
    report = publishing.run(
        store,
        brand.timezone,
        campaign=config.campaign,
        force_now=config.now,
        dry_run=config.dry_run,
        run_id=context.run.run_id,
        log=_logger(context),
    )
    review = store.query(
        "SELECT piece_id, platform, publisher, last_error FROM publications WHERE needs_review"
        " UNION ALL SELECT piece_id, platform, publisher, 're-promotion: ' || coalesce(last_error, '')"
        " FROM boost_publications"
        " WHERE needs_review ORDER BY piece_id"
    )
    totals = store.query("SELECT status, count(*) AS n FROM publications GROUP BY status ORDER BY status")
    counts = report.counts
    return dg.MaterializeResult(
        metadata={
            "published": dg.MetadataValue.int(counts.get("published", 0)),
            "reconciled": dg.MetadataValue.int(counts.get("reconciled", 0)),
            "retry_later": dg.MetadataValue.int(counts.get("retry_later", 0)),
            "needs_review": dg.MetadataValue.int(len(review)),
            "dry_run": dg.MetadataValue.int(counts.get("dry_run", 0)),
            "mode": "dry run"
            if config.dry_run
            else ("now (every approved item)" if config.now else "due items"),
            "skipped": report.skipped_reason or "",
            "items": dg.MetadataValue.md(
                md_table(
                    report.rows(),
                    ["piece_id", "platform", "publisher", "outcome", "url", "error", "retry_at"],
                )
            ),
            "publishers": dg.MetadataValue.md(md_table(report.publishers, ["platform", "publisher", "note"])),
            "webhooks": report.webhook_note,
            "webhook_deliveries": dg.MetadataValue.json(dict(report.webhooks)),
            "status_totals": dg.MetadataValue.json({r["status"]: r["n"] for r in totals}),
        },
        check_results=[
            dg.AssetCheckResult(
                check_name="no_items_need_review",
                passed=not review,
                severity=dg.AssetCheckSeverity.WARN,
                metadata={
                    "items": dg.MetadataValue.md(
                        md_table(review, ["piece_id", "platform", "publisher", "last_error"])
                    )
                },
            )
        ],
    )
