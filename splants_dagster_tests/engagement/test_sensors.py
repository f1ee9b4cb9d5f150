"""Sensors and schedules with a real instance: each event fires once, cursors advance, run keys are
stable, and the runs they request do what they promise (boost plans, a derived campaign)."""

from __future__ import annotations

import datetime as dt
import json
import os

import dagster as dg
import yaml

from splants_dagster.defs.alerts.resources import AlertsResource
from splants_dagster.defs.campaigns.sensors import campaign_brief_sensor
from splants_dagster.defs.engagement.assets import (
    engagement_boosts,
    engagement_events,
    engagement_file_imports,
    engagement_metrics,
    engagement_monitoring,
    similar_campaign_briefs,
)
from splants_dagster.defs.engagement.resources import EngagementResource
from splants_dagster.defs.engagement.schedules import engagement_hourly_schedule
from splants_dagster.defs.engagement.sensors import (
    engagement_anomaly_sensor,
    engagement_high_sensor,
    engagement_history_sensor,
    engagement_inbox_sensor,
)
from splants_dagster.defs.engagement.windows import RANGE_END_TAG, RANGE_START_TAG
from splants_dagster.engagement import sql
from splants_dagster.engagement.rules import anomaly_id, highlight_id
from splants_dagster.publishing import state
from splants_dagster_tests.fixtures_http import FakeServer, Reply

from .conftest import CAMPAIGN, LINKEDIN, TWEET, raw_query, seed_campaign

TODAY = dt.datetime.now(dt.UTC).date()


def tick(sensor, instance, resources, cursor=None):
    context = dg.build_sensor_context(instance=instance, cursor=cursor, resources=resources)
    result = sensor(context)
    if isinstance(result, dg.SkipReason):
        return [], context.cursor, result.skip_message
    skip = result.skip_reason.skip_message if result.skip_reason else None
    return list(result.run_requests or []), result.cursor if result.cursor is not None else cursor, skip


# ------------------------------------------------------------------------------------------------ inbox


def test_inbox_sensor_imports_each_file_version_once_then_rebuilds_its_days(
    data_dir, store, instance, resources
):
    sensor_resources = {"project": resources["project"], "warehouse": resources["warehouse"]}
    inbox = data_dir / "inbox" / "engagement"
    inbox.mkdir(parents=True)
    drop = inbox / "daily.csv"
    day = TODAY - dt.timedelta(days=3)
    drop.write_text(
        f"date,external_id,platform,impressions,likes\n{day},a,twitter,500,20\n"
        f"{day + dt.timedelta(days=1)},a,twitter,300,9\n"
    )
    requests, cursor, _ = tick(engagement_inbox_sensor, instance, sensor_resources)
    (imp,) = requests
    mtime = drop.stat().st_mtime_ns
    assert imp.job_name == "engagement_import_job" and imp.run_key == f"import:daily.csv:{mtime}"
    assert imp.run_config == {"ops": {"engagement_file_imports": {"config": {"files": ["daily.csv"]}}}}
    assert json.loads(cursor)["files"] == {"daily.csv": mtime}

    requests, cursor, skip = tick(engagement_inbox_sensor, instance, sensor_resources, cursor)
    assert requests == [] and "none new or changed" in skip

    assert dg.materialize(
        [engagement_file_imports], instance=instance, resources=resources, run_config=imp.run_config
    ).success
    requests, cursor, _ = tick(engagement_inbox_sensor, instance, sensor_resources, cursor)
    (rebuild,) = requests
    assert rebuild.job_name == "engagement_job" and rebuild.run_key == f"events:daily.csv:{mtime}"
    assert (rebuild.tags[RANGE_START_TAG], rebuild.tags[RANGE_END_TAG]) == (
        day.isoformat(),
        (day + dt.timedelta(days=1)).isoformat(),
    )
    requests, cursor, _ = tick(engagement_inbox_sensor, instance, sensor_resources, cursor)
    assert requests == []  # requested once, even before the run has happened

    # the requested run rebuilds exactly those days; afterwards nothing is pending
    ran = dg.materialize(
        [engagement_events, engagement_metrics, engagement_monitoring],
        instance=instance,
        resources=resources,
        tags=rebuild.tags,
    )
    assert ran.success
    rows = raw_query(
        store,
        "SELECT event_date, impressions FROM events.engagement_events WHERE source = 'file:generic' "
        "ORDER BY event_date",
    )
    assert [(r["event_date"], r["impressions"]) for r in rows] == [
        (day, 500),
        (day + dt.timedelta(days=1), 300),
    ]
    assert tick(engagement_inbox_sensor, instance, sensor_resources)[0] == []  # even with a fresh cursor

    os.utime(drop, ns=(mtime + 10**9, mtime + 10**9))  # a new version of the file
    requests, cursor, _ = tick(engagement_inbox_sensor, instance, sensor_resources, cursor)
    assert [r.run_key for r in requests] == [f"import:daily.csv:{mtime + 10**9}"]


# ---------------------------------------------------------------------------------------------- anomaly


def _anomaly(piece_id, platform, rule, day, external, value=0.004, baseline=0.04):
    return {
        "anomaly_id": anomaly_id(piece_id, platform, rule),
        "date": day,
        "piece_id": piece_id,
        "platform": platform,
        "rule": rule,
        "value": value,
        "baseline": baseline,
        "severity": "critical",
        "detected_at": dt.datetime.now(dt.UTC),
        "score": value / baseline,
        "threshold": 0.3 * baseline,
        "campaign_id": None if external else CAMPAIGN,
        "external": external,
        "is_demo": False,
        "impressions": 800,
        "age_days": 1,
    }


def test_anomaly_sensor_alerts_once_and_requests_one_boost_per_piece(data_dir, store, instance, resources):
    seed_campaign(store, data_dir)
    old = TODAY - dt.timedelta(days=30)
    with store.write() as conn:
        sql.write_anomalies(
            conn,
            [
                _anomaly(TWEET, "twitter", "low_engagement", TODAY, False),
                _anomaly("twitter:someone-else", "twitter", "low_engagement", TODAY, True),
                _anomaly(LINKEDIN, "linkedin", "low_views", old, False, 120, 900),
            ],
            old,
            TODAY,
        )
    hooks: list = []
    with (
        FakeServer(lambda r: hooks.append(("webhook", r.json())) or Reply(200, {"ok": True})) as webhook,
        FakeServer(lambda r: hooks.append(("slack", r.json())) or Reply(200, raw=b"ok")) as slack,
    ):
        sensor_resources = {
            "engagement": EngagementResource(),
            "warehouse": resources["warehouse"],
            "alerts": AlertsResource(webhook_url=webhook.url, slack_webhook_url=slack.url),
        }
        requests, cursor, _ = tick(engagement_anomaly_sensor, instance, sensor_resources)
        assert cursor == "3"
        (boost,) = requests  # the external post is alerted but not ours to boost; the old one is history
        assert boost.run_key == f"boost:{TWEET}"
        assert boost.run_config["ops"]["engagement_boosts"]["config"]["anomaly_ids"] == [
            anomaly_id(TWEET, "twitter", "low_engagement")
        ]
        assert [kind for kind, _ in hooks] == ["webhook", "slack"]
        payload = hooks[0][1]
        assert payload["source"] == "engagement_anomaly_sensor" and payload["severity"] == "critical"
        assert {i["piece"] for i in payload["items"]} == {TWEET, "twitter:someone-else"}
        assert payload["items"][0]["value"] == "0.40%"
        assert "2 engagement anomalies" in hooks[1][1]["text"] and hooks[1][1]["blocks"]

        requests, cursor, skip = tick(engagement_anomaly_sensor, instance, sensor_resources, cursor)
        assert requests == [] and skip == "no anomaly after #3" and len(hooks) == 2  # no second alert

        with store.write() as conn:  # re-detection keeps the seq: still nothing new
            sql.write_anomalies(
                conn, [_anomaly(TWEET, "twitter", "low_engagement", TODAY, False)], TODAY, TODAY
            )
        assert tick(engagement_anomaly_sensor, instance, sensor_resources, cursor)[0] == []

    result = dg.materialize(
        [engagement_boosts], instance=instance, resources=resources, run_config=boost.run_config
    )
    assert result.success
    (plan,) = store.query("SELECT * FROM analytics.engagement_boosts")
    assert plan["piece_id"] == TWEET and plan["status"] == "planned" and plan["rules"] == ["low_engagement"]
    assert plan["planned_at"] > dt.datetime.now(dt.UTC)
    assert plan["boost_copy"].startswith("Quick question:") and len(plan["boost_copy"]) <= 280
    assert "Pre-order the starter pack" in plan["boost_copy"]

    # publishing schedules it (see splants_dagster_tests/publishing/test_boosts.py); planning the piece
    # again never resets a boost publishing has taken over
    with store.write() as conn:
        assert state.schedule_boosts(conn, dt.datetime.now(dt.UTC)) == 1
    again = dg.materialize(
        [engagement_boosts], instance=instance, resources=resources, run_config=boost.run_config
    )
    assert again.success
    (kept,) = store.query("SELECT status, publication_key FROM analytics.engagement_boosts")
    assert kept["status"] == "scheduled" and kept["publication_key"]


# ------------------------------------------------------------------------------------- high engagement


def _highlight(piece_id, platform, external, rate=0.14):
    return {
        "highlight_id": highlight_id(piece_id, platform),
        "date": TODAY,
        "piece_id": piece_id,
        "platform": platform,
        "campaign_id": None if external else CAMPAIGN,
        "external": external,
        "is_demo": False,
        "engagement_rate": rate,
        "threshold": 0.1,
        "percentile": 0.99,
        "impressions": 2000,
        "sample_size": 150,
        "detected_at": dt.datetime.now(dt.UTC),
    }


def test_high_engagement_creates_one_similar_campaign_linked_to_its_parent(
    data_dir, store, instance, resources
):
    seed_campaign(store, data_dir)
    with store.write() as conn:
        sql.write_highlights(
            conn,
            [_highlight(TWEET, "twitter", False), _highlight("twitter:x1", "twitter", True)],
            TODAY,
            TODAY,
        )
    sensor_resources = {"engagement": EngagementResource(), "warehouse": resources["warehouse"]}
    requests, cursor, _ = tick(engagement_high_sensor, instance, sensor_resources)
    (similar,) = requests
    assert similar.run_key == f"similar:{TWEET}" and cursor == "2"
    assert tick(engagement_high_sensor, instance, sensor_resources, cursor)[0] == []

    result = dg.materialize(
        [similar_campaign_briefs], instance=instance, resources=resources, run_config=similar.run_config
    )
    assert result.success
    (lineage,) = store.query("SELECT * FROM analytics.campaign_lineage")
    child = lineage["child_campaign_id"]
    assert child.startswith(f"{CAMPAIGN}-more-") and lineage["parent_piece_id"] == TWEET
    assert lineage["parent_campaign_id"] == CAMPAIGN and lineage["engagement_rate"] == 0.14
    brief = yaml.safe_load((data_dir / "campaigns" / f"{child}.yaml").read_text())
    assert brief["id"] == child and brief["parent_piece_id"] == TWEET
    assert brief["platforms"][0] == "twitter" and "Follow-up on what resonated" in brief["topic"]
    assert brief["start_date"] == (TODAY + dt.timedelta(days=7)).isoformat()

    # the existing brief sensor registers the new campaign and runs campaign_job for it
    context = dg.build_sensor_context(instance=instance, resources={"project": resources["project"]})
    outcome = campaign_brief_sensor(context)
    added = [key for req in outcome.dynamic_partitions_requests for key in req.partition_keys]
    assert child in added
    assert any(r.partition_key == child and r.job_name == "campaign_job" for r in outcome.run_requests)

    # materializing again derives nothing new (the file exists, the lineage row is replaced)
    assert dg.materialize(
        [similar_campaign_briefs], instance=instance, resources=resources, run_config=similar.run_config
    ).success
    assert len(store.query("SELECT * FROM campaign_lineage")) == 1


# ---------------------------------------------------------------------------------- history, schedule


def test_history_sensor_backfills_once_and_only_with_the_simulator(instance, resources):
    sensor_resources = {
        "engagement": EngagementResource(history_days=30),
        "warehouse": resources["warehouse"],
    }
    requests, cursor, _ = tick(engagement_history_sensor, instance, sensor_resources)
    (history,) = requests
    assert history.tags[RANGE_START_TAG] == (TODAY - dt.timedelta(days=30)).isoformat()
    assert history.tags[RANGE_END_TAG] == TODAY.isoformat() and cursor == TODAY.isoformat()
    assert tick(engagement_history_sensor, instance, sensor_resources, cursor)[0] == []
    off = {"engagement": EngagementResource(simulator=False), "warehouse": resources["warehouse"]}
    requests, _, skip = tick(engagement_history_sensor, instance, off)
    assert requests == [] and "simulator off" in skip


def test_hourly_schedule_covers_yesterday_and_today():
    when = dt.datetime(2026, 11, 25, 10, 20, tzinfo=dt.UTC)
    request = engagement_hourly_schedule(dg.build_schedule_context(scheduled_execution_time=when))
    assert (request.tags[RANGE_START_TAG], request.tags[RANGE_END_TAG]) == ("2026-11-24", "2026-11-25")
    assert request.run_key == f"hourly:{when.isoformat()}"
