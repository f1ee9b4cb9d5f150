"""The Dagster wiring: publishing_schedule over real content, the publications step, the sensor, the job."""

from __future__ import annotations

import datetime as dt
import json
from zoneinfo import ZoneInfo

import dagster as dg
from typer.testing import CliRunner

from splants_dagster.cli import app
from splants_dagster.definitions import build_all_resources
from splants_dagster.defs.publishing.assets import publications, publishing_schedule
from splants_dagster.defs.publishing.sensors import publish_due_sensor
from splants_dagster.publishing.scheduling import local_instant, rule_violations
from splants_dagster_tests.fixtures_http import DEMO_CAMPAIGN, materialize_campaign
from splants_dagster_tests.publishing.fakes import FakeWordPress
from splants_dagster_tests.publishing.seeding import CAMPAIGN, env, piece, seed
from splants_dagster_tests.publishing.seeding import publications as pubs

UPSTREAM = dg.AssetSelection.assets("campaign_brief", "research_brief", "content_suite")


def approve_all_but(store, flagged_platform: str) -> None:
    with store.write() as conn:
        conn.execute(
            "INSERT OR REPLACE INTO qa_status (piece_id, campaign_id, qa_score, status)"
            " SELECT piece_id, campaign_id, 0.9, CASE WHEN platform = ? THEN 'flagged' ELSE 'approved' END"
            " FROM content_pieces",
            [flagged_platform],
        )


def x_history(store, best_hour: int = 8) -> None:
    tz = __import__("zoneinfo").ZoneInfo("Europe/London")
    rows = []
    for day in range(42):
        date = dt.date(2026, 9, 7) + dt.timedelta(days=day)
        for hour in (8, 13, 17, 20):
            when = local_instant(date, hour, tz)
            rows.append(
                (date, f"hist:{day}:{hour}", "twitter", when, True, 0.06 if hour == best_hour else 0.02)
            )
    with store.write() as conn:
        conn.executemany(
            "INSERT INTO engagement_metrics (date, piece_id, platform, published_at, external, engagement_rate)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            rows,
        )


def test_publishing_schedule_over_the_demo_campaign(instance, resources, store):
    materialize_campaign(instance, resources, selection=UPSTREAM)
    approve_all_but(store, "facebook")
    result = materialize_campaign(
        instance, resources, selection=dg.AssetSelection.assets("publishing_schedule")
    )
    mat = result.asset_materializations_for_node("publishing_schedule")[0]
    md = mat.metadata
    assert md["history"].value == "no history: prior only"
    assert "| day | blog | twitter | linkedin | instagram | email |" in md["calendar"].value
    assert md["unscheduled"].value == 0 and md["learned_slots"].value == 0
    checks = {c.check_name: c for c in result.get_asset_check_evaluations()}
    assert checks["pieces_scheduled"].passed and checks["spacing_caps_pillar_first"].passed
    rows = store.query("SELECT * FROM analytics.schedule ORDER BY publish_at")
    assert len(rows) == 8 and md["scheduled"].value == 8  # 10 pieces, 2 facebook flagged
    assert rows[0]["is_pillar"] and rows[0]["platform"] == "blog"
    assert all(r["slot_source"] == "prior" for r in rows)
    # the brief's window (the demo's start is relative to today), from the brand's midnight to midnight
    campaign = store.query(
        "SELECT start_date, duration_days FROM analytics.campaigns WHERE campaign_id = ?", [DEMO_CAMPAIGN]
    )[0]
    london = ZoneInfo("Europe/London")
    start = dt.datetime.combine(campaign["start_date"], dt.time(), london)
    end = dt.datetime.combine(
        campaign["start_date"] + dt.timedelta(days=campaign["duration_days"]), dt.time(), london
    )
    assert all(start <= r["publish_at"] < end for r in rows)
    assert {r["status"] for r in pubs(store).values()} == {"pending"} and len(pubs(store)) == 8

    # with this account's X history the X slots move to its best hour; what already went out stays put
    x_history(store)
    first_x = next(r for r in rows if r["platform"] == "twitter")
    with store.write() as conn:
        conn.execute(
            "UPDATE publications SET status = 'published', published_at = ? WHERE piece_id = ?",
            [first_x["publish_at"], first_x["piece_id"]],
        )
    result = materialize_campaign(
        instance, resources, selection=dg.AssetSelection.assets("publishing_schedule")
    )
    md = result.asset_materializations_for_node("publishing_schedule")[0].metadata
    assert md["history_posts"].value == 168 and md["history"].value == "168 posts in the engagement history"
    rows = {r["piece_id"]: r for r in store.query("SELECT * FROM analytics.schedule")}
    assert rows[first_x["piece_id"]]["publish_at"] == first_x["publish_at"]
    moved = [r for r in rows.values() if r["platform"] == "twitter" and r["piece_id"] != first_x["piece_id"]]
    assert moved and all(r["slot_source"] == "learned" for r in moved)
    assert all(r["publish_at_local"][11:13] == "08" for r in moved if not r["exploration"])
    assert "twitter | 168 | learned" in md["slot_learning"].value


def test_publishing_schedule_needs_qa_decisions(instance, resources, store):
    materialize_campaign(instance, resources, selection=dg.AssetSelection.assets("campaign_brief"))
    result = materialize_campaign(
        instance, resources, selection=dg.AssetSelection.assets("publishing_schedule"), raise_on_error=False
    )
    assert not result.success
    failure = next(e for e in result.all_events if e.event_type_value == "STEP_FAILURE")
    assert "materialize qa_report first" in str(failure.event_specific_data.error)


def test_sensor_requests_a_tagged_run_only_when_something_is_due(instance, resources, store):
    def tick(cursor=None):
        with dg.build_sensor_context(instance=instance, resources=resources, cursor=cursor) as context:
            return publish_due_sensor(context)

    skipped = tick()
    assert isinstance(skipped, dg.SkipReason) and "nothing due" in skipped.skip_message
    seed(store, [piece("twitter", 1), piece("blog", 2, publish_at=dt.datetime(2030, 1, 1, tzinfo=dt.UTC))])
    result = tick()
    [request] = result.run_requests
    assert request.tags["splants/publishing"] == "true" and request.run_key.startswith("publish:")
    again = tick(result.cursor)
    assert isinstance(again, dg.SkipReason) and "already requested" in again.skip_message


def test_publications_step_publishes_through_configured_resources(instance, store, data_dir, monkeypatch):
    ids = seed(store, [piece("blog", 1, is_pillar=True), piece("twitter", 1)])
    with FakeWordPress() as wp:
        for key, value in env(data_dir, wp=wp).items():
            monkeypatch.setenv(key, value)
        # the review queue is in the path: WordPress gets the blog piece once a person approved it
        approved = CliRunner().invoke(
            app, ["review", "approve", "--campaign", CAMPAIGN, "--all", "--by", "ana"]
        )
        assert approved.exit_code == 0, approved.output
        resources = build_all_resources(data_dir)
        dry = dg.materialize(
            [publications],
            resources=resources,
            instance=instance,
            run_config={"ops": {"publications": {"config": {"dry_run": True}}}},
        )
        assert dry.asset_materializations_for_node("publications")[0].metadata["dry_run"].value == 2
        assert not wp.requests
        result = dg.materialize([publications], resources=resources, instance=instance)
    md = result.asset_materializations_for_node("publications")[0].metadata
    assert md["published"].value == 2 and md["needs_review"].value == 0
    assert "wordpress" in md["items"].value and "outbox" in md["items"].value
    assert "no X credentials (X_ACCESS_TOKEN not set)" in md["publishers"].value
    rows = pubs(store)
    assert rows[ids[0]]["publisher"] == "wordpress" and rows[ids[1]]["publisher"] == "outbox"
    assert sum(wp.creates.values()) == 1
    assert [c.passed for c in result.get_asset_check_evaluations()] == [True]
    serialized = json.dumps({k: str(v.value) for k, v in md.items()})
    assert wp.app_password not in serialized


def test_definitions_wire_the_job_sensor_and_resource():
    from splants_dagster.definitions import defs

    d = defs()
    job = d.resolve_job_def("publish_job")
    assert job.tags["splants/publishing"] == "true"
    assert d.resolve_sensor_def("publish_due_sensor").job_name == "publish_job"
    campaign_keys = {
        k.to_user_string() for k in d.resolve_job_def("campaign_job").asset_layer.executable_asset_keys
    }
    assert "publishing_schedule" in campaign_keys and "publications" not in campaign_keys
    assert next(iter(publishing_schedule.specs)).tags["splants/scope"] == "campaign"
    deps = {k.to_user_string() for k in publishing_schedule.asset_deps[dg.AssetKey("publishing_schedule")]}
    assert {"qa_report", "content_suite"} <= deps
    assert "publishing" in build_all_resources()
    assert rule_violations([]) == []
    assert DEMO_CAMPAIGN
