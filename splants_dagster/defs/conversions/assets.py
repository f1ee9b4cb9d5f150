"""Conversion assets: dropped shop / payment / analytics exports → ``conversion_rows`` (bad rows
quarantined), and every campaign's measurable goal → ``campaign_goals`` with its progress. Attribution
and progress themselves are views (``analytics.conversions``, ``analytics.goal_progress``), so they are
always current. Domain logic lives in ``splants_dagster/conversions/``."""

import datetime as dt
from typing import Any

import dagster as dg
from pydantic import Field

from splants_dagster.conversions import imports
from splants_dagster.conversions.presets import PRESETS
from splants_dagster.defs.resources import ProjectResource, WarehouseResource
from splants_dagster.display import md_table
from splants_dagster.warehouse.queries import conversions as conversion_queries

GROUP = "conversions"
PROGRESS_COLUMNS = ["campaign_id", "metric", "target", "actual", "pace", "forecast", "status", "goal_source"]
# read beside the table's columns: a goal counting the same purchases from two systems is flagged
WARNING_COLUMNS = ["source_warning"]


class ConversionImportConfig(dg.Config):
    files: list[str] = Field(
        default_factory=list,
        description="files under inbox/conversions (relative) or absolute paths; empty: every new or changed file",
    )
    preset: str | None = Field(
        default=None, description="preset for all files (default: folder name, else detected)"
    )


@dg.asset(group_name=GROUP, kinds={"python", "duckdb"}, pool="duckdb_write")
def conversion_file_imports(
    context: dg.AssetExecutionContext,
    config: ConversionImportConfig,
    project: ProjectResource,
    warehouse: WarehouseResource,
) -> dg.MaterializeResult:
    """Conversion exports dropped in ``inbox/conversions/`` (Shopify, WooCommerce, Stripe, GA4 or the
    generic CSV): each file validated as it streams into its own transaction; bad rows go to
    ``conversion_quarantine`` with line and reason. A file with no usable row is recorded and fails the
    step, naming the file, line and reason, after every other file is stored. The day/month order of a
    file's numeric dates (01/02/2024), decided per file, is noted in ``date_orders``."""
    inbox = imports.conversions_inbox(project.paths.root)
    if config.preset and config.preset not in PRESETS:
        raise dg.Failure(f"unknown preset {config.preset!r}: one of {', '.join(PRESETS)}")
    now = dt.datetime.now(dt.UTC)
    with warehouse.store().write() as conn:
        try:
            targets = imports.files_to_import(inbox, config.files, imports.loaded_files(conn))
        except FileNotFoundError as err:
            raise dg.Failure(str(err)) from None
        result = imports.import_files(conn, inbox, targets, config.preset, now)
    for _, rejected in result.rejected:
        context.log.error(f"rejected {rejected}")
    for name, order in result.date_orders.items():
        (context.log.warning if order.warn else context.log.info)(f"{name}: {order.note}")
    metadata = import_metadata(result, inbox)
    if result.rejected:
        raise dg.Failure(description="; ".join(str(e) for _, e in result.rejected), metadata=metadata)
    if not targets:
        context.log.info(f"no new or changed files in {inbox}")
    return dg.MaterializeResult(metadata=metadata)


def import_metadata(result: imports.ImportResult, inbox) -> dict[str, Any]:
    return {
        "files": dg.MetadataValue.int(len(result.parsed) + len(result.rejected)),
        "files_rejected": dg.MetadataValue.int(len(result.rejected)),
        "rows_loaded": dg.MetadataValue.int(result.rows_loaded),
        "rows_quarantined": dg.MetadataValue.int(result.rows_quarantined),
        "quarantine_reasons": dg.MetadataValue.json(dict(result.reasons)),
        "date_orders": dg.MetadataValue.json({k: v.note for k, v in result.date_orders.items()}),
        "files_table": dg.MetadataValue.md(md_table(result.summary(), imports.SUMMARY_COLUMNS)),
        "inbox": dg.MetadataValue.path(str(inbox)),
    }


@dg.asset(group_name=GROUP, kinds={"python", "duckdb"}, pool="duckdb_write", deps=[conversion_file_imports])
def campaign_goals(context: dg.AssetExecutionContext, warehouse: WarehouseResource) -> dg.MaterializeResult:
    """Each registered campaign's measurable goal: ``goal_metric``/``goal_target`` from the brief, else
    read from the free-text goal (and said so in ``goal_source``/``note``), with its window. Metadata:
    the progress of every goal as ``analytics.goal_progress`` computes it, and its ``source_warning``
    (conversions from two or more systems counted, no ``conversion_source`` in the brief)."""
    store = warehouse.store()
    with store.write() as conn:
        goals = imports.refresh_goals(conn, dt.datetime.now(dt.UTC))
    for goal in goals:
        if goal.source != "brief fields":
            context.log.info(f"{goal.campaign_id}: {goal.note}")
    progress = conversion_queries.goal_progress(store, PROGRESS_COLUMNS + WARNING_COLUMNS)
    for row in progress:
        if row["source_warning"]:
            context.log.warning(f"{row['campaign_id']}: {row['source_warning']}")
    return dg.MaterializeResult(metadata=goals_metadata(progress))


def goals_metadata(progress: list[dict[str, Any]]) -> dict[str, Any]:
    shown = [
        {
            **row,
            "campaign_id": row["campaign_id"] + (" (demo)" if row["is_demo"] else ""),
            "target": "" if row["target"] is None else f"{row['target']:g}",
            "actual": "" if row["actual"] is None else f"{row['actual']:g}",
            "pace": "" if row["pace"] is None else f"{row['pace']:.2f}",
            "forecast": "" if row["forecast"] is None else f"{row['forecast']:.0f}",
        }
        for row in progress
    ]
    warnings = [
        f"\n\n**{row['campaign_id']}**: {row['source_warning']}"
        for row in progress
        if row.get("source_warning")
    ]
    return {
        "campaigns": dg.MetadataValue.int(len(progress)),
        "goals_measurable": dg.MetadataValue.int(sum(1 for r in progress if r["metric"])),
        "goals_read_from_text": dg.MetadataValue.int(
            sum(1 for r in progress if r["goal_source"] == "read from the goal text")
        ),
        "behind": dg.MetadataValue.int(sum(1 for r in progress if r["status"] == "behind")),
        "source_warnings": dg.MetadataValue.int(len(warnings)),
        "progress": dg.MetadataValue.md(md_table(shown, PROGRESS_COLUMNS) + "".join(warnings)),
    }
