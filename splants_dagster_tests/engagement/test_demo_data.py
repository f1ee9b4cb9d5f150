"""Demo data kept apart (issue #16): when the simulator runs (auto: fresh install only), what
``splants engagement simulate --clear`` removes, and simulated anomalies in alerts."""

from __future__ import annotations

import datetime as dt
import json

import dagster as dg
import pytest
from typer.testing import CliRunner

from splants_dagster.cli import app
from splants_dagster.defs.alerts.resources import AlertsResource
from splants_dagster.defs.engagement.assets import (
    engagement_events,
    engagement_metrics,
    engagement_monitoring,
)
from splants_dagster.defs.engagement.resources import EngagementResource
from splants_dagster.defs.engagement.sensors import engagement_anomaly_sensor
from splants_dagster.defs.engagement.windows import range_tags
from splants_dagster.engagement.simulator import marker_path, should_simulate
from splants_dagster_tests.fixtures_http import FakeServer, Reply

from .conftest import raw_query

DAY = dt.date(2025, 6, 10)
ASSETS = [engagement_events, engagement_metrics, engagement_monitoring]
DEMO_COUNTS = {
    "events": "SELECT count(*) AS n FROM events.engagement_events WHERE is_demo",
    "posts": "SELECT count(*) AS n FROM engagement_posts WHERE is_demo",
    "metrics": "SELECT count(*) AS n FROM engagement_metrics WHERE is_demo",
}


@pytest.mark.parametrize(
    ("mode", "real", "cleared", "expected"),
    [
        ("auto", False, False, True),
        ("auto", True, False, False),
        ("auto", False, True, False),
        ("on", True, True, True),
        ("off", False, False, False),
    ],
)
def test_the_simulator_runs_on_a_fresh_install_only_unless_asked(mode, real, cleared, expected):
    simulate, why = should_simulate(mode, real, cleared)
    assert simulate is expected and why.startswith("on" if expected else "off")


def test_unknown_mode_is_refused():
    with pytest.raises(ValueError, match="auto, on, off"):
        should_simulate("sometimes", False, False)


def _demo_counts(store) -> dict[str, int]:
    return {name: raw_query(store, sql)[0]["n"] for name, sql in DEMO_COUNTS.items()}


def _events_meta(result) -> dict:
    return result.asset_materializations_for_node("engagement_events")[0].metadata


@pytest.mark.slow
def test_clear_removes_demo_history_and_keeps_the_simulator_off(
    tmp_path, store, instance, resources, monkeypatch
):
    tags = range_tags(DAY - dt.timedelta(days=1), DAY)
    first = dg.materialize(ASSETS, instance=instance, resources=resources, tags=tags)
    assert first.success
    assert _events_meta(first)["simulator"].value.startswith("on (auto: fresh install")
    before = _demo_counts(store)
    assert all(before.values()), before

    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "home"))
    (tmp_path / "home").mkdir()
    result = CliRunner().invoke(app, ["engagement", "simulate", "--clear"])
    assert result.exit_code == 0, result.output
    out = " ".join(result.output.split())
    assert f"engagement_events {before['events']:,}" in out and "stays off" in out
    assert _demo_counts(store) == {"events": 0, "posts": 0, "metrics": 0}
    assert store.query("SELECT count(*) AS n FROM analytics.anomalies WHERE is_demo")[0]["n"] == 0
    marker = json.loads(marker_path(store.paths.warehouse_dir).read_text())
    assert marker["deleted"]["engagement_events"] == before["events"]

    # the hourly pull after a clear adds no demo data (auto mode, marker present)
    again = dg.materialize(ASSETS, instance=instance, resources=resources, tags=tags)
    assert again.success
    meta = _events_meta(again)
    assert meta["simulated_rows"].value == 0 and "demo history was cleared" in meta["simulator"].value
    assert _demo_counts(store) == {"events": 0, "posts": 0, "metrics": 0}


def test_real_engagement_turns_the_automatic_simulator_off(store, instance, resources):
    with store.write() as conn:
        conn.execute(
            "INSERT INTO engagement_metrics (date, piece_id, platform, external, is_demo, impressions, "
            "engagements, engagement_rate) VALUES (?, 'x:1', 'twitter', true, false, 100, 5, 0.05)",
            [DAY - dt.timedelta(days=3)],
        )
    result = dg.materialize(
        [engagement_events], instance=instance, resources=resources, partition_key=DAY.isoformat()
    )
    meta = _events_meta(result)
    assert meta["simulated_rows"].value == 0 and "real engagement exists" in meta["simulator"].value
    on = {**resources, "engagement": EngagementResource(simulator_mode="on")}
    forced = dg.materialize(
        [engagement_events], instance=instance, resources=on, partition_key=DAY.isoformat()
    )
    assert _events_meta(forced)["simulated_rows"].value > 0


def _anomaly(anomaly_id: str, seq: int, platform: str, demo: bool) -> list:
    today = dt.datetime.now(dt.UTC).date()
    return [
        anomaly_id,
        seq,
        today,
        f"{platform}:{anomaly_id}",
        platform,
        "low_views",
        10.0,
        900.0,
        "warning",
        True,
        demo,
    ]


def test_simulated_anomalies_are_ignored_once_real_engagement_exists_and_labelled_before(store, resources):
    today = dt.datetime.now(dt.UTC).date()
    with store.write() as conn:
        conn.execute(
            "INSERT INTO engagement_metrics (date, piece_id, platform, external, is_demo, impressions) "
            "VALUES (?, 'x:real', 'twitter', true, false, 100)",
            [today],
        )
        conn.executemany(
            "INSERT INTO anomalies (anomaly_id, seq, date, piece_id, platform, rule, value, baseline, severity, "
            "external, is_demo) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [
                _anomaly("real-tw", 1, "twitter", False),
                _anomaly("demo-tw", 2, "twitter", True),
                _anomaly("demo-blog", 3, "blog", True),
            ],
        )
    with FakeServer(lambda _req: Reply(200, {})) as hook:
        ctx = dg.build_sensor_context(
            resources={
                "engagement": EngagementResource(),
                "warehouse": resources["warehouse"],
                "alerts": AlertsResource(webhook_url=f"{hook.url}/hook"),
            }
        )
        result = engagement_anomaly_sensor(ctx)
        assert result.cursor == "3"
        bodies = {b["title"]: b for b in (r.json() for r in hook.requests)}
    real = bodies["1 engagement anomaly"]
    assert [i["piece"] for i in real["items"]] == ["twitter:real-tw"] and real["severity"] == "warning"
    demo = bodies["[demo] 1 engagement anomaly in simulated data"]
    assert [i["piece"] for i in demo["items"]] == ["blog:demo-blog"] and demo["items"][0]["demo"] is True
    assert "Simulated demo engagement" in demo["text"]
    assert len(hook.requests) == 2  # the simulated twitter anomaly is not alerted at all
