"""Cost sensors.

- ``budget_sensor``: reads the ledger incrementally (only rows ingested since its cursor) from the
  analysts' snapshot, keeps this month's spend per day in the cursor, and when spend crosses 50 / 80 / 95 /
  100% of the monthly budget or the month-end forecast exceeds it: alerts (log, webhook, Slack through the
  ``alerts`` resource) and requests a ``budget_job`` run that records the ``budget.warning`` events and the
  new strategy. Once per threshold per month and budget (cursor + run key); a strategy change without a
  new threshold (a new month, a lower forecast) also requests a run, without an alert.
- ``llm_batch_sensor``: polls the provider batches still waiting; a finished one requests a campaign run
  for its campaign, whose content step collects the results and materializes the pieces.
"""

import datetime as dt
import json
import time
from typing import Any

import dagster as dg

from splants_dagster.alerts.channels import SEVERITIES, Alert
from splants_dagster.costs import ledger
from splants_dagster.costs.policy import (
    BudgetStatus,
    Decision,
    compute_status,
    crossed_thresholds,
    decide,
    money,
    month_key,
    month_start,
    threshold_severity,
)
from splants_dagster.costs.step_budget import utc_now
from splants_dagster.defs.alerts.resources import AlertsResource
from splants_dagster.defs.campaigns.jobs import campaign_job
from splants_dagster.defs.costs.jobs import CHANNELS_TAG, THRESHOLDS_TAG, TRIGGER_TAG, budget_job
from splants_dagster.defs.costs.resources import BudgetResource
from splants_dagster.defs.resources import LLMResource, WarehouseResource
from splants_dagster.llm.batch import BatchError
from splants_dagster.warehouse.queries import costs as cost_queries

MAX_BATCHES_PER_TICK = 20
POLL_TIMEOUT_S = 10.0  # per status request
POLL_BUDGET_S = 20.0  # per tick


class BudgetCursor:
    """``{"seq": last ledger_seq read, "days": {date: usd} of this month, "fired": {"<month>|<budget>":
    [thresholds alerted]}, "requested": "<month>|<budget>|<strategy>" last run requested}``."""

    def __init__(self, raw: str | None):
        data: dict[str, Any] = json.loads(raw) if raw else {}
        self.seq = int(data.get("seq", 0))
        self.fresh = not raw
        self.days = {dt.date.fromisoformat(d): float(v) for d, v in data.get("days", {}).items()}
        self.fired: dict[str, list[str]] = data.get("fired", {})
        self.requested: str | None = data.get("requested")

    def add(self, seq: int, days: dict[dt.date, float], since: dt.date) -> None:
        self.seq = max(self.seq, seq)
        for day, usd in days.items():
            self.days[day] = self.days.get(day, 0.0) + usd
        self.days = {d: v for d, v in self.days.items() if d >= since}

    def dump(self, month: str) -> str:
        return json.dumps(
            {
                "seq": self.seq,
                "days": {d.isoformat(): round(v, 10) for d, v in sorted(self.days.items())},
                "fired": {k: v for k, v in self.fired.items() if k.startswith(month)},
                "requested": self.requested,
            },
            sort_keys=True,
        )


def budget_alert(status: BudgetStatus, decision: Decision, thresholds: list[str]) -> Alert:
    severity = max((threshold_severity(t) for t in thresholds), key=SEVERITIES.index)
    named = [("forecast over budget" if t == "forecast" else f"{t}% spent") for t in thresholds]
    return Alert(
        source="budget_sensor",
        title=f"LLM budget {status.month}: {', '.join(named)}",
        severity=severity,
        text=(
            f"Month to date {money(status.spent_usd)} of {money(status.budget_usd)} ({status.spent_pct:.1f}%), "
            f"today {money(status.today_usd)}, {money(status.rate_usd_per_day)}/day, month-end forecast "
            f"{money(status.forecast_usd)}. Strategy now {decision.strategy}: {decision.reason}."
        ),
        items=[
            {
                "event": "budget.warning",
                "threshold": "forecast > budget" if t == "forecast" else f"{t}%",
                "spent_usd": round(status.spent_usd, 4),
                "forecast_usd": round(status.forecast_usd, 4),
                "budget_usd": status.budget_usd,
            }
            for t in thresholds
        ],
    )


@dg.sensor(
    job=budget_job,
    minimum_interval_seconds=60,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Alerts once per budget threshold per month (50/80/95/100% spent, forecast over budget) and "
    "records the events and the new generation strategy.",
)
def budget_sensor(
    context: dg.SensorEvaluationContext,
    budget: BudgetResource,
    warehouse: WarehouseResource,
    alerts: AlertsResource,
    llm: LLMResource,
) -> dg.SensorResult | dg.SkipReason:
    """Run keys ``budget:<month>:<budget>:<thresholds>`` (alerts) and ``strategy:<month>:<budget>:<strategy>:
    <seq>`` (a strategy change without a new threshold)."""
    config = budget.config()
    if not config.limited:
        return dg.SkipReason(
            "no monthly budget limit set (SPLANTS_MONTHLY_BUDGET_USD unset or 0): nothing to watch"
        )
    store = warehouse.store()
    if not store.paths.analytics_db.exists():
        return dg.SkipReason("no warehouse snapshot yet")
    now = utc_now()
    month, amount = month_key(now), float(config.monthly_budget_usd or 0)  # limited: a positive amount
    cursor = BudgetCursor(context.cursor)
    first = month_start(now)
    with store.read() as conn:
        if cursor.fresh:
            # first evaluation: this month's spend in one pass, then only new rows
            top = cost_queries.last_ledger_seq(conn)
            cursor.add(top, ledger.daily_spend(conn, first), first.date())
        else:
            seq, days = ledger.spend_since(conn, cursor.seq)
            cursor.add(seq, days, first.date())
        already = ledger.alerted_thresholds(conn, month, amount)
        recorded = ledger.latest_status(conn, month)
    status = compute_status(cursor.days, now, amount, config.rate_window_days)
    decision = decide(status, config, llm.strategy)
    scope = f"{month}|{amount:g}"
    fired = set(cursor.fired.get(scope, [])) | already
    fresh = [t for t in crossed_thresholds(status, config) if t not in fired]
    summary = (
        f"{money(status.spent_usd)} of {money(amount)} spent ({status.spent_pct:.1f}%), forecast "
        f"{money(status.forecast_usd)}: strategy {decision.strategy}"
    )
    requests: list[dg.RunRequest] = []
    if fresh:
        deliveries = alerts.send(budget_alert(status, decision, fresh), context.log)
        requests.append(
            dg.RunRequest(
                run_key=f"budget:{month}:{amount:g}:{'+'.join(fresh)}",
                tags={
                    TRIGGER_TAG: "budget_sensor",
                    THRESHOLDS_TAG: ",".join(fresh),
                    CHANNELS_TAG: ",".join(d.channel for d in deliveries if d.ok),
                },
            )
        )
        cursor.fired[scope] = sorted(fired | set(fresh))
        cursor.requested = f"{scope}|{decision.strategy}"
    else:
        current = recorded["strategy"] if recorded and recorded.get("budget_usd") == amount else None
        wanted = f"{scope}|{decision.strategy}"
        if decision.strategy != current and cursor.requested != wanted:
            requests.append(
                dg.RunRequest(
                    run_key=f"strategy:{month}:{amount:g}:{decision.strategy}:{cursor.seq}",
                    tags={TRIGGER_TAG: "budget_sensor"},
                )
            )
            cursor.requested = wanted
    if not requests:
        return dg.SensorResult(
            skip_reason=dg.SkipReason(
                f"{summary}; no new threshold (alerted: {', '.join(sorted(fired)) or 'none'})"
            ),
            cursor=cursor.dump(month),
        )
    context.log.info(f"{summary}; new: {', '.join(fresh) or 'strategy change'}")
    return dg.SensorResult(run_requests=requests, cursor=cursor.dump(month))


@dg.sensor(
    job=campaign_job,
    minimum_interval_seconds=300,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Polls provider batches still waiting; a finished one starts its campaign's run, which "
    "collects the results and materializes the pieces.",
)
def llm_batch_sensor(
    context: dg.SensorEvaluationContext, warehouse: WarehouseResource, llm: LLMResource
) -> dg.SensorResult | dg.SkipReason:
    """Cursor: ``{batch_id: provider status}`` of the batches waiting. Run key ``batch:<batch_id>``: one
    campaign run per finished batch."""
    store = warehouse.store()
    if not store.paths.analytics_db.exists():
        return dg.SkipReason("no warehouse snapshot yet")
    waiting = cost_queries.waiting_batches(store, MAX_BATCHES_PER_TICK)
    if not waiting:
        return dg.SensorResult(skip_reason=dg.SkipReason("no provider batch waiting"), cursor="{}")
    seen: dict[str, str] = json.loads(context.cursor) if context.cursor else {}
    statuses: dict[str, str] = {}
    requests = []
    deadline = time.monotonic() + POLL_BUDGET_S
    for row in waiting:
        batch_id = row["batch_id"]
        if time.monotonic() > deadline:  # a slow provider must not stall the sensor: the rest next tick
            statuses[batch_id] = seen.get(batch_id, "unknown")
            continue
        try:
            state = llm.batch_api(row["provider"], timeout_s=POLL_TIMEOUT_S).status(batch_id)
        except (BatchError, dg.Failure) as exc:
            context.log.warning(f"batch {batch_id}: {exc}")
            statuses[batch_id] = seen.get(batch_id, "unknown")
            continue
        statuses[batch_id] = state.provider_status
        if seen.get(batch_id) != state.provider_status:
            context.log.info(f"batch {batch_id} ({row['campaign_id']}): {state.provider_status}")
        if state.finished:
            requests.append(
                dg.RunRequest(
                    run_key=f"batch:{batch_id}",
                    partition_key=row["campaign_id"],
                    tags={TRIGGER_TAG: "llm_batch_sensor", "splants/batch": batch_id},
                )
            )
    cursor = json.dumps(statuses, sort_keys=True)
    if not requests:
        shown = ", ".join(f"{b} {s}" for b, s in statuses.items())
        return dg.SensorResult(skip_reason=dg.SkipReason(f"no batch finished yet ({shown})"), cursor=cursor)
    return dg.SensorResult(run_requests=requests, cursor=cursor)
