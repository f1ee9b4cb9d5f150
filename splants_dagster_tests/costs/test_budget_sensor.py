"""The budget sensor on a real instance: incremental ledger reads through its cursor, one alert (log +
webhook) and one run per threshold per month, the budget_status run it requests recording the events and
the new strategy, and no second alert even when the cursor is lost."""

import datetime as dt
import json

import dagster as dg
import pytest

from splants_dagster.defs.alerts.resources import AlertsResource
from splants_dagster.defs.costs.assets import budget_status, cost_breakdown
from splants_dagster.defs.costs.resources import BudgetResource
from splants_dagster.defs.costs.sensors import budget_sensor
from splants_dagster.defs.resources import LLMResource
from splants_dagster_tests.costs.conftest import spend
from splants_dagster_tests.fixtures_http import FakeServer, Reply

NOW = dt.datetime(2026, 11, 28, 12, 0, tzinfo=dt.UTC)  # 2.5 days left
EARLY = dt.datetime(2026, 11, 2, 10, 0, tzinfo=dt.UTC)  # outside the 7-day rate window


@pytest.fixture(autouse=True)
def frozen_now(monkeypatch):
    for module in (
        "costs.step_budget",
        "costs.batch_desk",
        "defs.costs.sensors",
        "defs.costs.assets",
    ):
        monkeypatch.setattr(f"splants_dagster.{module}.utc_now", lambda: NOW)


@pytest.fixture
def hook():
    received: list[dict] = []
    with FakeServer(lambda r: received.append(r.json()) or Reply(204, raw=b"")) as server:
        server.received = received
        yield server


def test_alerts_once_per_threshold_and_switches_strategy(instance, resources, store, data_dir, hook):
    res = {
        "budget": BudgetResource(data_dir=str(data_dir), monthly_budget_usd=100.0),
        "warehouse": resources["warehouse"],
        "alerts": AlertsResource(webhook_url=hook.url),
        "llm": LLMResource(),
    }
    cursor: list[str | None] = [None]

    def tick(keep_cursor: bool = True):
        context = dg.build_sensor_context(instance=instance, cursor=cursor[0], resources=res)
        result = budget_sensor(context)
        if keep_cursor:
            cursor[0] = result.cursor
        return result

    def record(request):  # the run the sensor requests
        job = dg.materialize(
            [budget_status, cost_breakdown], resources=res, instance=instance, tags=request.tags
        )
        assert job.success
        return job

    spend(store, [(EARLY, 40.0)])
    first = tick()
    # nothing crossed yet, but no strategy recorded: one run to record "quality"
    assert [r.run_key for r in first.run_requests] == [
        f"strategy:2026-11:100:quality:{json.loads(first.cursor)['seq']}"
    ]
    assert hook.received == []
    record(first.run_requests[0])
    assert store.query("SELECT strategy, spent_usd FROM analytics.budget_status") == [
        {"strategy": "quality", "spent_usd": 40.0}
    ]
    assert tick().skip_reason is not None

    spend(store, [(EARLY, 15.0)])  # 55%
    crossed = tick()
    assert [r.run_key for r in crossed.run_requests] == ["budget:2026-11:100:50"]
    assert crossed.run_requests[0].tags["splants/alert_channels"] == "log,webhook"
    assert len(hook.received) == 1 and hook.received[0]["title"] == "LLM budget 2026-11: 50% spent"
    assert "Strategy now balanced" in hook.received[0]["text"]
    job = record(crossed.run_requests[0])
    meta = job.asset_materializations_for_node("budget_status")[0].metadata
    assert meta["strategy"].value == "balanced" and "45.0% of the $100.00" in meta["strategy_reason"].value
    assert meta["spend_chart"].value.startswith("![LLM spend 2026-11](data:image/png;base64,")
    events = store.query(
        "SELECT threshold, kind, severity, alerted, alert_channels FROM analytics.budget_events"
    )
    assert events == [
        {
            "threshold": "50",
            "kind": "budget.warning",
            "severity": "info",
            "alerted": True,
            "alert_channels": "log,webhook",
        }
    ]

    # evaluated again, even with the cursor lost: the 50% alert is not repeated
    assert not tick().run_requests
    lost = dg.build_sensor_context(instance=instance, cursor=None, resources=res)
    assert not budget_sensor(lost).run_requests and len(hook.received) == 1

    spend(store, [(EARLY, 30.0)])  # 85%
    assert [r.run_key for r in tick().run_requests] == ["budget:2026-11:100:80"]
    spend(store, [(NOW - dt.timedelta(hours=1), 11.0)])  # 96%, and today's spend makes the forecast exceed
    late = tick()
    assert [r.run_key for r in late.run_requests] == ["budget:2026-11:100:95+forecast"]
    assert hook.received[-1]["severity"] == "critical" and len(hook.received) == 3
    assert json.loads(late.cursor)["fired"] == {"2026-11|100": ["50", "80", "95", "forecast"]}
    assert not tick().run_requests and len(hook.received) == 3

    # a higher budget is a new scope: its thresholds alert afresh when crossed
    res["budget"] = BudgetResource(data_dir=str(data_dir), monthly_budget_usd=150.0)
    raised = tick()
    assert [r.run_key for r in raised.run_requests] == ["budget:2026-11:150:50"]


def test_reads_only_new_ledger_rows(instance, resources, store, data_dir):
    res = {
        "budget": BudgetResource(data_dir=str(data_dir), monthly_budget_usd=100.0),
        "warehouse": resources["warehouse"],
        "alerts": AlertsResource(),
        "llm": LLMResource(),
    }
    spend(store, [(EARLY, 1.0), (EARLY, 2.0), (dt.datetime(2026, 10, 30, tzinfo=dt.UTC), 50.0)])
    first = budget_sensor(dg.build_sensor_context(instance=instance, resources=res))
    state = json.loads(first.cursor)
    assert state["days"] == {"2026-11-02": 3.0} and state["seq"] == 3
    spend(store, [(EARLY, 4.0)])
    second = budget_sensor(dg.build_sensor_context(instance=instance, cursor=first.cursor, resources=res))
    state = json.loads(second.cursor)
    assert state["days"] == {"2026-11-02": 7.0} and state["seq"] == 4


def test_no_budget_nothing_to_watch(instance, resources, data_dir):
    res = {
        "budget": BudgetResource(data_dir=str(data_dir)),
        "warehouse": resources["warehouse"],
        "alerts": AlertsResource(),
        "llm": LLMResource(),
    }
    result = budget_sensor(dg.build_sensor_context(instance=instance, resources=res))
    assert "no monthly budget limit set" in result.skip_message
