"""Alerts for people about operational events, through the channels of ``splants_dagster/alerts/channels.py``
(log, webhook, Slack), each event once, with a link into the Dagster UI (see docs/alerts.md).

- ``run_failure_alert_sensor``: any run of any job fails → an alert linking to the run. Dagster's run
  status sensors keep their own cursor over the event log, so each failure is alerted once.
- ``review_alert_sensor``: pieces newly flagged by QA (``qa_status.status = 'flagged'``), publications
  held for review (``publications.status = 'pending_review'``) and publications whose outcome is unknown
  (``needs_review``: an X or LinkedIn call that may have posted). Cursor: the keys of the open events
  already alerted; an event that closes is forgotten, so if it opens again it is alerted again.
"""

import json
from typing import Any

import dagster as dg
import duckdb

from splants_dagster.alerts.channels import Event, asset_link, event_alert, run_failure_alert, unseen
from splants_dagster.defs.alerts.resources import AlertsResource
from splants_dagster.defs.engagement.windows import snapshot_rows
from splants_dagster.defs.resources import WarehouseResource
from splants_dagster.warehouse.queries.alerts import EVENT_QUERIES

MAX_EVENTS_PER_TICK = 100


def _event(kind: str, row: dict[str, Any]) -> Event:
    campaign = row.get("campaign_id")
    if kind == "flagged":
        key = f"flagged:{row['piece_id']}:{row['text_hash'] or row['decided_at']}"
        item = {"piece": row["piece_id"], "campaign": campaign}
        if row.get("qa_score") is not None:
            item["qa_score"] = f"{row['qa_score']:.2f}"
        item["link"] = asset_link("qa_report", campaign)
    else:
        key = f"{kind}:{row['idempotency_key']}"
        item = {"piece": row["piece_id"], "platform": row["platform"], "campaign": campaign}
        item["link"] = asset_link("publications", campaign)
    return Event(kind, key, item)


def open_events(warehouse: WarehouseResource, log: Any = None) -> list[Event] | None:
    """Every open event in the analysts' snapshot, or None when there is no snapshot yet. A table or
    column that this install does not have yet (an older schema) skips that kind, with a log line."""
    events: list[Event] = []
    store = warehouse.store()
    for kind, sql in EVENT_QUERIES:
        try:
            rows = snapshot_rows(store, sql)
        except duckdb.Error as exc:
            if log is not None:
                log.info(f"{kind}: not checked ({type(exc).__name__}: the table or column is missing)")
            continue
        if rows is None:
            return None
        events += [_event(kind, r) for r in rows]
    return events


@dg.sensor(
    minimum_interval_seconds=60,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Alerts (log, webhook, Slack) on pieces flagged by QA and publications held for review "
    "or with an unknown outcome; each event once, with a link to it in the UI.",
)
def review_alert_sensor(
    context: dg.SensorEvaluationContext, warehouse: WarehouseResource, alerts: AlertsResource
) -> dg.SensorResult | dg.SkipReason:
    """Cursor: ``{"seen": [event keys]}``, the open events already alerted. Requests no run."""
    seen = json.loads(context.cursor).get("seen", []) if context.cursor else []
    events = open_events(warehouse, context.log)
    if events is None:
        return dg.SkipReason("no warehouse snapshot yet")
    fresh, remember = unseen(events, seen, MAX_EVENTS_PER_TICK)
    cursor = json.dumps({"seen": remember})
    for kind, _ in EVENT_QUERIES:
        batch = [e for e in fresh if e.kind == kind]
        if batch:
            alerts.send(event_alert("review_alert_sensor", kind, batch), context.log)
    if not fresh:
        return dg.SensorResult(
            skip_reason=dg.SkipReason(f"{len(events)} open event(s), all already alerted"), cursor=cursor
        )
    counts = {k: sum(1 for e in fresh if e.kind == k) for k, _ in EVENT_QUERIES}
    return dg.SensorResult(
        skip_reason=dg.SkipReason(
            "alerted " + ", ".join(f"{n} {k}" for k, n in counts.items() if n) + " (no run to request)"
        ),
        cursor=cursor,
    )


@dg.run_failure_sensor(
    name="run_failure_alert_sensor",
    minimum_interval_seconds=30,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Alerts (log, webhook, Slack) when any run fails, with a link to the run in the UI.",
)
def run_failure_alert_sensor(context: dg.RunFailureSensorContext, alerts: AlertsResource) -> None:
    run = context.dagster_run
    message = context.failure_event.message if context.failure_event else ""
    alerts.send(
        run_failure_alert("run_failure_alert_sensor", run.run_id, run.job_name, message or "", run.tags),
        context.log,
    )
