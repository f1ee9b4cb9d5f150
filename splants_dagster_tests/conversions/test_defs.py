"""The Dagster wiring: the conversions job materialized on a real instance, the inbox sensor, and the goal
pace sensor alerting once through a real webhook on 127.0.0.1."""

import datetime as dt
import json
import shutil

import dagster as dg

from splants_dagster.conversions.imports import conversions_inbox
from splants_dagster.defs.alerts.resources import AlertsResource
from splants_dagster.defs.conversions.assets import campaign_goals, conversion_file_imports
from splants_dagster.defs.conversions.resources import ConversionsResource
from splants_dagster.defs.conversions.sensors import conversions_inbox_sensor, goal_pace_sensor
from splants_dagster_tests.conversions.test_import import CAMPAIGN, DATA, seed, write_generic
from splants_dagster_tests.fixtures_http import FakeServer, Reply


def test_job_imports_files_and_reports_goal_progress(store, paths, resources, instance):
    today = dt.datetime.now(dt.UTC).date()
    seed(store, today - dt.timedelta(days=3), goal_metric="orders", goal_target=100)
    inbox = conversions_inbox(paths.root)
    (inbox / "stripe_payments").mkdir(parents=True)
    shutil.copy(DATA / "stripe_unified_payments.csv", inbox / "stripe_payments" / "payments.csv")
    write_generic(inbox / "orders.csv", [today - dt.timedelta(days=1)], per_day=5)
    result = dg.materialize([conversion_file_imports, campaign_goals], resources=resources, instance=instance)
    assert result.success
    imported = result.asset_materializations_for_node("conversion_file_imports")[0].metadata
    assert imported["files"].value == 2 and imported["rows_quarantined"].value == 1
    goals = result.asset_materializations_for_node("campaign_goals")[0].metadata
    assert goals["goals_measurable"].value == 1 and goals["goals_read_from_text"].value == 0
    assert f"| {CAMPAIGN} | orders | 100 | 5 |" in goals["progress"].value


def test_inbox_sensor_requests_each_file_version_once(paths, resources, instance):
    inbox = conversions_inbox(paths.root)
    (inbox / "ga4_landing_pages").mkdir(parents=True)
    shutil.copy(DATA / "ga4_landing_page_report.csv", inbox / "ga4_landing_pages" / "week45.csv")
    needed = {k: resources[k] for k in ("project", "warehouse")}
    first = conversions_inbox_sensor(dg.build_sensor_context(instance=instance, resources=needed))
    [request] = first.run_requests
    assert request.run_key.startswith("conversions:ga4_landing_pages/week45.csv:")
    assert request.run_config["ops"]["conversion_file_imports"]["config"]["files"] == [
        "ga4_landing_pages/week45.csv"
    ]
    again = conversions_inbox_sensor(
        dg.build_sensor_context(instance=instance, cursor=first.cursor, resources=needed)
    )
    assert again.run_requests == [] and "none new or changed" in again.skip_reason.skip_message


def test_goal_pace_sensor_alerts_once_per_campaign(store, paths, resources, instance):
    today = dt.datetime.now(dt.UTC).date()
    start = today - dt.timedelta(days=15)  # day 16 of 28: past halfway
    seed(store, start, duration=28)
    inbox = conversions_inbox(paths.root)
    inbox.mkdir(parents=True)
    write_generic(
        inbox / "orders.csv", [start + dt.timedelta(days=i) for i in range(16)], per_day=5
    )  # 80 of 285
    dg.materialize([conversion_file_imports, campaign_goals], resources=resources, instance=instance)
    hooks = []
    with FakeServer(lambda r: hooks.append(r.json()) or Reply(200, {"ok": True})) as webhook:
        sensor_resources = {
            "warehouse": resources["warehouse"],
            "conversions": ConversionsResource(off_pace_margin=0.2),
            "alerts": AlertsResource(webhook_url=webhook.url),
        }
        first = goal_pace_sensor(dg.build_sensor_context(instance=instance, resources=sensor_resources))
        second = goal_pace_sensor(
            dg.build_sensor_context(instance=instance, cursor=first.cursor, resources=sensor_resources)
        )
    assert len(hooks) == 1
    alert = hooks[0]
    assert alert["source"] == "goal_pace_sensor" and alert["title"] == "1 campaign goal off pace"
    [item] = alert["items"]
    assert (item["campaign"], item["metric"], item["target"], item["actual"], item["day"]) == (
        CAMPAIGN,
        "orders",
        "500",
        "80",
        "16 of 28",
    )
    assert item["pace"] == f"{80 / (500 * 16 / 28):.2f}"
    assert json.loads(first.cursor) == [f"{CAMPAIGN}@{start}"]
    assert "none newly off pace" in second.skip_reason.skip_message
