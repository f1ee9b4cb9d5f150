"""Report wiring: periods, shared traits, the schedules (cron, brand timezone, the run they request), a
brand with no data (an honest empty report, not a crash) and the alert over a loopback webhook."""

from __future__ import annotations

import datetime as dt
import json
from zoneinfo import ZoneInfo

import dagster as dg
import pytest
from lxml import html as lxml_html

from splants_dagster.defs.alerts.resources import AlertsResource
from splants_dagster.defs.reports.assets import monthly_report, weekly_report
from splants_dagster.defs.reports.jobs import monthly_report_job, weekly_report_job
from splants_dagster.defs.reports.partitions import BRAND_TIMEZONE, monthly_partitions, weekly_partitions
from splants_dagster.defs.reports.schedules import monthly_report_schedule, weekly_report_schedule
from splants_dagster.defs.resources import ProjectResource, WarehouseResource
from splants_dagster.reports.figures import Figures
from splants_dagster.reports.periods import from_partition_key, last_complete, period_of
from splants_dagster.reports.render import SECTIONS, render_html
from splants_dagster.reports.traits import shared_traits
from splants_dagster_tests.fixtures_http import FakeServer, Reply

LONDON = ZoneInfo("Europe/London")


def test_periods_are_iso_weeks_and_months():
    week = period_of("weekly", dt.date(2026, 12, 3))
    assert (week.start, week.end, week.label) == (dt.date(2026, 11, 30), dt.date(2026, 12, 6), "2026-W49")
    assert last_complete("weekly", dt.date(2026, 12, 7)).label == "2026-W49"
    assert period_of("weekly", dt.date(2027, 1, 1)).label == "2026-W53"  # ISO year, not calendar year
    month = last_complete("monthly", dt.date(2027, 1, 1))
    assert (month.start, month.end, month.label) == (dt.date(2026, 12, 1), dt.date(2026, 12, 31), "2026-12")
    assert from_partition_key("monthly", "2026-02-01").end == dt.date(2026, 2, 28)
    with pytest.raises(ValueError, match="not the first day of a week"):
        from_partition_key("weekly", "2026-12-02")
    with pytest.raises(ValueError, match="must be one of weekly, monthly"):
        period_of("yearly", dt.date(2026, 1, 1))


def _piece(platform: str, question: bool, cta: bool, hour: int) -> dict:
    return {
        "platform": platform,
        "content_type": "social_post",
        "word_count": 20,
        "hashtag_count": 1,
        "has_question": question,
        "has_cta": cta,
        "paid": False,
        "media_type": None,
        "published_at": dt.datetime(2026, 11, 17, hour, tzinfo=dt.UTC),
    }


def test_shared_traits_are_stated_with_counts_in_both_groups():
    best = [
        _piece("twitter", True, True, 8),
        _piece("twitter", True, False, 9),
        _piece("linkedin", True, True, 19),
    ]
    worst = [
        _piece("twitter", False, True, 20),
        _piece("blog", False, True, 21),
        _piece("twitter", True, True, 22),
    ]
    shared = {s.trait: s for s in shared_traits(best, worst, "Europe/London")}
    question = shared["asks a question"]
    assert (question.in_group, question.group_size, question.in_other, question.other_size) == (3, 3, 1, 3)
    assert question.distinguishes
    assert shared["organic"].in_other == 3 and not shared["organic"].distinguishes
    assert shared["published in the morning (06–12)"].in_group == 2  # 08:00 and 09:00 UTC = London time
    assert "on linkedin" not in shared  # 1 of 3 is not "shared"
    assert shared_traits([], worst, "UTC") == []


def test_schedules_run_monday_and_the_first_at_eight_brand_time():
    assert BRAND_TIMEZONE == "Europe/London"  # the repository's brand.yaml
    assert weekly_report_schedule.cron_schedule == "0 8 * * 1"
    assert monthly_report_schedule.cron_schedule == "0 8 1 * *"
    for schedule, job in (
        (weekly_report_schedule, weekly_report_job),
        (monthly_report_schedule, monthly_report_job),
    ):
        assert schedule.execution_timezone == BRAND_TIMEZONE and schedule.job_name == job.name
        assert schedule.default_status == dg.DefaultScheduleStatus.RUNNING
    assert weekly_partitions.timezone == monthly_partitions.timezone == BRAND_TIMEZONE


@pytest.mark.parametrize(
    ("schedule", "tick", "partition", "label"),
    [
        (weekly_report_schedule, dt.datetime(2026, 12, 7, 8, tzinfo=LONDON), "2026-11-30", "2026-W49"),
        # summer time: 08:00 BST is 07:00 UTC, still Monday in London
        (weekly_report_schedule, dt.datetime(2026, 6, 1, 8, tzinfo=LONDON), "2026-05-25", "2026-W22"),
        (monthly_report_schedule, dt.datetime(2027, 1, 1, 8, tzinfo=LONDON), "2026-12-01", "2026-12"),
    ],
)
def test_a_tick_requests_the_period_that_just_ended(schedule, tick, partition, label):
    with dg.instance_for_test() as instance:
        context = dg.build_schedule_context(instance=instance, scheduled_execution_time=tick)
        request = schedule(context)
    assert request.partition_key == partition
    assert request.run_key.endswith(label) and request.tags["splants/report_period"] == label
    partitions = weekly_partitions if schedule is weekly_report_schedule else monthly_partitions
    assert partition in partitions.get_partition_keys(current_time=tick + dt.timedelta(hours=1))


def _resources(data_dir, webhook_url: str | None) -> dict:
    return {
        "project": ProjectResource(data_dir=str(data_dir)),
        "warehouse": WarehouseResource(data_dir=str(data_dir)),
        "alerts": AlertsResource(webhook_url=webhook_url),
    }


def test_a_brand_with_no_data_gets_an_honest_empty_report_and_the_alert_goes_out(data_dir, store, instance):
    with FakeServer(lambda rec: Reply(200, {"ok": True})) as hook:
        result = dg.materialize(
            [weekly_report],
            partition_key="2026-11-30",
            instance=instance,
            resources=_resources(data_dir, f"{hook.url}/alerts"),
        )
    assert result.success
    path = data_dir / "reports" / "hearth-and-bean" / "weekly-2026-W49.html"
    page = lxml_html.parse(str(path)).getroot()
    assert [s.get("id") for s in page.xpath("//section")] == list(SECTIONS)
    assert "No publications this week" in page.get_element_by_id("no-publications").text_content()
    assert "No publications this week." in page.get_element_by_id("publications").text_content()
    assert "No anomalies detected this week." in page.get_element_by_id("anomalies").text_content()
    assert not page.xpath("//*[local-name()='svg']") and not page.xpath("//*[@id='demo-banner']")
    sidecar = json.loads(path.with_suffix(".json").read_text())
    assert sidecar["demo"] is False and sidecar["counts"]["impressions"] == 0

    (request,) = hook.requests
    body = request.json()
    assert request.path == "/alerts" and body["source"] == "weekly_report" and body["severity"] == "info"
    assert body["title"] == "Hearth & Bean: weekly report 2026-W49"
    assert str(path) in body["text"] and "no publications this week" in body["text"]
    (row,) = store.query("SELECT alert_channels, demo, publications FROM analytics.reports")
    assert row == {"alert_channels": "log,webhook", "demo": False, "publications": 0}


def test_an_unreachable_webhook_does_not_fail_the_report(data_dir, store, instance):
    with FakeServer(lambda rec: Reply(503, {"error": "down"})) as hook:
        result = dg.materialize(
            [monthly_report],
            partition_key="2026-11-01",
            instance=instance,
            resources=_resources(data_dir, f"{hook.url}/alerts"),
        )
        assert result.success and len(hook.requests) == 1
    assert (data_dir / "reports" / "hearth-and-bean" / "monthly-2026-11.html").exists()
    (row,) = store.query("SELECT report_id, alert_channels FROM analytics.reports")
    assert row == {"report_id": "hearth-and-bean/monthly-2026-11", "alert_channels": "log"}


def test_a_broken_brand_file_fails_the_run_with_its_message(data_dir, instance):
    (data_dir / "brand.yaml").write_text("name: X\ntimezone: Mars/Olympus\n")
    result = dg.materialize(
        [weekly_report],
        partition_key="2026-11-30",
        instance=instance,
        resources=_resources(data_dir, None),
        raise_on_error=False,
    )
    assert not result.success
    (failure,) = [e for e in result.all_events if e.is_step_failure]
    assert "brand.yaml" in failure.step_failure_data.error.message


def test_warehouse_text_is_escaped_and_cut_at_a_word():
    def ranked(piece_id: str, rate: float, text: str) -> dict:
        return {
            "piece_id": piece_id,
            "platform": "twitter",
            "content_type": "social_post",
            "impressions": 500,
            "engagement_rate": rate,
            "baseline_engagement_rate": 0.04,
            "text": text,
            "published_at": None,
        }

    figures = Figures(
        period=period_of("weekly", dt.date(2026, 11, 30)),
        timezone="Europe/London",
        demo=False,
        left_out_demo_rows=0,
        engagement={"impressions": 1000, "engagements": 50, "engagement_rate": 0.05},
        ranked=[
            ranked("t:1", 0.08, '<img src=x onerror="alert(1)"> Buy now? ' + "long " * 60),
            ranked("t:2", 0.01, "<b>plain</b>"),
        ],
    )
    page = lxml_html.fromstring(
        render_html(figures, "Brand <i>&</i> Co", dt.datetime(2026, 12, 7, tzinfo=dt.UTC))
    )
    assert not page.xpath("//img|//b|//i|//script")
    (best,) = page.xpath("//tr[@data-row='best']")
    text = best.xpath("./td")[-1].text_content()
    assert text.startswith('<img src=x onerror="alert(1)"> Buy now?') and text.endswith("long…")
    assert page.findtext(".//h1").startswith("Brand <i>&</i> Co: weekly report")
