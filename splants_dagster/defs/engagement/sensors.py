"""Engagement sensors. Each reads a few rows (file stats, the analysts' snapshot), keeps a cursor, sets a
run_key per event and explains every skip; the work happens in the runs they request.

- ``engagement_inbox_sensor``: a file dropped in ``inbox/engagement/`` → an import run; once imported, a
  single run rebuilding events → metrics → anomalies over the dates the file touched.
- ``engagement_anomaly_sensor``: new anomalies → one alert (log, webhook, Slack) and a boost run per
  under-performing piece of ours. Simulated (``is_demo``) detections are ignored once their platform
  has real engagement, and alerted separately, labelled ``[demo]``, before that (also for highlights).
- ``engagement_high_sensor``: a piece of ours in the top percentile → a "create similar content" run.
- ``engagement_history_sensor``: on a fresh install (``SPLANTS_SIMULATE_ENGAGEMENT=auto``: no real
  engagement, demo history never cleared), one backfill of demo history.
"""

import datetime as dt
import json
from collections import defaultdict
from collections.abc import Callable
from typing import Any

import dagster as dg

from splants_dagster.alerts.channels import SEVERITIES, Alert
from splants_dagster.defs.alerts.resources import AlertsResource
from splants_dagster.defs.engagement.jobs import (
    engagement_boost_job,
    engagement_import_job,
    engagement_job,
    similar_content_job,
)
from splants_dagster.defs.engagement.resources import EngagementResource
from splants_dagster.defs.engagement.windows import range_tags, tick_result
from splants_dagster.defs.resources import ProjectResource, WarehouseResource
from splants_dagster.engagement.files import inbox_files
from splants_dagster.warehouse.queries import engagement as engagement_queries
from splants_dagster.warehouse.store import Warehouse

MAX_PER_TICK = 50
RATE_RULES = {"low_engagement", "low_engagement_rate", "robust_z", "high_bounce"}


def _today() -> dt.date:
    return dt.datetime.now(dt.UTC).date()


def _relative(inbox, path) -> str:
    return str(path.relative_to(inbox))


@dg.sensor(
    jobs=[engagement_import_job, engagement_job],
    minimum_interval_seconds=30,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Imports engagement files dropped in inbox/engagement/, then rebuilds the days they touch.",
)
def engagement_inbox_sensor(
    context: dg.SensorEvaluationContext, project: ProjectResource, warehouse: WarehouseResource
) -> dg.SensorResult:
    """Cursor: {"files": {file: mtime_ns}, "built": {file: mtime_ns}}. Run keys: ``import:<file>:<mtime>``
    and ``events:<file>:<mtime>``, so a file is imported once per version and its days rebuilt once."""
    cursor: dict[str, dict[str, int]] = json.loads(context.cursor) if context.cursor else {}
    seen, built = dict(cursor.get("files", {})), dict(cursor.get("built", {}))
    inbox = project.paths.engagement_inbox
    loads = engagement_queries.file_loads(warehouse.store())
    requests: list[dg.RunRequest] = []
    current: dict[str, int] = {}
    for path in inbox_files(inbox):
        rel, mtime = _relative(inbox, path), path.stat().st_mtime_ns
        current[rel] = mtime
        if seen.get(rel) == mtime or loads.get(rel, {}).get("mtime_ns") == mtime:
            continue
        requests.append(
            dg.RunRequest(
                job_name=engagement_import_job.name,
                run_key=f"import:{rel}:{mtime}",
                run_config={"ops": {"engagement_file_imports": {"config": {"files": [rel]}}}},
                tags={"splants/trigger": "engagement_inbox_sensor", "splants/file": rel[:200]},
            )
        )
    today = _today()
    for rel, load in sorted(loads.items()):
        if not load["rows_loaded"] or not load["needs_build"] or built.get(rel) == load["mtime_ns"]:
            continue
        start, end = load["min_date"], min(load["max_date"], today)
        requests.append(
            dg.RunRequest(
                job_name=engagement_job.name,
                run_key=f"events:{rel}:{load['mtime_ns']}",
                tags={
                    **range_tags(start, end),
                    "splants/trigger": "engagement_inbox_sensor",
                    "splants/file": rel[:200],
                },
            )
        )
        built[rel] = load["mtime_ns"]
    next_cursor = json.dumps(
        {"files": current, "built": {k: v for k, v in built.items() if k in current or k in loads}},
        sort_keys=True,
    )
    return tick_result(
        requests, next_cursor, f"{len(current)} file(s) in {inbox}, none new or changed; nothing to rebuild"
    )


def _fmt(rule: str, value: float | None) -> str:
    if value is None:
        return ""
    return f"{value:.2%}" if rule in RATE_RULES else f"{value:,.0f}"


def _detections_after(
    cursor: str | None,
    warehouse: WarehouseResource,
    after: Callable[[Warehouse, int, int], list[dict[str, Any]] | None],
    what: str,
) -> tuple[int, list[dict[str, Any]], str] | dg.SkipReason:
    """The last ``seq`` handled (the cursor), the detections recorded after it (``after``: the query of
    their table) and the next cursor; or why there is nothing to handle."""
    last = int(cursor or 0)
    rows = after(warehouse.store(), last, MAX_PER_TICK * 10)
    if rows is None:
        return dg.SkipReason("no warehouse snapshot yet")
    if not rows:
        return dg.SkipReason(f"no {what} after #{last}")
    return last, rows, str(max(r["seq"] for r in rows))


def real_platforms(warehouse: WarehouseResource) -> set[str]:
    """Platforms with any real (not simulated) engagement."""
    return engagement_queries.real_platforms(warehouse.store())


def split_demo(
    rows: list[dict[str, Any]], real: set[str]
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(detections to act on, simulated ones ignored): a simulated (``is_demo``) detection counts only
    while its platform has no real engagement."""
    keep = [r for r in rows if not r.get("is_demo") or r["platform"] not in real]
    return keep, [r for r in rows if r.get("is_demo") and r["platform"] in real]


def anomaly_alert(rows: list[dict[str, Any]], demo: bool) -> Alert:
    """One alert for new anomalies; simulated ones are labelled demo in the title, text and items."""
    n = len(rows)
    title = f"{n} engagement anomal{'y' if n == 1 else 'ies'}"
    text = "Pieces performing well below their baseline (see analytics.anomalies)."
    if demo:
        title = f"[demo] {title} in simulated data"
        text = "Simulated demo engagement (is_demo = true), not a real audience. " + text
    return Alert(
        source="engagement_anomaly_sensor",
        title=title,
        severity="info" if demo else _severity(rows),
        text=text,
        items=[
            {
                "date": str(r["date"]),
                "piece": r["piece_id"],
                "platform": r["platform"],
                "rule": r["rule"],
                "value": _fmt(r["rule"], r["value"]),
                "baseline": _fmt(r["rule"], r["baseline"]),
                "external": r["external"],
                **({"demo": True} if demo else {}),
            }
            for r in rows
        ],
    )


def _severity(rows: list[dict[str, Any]]) -> str:
    return max(
        (r.get("severity") or "warning" for r in rows),
        key=lambda s: SEVERITIES.index(s) if s in SEVERITIES else 1,
    )


@dg.sensor(
    job=engagement_boost_job,
    minimum_interval_seconds=60,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Alerts on new engagement anomalies and requests a boost run per under-performing piece.",
)
def engagement_anomaly_sensor(
    context: dg.SensorEvaluationContext,
    engagement: EngagementResource,
    warehouse: WarehouseResource,
    alerts: AlertsResource,
) -> dg.SensorResult | dg.SkipReason:
    """Cursor: the last anomaly ``seq`` handled (anomalies keep their seq when re-detected). Only
    anomalies dated within ``alert_window_days`` are alerted and acted on (older ones are history, e.g.
    from a backfill); run key ``boost:<piece_id>``: one boost per piece."""
    found = _detections_after(
        context.cursor,
        warehouse,
        engagement_queries.anomalies_after,
        "anomaly",
    )
    if isinstance(found, dg.SkipReason):
        return found
    last, rows, cursor = found
    since = _today() - dt.timedelta(days=engagement.alert_window_days)
    recent = [r for r in rows if r["date"] >= since]
    old = len(rows) - len(recent)
    if old:
        context.log.info(f"{old} anomaly(ies) dated before {since} recorded as history, not alerted")
    recent, ignored = split_demo(recent, real_platforms(warehouse))
    if ignored:
        context.log.info(
            f"{len(ignored)} simulated (demo) anomaly(ies) ignored: their platform has real engagement"
        )
    requests = []
    for demo in (False, True):
        batch = [r for r in recent if r["is_demo"] == demo]
        if batch:
            alerts.send(anomaly_alert(batch, demo), context.log)
    if recent:
        by_piece: dict[str, list[dict[str, Any]]] = defaultdict(list)
        for r in recent:
            if not r["external"]:
                by_piece[r["piece_id"]].append(r)
        for piece_id, items in sorted(by_piece.items())[:MAX_PER_TICK]:
            requests.append(
                dg.RunRequest(
                    run_key=f"boost:{piece_id}",
                    run_config={
                        "ops": {
                            "engagement_boosts": {"config": {"anomaly_ids": [i["anomaly_id"] for i in items]}}
                        }
                    },
                    tags={
                        "splants/trigger": "engagement_anomaly_sensor",
                        "splants/piece": piece_id[:200],
                        "splants/rules": ",".join(sorted({i["rule"] for i in items}))[:200],
                    },
                )
            )
    return tick_result(
        requests,
        cursor,
        f"{len(rows)} new anomaly(ies) (#{last + 1}..#{cursor}): {len(recent)} alerted, none on a piece of ours",
    )


@dg.sensor(
    job=similar_content_job,
    minimum_interval_seconds=60,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="A piece of ours in the top percentile of engagement → create similar content (a new campaign).",
)
def engagement_high_sensor(
    context: dg.SensorEvaluationContext, engagement: EngagementResource, warehouse: WarehouseResource
) -> dg.SensorResult | dg.SkipReason:
    """Cursor: the last highlight ``seq`` handled. Run key ``similar:<piece_id>``: one derived campaign
    per winning piece, however often it stays on top."""
    found = _detections_after(
        context.cursor,
        warehouse,
        engagement_queries.highlights_after,
        "highlight",
    )
    if isinstance(found, dg.SkipReason):
        return found
    last, rows, cursor = found
    rows, ignored = split_demo(rows, real_platforms(warehouse))
    if ignored:
        context.log.info(
            f"{len(ignored)} simulated (demo) highlight(s) ignored: platform has real engagement"
        )
    since = _today() - dt.timedelta(days=engagement.alert_window_days)
    winners: dict[str, dict[str, Any]] = {}
    for r in rows:
        if r["external"] or not r["campaign_id"] or r["date"] < since:
            continue
        if r["piece_id"] not in winners or r["engagement_rate"] > winners[r["piece_id"]]["engagement_rate"]:
            winners[r["piece_id"]] = r
    requests = [
        dg.RunRequest(
            run_key=f"similar:{piece_id}",
            run_config={"ops": {"similar_campaign_briefs": {"config": {"piece_ids": [piece_id]}}}},
            tags={
                "splants/trigger": "engagement_high_sensor",
                "splants/piece": piece_id[:200],
                "splants/engagement_rate": f"{r['engagement_rate']:.4f}",
                **({"splants/demo": "true"} if r["is_demo"] else {}),
            },
        )
        for piece_id, r in sorted(winners.items())[:MAX_PER_TICK]
    ]
    for r in winners.values():
        context.log.info(
            ("[demo, simulated] " if r["is_demo"] else "")
            + f"high engagement: {r['piece_id']} on {r['platform']} at {r['engagement_rate']:.2%} "
            f"(top-percentile threshold {r['threshold']:.2%})"
        )
    return tick_result(
        requests,
        cursor,
        f"{len(rows)} new highlight(s) (#{last + 1}..#{cursor}), none a recent piece of ours",
    )


@dg.sensor(
    job=engagement_job,
    minimum_interval_seconds=60,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Fresh install with the simulator on: one backfill of simulated (demo) engagement history.",
)
def engagement_history_sensor(
    context: dg.SensorEvaluationContext, engagement: EngagementResource, warehouse: WarehouseResource
) -> dg.SensorResult | dg.SkipReason:
    """Requests ``history_days`` of history once (one run over the range); cursor: the day it did, or
    ``present`` when history already existed."""
    if context.cursor:
        return dg.SkipReason(f"history handled ({context.cursor})")
    simulate, why = engagement.simulation(warehouse.store())
    if not simulate:
        return dg.SkipReason(f"simulator {why}: no demo history to create")
    if engagement_queries.metric_row_count(warehouse.store()):
        return dg.SensorResult(
            skip_reason=dg.SkipReason("engagement history already present"), cursor="present"
        )
    today = _today()
    start = today - dt.timedelta(days=engagement.history_days)
    return dg.SensorResult(
        run_requests=[
            dg.RunRequest(
                run_key=f"history:{start}:{today}",
                tags={**range_tags(start, today), "splants/trigger": "engagement_history_sensor"},
            )
        ],
        cursor=today.isoformat(),
    )
