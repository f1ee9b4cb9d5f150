"""Engagement assets: dropped files → raw events (daily partitions) → daily metrics with baselines →
anomalies and highlights; A/B winners; and the runs the monitoring sensors request (boosts, similar
campaigns). Domain logic lives in ``splants_dagster/engagement/``; these functions load, call, write.
"""

import datetime as dt
from collections import Counter

import dagster as dg
from pydantic import Field

from splants_dagster.campaigns.briefs import CampaignBrief
from splants_dagster.defs.engagement.resources import EngagementResource, EngagementSourcesResource
from splants_dagster.defs.engagement.windows import (
    date_window,
    engagement_partitions,
    snapshot_rows,
    trend_markdown,
)
from splants_dagster.defs.resources import ProjectResource, WarehouseResource
from splants_dagster.display import md_table
from splants_dagster.engagement import abtest, actions, imports, measure, rules, sql
from splants_dagster.engagement.presets import PRESETS
from splants_dagster.engagement.rebuild import SIMULATED_PIECES_SQL, EventsBuild

GROUP = "engagement"
SIMULATED_NOTE = (
    "**Simulated demo data**: rows with `is_demo = true` (source `simulator`) come from the seeded demo "
    "simulator, not from any platform. It runs on a fresh install only (`SPLANTS_SIMULATE_ENGAGEMENT=auto`, "
    "until real engagement exists); `splants engagement simulate --clear` removes it."
)
# set by `splants engagement simulate`: simulate in this run even when auto mode would not
SIMULATE_TAG = "splants/simulate"


def _asked_to_simulate(context: dg.AssetExecutionContext) -> bool:
    try:
        return SIMULATE_TAG in context.run.tags
    except dg.DagsterError:  # invoked directly (tests): no run, no tags
        return False


# -------------------------------------------------------------------------------------- file imports


class FileImportConfig(dg.Config):
    files: list[str] = Field(
        default_factory=list,
        description="files under inbox/engagement (relative) or absolute paths; empty: every new or changed file",
    )
    preset: str | None = Field(
        default=None, description="preset for all files (default: folder name, else detected)"
    )


@dg.asset(
    group_name=GROUP,
    kinds={"python", "duckdb"},
    pool="duckdb_write",
)
def engagement_file_imports(
    context: dg.AssetExecutionContext,
    config: FileImportConfig,
    project: ProjectResource,
    warehouse: WarehouseResource,
) -> dg.MaterializeResult:
    """Engagement exports dropped in ``inbox/engagement/`` (CSV/JSON), parsed with their preset and
    validated as they stream (memory bounded by a chunk, not the file): good rows are staged per file
    (``engagement_file_rows``), bad rows go to ``engagement_quarantine`` with line and reason. Each file
    is written on its own: a file with no usable row (or one the warehouse refuses) is recorded and fails
    the step, naming the file, the line and the reason, after every other file is stored. A file not in
    UTF-8 is read as its byte order mark says, else as cp1252, noted in ``encodings``; the day/month order
    of a file's numeric dates (01/02/2024), decided per file, is noted in ``date_orders``. The touched
    dates are rebuilt by ``engagement_events``."""
    inbox = project.paths.engagement_inbox
    store = warehouse.store()
    now = dt.datetime.now(dt.UTC)
    if config.preset and config.preset not in PRESETS:
        raise dg.Failure(f"unknown preset {config.preset!r}: one of {', '.join(PRESETS)}")
    loaded = {r["source_file"]: r for r in (snapshot_rows(store, imports.LOADS_SQL) or [])}
    try:
        targets = imports.files_to_import(inbox, config.files, loaded)
    except FileNotFoundError as err:
        raise dg.Failure(str(err)) from None
    pieces: dict[str, str] = {}
    remote_ids: dict[tuple[str, str], str] = {}
    if targets:
        pieces, remote_ids = imports.known_ids(
            snapshot_rows(store, imports.PIECES_SQL) or [], snapshot_rows(store, imports.REMOTE_IDS_SQL) or []
        )
    batch = imports.parse_files(inbox, targets, config.preset, pieces, remote_ids, now)
    try:
        if batch.files:
            with store.write() as conn:
                batch.write(conn, loaded)
    finally:
        batch.close()
    for _, rejection in batch.rejected:
        context.log.error(f"rejected {rejection}")
    for name, note in batch.encodings.items():
        context.log.warning(f"{name}: {note}")
    for name, order in batch.date_orders.items():
        (context.log.warning if order.warn else context.log.info)(f"{name}: {order.note}")
    metadata = {
        "files": dg.MetadataValue.int(batch.files),
        "files_rejected": dg.MetadataValue.int(len(batch.rejected)),
        "rows_loaded": dg.MetadataValue.int(batch.rows_loaded),
        "rows_quarantined": dg.MetadataValue.int(batch.rows_quarantined),
        "quarantine_reasons": dg.MetadataValue.json(dict(batch.reasons)),
        "encodings": dg.MetadataValue.json(batch.encodings),
        "date_orders": dg.MetadataValue.json({k: v.note for k, v in batch.date_orders.items()}),
        "files_table": dg.MetadataValue.md(md_table(batch.summary(), imports.SUMMARY_COLUMNS)),
        "inbox": dg.MetadataValue.path(str(inbox)),
    }
    if batch.rejected:
        raise dg.Failure(
            description="; ".join(str(err) for _, err in batch.rejected),
            metadata=metadata,
        )
    if not targets:
        context.log.info(f"no new or changed files in {inbox}")
    return dg.MaterializeResult(metadata=metadata)


# --------------------------------------------------------------------------------------------- events


def events_metadata(
    start: dt.date,
    end: dt.date,
    build: EventsBuild,
    by_source: dict[str, int],
    quarantined: int,
    simulator_note: str,
) -> dict[str, dg.MetadataValue | str]:
    """The metadata of a range of event days: rows by source (files, APIs, the simulator), API snapshots and
    errors, rows quarantined, and whether the simulator ran."""
    simulated = int(by_source.get("simulator", 0))
    file_rows = sum(v for k, v in by_source.items() if k.startswith("file:"))
    metadata: dict[str, dg.MetadataValue | str] = {
        "date_range": f"{start}..{end}",
        "rows": dg.MetadataValue.int(int(sum(by_source.values()))),
        "rows_by_source": dg.MetadataValue.json({k: int(v) for k, v in sorted(by_source.items())}),
        "file_rows": dg.MetadataValue.int(int(file_rows)),
        "simulated_rows": dg.MetadataValue.int(simulated),
        "api_snapshots": dg.MetadataValue.int(len(build.measured.rows)),
        "api_errors": dg.MetadataValue.int(len(build.measured.errors)),
        "api": dg.MetadataValue.json(
            build.measured.notes
            or {
                "note": "no published item to measure"
                if build.pulls_today
                else "API pulls only run for today's partition"
            }
        ),
        "quarantined_rows_in_range": dg.MetadataValue.int(int(quarantined)),
        "simulator": simulator_note,
    }
    if simulated:
        metadata["simulated"] = dg.MetadataValue.md(SIMULATED_NOTE)
    return metadata


def api_pulls_check(errors: dict[str, str]) -> dg.AssetCheckResult:
    """Every platform API pull of this run succeeded (warn: the other sources were still written)."""
    return dg.AssetCheckResult(
        check_name="api_pulls_ok",
        passed=not errors,
        severity=dg.AssetCheckSeverity.WARN,
        metadata={
            "errors": dg.MetadataValue.md(
                md_table([{"item": k, "error": v} for k, v in errors.items()], ["item", "error"])
            )
        },
    )


@dg.asset(
    group_name=GROUP,
    kinds={"python", "duckdb"},
    partitions_def=engagement_partitions,
    backfill_policy=dg.BackfillPolicy.single_run(),
    deps=[engagement_file_imports],
    pool="duckdb_write",
    check_specs=[
        dg.AssetCheckSpec(
            "api_pulls_ok",
            asset="engagement_events",
            description="Every published item with a configured platform API could be measured.",
        )
    ],
)
def engagement_events(
    context: dg.AssetExecutionContext,
    engagement: EngagementResource,
    engagement_sources: EngagementSourcesResource,
    warehouse: WarehouseResource,
) -> dg.MaterializeResult:
    """Raw engagement observations per UTC day, from three sources: rows of dropped files for these days
    (staged by ``engagement_file_imports``), running totals of items we published read from the platform
    APIs (only for today's partition: an API reports totals now, not in the past; past days keep their
    snapshots), and the seeded demo simulator (labelled ``is_demo``). Re-materializing a day replaces
    exactly what these sources produce for it; a range runs as one step (backfills)."""
    start, end = date_window(context)
    now = dt.datetime.now(dt.UTC)
    store = warehouse.store()
    published = measure.recent(
        snapshot_rows(store, measure.PUBLISHED_SQL) or [],
        now - dt.timedelta(days=engagement.api_max_age_days),
    )
    build = EventsBuild(start, end, now, published=published)
    if build.pulls_today and published:
        build.measured = measure.measure(
            published, engagement_sources.configured(), engagement_sources.pull, now
        )
    errors = build.measured.errors
    for item, error in list(errors.items())[:20]:
        context.log.warning(f"engagement API: {item}: {error}")
    asked = _asked_to_simulate(context)
    simulate, simulator_note = engagement.simulation(store, asked)
    if simulate and build.measured.rows and not asked and engagement.simulator_mode == "auto":
        simulate, simulator_note = False, "off (auto: real engagement measured in this run)"
    if simulate:
        build.simulate(
            engagement.simulator_impl(),
            dt.date.fromisoformat(engagement.simulator_start),
            snapshot_rows(store, SIMULATED_PIECES_SQL) or [],
        )
    with store.write() as conn:
        sql.session(conn, engagement.memory_limit)
        by_source, quarantined = build.write(conn)
    context.log.info(
        f"engagement_events {start}..{end}: " + ", ".join(f"{k}={v}" for k, v in sorted(by_source.items()))
    )
    return dg.MaterializeResult(
        metadata=events_metadata(start, end, build, by_source, quarantined, simulator_note),
        check_results=[api_pulls_check(errors)],
    )


# -------------------------------------------------------------------------------------------- metrics


@dg.asset(
    group_name=GROUP,
    kinds={"duckdb"},
    partitions_def=engagement_partitions,
    backfill_policy=dg.BackfillPolicy.single_run(),
    deps=[engagement_events],
    pool="duckdb_write",
    check_specs=[
        dg.AssetCheckSpec(
            "rates_within_bounds",
            asset="engagement_metrics",
            description="Engagement rate, click-through and bounce rate are between 0 and 1.",
        )
    ],
)
def engagement_metrics(
    context: dg.AssetExecutionContext, engagement: EngagementResource, warehouse: WarehouseResource
) -> dg.MaterializeResult:
    """Per piece × platform × day: impressions, reach, engagements, clicks, engagement rate, click-through,
    bounce rate (where bounces are reported), age since publishing, and rolling 28-day per-platform
    baselines, computed by one DuckDB SQL statement over the raw events (see ``engagement/sql.py``)."""
    start, end = date_window(context)
    now = dt.datetime.now(dt.UTC)
    with warehouse.store().write() as conn:
        sql.session(conn, engagement.memory_limit)
        written = sql.build_metrics(conn, start, end, now)
        trends = sql.platform_trends(conn, max(start, end - dt.timedelta(days=29)), end)
        stats = sql.metrics_summary(conn, start, end)
    impressions, engagements = stats["impressions"], stats["engagements"]
    rate = engagements / impressions if impressions else 0.0
    context.log.info(
        f"engagement_metrics {start}..{end}: {written} rows, {stats['pieces']} pieces, rate {rate:.2%}"
    )
    metadata: dict[str, dg.MetadataValue | str] = {
        "date_range": f"{start}..{end}",
        "rows": dg.MetadataValue.int(written),
        "pieces": dg.MetadataValue.int(stats["pieces"]),
        "impressions": dg.MetadataValue.int(impressions),
        "engagements": dg.MetadataValue.int(engagements),
        "engagement_rate": dg.MetadataValue.float(round(rate, 6)),
        "demo_rows": dg.MetadataValue.int(stats["demo_rows"]),
        "external_rows": dg.MetadataValue.int(stats["external_rows"]),
        "trends": dg.MetadataValue.md(trend_markdown(trends)),
    }
    if stats["demo_rows"]:
        metadata["simulated"] = dg.MetadataValue.md(SIMULATED_NOTE)
    return dg.MaterializeResult(
        metadata=metadata,
        check_results=[
            dg.AssetCheckResult(
                check_name="rates_within_bounds",
                passed=stats["out_of_bounds"] == 0,
                severity=dg.AssetCheckSeverity.WARN,
                metadata={"rows_out_of_bounds": dg.MetadataValue.int(stats["out_of_bounds"])},
            )
        ],
    )


# ----------------------------------------------------------------------------------------- monitoring


@dg.multi_asset(
    specs=[
        dg.AssetSpec(
            "engagement_anomalies",
            deps=["engagement_metrics"],
            group_name=GROUP,
            kinds={"python", "duckdb"},
            description="Piece-days breaking the workflow guide's rules (low_views, low_engagement, high_bounce, "
            "engagement rate < 0.02) or the robust z-score rule; each with rule, value and baseline.",
        ),
        dg.AssetSpec(
            "engagement_highlights",
            deps=["engagement_metrics"],
            group_name=GROUP,
            kinds={"python", "duckdb"},
            description="Piece-days in the platform's top percentile of engagement rate (high engagement).",
        ),
    ],
    partitions_def=engagement_partitions,
    backfill_policy=dg.BackfillPolicy.single_run(),
    pool="duckdb_write",
)
def engagement_monitoring(
    context: dg.AssetExecutionContext, engagement: EngagementResource, warehouse: WarehouseResource
):
    """Applies ``engagement/rules.py`` to the fresh pieces' metrics of the range. A detection keeps its id,
    sequence number and first detection time when re-run, so sensors never see it twice."""
    start, end = date_window(context)
    now = dt.datetime.now(dt.UTC)
    cfg = engagement.rules()
    with warehouse.store().write() as conn:
        sql.session(conn, engagement.memory_limit)
        rows = sql.monitor_rows(conn, start, end, cfg.fresh_days, cfg.min_impressions, cfg.top_percentile)
        anomalies, highlights = rules.evaluate(rows, cfg, now)
        new_anomalies, removed_anomalies = sql.write_anomalies(conn, anomalies, start, end)
        new_highlights, removed_highlights = sql.write_highlights(conn, highlights, start, end)
        latest = sql.latest_anomalies(conn, start, end)
    by_rule = Counter(a["rule"] for a in anomalies)
    ours = sum(1 for a in anomalies if not a["external"])
    context.log.info(
        f"monitoring {start}..{end}: {len(rows)} piece-days checked, {len(anomalies)} anomalies "
        f"({new_anomalies} new), {len(highlights)} highlights ({new_highlights} new)"
    )
    yield dg.MaterializeResult(
        asset_key="engagement_anomalies",
        metadata={
            "date_range": f"{start}..{end}",
            "piece_days_checked": dg.MetadataValue.int(len(rows)),
            "anomalies": dg.MetadataValue.int(len(anomalies)),
            "new_anomalies": dg.MetadataValue.int(new_anomalies),
            "withdrawn_anomalies": dg.MetadataValue.int(removed_anomalies),
            "our_pieces": dg.MetadataValue.int(ours),
            "by_rule": dg.MetadataValue.json(dict(by_rule)),
            "rules": dg.MetadataValue.json(cfg.as_dict()),
            "latest": dg.MetadataValue.md(md_table(latest, sql.LATEST_COLUMNS)),
        },
    )
    yield dg.MaterializeResult(
        asset_key="engagement_highlights",
        metadata={
            "date_range": f"{start}..{end}",
            "highlights": dg.MetadataValue.int(len(highlights)),
            "new_highlights": dg.MetadataValue.int(new_highlights),
            "withdrawn_highlights": dg.MetadataValue.int(removed_highlights),
            "top_percentile": dg.MetadataValue.float(cfg.top_percentile),
            "our_pieces": dg.MetadataValue.int(sum(1 for h in highlights if not h["external"])),
        },
    )


# ------------------------------------------------------------------------------------------------ A/B


@dg.asset(
    group_name=GROUP,
    kinds={"python", "duckdb"},
    deps=[engagement_metrics],
    pool="duckdb_write",
)
def ab_test_results(
    context: dg.AssetExecutionContext, engagement: EngagementResource, warehouse: WarehouseResource
) -> dg.MaterializeResult:
    """For every A/B variant (a piece with ``variant_of``) against its control: a fixed-horizon test,
    decided once. At the first run after both arms reach the planned impressions (or the test window
    ends), a two-proportion z-test of engagements / impressions, Bonferroni over the control's variants;
    the decision and its evidence are recorded and never re-decided (``engagement/abtest.py``)."""
    now = dt.datetime.now(dt.UTC)
    with warehouse.store().write() as conn:
        recorded = abtest.load_recorded(conn)
        results = abtest.decide(abtest.load_pairs(conn), engagement.ab(), now, recorded)
        abtest.store_results(conn, results)
    decisions = Counter(r["decision"] for r in results)
    newly = sum(1 for r in results if r["decided_at"] is not None and r["decided_at"] == now)
    context.log.info(f"A/B: {len(results)} comparison(s): {dict(decisions)}")
    cols = [
        "variant_of",
        "variant_piece_id",
        "dimension",
        "rate_control",
        "rate_variant",
        "p_value",
        "decision",
    ]
    return dg.MaterializeResult(
        metadata={
            "comparisons": dg.MetadataValue.int(len(results)),
            "design": abtest.DESIGN,
            "decided_this_run": dg.MetadataValue.int(newly),
            "planned_impressions_per_arm": dg.MetadataValue.int(engagement.ab().min_impressions),
            "winners": dg.MetadataValue.int(sum(1 for r in results if r["winner_piece_id"])),
            "decisions": dg.MetadataValue.json(dict(decisions)),
            "results": dg.MetadataValue.md(md_table(results, cols)),
        }
    )


# ----------------------------------------------------------------------------------- sensor actions


class BoostConfig(dg.Config):
    anomaly_ids: list[str] = Field(
        default_factory=list,
        description="anomalies to act on; empty: recent anomalies of our pieces that have no boost yet",
    )


@dg.asset(
    group_name=GROUP,
    kinds={"python", "duckdb"},
    deps=["engagement_anomalies"],
    pool="duckdb_write",
)
def engagement_boosts(
    context: dg.AssetExecutionContext,
    config: BoostConfig,
    engagement: EngagementResource,
    warehouse: WarehouseResource,
) -> dg.MaterializeResult:
    """A re-promotion plan for each under-performing piece of ours (requested by the anomaly sensor): the
    piece reworked for what went wrong (question-led hook, CTA first, or key point first) within its
    platform's limits, and the next best publish slot by the platform's engagement data. Written to
    ``engagement_boosts`` (status ``planned``); the publishing step schedules it (``scheduled``) and sends
    it at that slot through the exactly-once path, to the outbox by default (``published``)."""
    store = warehouse.store()
    now = dt.datetime.now(dt.UTC)
    since = now.date() - dt.timedelta(days=engagement.alert_window_days)
    with store.read() as conn:
        found = sql.boost_anomalies(conn, config.anomaly_ids, since)
        by_piece = actions.anomalies_by_piece(found)
        pieces = sql.boost_pieces(conn, sorted(by_piece))
        slots = sql.slots_by_platform(
            conn, {p["platform"] for p in pieces.values()}, now.date() - dt.timedelta(days=90)
        )
    boosts, unknown = actions.plan_boosts(by_piece, pieces, slots, now, context.run.run_id)
    for piece_id in unknown:
        context.log.warning(f"anomaly for unknown piece {piece_id}: nothing to boost")
    if boosts:
        with store.write() as conn:
            sql.write_boosts(conn, boosts)
    skipped = len(found) - sum(len(v) for v in by_piece.values())
    context.log.info(
        f"{len(boosts)} boost(s) planned; {skipped} anomaly(ies) of external posts not boostable"
    )
    return dg.MaterializeResult(
        metadata={
            "boosts": dg.MetadataValue.int(len(boosts)),
            "anomalies_considered": dg.MetadataValue.int(len(found)),
            "external_skipped": dg.MetadataValue.int(skipped),
            "plans": dg.MetadataValue.md(
                md_table(boosts, ["piece_id", "rules", "planned_at", "slot_reason", "boost_copy"])
            ),
        }
    )


class SimilarContentConfig(dg.Config):
    piece_ids: list[str] = Field(
        default_factory=list,
        description="winning pieces; empty: recent highlights of our pieces without a derived campaign yet",
    )
    lead_days: int = Field(default=7, description="the new campaign starts this many days from today")


@dg.asset(
    group_name=GROUP,
    kinds={"yaml", "duckdb"},
    deps=["engagement_highlights"],
    pool="duckdb_write",
)
def similar_campaign_briefs(
    context: dg.AssetExecutionContext,
    config: SimilarContentConfig,
    project: ProjectResource,
    engagement: EngagementResource,
    warehouse: WarehouseResource,
) -> dg.MaterializeResult:
    """ "Create similar content" for a winning piece (requested by the high-engagement sensor): a new brief
    derived from the piece's campaign brief, led by its platform and angle, with ``parent_piece_id`` set,
    written to ``campaigns/<parent>-more-<hash>.yaml``; ``campaign_brief_sensor`` then registers it as a
    campaign partition and runs ``campaign_job``. The link is recorded in ``campaign_lineage``."""
    store = warehouse.store()
    now = dt.datetime.now(dt.UTC)
    since = now.date() - dt.timedelta(days=engagement.alert_window_days)
    with store.read() as conn:
        wanted = list(config.piece_ids) or sql.underived_winners(conn, since)
        pieces = sql.winning_pieces(conn, wanted)
    for piece_id in sorted(set(wanted) - {p["piece_id"] for p in pieces}):
        context.log.warning(f"{piece_id}: not a piece of a registered campaign; no similar content")
    lineage, created = [], []
    for piece in pieces:
        if piece["derived_twice"]:
            context.log.info(
                f"{piece['piece_id']}: its campaign is already two generations deep; not deriving"
            )
            continue
        parent = CampaignBrief.model_validate_json(piece["brief_json"])
        child = actions.similar_brief(parent, piece, now.date(), config.lead_days)
        path = project.paths.campaigns_dir / f"{child.id}.yaml"
        if actions.write_new_brief(path, child, actions.derivation_note(parent, piece, now.date())):
            created.append(child.id)
        lineage.append(actions.lineage_row(child, parent, piece, path, context.run.run_id, now))
    if lineage:
        with store.write() as conn:
            sql.record_lineage(conn, lineage)
    context.log.info(f"{len(created)} new brief(s): {', '.join(created) or 'none'}")
    return dg.MaterializeResult(
        metadata={
            "derived_campaigns": dg.MetadataValue.int(len(lineage)),
            "new_brief_files": dg.MetadataValue.int(len(created)),
            "lineage": dg.MetadataValue.md(
                md_table(
                    lineage, ["child_campaign_id", "parent_campaign_id", "parent_piece_id", "engagement_rate"]
                )
            ),
            "next": "campaign_brief_sensor registers each new brief as a campaign partition and runs campaign_job",
        }
    )
