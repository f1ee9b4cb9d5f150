"""When each approved piece goes out (``publishing_schedule``, per campaign) and the publishing step
(``publications``) that sends what is due. Domain logic: ``splants_dagster/publishing/scheduling.py`` and
``splants_dagster/publishing/``."""

import datetime as dt

import dagster as dg
from pydantic import Field

from splants_dagster.defs.campaigns.brief_state import set_status, stored_brief
from splants_dagster.defs.partitions import CAMPAIGN_SCOPE, campaign_partitions
from splants_dagster.defs.publishing.metadata import (
    schedule_check_results,
    schedule_metadata,
    schedule_summary,
)
from splants_dagster.defs.publishing.resources import PublishingResource
from splants_dagster.defs.resources import ProjectResource, WarehouseResource
from splants_dagster.display import md_table
from splants_dagster.publishing import planning
from splants_dagster.publishing.review import PublishingConfigError
from splants_dagster.publishing.scheduling import (
    SchedulePolicy,
    build_schedule,
    rule_violations,
)
from splants_dagster.warehouse.queries import publishing as publishing_queries
from splants_dagster.warehouse.queries import qa as qa_queries

SCHEDULE_CHECKS = [
    dg.AssetCheckSpec(
        "pieces_scheduled",
        asset="publishing_schedule",
        description="Every publishable piece (and sequential-test variant) has a slot inside the campaign window.",
    ),
    dg.AssetCheckSpec(
        "spacing_caps_pillar_first",
        asset="publishing_schedule",
        description="No two posts on one channel closer than its minimum gap, daily caps held, pillar first.",
    ),
]


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
    """A publish time for every approved piece inside the campaign window, in the brand's timezone (A/B
    variants: inside their email's platform split, as alternates, or in turn with ``sequential_test``): best slots learned from the account's engagement history where there is enough,
    the SPLANTS prior otherwise; spacing and daily caps per channel (across campaigns); pillar first.
    Pieces already sent keep their time; a slot a person chose in the desk (``slot_source`` ``manual``)
    is kept while those rules allow it, else the piece is placed again and the asset says why."""
    campaign_id = context.partition_key
    store = warehouse.store()
    brief = stored_brief(store, campaign_id)
    brand = project.brand()
    decided = qa_queries.decision_count(store, campaign_id)
    if not decided:
        raise dg.Failure(f"campaign {campaign_id!r} has no QA decisions yet: materialize qa_report first")
    inputs = planning.load_inputs(store, campaign_id, brief)
    policy = SchedulePolicy()
    now = dt.datetime.now(dt.UTC)
    with store.write() as conn:
        # a person's slots are read under the write lock: a desk move made while this run planned is kept
        inputs = planning.with_manual(inputs, publishing_queries.manual_slots(conn, campaign_id))
        result = build_schedule(
            inputs.items,
            brief.start_date,
            brief.duration_days,
            brand.timezone,
            inputs.history,
            policy,
            seed=campaign_id,
            preferences=inputs.preferences,
            demo_campaign=brief.demo,
        )
        own = inputs.own
        slots = [s for s in result.slots if s.piece_id in own]
        rows = planning.schedule_rows(slots, campaign_id, now, inputs.designs)
        added = planning.write_schedule(conn, campaign_id, rows, now)
        set_status(conn, campaign_id, "scheduled")

    unscheduled = [
        {"piece": i.piece_id, "problem": why} for i, why in result.unscheduled if i.piece_id in own
    ]
    manual = planning.manual_outcomes(result, inputs, brand.timezone)
    for warning in planning.manual_warnings(manual[1]):
        context.log.warning(warning)
    history_note = planning.history_note(inputs.history)
    context.log.info(schedule_summary(campaign_id, slots, rows, len(unscheduled), history_note))
    return dg.MaterializeResult(
        metadata=schedule_metadata(
            result,
            slots,
            rows,
            inputs,
            unscheduled=len(unscheduled),
            added=added,
            history_note=history_note,
            brief=brief,
            timezone=brand.timezone,
            manual=manual,
        ),
        check_results=schedule_check_results(unscheduled, rule_violations(result.slots, policy)),
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
    no credentials); an item for a real platform waits (``pending_review``) until a person approves its
    text, unless its channel is ``auto`` in publishing.yaml. Exactly once where the platform allows a lookup and at most once everywhere; a 429 or
    5xx delays only that item. Also delivers queued ``content.published`` webhooks."""
    store = warehouse.store()
    brand = project.brand()
    try:
        report = publishing.run(
            store,
            brand.timezone,
            campaign=config.campaign,
            force_now=config.now,
            dry_run=config.dry_run,
            run_id=context.run.run_id,
            log=_logger(context),
        )
    except PublishingConfigError as err:
        raise dg.Failure(f"bad publishing config: {err}") from None
    review = publishing_queries.needing_review(store)
    totals = publishing_queries.status_totals(store)
    counts = report.counts
    return dg.MaterializeResult(
        metadata={
            "published": dg.MetadataValue.int(counts.get("published", 0)),
            "reconciled": dg.MetadataValue.int(counts.get("reconciled", 0)),
            "retry_later": dg.MetadataValue.int(counts.get("retry_later", 0)),
            "needs_review": dg.MetadataValue.int(len(review)),
            "dry_run": dg.MetadataValue.int(counts.get("dry_run", 0)),
            # waiting for a person's approval (or held: template text, rejected, blog variant)
            "held": dg.MetadataValue.int(counts.get("held", 0)),
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
