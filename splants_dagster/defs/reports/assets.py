"""The weekly and monthly reports: read the period's figures from the analytics views, render the HTML
(with its JSON sidecar) under ``$SPLANTS_DATA_DIR/reports/<brand>/``, record it in ``analytics.reports``,
and tell people through the alert channels. The work is in ``splants_dagster/reports/``."""

from typing import Any

import dagster as dg

from splants_dagster.campaigns.briefs import BriefError
from splants_dagster.defs.alerts.resources import AlertsResource
from splants_dagster.defs.reports.partitions import monthly_partitions, weekly_partitions
from splants_dagster.defs.resources import ProjectResource, WarehouseResource
from splants_dagster.reports import plots
from splants_dagster.reports.figures import gather
from splants_dagster.reports.output import (
    WrittenReport,
    record_row,
    report_alert,
    summary_markdown,
    write_report,
)
from splants_dagster.reports.periods import from_partition_key
from splants_dagster.warehouse.queries import reports as report_queries

GROUP = "reports"
# What a report reads (through the analytics views), for lineage in the UI. Each report depends on every
# partition of the daily engagement assets: a week or month in the brand's timezone does not line up with
# UTC days, and a late engagement import can change any earlier day.
_EVERY_DAY = dg.AllPartitionMapping()
REPORT_DEPS = [
    dg.AssetDep("publications"),
    dg.AssetDep("engagement_metrics", partition_mapping=_EVERY_DAY),
    dg.AssetDep("engagement_anomalies", partition_mapping=_EVERY_DAY),
    dg.AssetDep("ab_test_results"),
    dg.AssetDep("budget_status"),
]


def report_metadata(report: WrittenReport, alert_channels: list[str]) -> dict[str, Any]:
    c = report.sidecar["counts"]
    by_platform = report.figures.engagement_by_platform
    png = plots.engagement_by_platform_png(by_platform) if by_platform else None
    return {
        "path": dg.MetadataValue.path(str(report.html_path)),
        "sidecar": dg.MetadataValue.path(str(report.sidecar_path)),
        "period": report.sidecar["period"],
        "demo": dg.MetadataValue.bool(bool(report.sidecar["demo"])),
        "sections": dg.MetadataValue.json(report.sidecar["sections"]),
        "publications": dg.MetadataValue.int(c["publications"]),
        "posts": dg.MetadataValue.int(c["posts"]),
        "impressions": dg.MetadataValue.int(c["impressions"]),
        "engagement_rate": dg.MetadataValue.float(float(c["engagement_rate"] or 0.0)),
        "baseline_engagement_rate": dg.MetadataValue.float(float(c["baseline_engagement_rate"] or 0.0)),
        "anomalies": dg.MetadataValue.int(c["anomalies"]),
        "ab_decided": dg.MetadataValue.int(c["ab_decided"]),
        "spend_usd": dg.MetadataValue.float(float(c["spend_usd"])),
        "alert_channels": ", ".join(alert_channels) or "none",
        "summary": dg.MetadataValue.md(summary_markdown(report, png)),
    }


def materialize_report(
    context: dg.AssetExecutionContext,
    kind: str,
    project: ProjectResource,
    warehouse: WarehouseResource,
    alerts: AlertsResource,
) -> dg.MaterializeResult:
    try:
        brand = project.brand()
    except BriefError as exc:
        raise dg.Failure(description=str(exc)) from None
    period = from_partition_key(kind, context.partition_key)
    store = warehouse.store()
    figures = gather(store.query, period, brand.timezone)
    report = write_report(figures, brand.name, project.paths.root)
    deliveries = alerts.send(report_alert(report, f"{kind}_report"), log=context.log)
    delivered = [d.channel for d in deliveries if d.ok]
    with store.write() as conn:
        row = record_row(report, delivered, context.run.run_id)
        report_queries.replace_report(conn, row)
    return dg.MaterializeResult(metadata=report_metadata(report, delivered))


@dg.asset(
    group_name=GROUP,
    kinds={"html", "duckdb"},
    partitions_def=weekly_partitions,
    pool="duckdb_write",
    deps=REPORT_DEPS,
)
def weekly_report(
    context: dg.AssetExecutionContext,
    project: ProjectResource,
    warehouse: WarehouseResource,
    alerts: AlertsResource,
) -> dg.MaterializeResult:
    """The brand's report for one ISO week (Monday to Sunday, brand timezone): publications, engagement
    against baseline with plots, anomalies and what was done, A/B outcomes, spend against budget, and the
    best and worst pieces with what they had in common. An HTML file plus a JSON sidecar under
    ``reports/<brand>/weekly-<YYYY-Www>``, a row in ``analytics.reports``, and an alert with the path."""
    return materialize_report(context, "weekly", project, warehouse, alerts)


@dg.asset(
    group_name=GROUP,
    kinds={"html", "duckdb"},
    partitions_def=monthly_partitions,
    pool="duckdb_write",
    deps=REPORT_DEPS,
)
def monthly_report(
    context: dg.AssetExecutionContext,
    project: ProjectResource,
    warehouse: WarehouseResource,
    alerts: AlertsResource,
) -> dg.MaterializeResult:
    """The brand's report for one calendar month (brand timezone), with the weekly report's sections:
    an HTML file plus a JSON sidecar under ``reports/<brand>/monthly-<YYYY-MM>``, a row in
    ``analytics.reports``, and an alert with the path."""
    return materialize_report(context, "monthly", project, warehouse, alerts)
